//! Running the built `visitord` binary with hard bounds, and requests to it through `ureq` (the
//! one HTTP client of the tests and tools; raw sockets only where a test must send bytes no
//! client would).
//!
//! Every child is killed when its guard drops, so a failing assertion never leaves a process
//! behind. Every wait is bounded by [`BOUND`] and polls every [`POLL`].

use serde_json::Value;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The longest any single wait may take.
pub const BOUND: Duration = Duration::from_secs(10);
/// How often bounded waits poll.
pub const POLL: Duration = Duration::from_millis(20);

/// The binary cargo built for these tests, or the one named by `VISITORD_TEST_BIN` (the crash
/// script runs the release build this way).
pub fn bin() -> String {
    std::env::var("VISITORD_TEST_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_visitord").to_string())
}

/// `visitord --data-dir DATA ARGS…` run in `cwd`, with no `VISITORD_*` variable nor `RUST_LOG`
/// inherited from the test's environment (set them explicitly with `.env`).
pub fn command(cwd: &Path, data_dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.current_dir(cwd);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("VISITORD_") {
            cmd.env_remove(&key);
        }
    }
    cmd.env_remove("RUST_LOG");
    cmd.arg("--data-dir").arg(data_dir).args(args);
    cmd
}

/// A child process that is killed (and reaped) when dropped.
struct Guard(Option<Child>);

