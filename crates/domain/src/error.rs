use std::error::Error as StdError;

/// The cause of an infrastructure failure, kept for the log and never shown to a client.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// A failure that is nobody's fault but the infrastructure's.
///
/// Every use-case error carries one of these as its catch-all; the HTTP layer answers
/// `Unavailable` with 503 and `Internal` with 500, and logs the cause of both.
#[derive(Debug, thiserror::Error)]
pub enum Fault {
    /// The backing store cannot be reached right now (connection refused, pool exhausted,
    /// database locked past its timeout). Retrying later may succeed.
    #[error("storage unavailable")]
    Unavailable(#[source] BoxError),
    /// Anything else that should not have happened.
    #[error("internal fault")]
    Internal(#[source] BoxError),
}

/// `error: cause: cause…`, for the log: an error with its whole chain of sources. A cause that
/// an error already printed as the end of its own message (lettre's do) is not repeated.
pub fn chain(error: &dyn StdError) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !chain.ends_with(&text) {
            chain.push_str(": ");
            chain.push_str(&text);
        }
        source = cause.source();
    }
    chain
}

impl Fault {
    pub fn internal(cause: impl Into<BoxError>) -> Self {
        Self::Internal(cause.into())
    }

    pub fn unavailable(cause: impl Into<BoxError>) -> Self {
        Self::Unavailable(cause.into())
    }
}
