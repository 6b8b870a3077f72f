//! The `visitord` binary: parse flags, load config, set up logging, run the subcommand.
#![forbid(unsafe_code)]

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use std::process::ExitCode;
use visitord::cli::{Cli, Command};
use visitord::config::{Config, LogFormat};
use visitord::logging;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = match Config::load(&cli.overrides()) {
        Ok(loaded) => loaded,
        Err(e) => {
            // The configured format is unknown: the environment's, if it asks for JSON.
            let json = std::env::var("VISITORD_LOG_FORMAT")
                .is_ok_and(|v| v.trim().eq_ignore_ascii_case("json"));
            let format = if json {
                LogFormat::Json
            } else {
                LogFormat::Text
            };
            logging::fatal(format, &e.to_string());
            return ExitCode::from(2);
        }
    };
    let format = loaded.config.log.format;
    logging::init(format);
    let result = visitord::commands::run(cli.command.unwrap_or(Command::Serve), loaded);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            logging::fatal(format, &e);
            ExitCode::FAILURE
        }
    }
}
