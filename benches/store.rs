//! Store benchmarks: registration (new and update), lookup by token, page-visit append.
//!
//! `cargo bench --bench store`. The store runs in `periodic` durability so the figures are the
//! cost of the store itself, not of the disk's flush latency (group commit is measured by the
//! load script, over HTTP).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use std::hint::black_box;
use visitord::config::{Durability, StorageConfig};
use visitord::store::history::PageVisitInput;
use visitord::store::visitors::Registration;
use visitord::store::Store;

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = StorageConfig {
        data_dir: dir.path().join("data"),
        durability: Durability::Periodic,
        ..Default::default()
    };
    let store = Store::open(&config, Vec::new()).expect("open store");
    (dir, store)
}

fn registration(i: u64) -> Registration {
    Registration {
        token: format!("token-{i}"),
        name: Some(format!("Visitor {i}")),
        email: Some(format!("visitor{i}@example.com")),
        phone: Some(format!("+1 555 {:07}", i)),
        ..Default::default()
    }
}

fn bench_store(c: &mut Criterion) {
    const PRELOAD: u64 = 10_000;
    let (_dir, store) = open();
    for i in 0..PRELOAD {
        store
            .register_visitor(&registration(i), 1)
            .expect("preload");
    }
    let mut group = c.benchmark_group("store_10k");
    let mut next = PRELOAD;
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
    let mut i = 0;
    group.bench_function("register_update", |b| {
        b.iter(|| {
            i = (i + 7919) % PRELOAD;
            let mut reg = registration(i);
            reg.name = Some(format!("Renamed {i}"));
            store.register_visitor(&reg, 3).expect("update")
        })
    });
    group.bench_function("get_by_token", |b| {
        b.iter(|| {
            i = (i + 7919) % PRELOAD;
            black_box(store.visitor_by_token(&format!("token-{i}")).expect("get"))
        })
    });
    group.bench_function("page_visit_append", |b| {
        b.iter(|| {
            i = (i + 7919) % PRELOAD;
            let input = PageVisitInput {
                token: format!("token-{i}"),
                rid: None,
                title: "Pricing".into(),
                change: "url".into(),
                href: "https://example.com/pricing".into(),
            };
            store.record_page_visit(&input, 4, None).expect("visit")
        })
    });
    group.finish();
}

criterion_group!(benches, bench_store);
criterion_main!(benches);
