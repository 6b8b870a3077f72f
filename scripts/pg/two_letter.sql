-- scripts/load.sh: the two-letter term 'an' (page of 50 newest first + exact total), the peer
-- of GET visitors.search?term=an on the big store.
SELECT v.* FROM visitor v
 WHERE vsearch(v.name, v.username, v.email, v.phone) LIKE '%an%' ORDER BY v.ts DESC LIMIT 50;
SELECT count(*) FROM visitor v WHERE vsearch(v.name, v.username, v.email, v.phone) LIKE '%an%';
