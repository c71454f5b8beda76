//! Unit tests of the second-factor use cases, on mocks of every port.
