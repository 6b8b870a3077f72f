//! `visitors.search` and `visitord.overview` on PostgreSQL.
//!
//! A match is what the sled store's `visitor_matches` says (§2.7 of the API contract): a
//! case-insensitive literal substring of name, username, email or a searchable custom field,
//! or the stored phone equal to the term, or — for a phone-like term with at least three
//! digits — its digits inside the phone's digits. Here:
//! - each visitor row keeps its searchable texts case-folded in Rust ([`texts`], the one
//!   folding both backends use), joined by a newline in `search_text` (trigram GIN index) and
//!   one by one in `search_texts`; the query narrows with `search_text LIKE '%term%'` (the
//!   index) and confirms that one single text holds the term (a term never spans two texts);
//! - `phone_digits` (trigram GIN index) answers the digits rule.
//!
//! Totals are exact (`count(*)` in the same snapshot as the page). Orders are the model's:
//! the sort fields, absent values first when ascending, strings compared byte-wise
//! (`COLLATE "C"`), ties by write order (the later first when the first key descends).

use super::{col, Inner, PgError, PgResult};
use crate::domain::{DayCounts, Overview, PageCount, SearchPage, SearchQuery, SortField};
use crate::model::Visitor;
use crate::store::fold;
use crate::time::Millis;

const DAY_MS: Millis = 86_400_000;

/// The digits of `s`.
pub(super) fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The digits of a phone-like term (only digits and `+ - ( ) . space`) with at least three.
fn phone_term_digits(term: &str) -> Option<String> {
    let d = digits(term);
    let phone_like = term
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '(' | ')' | '.' | ' '));
    (d.len() >= 3 && phone_like).then_some(d)
}

/// A visitor's searchable texts, case-folded: name, username, email, then the searchable
/// custom fields (`fields`) in the visitor's order.
pub(super) fn texts(v: &Visitor, fields: &[String]) -> Vec<String> {
    crate::store::searchable_texts(v, fields)
        .map(fold)
        .collect()
}

