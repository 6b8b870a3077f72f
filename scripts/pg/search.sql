-- scripts/load.sh, PostgreSQL peer of run c: a random one of the same selective terms (as LIKE
-- patterns over the folded searchable text, bench_terms): the first page of 50, newest first,
-- plus the exact total, as visitors.search answers. The pattern is sent as a literal, as an
-- application would (run with -M simple): with a parameter, the planner cannot see that the
-- term is selective and walks the ts index backwards, testing every visitor (7 searches/s at
-- 100k visitors instead of thousands).
\set r random(1, :nterms)
SELECT quote_literal(pat) AS pat FROM bench_terms WHERE i = :r \gset
SELECT v.* FROM visitor v
 WHERE vsearch(v.name, v.username, v.email, v.phone) LIKE :pat ORDER BY v.ts DESC LIMIT 50;
SELECT count(*) FROM visitor v WHERE vsearch(v.name, v.username, v.email, v.phone) LIKE :pat;
