//! `fieldsync`: the command-line client for laptops and operators.
//!
//! One `--home` directory is one device: its store file `device.db` holds the documents, the
//! session and the sync state, so one machine can play a laptop and a phone side by side.
//! Every failure becomes one line on stderr that says what to do, with exit code 1; usage
//! errors exit with 2 (clap's own); nothing panics on bad input.
//!
//! It speaks the language of the environment (`LC_ALL`, `LC_MESSAGES`, `LANG`: `zh_CN.UTF-8`
//! is Chinese), from the product's message catalog; see [`i18n`] for what stays English.

mod args;
mod commands;
mod error;
mod i18n;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    i18n::init(i18n::Lang::from_env());
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with 0; usage errors to stderr with 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fieldsync: {}", e.one_line());
            ExitCode::from(1)
        }
    }
}