/// `term` as a literal `LIKE` pattern matching any text that contains it.
fn contains_pattern(term: &str) -> String {
    let mut out = String::with_capacity(term.len() + 2);
    out.push('%');
    for c in term.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The `ORDER BY` of a sort (built from the enum only, never from input).
fn order_by(sort: &[(SortField, bool)]) -> String {
    let default = [(SortField::Ts, false)];
    let sort = if sort.is_empty() { &default[..] } else { sort };
    let mut parts: Vec<String> = sort
        .iter()
        .map(|(field, ascending)| {
            let column = match field {
                SortField::Ts => "ts",
                SortField::UpdatedAt => "updated_at",
                SortField::Name => "name COLLATE \"C\"",
                SortField::Username => "username COLLATE \"C\"",
                SortField::LastChatTs => "last_chat_ts",
            };
            // Absent values sort first ascending (as MongoDB and the model do).
            if *ascending {
                format!("{column} ASC NULLS FIRST")
            } else {
                format!("{column} DESC NULLS LAST")
            }
        })
        .collect();
    let tie_ascending = sort.first().is_some_and(|(_, ascending)| *ascending);
    parts.push(if tie_ascending { "seq ASC" } else { "seq DESC" }.to_string());
    parts.join(", ")
}

/// `visitors.search`: a page and the exact total, read in one snapshot.
pub(super) async fn search(inner: &Inner, query: &SearchQuery) -> PgResult<SearchPage> {
    let mut client = inner.client().await?;
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let term = query.term.as_str();
    let folded = fold(term);
    let pattern = contains_pattern(&col(&folded));
    let digits_pattern = phone_term_digits(term).map(|d| contains_pattern(&d));
    let filter = "($1 = '' \
         OR (search_text LIKE $2 ESCAPE '\\' AND EXISTS (SELECT 1 FROM \
             jsonb_array_elements_text(search_texts) AS t(text) WHERE t.text LIKE $2 ESCAPE '\\')) \
         OR phone = $1 \
         OR ($3::text IS NOT NULL AND phone_digits LIKE $3 ESCAPE '\\'))";
    let total_row = tx
        .query_one(
            format!("SELECT count(*) FROM visitors WHERE {filter}").as_str(),
            &[&col(term), &pattern, &digits_pattern],
        )
        .await?;
    let total: i64 = total_row.try_get(0)?;
    let offset = i64::try_from(query.offset).unwrap_or(i64::MAX);
    let limit = query
        .count
        .map(|c| i64::try_from(c).unwrap_or(i64::MAX))
        .unwrap_or(i64::MAX);
    let rows = tx
        .query(
            format!(
                "SELECT record FROM visitors WHERE {filter} ORDER BY {} LIMIT $4 OFFSET $5",
                order_by(&query.sort)
            )
            .as_str(),
            &[&col(term), &pattern, &digits_pattern, &limit, &offset],
        )
        .await?;
    tx.commit().await?;
    let visitors = rows
        .iter()
        .map(|r| super::record(r, "record"))
        .collect::<PgResult<Vec<Visitor>>>()?;
    Ok(SearchPage {
        visitors,
        total: usize::try_from(total).unwrap_or(0),
    })
}

/// The overview as of `now` (see [`crate::domain::Backend::overview`]), counted from the rows.
pub(super) async fn overview(
    inner: &Inner,
    now: Millis,
    days: u32,
    top_days: u32,
    top: usize,
) -> PgResult<Overview> {
    let client = inner.client().await?;
    let today = crate::store::day_of(now);
    let first_day = today.saturating_sub(days.saturating_sub(1));
    let since = Millis::from(first_day) * DAY_MS;
    let per_day = |table: &'static str| {
        let client = &client;
        async move {
            let rows = client
                .query(
                    format!(
                        "SELECT ts / {DAY_MS} AS day, count(*) FROM {table} \
                         WHERE ts >= $1 GROUP BY day"
                    )
                    .as_str(),
                    &[&since],
                )
                .await?;
            let mut out = std::collections::HashMap::new();
            for row in rows {
                let day: i64 = row.try_get(0)?;
                let n: i64 = row.try_get(1)?;
                out.insert(day, u64::try_from(n).unwrap_or(0));
            }
            Ok::<_, PgError>(out)
        }
    };
    let visitors_by_day = per_day("visitors").await?;
    let visits_by_day = per_day("page_visits").await?;
    let mut day_counts = Vec::with_capacity(days as usize);
    for back in (0..days).rev() {
        let Some(day) = today.checked_sub(back) else {
            continue;
        };
        let key = i64::from(day);
        day_counts.push(DayCounts {
            day: Millis::from(day) * DAY_MS,
            new_visitors: visitors_by_day.get(&key).copied().unwrap_or(0),
            page_visits: visits_by_day.get(&key).copied().unwrap_or(0),
        });
    }
    let top_since = Millis::from(today.saturating_sub(top_days.saturating_sub(1))) * DAY_MS;
    let rows = client
        .query(
            "SELECT href, count(*) AS n FROM page_visits WHERE ts >= $1 GROUP BY href \
             ORDER BY n DESC, href COLLATE \"C\" ASC LIMIT $2",
            &[&top_since, &i64::try_from(top).unwrap_or(i64::MAX)],
        )
        .await?;
    let mut top_pages = Vec::with_capacity(rows.len());
    for row in rows {
        let n: i64 = row.try_get(1)?;
        top_pages.push(PageCount {
            href: super::uncol(row.try_get(0)?),
            visits: u64::try_from(n).unwrap_or(0),
        });
    }
    let total = client
        .query_one("SELECT count(*) FROM visitors", &[])
        .await?;
    let visitors: i64 = total.try_get(0)?;
    Ok(Overview {
        visitors: u64::try_from(visitors).unwrap_or(0),
        days: day_counts,
        top_pages,
    })
}

