//! The one error type of the command line: a message for the user, printed on one line of
//! stderr with exit code 1.

use fieldsync_core::client::NOT_LOGGED_IN;
use fieldsync_core::sync::SyncError;

/// The message for commands that need a session.
pub const LOG_IN_FIRST: &str = "log in first: fieldsync login --server URL --username NAME";

/// A user error: what went wrong and what to do about it.
#[derive(Debug)]
pub struct CliError(pub String);

/// The result type of commands.
pub type CliResult<T = ()> = Result<T, CliError>;

impl CliError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        CliError(message.into())
    }

    /// The message on one line.
    pub fn one_line(&self) -> String {
        self.0.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

impl From<fieldsync_core::Error> for CliError {
    fn from(e: fieldsync_core::Error) -> Self {
        CliError(e.to_string())
    }
}

impl From<fieldsync_core::ValidationError> for CliError {
    fn from(e: fieldsync_core::ValidationError) -> Self {
        CliError(format!("invalid {e}"))
    }
}

impl From<SyncError> for CliError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Auth(message) if message == NOT_LOGGED_IN => CliError(LOG_IN_FIRST.into()),
            SyncError::Auth(message) => CliError(format!(
                "{message} (log in with: fieldsync login --server URL --username NAME)"
            )),
            other => CliError(other.to_string()),
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError(format!("cannot write the output: {e}"))
    }
}

impl From<serde_json::Error> for CliError {
    fn from(e: serde_json::Error) -> Self {
        CliError(format!("cannot write JSON: {e}"))
    }
}
