-- scripts/load.sh: the PostgreSQL peer's tables, loaded with the same generated data as
-- visitord's store. Tables first (COPY into them), indexes after (indexes.sql).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
-- The searchable text, folded: name, username, email and the phone's digits, separated by a
-- character no term contains; visitord matches a term in any one of them, case-folded.
CREATE FUNCTION vsearch(name text, username text, email text, phone text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT lower(coalesce(name, '') || chr(1) || coalesce(username, '') || chr(1) ||
               coalesce(email, '') || chr(1) || regexp_replace(coalesce(phone, ''), '\D', '', 'g')) $$;
CREATE TABLE visitor (
  id text NOT NULL, token text NOT NULL, username text NOT NULL, name text, email text,
  phone text, status text NOT NULL, ts timestamptz NOT NULL, updated_at timestamptz NOT NULL,
  livechat_data jsonb);
CREATE TABLE nav (
  id text NOT NULL, token text NOT NULL, rid text, ts timestamptz NOT NULL, title text NOT NULL,
  href text NOT NULL, change text NOT NULL);
CREATE SEQUENCE guest_seq START 100000000;
CREATE TABLE bench_tokens (i int PRIMARY KEY, token text NOT NULL);
CREATE TABLE bench_terms (i int PRIMARY KEY, pat text NOT NULL);
CREATE TABLE bench_rooms (i int PRIMARY KEY, token text NOT NULL, rid text NOT NULL);
