//! Operations: `GET /metrics` (scraped and parsed with a real Prometheus text-format parser),
//! `/health/live`, and the postgres backend as operated (TLS, launch summary, sampled gauges).

mod copy;
mod database;
mod metrics;
mod postgres;

use openmetrics_parser::prometheus::parse_prometheus;
use openmetrics_parser::{MetricNumber, MetricsExposition, PrometheusType, PrometheusValue};

/// A parsed scrape.
pub struct Scrape {
    pub text: String,
    parsed: MetricsExposition<PrometheusType, PrometheusValue>,
}

fn number(n: &MetricNumber) -> f64 {
    n.as_f64()
}

impl Scrape {
    /// Parses `text` (panics, showing it, when it is not valid Prometheus text format).
    pub fn parse(text: &str) -> Scrape {
        let parsed = parse_prometheus(text)
            .unwrap_or_else(|e| panic!("not the Prometheus text format ({e:?}):\n{text}"));
        Scrape {
            text: text.to_string(),
            parsed,
        }
    }

    /// The samples of `family` whose labels include every one of `labels`.
    fn samples<'a>(
        &'a self,
        family: &str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a PrometheusValue> + 'a {
        self.parsed
            .families
            .get(family)
            .into_iter()
            .flat_map(|f| f.iter_samples())
            .filter(move |s| {
                let Ok(set) = s.get_labelset() else {
                    return false;
                };
                labels
                    .iter()
                    .all(|(k, v)| set.get_label_value(k) == Some(*v))
            })
            .map(|s| &s.value)
    }

    /// The value of the one counter or gauge sample of `family` with `labels` (`None`: no such
    /// series).
    pub fn value(&self, family: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let values: Vec<f64> = self
            .samples(family, labels)
            .map(|v| match v {
                PrometheusValue::Counter(c) => number(&c.value),
                PrometheusValue::Gauge(n) | PrometheusValue::Unknown(n) => number(n),
                other => panic!("{family} is not a counter or gauge: {other:?}"),
            })
            .collect();
        assert!(values.len() <= 1, "{family} {labels:?}: {values:?}");
        values.first().copied()
    }

    /// `(count, sum)` of the one histogram sample of `family` with `labels`.
    pub fn histogram(&self, family: &str, labels: &[(&str, &str)]) -> Option<(u64, f64)> {
        let values: Vec<(u64, f64)> = self
            .samples(family, labels)
            .map(|v| match v {
                PrometheusValue::Histogram(h) => (
                    h.count.unwrap_or_default(),
                    h.sum.as_ref().map_or(0.0, number),
                ),
                other => panic!("{family} is not a histogram: {other:?}"),
            })
            .collect();
        assert!(values.len() <= 1, "{family} {labels:?}: {values:?}");
        values.first().copied()
    }
}
