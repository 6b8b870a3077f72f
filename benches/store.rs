//! Store benchmarks at 10k, 100k and 1M visitors (`VISITORD_BENCH_SIZES=10000,100000` for
//! fewer): registration (new and update), the merge of a
//! batch of pending search rows, lookup by token, page-visit append, and search (a selective
//! term, a full name, a short term, the empty term). The searches run with the pending rows the
//! registrations left (up to [`visitord::store::MERGE_INLINE_AT`]).
//!
//! `cargo bench --bench store`. The store runs in `periodic` durability so the figures are the
//! cost of the store itself, not of the disk's flush latency (group commit is measured over HTTP
//! by the load generator). Stores are filled with `demo-data`'s generator once per size and schema
//! and kept under cargo's `CARGO_TARGET_TMPDIR` (a million visitors take minutes to generate); each
//! run works on a fresh copy, so every run starts from the same store.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;
use visitord::config::{Durability, StorageConfig};
use visitord::domain::PageVisitInput;
use visitord::domain::Registration;
use visitord::domain::SearchQuery;
use visitord::store::Store;

/// The visitor counts to bench: `VISITORD_BENCH_SIZES` (comma-separated), else 10k, 100k, 1M.
fn sizes() -> Vec<u64> {
    match std::env::var("VISITORD_BENCH_SIZES") {
        Ok(list) => list
            .split(',')
            .map(|n| {
                n.trim()
                    .parse()
                    .expect("VISITORD_BENCH_SIZES: visitor counts")
            })
            .collect(),
        Err(_) => vec![10_000, 100_000, 1_000_000],
    }
}

fn config(dir: &Path) -> StorageConfig {
    StorageConfig {
        data_dir: dir.to_path_buf(),
        durability: Durability::Periodic,
        ..Default::default()
    }
}

/// Copies the directory tree `from` into `to` (a store's files).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// A fresh copy of the generated store of `visitors` visitors (generated on first use).
fn open(visitors: u64) -> (tempfile::TempDir, Store, Vec<String>) {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "bench-store-schema{}-{visitors}",
        visitord::store::SCHEMA_VERSION
    ));
    if !cache.exists() {
        let partial = cache.with_extension("partial");
        let _ = std::fs::remove_dir_all(&partial);
        eprintln!("generating {visitors} visitors into {}", cache.display());
        let store = Store::open(&config(&partial), Vec::new()).expect("open store");
        visitord::demo::generate(&store, visitors, 0, 42, |_| {}).expect("demo data");
        store.merge_all_pending().expect("merge");
        store.flush().expect("flush");
        drop(store);
        std::fs::rename(&partial, &cache).expect("keep the generated store");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    copy_tree(&cache, &dir.path().join("data"));
    let store = Store::open(&config(&dir.path().join("data")), Vec::new()).expect("open store");
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
    // Its full name: only common trigrams (long posting lists), a few matches.
    let full_name = existing.name.clone().unwrap_or_else(|| "Ana Silva".into());
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
        ("search_name", full_name.as_str()),
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
    for visitors in sizes() {
        bench_size(c, visitors);
    }
}

criterion_group!(benches, bench_store);
criterion_main!(benches);
