//! Prometheus metrics, served by `GET /metrics` (see [`crate::http::metrics`]) in the Prometheus
//! text format 0.0.4, from the `prometheus-client` crate.
//!
//! One [`Metrics`] per [`crate::http::AppState`] (not a process-wide global, so every test app
//! counts on its own). Labels never hold personal data: requests are labelled by their route's
//! *template* (`/api/v1/livechat/visitor/{token}`, never the path, which holds visitor tokens;
//! `unmatched` for a path no route serves), a normalised method and the status.
//!
//! Store counts are not computed at scrape time (sled's `len` walks a tree, postgres' `count(*)`
//! scans a table): the visitor count is read per scrape (sled: the counter the store keeps, one
//! key; postgres: a `count(*)` of `visitors`); rooms, messages, navigation entries, users and
//! bytes on disk are sampled by a background thread every [`STORE_SAMPLE_SECS`]
//! (`crate::server::StoreSampler`; sled: navigation entries from the `day_count` counters,
//! rooms, messages and users by walking their trees; postgres: a `count(*)` of each table and
//! `pg_database_size`),
//! and `visitord_store_sampled_timestamp_seconds` says when. The group-commit metrics
//! (`visitord_store_commit_*`) are sled's: on postgres a write is durable when its COMMIT
//! answered, and they stay at zero.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Metric, Registry, Unit};
use std::sync::Arc;
use std::time::Duration;

/// How often the background sampler counts the store's records and bytes on disk.
pub const STORE_SAMPLE_SECS: u64 = 60;

/// The content type of the Prometheus text format 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The route label of a request no route matched.
pub const UNMATCHED: &str = "unmatched";

/// Labels of a served request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

/// Labels of a request's latency.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: &'static str,
}

/// The rate limit that refused a request (`ratelimit::Route::label`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// The registry, handing back each metric it registers (a handle onto what it exports).
struct Registrar<'a>(&'a mut Registry);

impl Registrar<'_> {
    /// Registers `metric` as `name`, described by `help`.
    fn add_metric<M: Metric + Clone>(&mut self, name: &str, help: &str, metric: M) -> M {
        self.0.register(name, help, metric.clone());
        metric
    }

    /// A new metric of type `M`, registered as `name`.
    fn add<M: Metric + Clone + Default>(&mut self, name: &str, help: &str) -> M {
        self.add_metric(name, help, M::default())
    }

    /// A latency histogram (seconds, [`latency_histogram`]'s buckets) registered as `name`.
    fn add_latency(&mut self, name: &str, help: &str) -> Histogram {
        self.add_in(Unit::Seconds, name, help, latency_histogram())
    }

    /// [`Self::add_metric`] for a metric measured in `unit`.
    fn add_in<M: Metric + Clone>(&mut self, unit: Unit, name: &str, help: &str, metric: M) -> M {
        self.0.register_with_unit(name, help, unit, metric.clone());
        metric
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        5.0, 10.0,
    ])
}

/// Every metric visitord keeps, and the registry that encodes them.
#[derive(Debug)]
pub struct Metrics {
    enabled: bool,
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_duration: HistogramFamily<RouteLabels>,
    in_flight: Gauge,
    commit_batch: Histogram,
    commit_flush: Histogram,
    commit_flush_failures: Counter,
    visitors: Gauge,
    rooms: Gauge,
    messages: Gauge,
    page_visits: Gauge,
    users: Gauge,
    disk_bytes: Gauge,
    sampled_at: Gauge,
    rate_limited: Family<LimitLabels, Counter>,
    search: Histogram,
    pruned_history: Counter,
    pruned_sessions: Counter,
    login_failures: Counter,
}

/// A request being served: counted in flight until [`InFlight::finish`] (or drop).
pub struct InFlight {
    metrics: Option<Arc<Metrics>>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(m) = self.metrics.take() {
            m.in_flight.dec();
        }
    }
}

impl Metrics {
    /// The metrics, registered; with `enabled` false every observation is a no-op.
    pub fn new(enabled: bool) -> Metrics {
        let mut registry = Registry::with_prefix("visitord");
        let mut r = Registrar(&mut registry);
        let requests: Family<RequestLabels, Counter> = r.add(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
        );
        let request_duration = r.add_in(
            Unit::Seconds,
            "http_request_duration",
            "Time from a request's arrival to its response, by route template and method",
            HistogramFamily::<RouteLabels>::new_with_constructor(latency_histogram),
        );
        let in_flight: Gauge = r.add("http_requests_in_flight", "Requests being served now");
        let commit_batch = r.add_metric(
            "store_commit_batch_size",
            "Writes made durable by one group-commit flush (sync durability only)",
            Histogram::new([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0]),
        );
        let commit_flush = r.add_latency(
            "store_commit_flush_duration",
            "Time one group-commit flush took (sync durability only)",
        );
        let commit_flush_failures: Counter = r.add(
            "store_commit_flush_failures",
            "Group-commit flushes that failed (each fails the writes it covered)",
        );
        let visitors: Gauge = r.add(
            "store_visitors",
            "Visitors in the store (the store's own counter, read at scrape time)",
        );
        let [rooms, messages, page_visits, users]: [Gauge; 4] = [
            ("store_rooms", "Livechat rooms"),
            ("store_messages", "Room messages"),
            ("store_navigation_entries", "Navigation history entries"),
            ("store_users", "Agent accounts"),
        ]
        .map(|(name, what)| {
            r.add(
                name,
                &format!("{what} in the store (sampled in the background)"),
            )
        });
        let disk_bytes = r.add_in(
            Unit::Bytes,
            "store_disk",
            "Bytes the store occupies on disk: sled's data dir, postgres' database (sampled in the \
             background)",
            Gauge::default(),
        );
        let sampled_at: Gauge = r.add(
            "store_sampled_timestamp_seconds",
            "When the sampled store gauges were last measured (Unix time; 0 = not yet)",
        );
        let rate_limited: Family<LimitLabels, Counter> = r.add(
            "rate_limit_refusals",
            "Requests refused with 429 by a rate limit, by limit",
        );
        let search = r.add_latency(
            "search_duration",
            "Time the store took to answer a visitors.search",
        );
        let [pruned_history, pruned_sessions]: [Counter; 2] = [
            ("pruned_navigation_entries", "Navigation history entries"),
            ("pruned_sessions", "Expired login sessions"),
        ]
        .map(|(name, what)| r.add(name, &format!("{what} deleted by the background pruner")));
        let login_failures: Counter = r.add(
            "login_failures",
            "Logins refused for a wrong username or password",
        );
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        registry.register("build_info", "The running visitord's version", build);
        Metrics {
            enabled,
            registry,
            requests,
            request_duration,
            in_flight,
            commit_batch,
            commit_flush,
            commit_flush_failures,
            visitors,
            rooms,
            messages,
            page_visits,
            users,
            disk_bytes,
            sampled_at,
            rate_limited,
            search,
            pruned_history,
            pruned_sessions,
            login_failures,
        }
    }

