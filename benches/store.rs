//! Store benchmarks at 10k and 100k visitors: registration (new and update), the merge of a
//! batch of pending search rows, lookup by token, page-visit append, and search (a selective
//! term, a short term, the empty term). The searches run with the pending rows the
//! registrations left (up to [`visitord::store::MERGE_INLINE_AT`]).
//!
//! `cargo bench --bench store`. The store runs in `periodic` durability so the figures are the
//! cost of the store itself, not of the disk's flush latency (group commit is measured over HTTP
//! by the load generator). Stores are filled with `demo-data`'s generator.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use std::hint::black_box;
use std::time::Duration;
use visitord::config::{Durability, StorageConfig};
use visitord::domain::PageVisitInput;
use visitord::domain::Registration;
use visitord::domain::SearchQuery;
use visitord::store::Store;

fn open(visitors: u64) -> (tempfile::TempDir, Store, Vec<String>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = StorageConfig {
        data_dir: dir.path().join("data"),
        durability: Durability::Periodic,
        ..Default::default()
    };
    let store = Store::open(&config, Vec::new()).expect("open store");
    visitord::demo::generate(&store, visitors, 0, 42, |_| {}).expect("demo data");
    // Tokens and emails of some existing visitors, for lookups and selective searches.
    let page = store
        .search_visitors(&SearchQuery {
            term: String::new(),
            sort: vec![],
            offset: 0,
            count: Some(1000),
        })
        .expect("list");
    let tokens = page.visitors.iter().map(|v| v.token.clone()).collect();
    (dir, store, tokens)
}

fn registration(i: u64) -> Registration {
    Registration {
        token: format!("bench-token-{i}"),
        name: Some(format!("Bench Visitor {i}")),
        email: Some(format!("bench{i}@example.com")),
        phone: Some(format!("+1 555 {:07}", i)),
        ..Default::default()
    }
}

fn query(term: &str) -> SearchQuery {
    SearchQuery {
        term: term.to_string(),
        sort: vec![],
        offset: 0,
        count: Some(50),
    }
}

fn bench_size(c: &mut Criterion, visitors: u64) {
    let (_dir, store, tokens) = open(visitors);
    let existing = store
        .visitor_by_token(&tokens[tokens.len() / 2])
        .expect("read")
        .expect("a visitor");
    // The random part of an existing visitor's email: a term with one match.
    let selective: String = existing
        .email
        .as_deref()
        .unwrap_or("zzzz")
        .chars()
        .take(8)
        .collect();
    let mut group = c.benchmark_group(format!("store_{}k", visitors / 1000));
    group.measurement_time(Duration::from_secs(4));
    let mut next = 0;
    group.bench_function("register_new", |b| {
        b.iter_batched(
            || {
                next += 1;
                registration(next)
            },
            |reg| store.register_visitor(&reg, 2).expect("register"),
            BatchSize::SmallInput,
        )
    });
    // Moving a batch of pending rows (new visitors) into the posting chunks: divided by the
    // batch size and added to `register_new`, the amortised cost of a registration. Each
    // iteration registers its batch first (not timed), so few samples.
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500));
    for batch in [256usize, 1024] {
        group.bench_function(format!("merge_{batch}"), |b| {
            b.iter_batched(
                || {
                    store.merge_all_pending().expect("merge what is pending");
                    for _ in 0..batch {
                        next += 1;
                        store
                            .register_visitor(&registration(next), 2)
                            .expect("register");
                    }
                },
                |()| store.merge_pending(batch).expect("merge"),
                BatchSize::PerIteration,
            )
        });
    }
    group.sample_size(100).warm_up_time(Duration::from_secs(3));
    let mut i = 0;
    group.bench_function("register_update", |b| {
        b.iter(|| {
            i = (i + 7) % tokens.len();
            let reg = Registration {
                token: tokens[i].clone(),
                name: Some(format!("Renamed {i}")),
                ..Default::default()
            };
            store.register_visitor(&reg, 3).expect("update")
        })
    });
    group.bench_function("get_by_token", |b| {
        b.iter(|| {
            i = (i + 7) % tokens.len();
            black_box(store.visitor_by_token(&tokens[i]).expect("get"))
        })
    });
    group.bench_function("page_visit_append", |b| {
        b.iter(|| {
            i = (i + 7) % tokens.len();
            let input = PageVisitInput {
                token: tokens[i].clone(),
                rid: None,
                title: "Pricing".into(),
                change: "url".into(),
                href: "https://example.com/pricing".into(),
            };
            store.record_page_visit(&input, 4, None).expect("visit")
        })
    });
    for (name, term) in [
        ("search_selective", selective.as_str()),
        ("search_short", "an"),
        ("search_empty", ""),
    ] {
        let q = query(term);
        group.bench_function(name, |b| {
            b.iter(|| black_box(store.search_visitors(&q).expect("search")))
        });
    }
    group.finish();
}

fn bench_store(c: &mut Criterion) {
    bench_size(c, 10_000);
    bench_size(c, 100_000);
}

criterion_group!(benches, bench_store);
criterion_main!(benches);
