//! Query parameters of agent endpoints, checked in AJV's order (required, then unlisted, then
//! types), and the shared `offset`/`count`/`sort` parser of paginated endpoints (§1.5).

use super::error::{success, ApiError};
use super::param_errors::ajv_keys;
use crate::config::ApiConfig;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// The parameters a paginated endpoint always accepts.
const PAGING: [&str; 3] = ["count", "offset", "sort"];

/// A page request: skip `offset`, take `count` (`None`: all), order by `sort`.
#[derive(Debug, Clone, PartialEq)]
pub struct Paging {
    pub offset: usize,
    pub count: Option<usize>,
    /// `(field, ascending)` in the order given; empty means the endpoint's default.
    pub sort: Vec<(String, bool)>,
}

impl Paging {
    /// The slice of `items` this page covers.
    pub fn apply<T>(&self, items: Vec<T>) -> Vec<T> {
        let it = items.into_iter().skip(self.offset);
        match self.count {
            Some(n) => it.take(n).collect(),
            None => it.collect(),
        }
    }

    /// The 200 answer `{<name>: [the page of all, each shown by view], count, offset, total,
    /// success}`.
    pub fn answer<T>(&self, name: &str, all: Vec<T>, view: impl Fn(&T) -> Value) -> HttpResponse {
        let total = all.len();
        let items = self.apply(all).iter().map(view).collect();
        success(self.body(name, items, total))
    }

    /// The requested order, else `default`.
    pub fn sort_or<'a>(&'a self, default: &'a [(String, bool)]) -> &'a [(String, bool)] {
        if self.sort.is_empty() {
            default
        } else {
            &self.sort
        }
    }

    /// `{<name>: items, count, offset, total}`, ready for `success`.
    pub fn body(&self, name: &str, items: Vec<Value>, total: usize) -> Map<String, Value> {
        let mut m = Map::new();
        let count = items.len();
        m.insert(name.into(), Value::Array(items));
        m.insert("count".into(), json!(count));
        m.insert("offset".into(), json!(self.offset));
        m.insert("total".into(), json!(total));
        m
    }
}

/// The query string as name → value (the last of repeated names wins).
pub fn query_map(req: &HttpRequest) -> Result<HashMap<String, String>, ApiError> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .map(|pairs| pairs.into_iter().collect())
        .map_err(|e| ApiError::InvalidParams(format!("Invalid query string: {e}")))
}

/// Checks `query` against a schema of `required` and `optional` names (no others).
pub fn check_params(
    query: &HashMap<String, String>,
    required: &[&str],
    optional: &[&str],
) -> Result<(), ApiError> {
    let listed = [required, optional].concat();
    ajv_keys(query.keys().map(String::as_str), required, &listed)
}

/// Checks a paginated endpoint's query (its own `required`/`optional` names plus `count`,
/// `offset`, `sort`) and parses the paging; `sortable` lists the fields `sort` may name.
pub fn paginated(
    query: &HashMap<String, String>,
    required: &[&str],
    optional: &[&str],
    sortable: &[&str],
    api: &ApiConfig,
) -> Result<Paging, ApiError> {
    let optional: Vec<&str> = optional.iter().chain(PAGING.iter()).copied().collect();
    check_params(query, required, &optional)?;
    let count = number(query.get("count"))?;
    let offset = number(query.get("offset"))?;
    let count = match count {
        None => Some(api.default_count),
        Some(0) if api.allow_infinite_count => None,
        Some(0) => Some(api.default_count),
        Some(n) => Some(n.min(api.max_count)),
    };
    let sort = match query.get("sort") {
        Some(raw) => parse_sort(raw, sortable)?,
        None => Vec::new(),
    };
    Ok(Paging {
        offset: offset.unwrap_or(0) as usize,
        count: count.map(|c| c as usize),
        sort,
    })
}

/// AJV with `coerceTypes`: a numeric string is a number (fractions truncated, like parseInt);
/// anything else `must be number`; negatives `must be >= 0`.
fn number(raw: Option<&String>) -> Result<Option<u64>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    let value: f64 = raw
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && !raw.trim().is_empty())
        .ok_or_else(|| ApiError::InvalidParams("must be number".into()))?;
    if value < 0.0 {
        return Err(ApiError::InvalidParams("must be >= 0".into()));
    }
    Ok(Some(value.trunc().min(u64::MAX as f64) as u64))
}

/// `parseJsonQuery`: a JSON object of listed fields, each `1` or `-1`.
pub fn parse_sort(raw: &str, sortable: &[&str]) -> Result<Vec<(String, bool)>, ApiError> {
    let invalid = || ApiError::Coded {
        code: "error-invalid-sort",
        reason: Some(format!("Invalid sort parameter provided: \"{raw}\"")),
        details: Some(json!({ "helperMethod": "parseJsonQuery" })),
    };
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(raw) else {
        return Err(invalid());
    };
    fields
        .iter()
        .map(|(field, dir)| {
            if !sortable.contains(&field.as_str()) {
                return Err(invalid());
            }
            match dir.as_f64() {
                Some(1.0) => Ok((field.clone(), true)),
                Some(-1.0) => Ok((field.clone(), false)),
                _ => Err(invalid()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn msg(r: Result<Paging, ApiError>) -> String {
        r.map(|p| format!("{p:?}"))
            .unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn paging_defaults_clamps_and_errors() {
        let api = ApiConfig::default();
        let p = paginated(&q(&[]), &[], &[], &["ts"], &api).unwrap();
        assert_eq!((p.offset, p.count), (0, Some(50)));
        let p = paginated(
            &q(&[("count", "500"), ("offset", "3")]),
            &[],
            &[],
            &[],
            &api,
        )
        .unwrap();
        assert_eq!((p.offset, p.count), (3, Some(100)));
        let p = paginated(&q(&[("count", "0")]), &[], &[], &[], &api).unwrap();
        assert_eq!(p.count, Some(50));
        let infinite = ApiConfig {
            allow_infinite_count: true,
            ..Default::default()
        };
        assert_eq!(
            paginated(&q(&[("count", "0")]), &[], &[], &[], &infinite)
                .unwrap()
                .count,
            None
        );
        assert!(msg(paginated(&q(&[("count", "x")]), &[], &[], &[], &api))
            .contains("must be number [invalid-params]"));
        assert!(msg(paginated(&q(&[("offset", "-1")]), &[], &[], &[], &api))
            .contains("must be >= 0 [invalid-params]"));
        assert!(msg(paginated(&q(&[("fields", "{}")]), &[], &[], &[], &api))
            .contains("must NOT have additional properties"));
        assert!(msg(paginated(&q(&[]), &["term"], &[], &[], &api))
            .contains("must have required property 'term'"));
    }

    #[test]
    fn sort_parsing() {
        assert_eq!(
            parse_sort(r#"{"ts":-1}"#, &["ts"]).unwrap(),
            vec![("ts".to_string(), false)]
        );
        assert_eq!(parse_sort("{}", &["ts"]).unwrap(), vec![]);
        for bad in [
            r#"{"ts":2}"#,
            "nope",
            "[1]",
            r#"{"other":1}"#,
            r#"{"ts":"1"}"#,
        ] {
            let e = parse_sort(bad, &["ts"]).unwrap_err().to_string();
            assert!(
                e.contains(&format!(
                    "Invalid sort parameter provided: \\\"{}\\\"",
                    bad.replace('"', "\\\"")
                )),
                "{e}"
            );
        }
    }
}
