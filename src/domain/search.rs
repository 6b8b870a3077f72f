//! `visitors.search`: the query, its sort fields and the page it answers.

use crate::model::Visitor;
use std::cmp::Ordering;

/// A field search results can be ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    Ts,
    UpdatedAt,
    Name,
    Username,
    LastChatTs,
}

impl SortField {
    /// The field's name in a `sort` parameter.
    pub fn from_name(name: &str) -> Option<SortField> {
        Some(match name {
            "ts" => SortField::Ts,
            "_updatedAt" => SortField::UpdatedAt,
            "name" => SortField::Name,
            "username" => SortField::Username,
            "lastChat.ts" => SortField::LastChatTs,
            _ => return None,
        })
    }

    /// Orders two visitors by this field (ascending).
    pub fn compare(self, a: &Visitor, b: &Visitor) -> Ordering {
        match self {
            SortField::Ts => a.ts.cmp(&b.ts),
            SortField::UpdatedAt => a.updated_at.cmp(&b.updated_at),
            // Absent values sort first ascending, as MongoDB sorts missing fields.
            SortField::Name => a.name.cmp(&b.name),
            SortField::Username => a.username.cmp(&b.username),
            SortField::LastChatTs => a
                .last_chat
                .as_ref()
                .map(|l| l.ts)
                .cmp(&b.last_chat.as_ref().map(|l| l.ts)),
        }
    }
}

/// `(field, ascending)` pairs; empty means the default, `ts` descending.
pub type Sort = Vec<(SortField, bool)>;

/// One `visitors.search` request.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    pub term: String,
    pub sort: Sort,
    pub offset: usize,
    /// `None`: every match.
    pub count: Option<usize>,
}

/// One page of matches and how many there are in all.
#[derive(Debug, Clone)]
pub struct SearchPage {
    pub visitors: Vec<Visitor>,
    pub total: usize,
}

/// Sorts by `sort` (default `ts` descending); equal values keep write order: the later write
/// first when the first key descends, last when it ascends.
pub fn sort_visitors(visitors: &mut [Visitor], sort: &[(SortField, bool)]) {
    let default = [(SortField::Ts, false)];
    let sort = if sort.is_empty() { &default[..] } else { sort };
    crate::model::sort_by_fields(visitors, sort, |f, a, b| f.compare(a, b), |v| v.seq);
}
