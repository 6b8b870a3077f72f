//! The subcommands' bodies: `main` parses flags and config, then hands the command here.
//! Each command that works on a stopped store opens it with [`open_stopped`] (a clear error
//! when a server holds it).

use crate::admin;
use crate::cli::{Command, UserCommand};
use crate::config::{Loaded, StorageBackend};
use crate::domain::Backend;
use crate::postgres::{PgStore, SchemaPolicy};
use crate::store::{Store, StoreError};
use std::io::{BufRead, IsTerminal};

/// Runs `command` with the loaded configuration.
pub fn run(command: Command, loaded: Loaded) -> Result<(), String> {
    if loaded.config.storage.backend == StorageBackend::Postgres {
        return run_on_postgres(command, loaded);
    }
    match command {
        Command::Serve => actix_web::rt::System::new().block_on(crate::server::serve(loaded)),
        Command::User { action } => user_command(&loaded, action),
        Command::Check { repair } => check_command(&loaded, repair),
        Command::DemoData {
            visitors,
            pages_per_visitor,
            seed,
            no_compact,
        } => demo_command(&loaded, visitors, pages_per_visitor, seed)
            .and_then(|store| finish_bulk(&loaded, store, no_compact)),
        Command::Import {
            rocketchat,
            navigation,
            no_compact,
        } => import_command(
            &loaded,
            rocketchat.as_deref(),
            navigation.as_deref(),
            no_compact,
        ),
        Command::Backup { out } => open_stopped(&loaded, busy).and_then(|store| {
            crate::backup::write_file(&store, &out).map(|w| {
                println!(
                    "backed up {} records to {} ({} bytes)",
                    w.records,
                    out.display(),
                    w.bytes
                )
            })
        }),
        Command::Restore { file } => restore_command(&loaded, &file),
        Command::Copy { from, to } => copy_command(&loaded, &from, &to),
        Command::Export { rocketchat } => open_stopped(&loaded, busy).and_then(|store| {
            crate::export::export_to_file(&store, &rocketchat).map(|line| println!("{line}"))
        }),
        Command::Compact => open_stopped(&loaded, busy).and_then(|s| compact(&loaded, s)),
        Command::Migrate => open_stopped(&loaded, busy).map(|_| {
            println!(
                "the sled store in {} is at schema {} (it upgrades itself when opened)",
                loaded.config.storage.data_dir.display(),
                crate::store::SCHEMA_VERSION
            )
        }),
        Command::Healthcheck { url } => url
            .map_or_else(
                || crate::healthcheck::default_url(&loaded.config.server.bind),
                Ok,
            )
            .and_then(|url| crate::healthcheck::check(&url)),
    }
}

/// The commands with `storage.backend = "postgres"`: serving, migrating, users and the health
/// check work on the database; the ones about the embedded store's files refuse, saying what to
/// use instead.
fn run_on_postgres(command: Command, loaded: Loaded) -> Result<(), String> {
    let sled_only = |name: &str, instead: &str| {
        Err(format!(
            "`visitord {name}` works on the embedded (sled) store only, and storage.backend is \
             \"postgres\": {instead}"
        ))
    };
    let open = |policy| {
        let config = &loaded.config;
        PgStore::open(&config.storage, config.search_fields(), policy)
    };
    match command {
        Command::Serve => actix_web::rt::System::new().block_on(crate::server::serve(loaded)),
        Command::Migrate => open(SchemaPolicy::Migrate).map(|_| {
            println!(
                "the database is at schema {}",
                crate::postgres::schema::LATEST
            )
        }),
        Command::User { action } => {
            let store = open(SchemaPolicy::RequireCurrent)?;
            user_action(&loaded, &store, action)
        }
        Command::Healthcheck { url } => url
            .map_or_else(
                || crate::healthcheck::default_url(&loaded.config.server.bind),
                Ok,
            )
            .and_then(|url| crate::healthcheck::check(&url)),
        Command::Check { .. } => sled_only(
            "check",
            "the database's constraints keep its tables consistent (amcheck checks its indexes)",
        ),
        Command::Compact => sled_only("compact", "PostgreSQL reclaims space with VACUUM"),
        Command::Backup { out } => {
            let store = open(SchemaPolicy::RequireCurrent)?;
            let w = crate::backup::write_file(&store, &out)?;
            println!(
                "backed up {} records of the database (one snapshot) to {} ({} bytes)",
                w.records,
                out.display(),
                w.bytes
            );
            Ok(())
        }
        Command::Restore { file } => {
            let store = open(SchemaPolicy::Migrate)?;
            let restored = crate::backup::restore_file_into_postgres(&file, &store)?;
            println!(
                "restored {} records from {} (written {} by {}) into the database",
                restored.records,
                file.display(),
                restored.header.created,
                restored.header.software
            );
            Ok(())
        }
        Command::Copy { from, to } => copy_command(&loaded, &from, &to),
        Command::DemoData { .. } | Command::Import { .. } | Command::Export { .. } => sled_only(
            "demo-data/import/export",
            "run it on a sled store, then move the data with `visitord copy --from sled:DIR \
             --to postgres:`",
        ),
    }
}