/// Makes `search_text` agree with the configured searchable custom fields: when they differ
/// from those recorded in `meta` (a config change), every visitor's search columns are
/// recomputed, in batches.
pub(super) async fn sync_search_fields(inner: &Inner) -> PgResult<()> {
    let wanted = serde_json::to_string(&inner.search_fields)
        .map_err(|e| PgError::Store(crate::domain::StoreError::Encode(e.to_string())))?;
    let client = inner.client().await?;
    let rows = client
        .query("SELECT value FROM meta WHERE key = 'search_fields'", &[])
        .await?;
    let recorded: Option<String> = rows.first().map(|r| r.try_get(0)).transpose()?;
    if recorded.as_deref() == Some(wanted.as_str()) {
        return Ok(());
    }
    let mut after = String::new();
    let mut rebuilt = 0u64;
    loop {
        let rows = client
            .query(
                "SELECT record FROM visitors WHERE id > $1 COLLATE \"C\" ORDER BY id COLLATE \"C\" LIMIT 1000",
                &[&after],
            )
            .await?;
        let Some(last) = rows.last() else { break };
        let last: Visitor = super::record(last, "record")?;
        after = col(&last.id).into_owned();
        for row in &rows {
            let v: Visitor = super::record(row, "record")?;
            let texts = texts(&v, &inner.search_fields);
            client
                .execute(
                    "UPDATE visitors SET search_text = $2, search_texts = $3 WHERE id = $1",
                    &[
                        &col(&v.id),
                        &col(&texts.join("\n")),
                        &serde_json::Value::from(
                            texts
                                .iter()
                                .map(|t| col(t).into_owned())
                                .collect::<Vec<_>>(),
                        ),
                    ],
                )
                .await?;
            rebuilt += 1;
        }
    }
    client
        .execute(
            "INSERT INTO meta (key, value) VALUES ('search_fields', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&wanted],
        )
        .await?;
    if rebuilt > 0 {
        log::info!("postgres: searchable custom fields changed; {rebuilt} visitors reindexed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::visitor_matches;

    /// What the SQL filter computes, evaluated in Rust over the same columns.
    fn sql_filter(v: &Visitor, term: &str, fields: &[String]) -> bool {
        let folded = fold(term);
        let like = |text: &str, needle: &str| text.contains(needle);
        let texts = texts(v, fields);
        term.is_empty()
            || (like(&texts.join("\n"), &folded) && texts.iter().any(|t| like(t, &folded)))
            || v.phone.as_deref() == Some(term)
            || phone_term_digits(term)
                .is_some_and(|d| v.phone.as_deref().is_some_and(|p| like(&digits(p), &d)))
    }

    /// The postgres filter and the sled store's definition of a match agree.
    #[test]
    fn the_filter_is_the_shared_definition_of_a_match() {
        let fields = vec!["city".to_string()];
        let mut v = Visitor::new("id".into(), "tok".into(), 1);
        v.username = "guest-12".into();
        v.name = Some("Odysseus ΟΔΥΣ Müller".into());
        v.email = Some("o@ithaca.gr".into());
        v.phone = Some("+30 (210) 555-0101".into());
        v.livechat_data = vec![
            ("city".into(), "Ιθάκη".into()),
            ("secret".into(), "hidden".into()),
        ];
        for term in [
            "",
            "odys",
            "ΟΔΥΣ",
            "οδυσ",
            "MÜLLER",
            "ithaca",
            "guest-1",
            "ιθάκη",
            "hidden",
            "210555",
            "(210) 555",
            "+30 (210) 555-0101",
            "55",
            "s\nguest",
            "ller\ng",
            "x",
            "o@",
            "%",
            "_",
            "\\",
        ] {
            assert_eq!(
                sql_filter(&v, term, &fields),
                visitor_matches(&v, term, &fields),
                "term {term:?}"
            );
        }
    }

    #[test]
    fn like_patterns_are_literal() {
        assert_eq!(contains_pattern("a%b_c\\"), "%a\\%b\\_c\\\\%");
    }

    #[test]
    fn ties_follow_the_first_key() {
        assert_eq!(order_by(&[]), "ts DESC NULLS LAST, seq DESC");
        assert_eq!(
            order_by(&[(SortField::Name, true), (SortField::Ts, false)]),
            "name COLLATE \"C\" ASC NULLS FIRST, ts DESC NULLS LAST, seq ASC"
        );
    }
}