impl Guard {
    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("child already reaped")
    }

    /// Waits up to `bound` for the child to exit by itself.
    fn wait_bounded(&mut self, bound: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + bound;
        loop {
            match self.child().try_wait() {
                Ok(Some(status)) => {
                    self.0 = None;
                    return Some(status);
                }
                Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
                Ok(None) => return None,
                Err(e) => panic!("cannot wait for visitord: {e}"),
            }
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Output collected from a pipe by a background thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn pump(&self, mut pipe: impl Read + Send + 'static) -> JoinHandle<()> {
        let buf = self.0.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            loop {
                match pipe.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.lock().unwrap().extend_from_slice(&chunk[..n]),
                }
            }
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// A finished command.
#[derive(Debug)]
pub struct Out {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// The exit code (panics when the process died of a signal).
    pub fn code(&self) -> i32 {
        self.status
            .code()
            .unwrap_or_else(|| panic!("visitord was killed by a signal: {self:?}"))
    }

    /// Asserts success and that nothing panicked; returns stdout.
    pub fn ok(&self) -> &str {
        assert!(self.status.success(), "visitord failed: {self:?}");
        self.no_panic();
        &self.stdout
    }

    /// Asserts a failure with `code` whose stderr is exactly the one line `line`.
    pub fn fails_with(&self, code: i32, line: &str) {
        self.no_panic();
        assert_eq!(self.code(), code, "exit code: {self:?}");
        assert_eq!(self.stderr, format!("{line}\n"), "stderr: {self:?}");
    }

    pub fn no_panic(&self) {
        assert!(
            !self.stderr.contains("panicked") && !self.stdout.contains("panicked"),
            "visitord panicked: {self:?}"
        );
    }
}

/// Runs `cmd` to completion within [`BOUND`], feeding it `stdin` (none: an empty, non-tty
/// standard input).
pub fn run(mut cmd: Command, stdin: Option<&str>) -> Out {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut guard = Guard(Some(cmd.spawn().expect("spawn visitord")));
    let (stdout, stderr) = (Captured::default(), Captured::default());
    let readers = [
        stdout.pump(guard.child().stdout.take().expect("stdout")),
        stderr.pump(guard.child().stderr.take().expect("stderr")),
    ];
    if let Some(text) = stdin {
        let mut pipe = guard.child().stdin.take().expect("stdin");
        // The command may exit without reading; a broken pipe is its answer, not ours.
        let _ = pipe.write_all(text.as_bytes());
    }
    let Some(status) = guard.wait_bounded(BOUND) else {
        drop(guard);
        panic!(
            "visitord did not exit within {BOUND:?}; stdout {:?}, stderr {:?}",
            stdout.text(),
            stderr.text()
        );
    };
    for r in readers {
        let _ = r.join();
    }
    Out {
        status,
        stdout: stdout.text(),
        stderr: stderr.text(),
    }
}

/// A running `visitord serve`, killed when dropped.
pub struct Server {
    guard: Guard,
    pub addr: SocketAddr,
    stdout: Captured,
    stderr: Captured,
    readers: Vec<JoinHandle<()>>,
}

/// How a server ended after [`Server::stop`].
#[derive(Debug)]
pub struct Stopped {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Server {
    /// Starts `visitord serve --bind 127.0.0.1:0 --data-dir DATA` in `cwd` with `env` (plus
    /// `RUST_LOG=info` unless `env` sets it) and waits until it answers `/health` and its launch
    /// summary is printed.
    pub fn start(cwd: &Path, data_dir: &Path, env: &[(&str, &str)]) -> Server {
        let mut cmd = command(cwd, data_dir, &["--bind", "127.0.0.1:0", "serve"]);
        cmd.env("RUST_LOG", "info");
        // Two workers are plenty for these tests, and keep the machine free for the others.
        cmd.env("VISITORD_SERVER_WORKERS", "2");
        cmd.envs(env.iter().copied());
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut guard = Guard(Some(cmd.spawn().expect("spawn visitord serve")));
        let (stdout, stderr) = (Captured::default(), Captured::default());
        let readers = vec![
            stdout.pump(guard.child().stdout.take().expect("stdout")),
            stderr.pump(guard.child().stderr.take().expect("stderr")),
        ];
        let deadline = Instant::now() + BOUND;
        let mut addr = None;
        loop {
            if let Ok(Some(status)) = guard.child().try_wait() {
                panic!(
                    "visitord serve exited at start ({status}); stdout {:?}, stderr {:?}",
                    stdout.text(),
                    stderr.text()
                );
            }
            let text = stdout.text();
            if addr.is_none() {
                addr = summary_lines(&text)
                    .iter()
                    .find_map(|l| l.strip_prefix("listening:  http://"))
                    .and_then(|a| a.trim().parse::<SocketAddr>().ok());
            }
            if let Some(a) = addr {
                if summary_lines(&text).iter().any(|l| l.starts_with("store:"))
                    && try_request(a, "GET", "/health", &[], None).is_ok_and(|r| r.status == 200)
                {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "visitord serve did not come up within {BOUND:?}; stdout {text:?}, stderr {:?}",
                stderr.text()
            );
            std::thread::sleep(POLL);
        }
        Server {
            guard,
            addr: addr.expect("address"),
            stdout,
            stderr,
            readers,
        }
    }

    /// Whether the process is still running (it has not exited nor been killed).
    pub fn alive(&mut self) -> bool {
        matches!(self.guard.child().try_wait(), Ok(None))
    }

    /// SIGKILL now, and reap the process.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.guard.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn pid(&mut self) -> u32 {
        self.guard.child().id()
    }

    /// Standard output so far.
    pub fn stdout(&self) -> String {
        self.stdout.text()
    }

    /// Waits (bounded) until standard output contains `needle`; returns it all.
    pub fn wait_stdout(&self, needle: &str) -> String {
        let deadline = Instant::now() + BOUND;
        loop {
            let text = self.stdout.text();
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "stdout never showed {needle:?}: {text:?}"
            );
            std::thread::sleep(POLL);
        }
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Response {
        let res = try_request(self.addr, method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        res.check_contract(method, path, headers);
        res
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], None)
    }

    pub fn post(&self, path: &str, body: &Value) -> Response {
        self.request("POST", path, &[], Some(&body.to_string()))
    }

    /// `POST /api/v1/login` as `user` with `password`.
    pub fn login(&self, user: &str, password: &str) -> Response {
        self.post(
            "/api/v1/login",
            &serde_json::json!({ "user": user, "password": password }),
        )
    }

    /// Standard error so far (the log).
    pub fn stderr(&self) -> String {
        self.stderr.text()
    }

    /// Sends SIGTERM (without waiting).
    pub fn terminate(&mut self) {
        self.signal("TERM");
    }

    /// Sends SIGINT, as Ctrl-C does (without waiting).
    pub fn interrupt(&mut self) {
        self.signal("INT");
    }

    fn signal(&mut self, name: &str) {
        let pid = self.pid().to_string();
        let kill = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .expect("run kill");
        assert!(kill.success(), "kill -{name} {pid} failed");
    }

    /// Sends SIGTERM and waits (bounded) for the process to exit by itself.
    pub fn stop(mut self) -> Stopped {
        self.terminate();
        self.wait_stopped()
    }

    /// Waits (bounded) for the process to exit by itself (after [`Server::terminate`]).
    pub fn wait_stopped(mut self) -> Stopped {
        let status = self.guard.wait_bounded(BOUND);
        let Some(status) = status else {
            panic!(
                "visitord did not exit within {BOUND:?} of SIGTERM; stdout {:?}, stderr {:?}",
                self.stdout.text(),
                self.stderr.text()
            );
        };
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        Stopped {
            status,
            stdout: self.stdout.text(),
            stderr: self.stderr.text(),
        }
    }
}

/// The launch summary's lines, trimmed: printed as text (`  listening:  …`) or, with
/// `log.format = "json"`, as JSON lines whose `message` is the line.
pub fn summary_lines(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(|l| match serde_json::from_str::<Value>(l) {
            Ok(v) => v["message"].as_str().unwrap_or_default().to_string(),
            Err(_) => l.trim().to_string(),
        })
        .collect()
}

/// An HTTP response as read off the socket.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    /// A header's value (names are compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Panics unless the API contract (the OpenAPI document) describes this response to
    /// `method path` (see `common::contract`).
    pub fn check_contract(&self, method: &str, path: &str, headers: &[(&str, &str)]) {
        use crate::common::contract::{check_response, Contract};
        let has = |name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
        let preflight =
            method == "OPTIONS" && has("origin") && has("access-control-request-method");
        let mut map = actix_web::http::header::HeaderMap::new();
        for (name, value) in &self.headers {
            if let (Ok(n), Ok(v)) = (
                actix_web::http::header::HeaderName::from_bytes(name.as_bytes()),
                actix_web::http::header::HeaderValue::from_str(value),
            ) {
                map.append(n, v);
            }
        }
        let template = Contract::get().template_of(path);
        check_response(
            method,
            template,
            preflight,
            self.status,
            &map,
            self.body.as_bytes(),
        );
    }

    /// The body as JSON, asserting a 200 with a JSON content type.
    pub fn ok(&self) -> Value {
        assert_eq!(self.status, 200, "{self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{self:?}"
        );
        self.json()
    }
}

/// One request on a fresh connection (the `ureq` client), answered within [`BOUND`]. Every
/// answer is returned, whatever its status; only a failure to talk HTTP is an error.
pub fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> std::io::Result<Response> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(BOUND))
        .http_status_as_error(false)
        // Answers are checked as the server gives them: a redirect is an answer.
        .max_redirects(0)
        .max_idle_connections(0)
        .build()
        .into();
    let mut req = ureq::http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let io = |e: &dyn std::fmt::Display| std::io::Error::other(format!("{method} {path}: {e}"));
    let sent = match body {
        Some(body) => req
            .header("content-type", "application/json")
            .body(body.to_string())
            .map_err(|e| io(&e))
            .and_then(|r| agent.run(r).map_err(|e| io(&e))),
        None => req
            .body(())
            .map_err(|e| io(&e))
            .and_then(|r| agent.run(r).map_err(|e| io(&e))),
    };
    let mut resp = sent?;
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (k.as_str().to_ascii_lowercase(), value)
        })
        .collect();
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_string().map_err(|e| io(&e))?;
    Ok(Response {
        status,
        body,
        headers,
    })
}