/// `visitord copy --from STORE --to STORE` (either backend, whatever storage.backend says).
fn copy_command(loaded: &Loaded, from: &str, to: &str) -> Result<(), String> {
    let from: crate::copy::Endpoint = from.parse().map_err(|e| format!("--from: {e}"))?;
    let to: crate::copy::Endpoint = to.parse().map_err(|e| format!("--to: {e}"))?;
    let config = &loaded.config;
    let started = std::time::Instant::now();
    let copied = crate::copy::copy(&config.storage, config.search_fields(), &from, &to)?;
    for (kind, n) in &copied.per_kind {
        println!("  {kind}: {n}");
    }
    println!(
        "copied {} records from {from} to {to} in {:.1} s",
        copied.written,
        started.elapsed().as_secs_f64()
    );
    if let crate::copy::Endpoint::Sled(dir) = &to {
        // Written in transactions of a few thousand records (as by `restore`): compact it.
        let mut target = loaded.clone();
        target.config.storage.backend = StorageBackend::Sled;
        target.config.storage.data_dir = dir.clone();
        compact(&target, open_stopped(&target, busy)?)?;
    }
    Ok(())
}

/// `visitord restore FILE`.
fn restore_command(loaded: &Loaded, file: &std::path::Path) -> Result<(), String> {
    let config = &loaded.config;
    let search_fields = config.search_fields();
    let restored = crate::backup::restore_file(file, &config.storage, search_fields)?;
    println!(
        "restored {} records from {} (written {} by {}) into {}",
        restored.records,
        file.display(),
        restored.header.created,
        restored.header.software,
        config.storage.data_dir.display()
    );
    // Written in transactions of a few thousand records, the store is larger than its live data
    // (as after `import`): compact it.
    compact(loaded, open_stopped(loaded, busy)?)
}

/// Opens the store of a stopped server, or says why not.
fn open_stopped(
    loaded: &Loaded,
    locked: impl Fn(&std::path::Path) -> String,
) -> Result<Store, String> {
    let config = &loaded.config;
    let search_fields = config.search_fields();
    match Store::open(&config.storage, search_fields) {
        Ok(store) => {
            store.set_roomless_expiry(config.history.roomless_ttl_days > 0);
            Ok(store)
        }
        Err(StoreError::Locked { .. }) => Err(locked(&config.storage.data_dir)),
        Err(e) => Err(format!("cannot open the store: {e}")),
    }
}

fn busy(dir: &std::path::Path) -> String {
    format!(
        "the store in {} is in use by a running visitord; stop it first",
        dir.display()
    )
}

