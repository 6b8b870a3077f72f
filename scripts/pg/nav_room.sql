-- scripts/load.sh, PostgreSQL peer of run pv-room: one navigation entry in a visitor's room per
-- transaction (synchronous_commit=on), a random one of the same (token, room) pairs as wrk's.
\set r random(1, :nrooms)
INSERT INTO nav (id, token, rid, ts, title, href, change)
SELECT left(md5(random()::text || clock_timestamp()::text), 17), token, rid, now(),
       'Pricing | Acme Store', 'https://shop.acme.example/pricing', 'url'
  FROM bench_rooms WHERE i = :r;
