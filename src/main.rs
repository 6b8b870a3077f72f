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
        Command::Check { repair } => check_command(&loaded, repair),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("visitord: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the store of a stopped server, or says why not.
fn open_stopped(
    loaded: &Loaded,
    locked: impl Fn(&std::path::Path) -> String,
) -> Result<Store, String> {
    let config = &loaded.config;
    let search_fields = config
        .visitor_fields()
        .filter(|d| d.searchable)
        .map(|d| d.id.clone())
        .collect();
    match Store::open(&config.storage, search_fields) {
        Ok(store) => Ok(store),
        Err(StoreError::Locked { .. }) => Err(locked(&config.storage.data_dir)),
        Err(e) => Err(format!("cannot open the store: {e}")),
    }
}

/// `visitord check [--repair]`.
fn check_command(loaded: &Loaded, repair: bool) -> Result<(), String> {
    let store = open_stopped(loaded, |dir| {
        format!(
            "the store in {} is in use by a running visitord; stop it first",
            dir.display()
        )
    })?;
    let report = if repair {
        store.repair()
    } else {
        store.check()
    }
    .map_err(|e| e.to_string())?;
    println!(
        "visitord check of {}",
        loaded.config.storage.data_dir.display()
    );
    for (tree, n) in &report.records {
        println!("  {tree:<24} {n} records");
    }
    for (tree, n) in &report.rows {
        println!("  {tree:<24} {n} index rows");
    }
    if report.problems.is_empty() {
        println!("consistent{}", if repair { " (after repair)" } else { "" });
        return Ok(());
    }
    for problem in &report.problems {
        println!("  PROBLEM {problem}");
    }
    Err(format!(
        "{} problem(s) found{}",
        report.problems.len(),
        if repair {
            " after repair"
        } else {
            "; `visitord check --repair` rebuilds the indexes"
        }
    ))
}

/// `visitord user …` on a stopped store.
fn user_command(loaded: &Loaded, action: UserCommand) -> Result<(), String> {
    let store = open_stopped(loaded, admin::locked_message)?;
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
