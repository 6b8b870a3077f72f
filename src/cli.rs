//! Command-line flags and subcommands.

use crate::config::Overrides;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// visitord: Rocket.Chat's Livechat visitor API from an embedded store.
#[derive(Debug, Parser)]
#[command(name = "visitord", version, about)]
pub struct Cli {
    /// Config file (default: ./config.toml when it exists).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Listen address, e.g. 127.0.0.1:3000 (port 0 picks a free one).
    #[arg(long, global = true, value_name = "ADDR")]
    pub bind: Option<String>,
    /// Data directory of the store.
    #[arg(long = "data-dir", global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Verify a stopped store: every index row against its record, both ways. Exits non-zero
    /// and names each disagreement.
    Check {
        /// Rebuild the derived indexes from the records, then check again.
        #[arg(long)]
        repair: bool,
    },
    /// Fill a stopped store with synthetic visitors, rooms and history (demos, benchmarks).
    DemoData {
        /// How many visitors to add.
        #[arg(long)]
        visitors: u64,
        /// Navigation-history entries per visitor.
        #[arg(long, default_value_t = 2)]
        pages_per_visitor: u32,
        /// Random seed: the same seed gives the same data.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Leave the store uncompacted afterwards (see `visitord compact`).
        #[arg(long)]
        no_compact: bool,
    },
    /// Load visitors from Rocket.Chat into a stopped store.
    Import {
        /// A `mongoexport` (JSON lines) of the `rocketchat_livechat_visitor` collection.
        #[arg(long, value_name = "FILE", required_unless_present = "navigation")]
        rocketchat: Option<PathBuf>,
        /// A `mongoexport` (JSON lines) of the navigation history (`livechat_navigation_history`
        /// messages: `_id`, `rid`, `ts`, `navigation.token`, `navigation.page`), imported after
        /// the visitors; a `rid` not in the store becomes a closed room of the token's visitor.
        #[arg(long, value_name = "FILE")]
        navigation: Option<PathBuf>,
        /// Accepted for older scripts; an import never needs a compaction afterwards: both
        /// files are written by a fresh copy of the store, which compacts it too.
        #[arg(long, hide = true)]
        no_compact: bool,
    },
    /// Back up a stopped store into one compressed, checksummed file of its logical records
    /// (a running server takes backups itself: `POST /api/v1/visitord.backup`, `backup.*`).
    Backup {
        /// The file to create.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Restore a backup file into an empty (or missing) data dir; the file is verified first.
    Restore {
        /// A file written by `visitord backup` or by a server's backups.
        file: PathBuf,
    },
    /// Copy every record of a store into an empty store of either backend: `sled:DIR`, a
    /// `postgres://` URL, or `postgres:` alone for the configured storage.postgres_url (keeps
    /// the password out of the process list). Ids, dates, passwords, login sessions and the
    /// guest counter arrive unchanged; a failure leaves the target as it was.
    Copy {
        /// The store to read (a sled store must be stopped). Parsed by the command, not by
        /// the flag parser, whose errors would echo a URL's password.
        #[arg(long, value_name = "STORE")]
        from: String,
        /// The empty store to write (a database is migrated first).
        #[arg(long, value_name = "STORE")]
        to: String,
    },
    /// Write the visitors of a stopped store for Rocket.Chat (`mongoimport`) or another
    /// visitord (`import --rocketchat`).
    Export {
        /// The JSON-lines file to create (`mongoexport` shape of `rocketchat_livechat_visitor`).
        #[arg(long, value_name = "FILE")]
        rocketchat: PathBuf,
    },
    /// Rewrite a stopped store into fresh files, dropping the superseded versions that sled
    /// keeps after many rewrites (a bulk load leaves a store several times its live size).
    /// Needs free space for one more copy of the live data.
    Compact,
    /// Ask a running server's /health (container health checks): exit 0 on 200, else 1 with
    /// one line on standard error saying why.
    Healthcheck {
        /// The URL to GET (default: http://<server.bind>/health, 0.0.0.0 and :: as loopback).
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
    /// Bring the database of `storage.backend = "postgres"` to this build's schema (the
    /// numbered migrations embedded in the binary), then exit. Safe to run while replicas
    /// serve and to run twice. On the sled backend the store upgrades itself when opened.
    Migrate,
    /// Manage agent accounts on a stopped server (a running one: use the REST API).
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. Without --password-stdin a random password is printed.
    Add {
        name: String,
        /// Role(s): admin, livechat-manager, livechat-monitor, livechat-agent, user
        /// (repeat the flag or separate with commas; default livechat-agent).
        #[arg(long = "role", value_delimiter = ',')]
        roles: Vec<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Set a new password (prompted, or from standard input); revokes the user's logins.
    Passwd {
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Replace a user's roles.
    Role {
        name: String,
        #[arg(required = true, value_delimiter = ',')]
        roles: Vec<String>,
    },
    /// Delete a user and its logins.
    Remove { name: String },
}

impl Cli {
    /// The flags that override configuration.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            config: self.config.clone(),
            bind: self.bind.clone(),
            data_dir: self.data_dir.clone(),
        }
    }
}
