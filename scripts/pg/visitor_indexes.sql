-- The visitor indexes visitord has too: _id, token (unique), email, phone, creation time (the
-- empty term's order), and the trigram index of the searchable text.
ALTER TABLE visitor ADD PRIMARY KEY (id);
CREATE UNIQUE INDEX visitor_token ON visitor (token);
CREATE INDEX visitor_email ON visitor (email);
CREATE INDEX visitor_phone ON visitor (phone);
CREATE INDEX visitor_ts ON visitor (ts);
CREATE INDEX visitor_search ON visitor USING gin (vsearch(name, username, email, phone) gin_trgm_ops);
ANALYZE visitor;
CREATE TABLE visitor_new (LIKE visitor INCLUDING ALL);
