//! `GET /api/v1/visitord.overview`: the console's overview, answered from counters.

use crate::domain::Overview;
use crate::http::error::{fields, success, ApiError};
use crate::http::extract::{grant, Authorized, QueryParams};
use crate::http::query::check_params;
use crate::http::{read, AppState};
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

/// Days of the per-day series (today included).
pub const DAYS: u32 = 30;
/// Days the most visited pages are counted over (today included).
pub const TOP_DAYS: u32 = 7;
/// How many pages the answer lists.
pub const TOP: usize = 10;

/// `GET /api/v1/visitord.overview` (`view-l-room`) — the visitors in the store, new visitors and
/// page visits per UTC day over the last 30 days, and the 10 most visited pages of the last 7
/// days; from counters kept in the write transactions, so its cost does not grow with the store.
pub async fn overview(
    state: web::Data<AppState>,
    _agent: Authorized<grant::ViewLRoom>,
    query: QueryParams,
) -> Result<HttpResponse, ApiError> {
    check_params(&query, &[], &[])?;
    let now = crate::time::now_ms();
    let o = read(&state, move |s| s.overview(now, DAYS, TOP_DAYS, TOP)).await?;
    Ok(success(fields([("overview", wire(&o))])))
}

fn date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

fn wire(o: &Overview) -> Value {
    json!({
        "visitors": o.visitors,
        "days": o.days.iter().map(|d| json!({
            "date": date(d.day),
            "newVisitors": d.new_visitors,
            "pageVisits": d.page_visits,
        })).collect::<Vec<_>>(),
        "topPages": o.top_pages.iter().map(|p| json!({
            "href": p.href,
            "visits": p.visits,
        })).collect::<Vec<_>>(),
    })
}
