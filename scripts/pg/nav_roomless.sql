-- scripts/load.sh, PostgreSQL peer of run pv-roomless: one room-less navigation entry per
-- transaction (synchronous_commit=on) for a random one of the same tokens as wrk's.
\set r random(1, :ntokens)
INSERT INTO nav (id, token, rid, ts, title, href, change)
SELECT left(md5(random()::text || clock_timestamp()::text), 17), token, NULL, now(),
       'Pricing | Acme Store', 'https://shop.acme.example/pricing', 'url'
  FROM bench_tokens WHERE i = :r;
