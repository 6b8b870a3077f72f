//! The `visitord` binary: parse flags, load config, set up logging, run the subcommand.
#![forbid(unsafe_code)]

use clap::Parser;
use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;
use visitord::admin;
use visitord::cli::{Cli, Command, UserCommand};
use visitord::config::{Config, Loaded};
use visitord::store::{Store, StoreError};

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
        Command::User { action } => user_command(&loaded, action),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("visitord: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `visitord user …` on a stopped store.
fn user_command(loaded: &Loaded, action: UserCommand) -> Result<(), String> {
    let config = &loaded.config;
    let dir = &config.storage.data_dir;
    let search_fields = config
        .visitor_fields()
        .filter(|d| d.searchable)
        .map(|d| d.id.clone())
        .collect();
    let store = match Store::open(&config.storage, search_fields) {
        Ok(store) => store,
        Err(StoreError::Locked { .. }) => return Err(admin::locked_message(dir)),
        Err(e) => return Err(format!("cannot open the store: {e}")),
    };
    let output = match action {
        UserCommand::Add {
            name,
            roles,
            password_stdin,
        } => {
            let password = if password_stdin {
                Some(read_stdin_line()?)
            } else {
                None
            };
            admin::add_user(&store, &name, roles, password)?
        }
        UserCommand::List => admin::list_users(&store)?,
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            let password = if password_stdin || !std::io::stdin().is_terminal() {
                read_stdin_line()?
            } else {
                prompt_password()?
            };
            admin::set_password(&store, &name, &password)?
        }
        UserCommand::Role { name, roles } => admin::set_roles(&store, &name, roles)?,
        UserCommand::Remove { name } => admin::remove_user(&store, &name)?,
    };
    print!("{output}");
    if !output.ends_with('\n') {
        println!();
    }
    Ok(())
}

/// The first line of standard input, without its line ending.
fn read_stdin_line() -> Result<String, String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Asks twice for a password on the terminal, without echo.
fn prompt_password() -> Result<String, String> {
    let first = rpassword::prompt_password("New password: ").map_err(|e| e.to_string())?;
    let second = rpassword::prompt_password("Again: ").map_err(|e| e.to_string())?;
    if first != second {
        return Err("the passwords differ".into());
    }
    Ok(first)
}
