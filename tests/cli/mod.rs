//! Tests of the `visitord` binary itself: the commands, the launch summary, the first admin,
//! logging, clean shutdown, configuration errors, import and demo data. Each test runs the
//! debug binary cargo builds (`CARGO_BIN_EXE_visitord`) on a temporary data dir, from a
//! temporary working directory that has no `config.toml`.

mod access_log;
mod config_effects;
mod data;
mod env_vars;
mod erase;
mod ops;
pub mod proc;
mod serve;
mod slow_body;
mod users;

use proc::Out;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// A temporary working directory with the data dir `<tmp>/data` (created by visitord).
pub struct Sandbox {
    tmp: TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            tmp: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// The working directory of every child.
    pub fn cwd(&self) -> &Path {
        self.tmp.path()
    }

    pub fn data(&self) -> PathBuf {
        self.tmp.path().join("data")
    }

    /// `visitord --data-dir <data> ARGS…` with `stdin`, `RUST_LOG` unset (visitord's default).
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Out {
        proc::run(proc::command(self.cwd(), &self.data(), args), stdin)
    }

    /// `visitord check` on the stopped store: asserts it is consistent.
    pub fn assert_consistent(&self) -> String {
        let out = self.run(&["check"], None);
        let stdout = out.ok().to_string();
        assert_eq!(
            stdout.lines().next(),
            Some(format!("visitord check of {}", self.data().display()).as_str()),
            "{out:?}"
        );
        assert_eq!(stdout.lines().last(), Some("consistent"), "{out:?}");
        assert!(!stdout.contains("PROBLEM"), "{out:?}");
        stdout
    }

    /// The `user list` rows: `[username, id, roles, state]`.
    pub fn users(&self) -> Vec<[String; 4]> {
        let out = self.run(&["user", "list"], None);
        out.ok()
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                let cols: Vec<String> = l.split('\t').map(str::to_string).collect();
                cols.try_into()
                    .unwrap_or_else(|c| panic!("not 4 tab-separated columns: {c:?} in {out:?}"))
            })
            .collect()
    }
}