    /// Whether metrics are kept and served (`metrics.enabled`).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Counts a request in flight until the returned guard is dropped.
    pub fn start_request(self: &Arc<Self>) -> InFlight {
        if !self.enabled {
            return InFlight { metrics: None };
        }
        self.in_flight.inc();
        InFlight {
            metrics: Some(self.clone()),
        }
    }

    /// Records an answered request. `route` is the route's template (`None`: unmatched).
    pub fn request(&self, route: Option<String>, method: &str, status: u16, took: Duration) {
        if !self.enabled {
            return;
        }
        let route = route.unwrap_or_else(|| UNMATCHED.to_string());
        let method = method_label(method);
        self.requests
            .get_or_create(&RequestLabels {
                route: route.clone(),
                method,
                status,
            })
            .inc();
        self.request_duration
            .get_or_create(&RouteLabels { route, method })
            .observe(took.as_secs_f64());
    }

    /// Records one group-commit flush that covered `batch` writes.
    pub fn commit_flush(&self, batch: u64, took: Duration, ok: bool) {
        if !self.enabled {
            return;
        }
        self.commit_batch.observe(batch as f64);
        self.commit_flush.observe(took.as_secs_f64());
        if !ok {
            self.commit_flush_failures.inc();
        }
    }

    /// Records a request refused by the rate limit named `limit`.
    pub fn rate_limited(&self, limit: &'static str) {
        if self.enabled {
            self.rate_limited
                .get_or_create(&LimitLabels { route: limit })
                .inc();
        }
    }

    /// Records the store time of one `visitors.search`.
    pub fn search(&self, took: Duration) {
        if self.enabled {
            self.search.observe(took.as_secs_f64());
        }
    }

    /// Records what one run of the pruner deleted.
    pub fn pruned(&self, history: u64, sessions: u64) {
        if self.enabled {
            self.pruned_history.inc_by(history);
            self.pruned_sessions.inc_by(sessions);
        }
    }

    /// Records a login refused for a wrong username or password.
    pub fn login_failed(&self) {
        if self.enabled {
            self.login_failures.inc();
        }
    }

    /// Sets the visitor gauge (from the store's counter, at scrape time).
    pub fn set_visitors(&self, n: u64) {
        self.visitors.set(gauge_value(n));
    }

    /// Sets the sampled store gauges, stamped `now_secs` (Unix time).
    pub fn set_store_sample(&self, counts: crate::store::Counts, disk_bytes: u64, now_secs: u64) {
        self.rooms.set(gauge_value(counts.rooms as u64));
        self.messages.set(gauge_value(counts.messages as u64));
        self.page_visits.set(gauge_value(counts.page_visits as u64));
        self.users.set(gauge_value(counts.users as u64));
        self.disk_bytes.set(gauge_value(disk_bytes));
        self.sampled_at.set(gauge_value(now_secs));
    }

    /// The whole registry in the Prometheus text format 0.0.4.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

fn gauge_value(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The method as a label: one of the standard methods, else `other` (a client can send any
/// token as a method, and each would otherwise be a new series).
fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_has_the_build_info_and_no_eof_marker() {
        let m = Metrics::new(true);
        m.request(
            Some("/api/v1/livechat/visitor/{token}".into()),
            "GET",
            200,
            Duration::from_millis(3),
        );
        m.request(None, "BREW", 404, Duration::from_millis(1));
        let text = m.encode().unwrap();
        assert!(
            text.contains("visitord_build_info{version=\"0.1.0\"} 1\n"),
            "{text}"
        );
        assert!(text.contains(
            "visitord_http_requests_total{route=\"/api/v1/livechat/visitor/{token}\",method=\"GET\",status=\"200\"} 1\n"
        ), "{text}");
        assert!(text.contains(
            "visitord_http_requests_total{route=\"unmatched\",method=\"other\",status=\"404\"} 1\n"
        ), "{text}");
        assert!(!text.contains("# EOF"), "{text}");
    }

    #[test]
    fn disabled_metrics_record_nothing() {
        let m = Arc::new(Metrics::new(false));
        let guard = m.start_request();
        m.request(None, "GET", 404, Duration::ZERO);
        m.login_failed();
        drop(guard);
        let text = m.encode().unwrap();
        assert!(!text.contains("visitord_http_requests_total{"), "{text}");
        assert!(text.contains("visitord_login_failures_total 0\n"), "{text}");
    }
}
