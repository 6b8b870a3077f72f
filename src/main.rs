//! The `visitord` binary: parse flags, load config, set up logging, run the subcommand.
#![forbid(unsafe_code)]

use clap::Parser;
use std::process::ExitCode;
use visitord::cli::{Cli, Command};
use visitord::config::Config;

fn main() -> ExitCode {
    let cli = Cli::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let loaded = match Config::load(&cli.overrides()) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("visitord: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => actix_web::rt::System::new().block_on(visitord::server::serve(loaded)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("visitord: {e}");
            ExitCode::FAILURE
        }
    }
}
