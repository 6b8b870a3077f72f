//! What `visitord.overview` reports: plain values, as the store's counters give them.

use crate::time::Millis;

/// One UTC day of the overview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayCounts {
    /// The day's first millisecond (UTC).
    pub day: Millis,
    /// Visitors created that day (that the store still holds).
    pub new_visitors: u64,
    /// Navigation entries of that day (that the store still holds).
    pub page_visits: u64,
}

/// A page and how often it was visited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageCount {
    pub href: String,
    pub visits: u64,
}

/// The overview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overview {
    /// Visitors in the store.
    pub visitors: u64,
    /// The last days, oldest first, today last.
    pub days: Vec<DayCounts>,
    /// The most visited pages of the last days, most first.
    pub top_pages: Vec<PageCount>,
}
