-- scripts/load.sh, PostgreSQL peer of run post-sync: one new visitor per transaction
-- (synchronous_commit=on) into visitor_new, an empty table with visitor's indexes (btree on
-- token, email, phone, ts; GIN trigram on the searchable text), as visitord's fresh store.
INSERT INTO visitor_new (id, token, username, name, email, status, ts, updated_at)
SELECT left(u, 17), u, 'guest-' || nextval('guest_seq'), 'Load Test ' || u,
       'load' || u || '@example.com', 'online', now(), now()
  FROM (SELECT md5(random()::text || clock_timestamp()::text) AS u) s;
