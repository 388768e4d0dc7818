//! The one error type of the command line: a message for the user, printed on one line of
//! stderr with exit code 1, in the language of the run (client-core's errors through
//! [`messages`]).

mod messages;

use fieldsync_core::client::NOT_LOGGED_IN;
use fieldsync_core::sync::SyncError;

pub use messages::{core_error, sync_error};

use crate::i18n::{lang, t};

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
        CliError(core_error(lang(), &e))
    }
}

impl From<fieldsync_core::ValidationError> for CliError {
    fn from(e: fieldsync_core::ValidationError) -> Self {
        CliError(t!(
            "cli-error-invalid",
            field = e.field,
            problem = e.problem
        ))
    }
}

impl From<SyncError> for CliError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Auth(message) if message == NOT_LOGGED_IN => {
                CliError(t!("cli-error-log-in-first"))
            }
            SyncError::Auth(message) => CliError(t!("cli-error-auth", message = message)),
            other => CliError(sync_error(lang(), &other)),
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError(t!("cli-error-output", error = e.to_string()))
    }
}

impl From<serde_json::Error> for CliError {
    fn from(e: serde_json::Error) -> Self {
        CliError(t!("cli-error-json", error = e.to_string()))
    }
}
