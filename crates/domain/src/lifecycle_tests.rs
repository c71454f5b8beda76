//! Unit tests of the account-lifecycle use cases.
