//! A small closed-loop HTTP load generator for visitord (used by `scripts/soak.sh`): keep-alive
//! connections, a mix of visitor and agent requests, an optional total rate, and a report every
//! interval (requests, errors, latency percentiles, the server's RSS).
//!
//! cargo run --release --example loadgen -- --addr 127.0.0.1:3000 --seconds 60 [--rate 500]
//!   [--connections 8] [--password ADMIN_PASSWORD] [--pid SERVER_PID] [--every 10]
//!   [--mix get=50,register=15,visit=25,search=10]
//!
//! Operations: `get` a visitor by token, `register` a new visitor, `visit` a room-less page
//! view, `search` the first four letters of a common first name (a term whose matches grow with
//! the store: every registration uses one of the same names), `find` a selective search (the
//! email of one of this connection's visitors: one match, as an agent looking someone up).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Flags (see the module header for an example).
#[derive(Clone, Debug, clap::Parser)]
#[command(about = "Closed-loop HTTP load for visitord")]
struct Args {
    /// The server's address.
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: String,
    /// How long to run.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Total requests per second over all connections (0: as fast as they go).
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Keep-alive connections, one thread each.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// The `admin` password, for the agent requests (search); without it they are left out.
    #[arg(long)]
    password: Option<String>,
    /// The server's pid, to report its RSS.
    #[arg(long)]
    pid: Option<u32>,
    /// Seconds between reports.
    #[arg(long, default_value_t = 10)]
    every: u64,
    /// The request mix, `op=weight,…` over get, register, visit, search.
    #[arg(long, value_parser = parse_mix, default_value = "get=50,register=15,visit=25,search=10")]
    mix: Mix,
}

/// Weighted operations.
#[derive(Clone, Debug)]
struct Mix(Vec<(Op, u32)>);

impl std::ops::Deref for Mix {
    type Target = Vec<(Op, u32)>;
    fn deref(&self) -> &Vec<(Op, u32)> {
        &self.0
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Get,
    Register,
    Visit,
    Search,
    Find,
}

/// `get=50,register=15,…`.
fn parse_mix(text: &str) -> Result<Mix, String> {
    text.split(',')
        .map(|part| {
            let (name, weight) = part.split_once('=').ok_or("mix: name=weight")?;
            let op = match name {
                "get" => Op::Get,
                "register" => Op::Register,
                "visit" => Op::Visit,
                "search" => Op::Search,
                "find" => Op::Find,
                other => return Err(format!("unknown op {other}")),
            };
            Ok((op, weight.parse().map_err(|e| format!("{e}"))?))
        })
        .collect::<Result<_, String>>()
        .map(Mix)
}

/// One keep-alive connection: a `ureq` agent that keeps one idle connection to the server.
struct Conn {
    addr: String,
    agent: ureq::Agent,
}

impl Conn {
    fn new(addr: &str) -> Conn {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .max_idle_connections(1)
            .max_idle_connections_per_host(1)
            .build()
            .into();
        Conn {
            addr: addr.into(),
            agent,
        }
    }

    /// Sends one request (`headers` as `(name, value)` pairs) and reads the whole answer.
    fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: &str,
    ) -> Result<(u16, String), ureq::Error> {
        let url = format!("http://{}{path}", self.addr);
        let mut resp = match method {
            "GET" => {
                let mut req = self.agent.get(&url);
                for (name, value) in headers {
                    req = req.header(name, value);
                }
                req.call()?
            }
            _ => {
                let mut req = self.agent.post(&url);
                for (name, value) in headers {
                    req = req.header(name, value);
                }
                req.content_type("application/json").send(body)?
            }
        };
        let status = resp.status().as_u16();
        Ok((status, resp.body_mut().read_to_string()?))
    }
}

/// Latencies (µs) and counts of one reporting interval.
#[derive(Default)]
struct Window {
    latencies: Vec<u64>,
    errors: u64,
}

struct Shared {
    window: Mutex<Window>,
    total: AtomicU64,
    errors: AtomicU64,
}

const NAMES: &[&str] = &[
    "Ana Silva",
    "José García",
    "Zoë Müller",
    "Иван Петров",
    "王小明",
    "Priya Sharma",
    "Mary Smith",
    "Ömer Yılmaz",
];

fn login(addr: &str, password: &str) -> Result<Vec<(String, String)>, String> {
    let mut conn = Conn::new(addr);
    let body = format!("{{\"user\":\"admin\",\"password\":{password:?}}}");
    let (status, text) = conn
        .request("POST", "/api/v1/login", &[], &body)
        .map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("login failed: {status} {text}"));
    }
    let field = |name: &str| -> Option<String> {
        let at = text.find(&format!("\"{name}\":\""))? + name.len() + 4;
        Some(text[at..].split('"').next()?.to_string())
    };
    Ok(vec![
        ("X-User-Id".into(), field("userId").ok_or("no userId")?),
        (
            "X-Auth-Token".into(),
            field("authToken").ok_or("no authToken")?,
        ),
    ])
}

