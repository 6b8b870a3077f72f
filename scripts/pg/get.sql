-- scripts/load.sh, PostgreSQL peer of run b: a visitor by token, a random one of the same
-- sample of existing tokens that wrk uses (bench_tokens).
\set r random(1, :ntokens)
SELECT v.* FROM visitor v WHERE v.token = (SELECT token FROM bench_tokens WHERE i = :r);
