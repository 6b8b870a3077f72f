-- The navigation indexes visitord has too: by _id, a room's history, a token's history, and
-- all history by time (retention).
ALTER TABLE nav ADD PRIMARY KEY (id);
CREATE INDEX nav_room ON nav (rid, ts) WHERE rid IS NOT NULL;
CREATE INDEX nav_token ON nav (token, ts);
CREATE INDEX nav_ts ON nav (ts);
ANALYZE nav;
