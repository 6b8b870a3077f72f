-- scripts/load.sh, PostgreSQL peer of run c: a random one of the same selective terms (as LIKE
-- patterns over the folded searchable text, bench_terms): the first page of 50, newest first,
-- plus the exact total, as visitors.search answers.
\set r random(1, :nterms)
SELECT v.* FROM visitor v
 WHERE vsearch(v.name, v.username, v.email, v.phone) LIKE (SELECT pat FROM bench_terms WHERE i = :r)
 ORDER BY v.ts DESC LIMIT 50;
SELECT count(*) FROM visitor v
 WHERE vsearch(v.name, v.username, v.email, v.phone) LIKE (SELECT pat FROM bench_terms WHERE i = :r);
