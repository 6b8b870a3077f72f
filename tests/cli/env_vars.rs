//! A misspelt `VISITORD_*` variable stops start-up (it would otherwise be silently ignored),
//! naming the nearest valid variable; the variables that are not options still work.

use super::proc::{self, Server};
use super::Sandbox;

/// `visitord --bind 127.0.0.1:0 ARGS…` with `env`, run to completion.
fn run_with(sb: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> proc::Out {
    let mut full = vec!["--bind", "127.0.0.1:0"];
    full.extend_from_slice(args);
    let mut cmd = proc::command(sb.cwd(), &sb.data(), &full);
    cmd.envs(env.iter().copied());
    proc::run(cmd, None)
}

#[test]
fn a_misspelt_option_variable_stops_start_up_with_the_nearest_name() {
    let sb = Sandbox::new();
    run_with(
        &sb,
        &["serve"],
        &[("VISITORD_STORAGE_DURABILTY", "periodic")],
    )
    .fails_with(
        2,
        "visitord: unknown environment variable VISITORD_STORAGE_DURABILTY (did you mean \
         VISITORD_STORAGE_DURABILITY?)",
    );
    // An unknown section, and every command (configuration is loaded first).
    run_with(
        &sb,
        &["user", "list"],
        &[("VISITORD_RATELIMIT_ENABLED", "false")],
    )
    .fails_with(
        2,
        "visitord: unknown environment variable VISITORD_RATELIMIT_ENABLED (did you mean \
         VISITORD_RATE_LIMIT_ENABLED?)",
    );
    run_with(&sb, &["serve"], &[("VISITORD_ADMIN_PASWORD", "x")]).fails_with(
        2,
        "visitord: unknown environment variable VISITORD_ADMIN_PASWORD (did you mean \
         VISITORD_ADMIN_PASSWORD?)",
    );
    // Nothing was started: no store was created.
    assert!(!sb.data().exists(), "a refused start created the data dir");
}

#[test]
fn the_variables_that_are_not_options_are_accepted() {
    let sb = Sandbox::new();
    let server = Server::start(
        sb.cwd(),
        &sb.data(),
        &[
            ("VISITORD_ADMIN_PASSWORD", "Env-Ok-Pass-7Yt2"),
            ("VISITORD_TEST_BIN", "/nonexistent"),
            ("VISITORD_CRASH_TRIALS", "1"),
            ("VISITORD_STORAGE_DURABILITY", "periodic"),
        ],
    );
    assert!(server.stdout().contains("  durability: periodic"));
    assert_eq!(server.login("admin", "Env-Ok-Pass-7Yt2").status, 200);
    let stopped = server.stop();
    assert!(stopped.status.success(), "{stopped:?}");
}