fn worker(
    id: usize,
    args: Args,
    auth: Option<Vec<(String, String)>>,
    shared: Arc<Shared>,
    deadline: Instant,
) {
    let mut conn = Conn::new(&args.addr);
    let mut rng = fastrand::Rng::with_seed(id as u64 + 1);
    let mut tokens: Vec<String> = Vec::new();
    let total_weight: u32 = args.mix.iter().map(|(_, w)| w).sum();
    let interval = (args.rate > 0)
        .then(|| Duration::from_secs_f64(args.connections as f64 / args.rate as f64));
    let mut next = Instant::now();
    let mut n = 0u64;
    while Instant::now() < deadline {
        if let Some(interval) = interval {
            next += interval;
            if let Some(wait) = next.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        let mut pick = rng.u32(..total_weight.max(1));
        let mut op = args.mix[0].0;
        for (o, w) in args.mix.iter() {
            if pick < *w {
                op = *o;
                break;
            }
            pick -= w;
        }
        if tokens.is_empty() || (matches!(op, Op::Search | Op::Find) && auth.is_none()) {
            op = Op::Register;
        }
        let token = tokens.get(rng.usize(..tokens.len().max(1))).cloned();
        let started = Instant::now();
        let result = match op {
            Op::Register => {
                n += 1;
                let t = format!("lg-{id}-{n}-{:x}", rng.u32(..));
                let name = NAMES[rng.usize(..NAMES.len())];
                let body = format!(
                    // A phone unique to this connection and number: a shared phone would make
                    // visitord update the older visitor and keep its token (Rocket.Chat's rule).
                    "{{\"visitor\":{{\"token\":\"{t}\",\"name\":\"{name} {n}\",\"email\":\"{t}@example.com\",\"phone\":\"+1 555 {id:03}{n:07}\"}}}}"
                );
                let r = conn.request("POST", "/api/v1/livechat/visitor", &[], &body);
                if matches!(r, Ok((200, _))) {
                    tokens.push(t);
                }
                r
            }
            Op::Get => conn.request(
                "GET",
                &format!("/api/v1/livechat/visitor/{}", token.unwrap_or_default()),
                &[],
                "",
            ),
            Op::Visit => {
                let body = format!(
                    "{{\"token\":\"{}\",\"rid\":null,\"pageInfo\":{{\"change\":\"url\",\"title\":\"Pricing\",\"location\":{{\"href\":\"https://shop.example/p/{}\"}}}}}}",
                    token.unwrap_or_default(),
                    rng.u64(..1000)
                );
                conn.request("POST", "/api/v1/livechat/page.visited", &[], &body)
            }
            Op::Search => {
                let name = NAMES[rng.usize(..NAMES.len())];
                let term: String = name
                    .split(' ')
                    .next()
                    .unwrap_or("a")
                    .chars()
                    .take(4)
                    .collect();
                let encoded: String = term
                    .bytes()
                    .map(|b| {
                        if b.is_ascii_alphanumeric() {
                            (b as char).to_string()
                        } else {
                            format!("%{b:02X}")
                        }
                    })
                    .collect();
                conn.request(
                    "GET",
                    &format!("/api/v1/livechat/visitors.search?term={encoded}&count=10"),
                    auth.as_deref().unwrap_or(&[]),
                    "",
                )
            }
            Op::Find => conn.request(
                "GET",
                // The token is the email's local part: `lg-…` only has letters, digits, '-'.
                &format!(
                    "/api/v1/livechat/visitors.search?term={}%40example.com&count=10",
                    token.unwrap_or_default()
                ),
                auth.as_deref().unwrap_or(&[]),
                "",
            ),
        };
        let micros = started.elapsed().as_micros() as u64;
        let failed = !matches!(result, Ok((200, _)));
        shared.total.fetch_add(1, Ordering::Relaxed);
        let mut window = shared.window.lock().unwrap_or_else(|p| p.into_inner());
        window.latencies.push(micros);
        if failed {
            shared.errors.fetch_add(1, Ordering::Relaxed);
            window.errors += 1;
            if window.errors <= 3 {
                eprintln!("error: {op:?} → {result:?}");
            }
        }
    }
}

fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

fn main() {
    let args = <Args as clap::Parser>::parse();
    let auth = match &args.password {
        Some(p) => match login(&args.addr, p) {
            Ok(h) => Some(h),
            Err(e) => {
                eprintln!("loadgen: {e}");
                std::process::exit(1);
            }
        },
        None => None,
    };
    let shared = Arc::new(Shared {
        window: Mutex::new(Window::default()),
        total: AtomicU64::new(0),
        errors: AtomicU64::new(0),
    });
    let start = Instant::now();
    let deadline = start + Duration::from_secs(args.seconds);
    let handles: Vec<_> = (0..args.connections)
        .map(|id| {
            let (args, auth, shared) = (args.clone(), auth.clone(), shared.clone());
            std::thread::spawn(move || worker(id, args, auth, shared, deadline))
        })
        .collect();
    println!(
        "{:>6} {:>9} {:>8} {:>7} {:>9} {:>9} {:>9}",
        "t_s", "requests", "req/s", "errors", "p50_ms", "p99_ms", "rss_mb"
    );
    let mut tick = start;
    while Instant::now() < deadline {
        tick += Duration::from_secs(args.every);
        std::thread::sleep(
            tick.saturating_duration_since(Instant::now())
                .min(deadline.saturating_duration_since(Instant::now())),
        );
        let window = std::mem::take(&mut *shared.window.lock().unwrap_or_else(|p| p.into_inner()));
        let mut lat = window.latencies;
        lat.sort_unstable();
        let rss = args
            .pid
            .and_then(rss_kb)
            .map(|kb| format!("{:.1}", kb as f64 / 1024.0))
            .unwrap_or_else(|| "-".into());
        println!(
            "{:>6} {:>9} {:>8.0} {:>7} {:>9.2} {:>9.2} {:>9}",
            start.elapsed().as_secs(),
            lat.len(),
            lat.len() as f64 / args.every as f64,
            window.errors,
            percentile(&lat, 0.5) as f64 / 1000.0,
            percentile(&lat, 0.99) as f64 / 1000.0,
            rss
        );
    }
    for h in handles {
        let _ = h.join();
    }
    let total = shared.total.load(Ordering::Relaxed);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "total {total} requests in {secs:.1} s = {:.0} req/s, {} errors",
        total as f64 / secs,
        shared.errors.load(Ordering::Relaxed)
    );
}
