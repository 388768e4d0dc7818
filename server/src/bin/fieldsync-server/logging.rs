//! The server's log: text for a person at a terminal (colour only there), or one JSON object
//! a line for log collectors. What goes in it is decided where it is written: requests are
//! logged by route (never the URL with its query), user and status, and never with a token,
//! a password or a document's content.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The log's format.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum LogFormat {
    /// Lines for people; colour codes only when standard error is a terminal.
    Text,
    /// One JSON object a line, with the request's fields (id, route, user) on each event.
    Json,
}

/// What is logged when neither `--log` nor RUST_LOG says.
const DEFAULT_FILTER: &str = "info,tower_http=warn";

/// Starts the log on standard error.
pub fn init(format: LogFormat, filter: Option<&str>) -> Result<(), String> {
    let filter = match filter {
        Some(directives) => EnvFilter::try_new(directives)
            .map_err(|e| format!("--log '{directives}' is not a log filter: {e}"))?,
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| DEFAULT_FILTER.into()),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder
            // Colour codes only for a person at a terminal, never into log files or journald.
            .with_ansi(std::io::stderr().is_terminal())
            .init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
    Ok(())
}