fn progress_bar(len: u64, unit: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    let template = format!(
        "{{elapsed_precise}} [{{bar:40}}] {{pos}}/{{len}} {unit} ({{per_sec}}, eta {{eta}})"
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// After a bulk load: compacts the store unless told not to.
fn finish_bulk(loaded: &Loaded, store: Store, no_compact: bool) -> Result<(), String> {
    if no_compact {
        return Ok(());
    }
    // The store is open with the bulk cache; the compaction reads it once in order and writes
    // its copy in order, which that cache does not speed up but fills: reopened with the
    // server's (compacting the 1M + 10M store: peak RSS 4.2 GB with 512 MiB, 1.3 GB with 64,
    // the same time).
    drop(store);
    compact(loaded, reopen_stopped(loaded)?)
}

/// [`open_stopped`] for a store this process has just closed: its lock is released when the
/// last handle goes, so `Locked` here is another process that took it meanwhile, or a handle
/// still closing; it is retried for up to five seconds before it is reported.
fn reopen_stopped(loaded: &Loaded) -> Result<Store, String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let locked = std::cell::Cell::new(false);
        let result = open_stopped(loaded, |dir| {
            locked.set(true);
            busy(dir)
        });
        if !(locked.get() && std::time::Instant::now() < deadline) {
            return result;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// `visitord compact`: rewrites the stopped store into fresh files.
fn compact(loaded: &Loaded, store: Store) -> Result<(), String> {
    let started = std::time::Instant::now();
    let dir = &loaded.config.storage.data_dir;
    let c =
        crate::store::compact_store(store, dir).map_err(|e| format!("compaction failed: {e}"))?;
    println!(
        "compacted in {:.1} s: {} MB -> {} MB on disk",
        started.elapsed().as_secs_f64(),
        c.before / 1_000_000,
        c.after / 1_000_000
    );
    Ok(())
}

/// `visitord demo-data --visitors N [--pages-per-visitor K] [--seed S]`.
fn demo_command(loaded: &Loaded, visitors: u64, pages: u32, seed: u64) -> Result<Store, String> {
    let store = open_stopped(&with_bulk_cache(loaded), busy)?;
    let bar = progress_bar(visitors, "visitors");
    let started = std::time::Instant::now();
    let summary = crate::demo::generate(&store, visitors, pages, seed, |n| bar.set_position(n))?;
    bar.finish();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "added {} visitors, {} rooms, {} messages, {} page visits in {secs:.1} s ({:.0} visitors/s); store on disk: {} MB",
        summary.visitors,
        summary.rooms,
        summary.messages,
        summary.page_visits,
        summary.visitors as f64 / secs.max(1e-9),
        store.size_on_disk().unwrap_or(0) / 1_000_000
    );
    Ok(store)
}

/// `visitord import [--rocketchat FILE] [--navigation FILE]`: the visitors, then the history.
/// Each file is written by a fresh copy of the store (see [`crate::import::import`] and
/// [`import_navigation`]), which compacts it too; with neither file, the store is compacted
/// unless `no_compact`.
fn import_command(
    loaded: &Loaded,
    visitors: Option<&std::path::Path>,
    navigation: Option<&std::path::Path>,
    no_compact: bool,
) -> Result<(), String> {
    let store = open_stopped(&with_bulk_cache(loaded), busy)?;
    if let Some(file) = visitors {
        import_visitors(&store, file)?;
    }
    match navigation {
        Some(file) => import_navigation(loaded, store, file),
        // The visitors were written by a fresh copy of the store: it is compact already.
        None if visitors.is_some() => Ok(()),
        None => finish_bulk(loaded, store, no_compact),
    }
}

/// `loaded` with the page cache of the offline bulk commands (`storage.bulk_cache_mb`).
fn with_bulk_cache(loaded: &Loaded) -> Loaded {
    let mut bulk = loaded.clone();
    let storage = &mut bulk.config.storage;
    if storage.bulk_cache_mb > 0 {
        storage.cache_mb = storage.bulk_cache_mb;
    }
    bulk
}

/// `visitord import --navigation FILE`: the history, after the visitors. The entries are read
/// and their rows sorted, then merged into a fresh copy of the store, with the store open as
/// `import` opened it (the bulk cache speeds up the reads of the first step; the sorted rows
/// live in the data dir, which a reopen would clear of them).
fn import_navigation(loaded: &Loaded, store: Store, file: &std::path::Path) -> Result<(), String> {
    let ttl = match loaded.config.history.roomless_ttl_days {
        0 => None,
        n => Some(crate::time::days(n)),
    };
    let written = load_and_write(
        &store,
        file,
        "navigation",
        "navigation entries",
        |input, bar| crate::import::load_navigation(&store, input, ttl, |b| bar.set_position(b)),
    )?;
    println!("{written}");
    Ok(())
}

/// `visitord import --rocketchat FILE`: the visitors are read and their rows sorted, then merged
/// into a fresh copy of the store (see [`crate::import::load_visitors`]).
fn import_visitors(store: &Store, file: &std::path::Path) -> Result<(), String> {
    let written = load_and_write(store, file, "visitors", "visitors", |input, bar| {
        crate::import::load_visitors(store, input, |b| bar.set_position(b))
    })?;
    let guests = store.guest_counter().map_err(|e| e.to_string())?;
    println!("{written}; next guest number: guest-{}", guests + 1);
    Ok(())
}

/// The two steps of importing `file` (`kind`: "visitors" or "navigation"; its lines are
/// `rows`): `load` reads it and sorts its rows (with a progress bar), printing what was read and
/// rejected; then they are merged into a fresh copy of the store. Returns the line that reports
/// the write (the caller prints it, with what it adds).
fn load_and_write(
    store: &Store,
    file: &std::path::Path,
    kind: &str,
    rows: &str,
    load: impl FnOnce(
        std::io::BufReader<std::fs::File>,
        &indicatif::ProgressBar,
    ) -> Result<(crate::import::ImportSummary, crate::store::Additions), String>,
) -> Result<String, String> {
    let (input, bar) = open_import(file)?;
    let started = std::time::Instant::now();
    let (summary, additions) = load(input, &bar)?;
    bar.finish();
    println!(
        "{} lines: {} {rows} read, {} rejected, in {:.1} s",
        summary.lines,
        summary.imported,
        summary.rejected.len(),
        started.elapsed().as_secs_f64()
    );
    report_rejected(file, &summary.rejected);
    let written = std::time::Instant::now();
    let r = store
        .rewrite_merging(additions)
        .map_err(|e| format!("the {kind} import failed (the store is as it was): {e}"))?;
    Ok(format!(
        "{} {rows} written with the store's copy in {:.1} s: {} MB -> {} MB on disk; {:.1} s in all",
        summary.imported,
        written.elapsed().as_secs_f64(),
        r.before / 1_000_000,
        r.after / 1_000_000,
        started.elapsed().as_secs_f64()
    ))
}

/// Opens a file to import, with a progress bar over its size in bytes.
fn open_import(
    file: &std::path::Path,
) -> Result<(std::io::BufReader<std::fs::File>, indicatif::ProgressBar), String> {
    let handle =
        std::fs::File::open(file).map_err(|e| format!("cannot open {}: {e}", file.display()))?;
    let size = handle.metadata().map(|m| m.len()).unwrap_or(0);
    Ok((std::io::BufReader::new(handle), progress_bar(size, "bytes")))
}

/// Prints the first rejected lines of an import and writes all of them next to `file`.
fn report_rejected(file: &std::path::Path, rejected: &[(u64, String)]) {
    if rejected.is_empty() {
        return;
    }
    let report = file.with_extension("rejected.txt");
    let text: String = rejected
        .iter()
        .map(|(line, reason)| format!("line {line}: {reason}\n"))
        .collect();
    for row in text.lines().take(20) {
        eprintln!("  {row}");
    }
    match std::fs::write(&report, &text) {
        Ok(()) => eprintln!("every rejected line with its reason: {}", report.display()),
        Err(e) => eprintln!("cannot write {}: {e}", report.display()),
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
    user_action(loaded, &store, action)
}

/// One `visitord user …` action on `store`.
fn user_action(loaded: &Loaded, store: &dyn Backend, action: UserCommand) -> Result<(), String> {
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
            admin::add_user(store, &name, roles, password)?
        }
        UserCommand::List => admin::list_users(store)?,
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            let password = if password_stdin || !std::io::stdin().is_terminal() {
                read_stdin_line()?
            } else {
                prompt_password()?
            };
            let done = admin::set_password(store, &name, &password)?;
            if name.eq_ignore_ascii_case(admin::FIRST_ADMIN) {
                admin::forget_initial_password(&loaded.config.storage.data_dir)?;
            }
            done
        }
        UserCommand::Role { name, roles } => admin::set_roles(store, &name, roles)?,
        UserCommand::Remove { name } => {
            let done = admin::remove_user(store, &name)?;
            if name.eq_ignore_ascii_case(admin::FIRST_ADMIN) {
                admin::forget_initial_password(&loaded.config.storage.data_dir)?;
            }
            done
        }
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

#[cfg(test)]
mod tests {
    use super::with_bulk_cache;
    use crate::config::{Config, Loaded};

    fn loaded(cache_mb: u64, bulk_cache_mb: u64) -> Loaded {
        let mut config = Config::default();
        config.storage.cache_mb = cache_mb;
        config.storage.bulk_cache_mb = bulk_cache_mb;
        Loaded { config, file: None }
    }

    #[test]
    fn bulk_commands_open_the_store_with_the_bulk_cache() {
        let bulk = with_bulk_cache(&loaded(64, 512));
        assert_eq!(bulk.config.storage.cache_mb, 512);
        let unchanged = with_bulk_cache(&loaded(96, 0));
        assert_eq!(unchanged.config.storage.cache_mb, 96, "0 keeps cache_mb");
    }
}
