-- Migration 1: the whole schema of the postgres backend.
--
-- Every table keeps its record as `record bytea` (the model's record as JSON text, byte-exact:
-- PostgreSQL's text and jsonb cannot hold NUL, which a client may send) plus the plain columns that are looked up, constrained or sorted by; one
-- Rust function per table writes both, so they never disagree. Times are milliseconds since
-- 1970 (bigint), exactly as the API shows them. Write-order numbers (`seq`) come from the
-- sequence `write_seq` and break ties of equal times.
--
-- Portable subset (docs/scale-out.md): one DDL statement per step, each idempotent, indexes by
-- separate CREATE INDEX statements, no triggers, functions, generated columns or advisory locks.
-- Statements are separated by a line that is exactly `;`. Text columns hold client text through
-- one injective escape (NUL → U+E000 '0', U+E000 → U+E000 U+E000), see `postgres::col`.

-- guest-N: never repeats (a sequence is never rolled back).
CREATE SEQUENCE IF NOT EXISTS guest_seq
;
-- Write order of every record (the tie-breaker of equal times).
CREATE SEQUENCE IF NOT EXISTS write_seq
;
-- visitors: one row per visitor.
--   id (PK, the 17-character Meteor id), token (unique: one visitor per token, across every
--   replica), username, ts/updated_at/seq (sort keys), name/username (sort keys, compared
--   byte-wise), email (lower-cased, matched by registration), phone (as sent, matched exactly),
--   phone_digits (its digits, searched), last_chat_ts (sort key), search_text (the lower-cased
--   searchable texts joined by a newline, for the trigram index), search_texts (the same texts
--   one by one, so that a match never spans two of them), record (the whole visitor).
CREATE TABLE IF NOT EXISTS visitors (
    id text PRIMARY KEY,
    token text NOT NULL,
    username text NOT NULL,
    name text,
    email text,
    phone text,
    phone_digits text,
    ts bigint NOT NULL,
    updated_at bigint NOT NULL,
    last_chat_ts bigint,
    seq bigint NOT NULL,
    search_text text NOT NULL,
    search_texts jsonb NOT NULL,
    record bytea NOT NULL
)
;
CREATE UNIQUE INDEX IF NOT EXISTS visitors_token ON visitors (token)
;
CREATE INDEX IF NOT EXISTS visitors_phone ON visitors (phone)
;
CREATE INDEX IF NOT EXISTS visitors_email ON visitors (email)
;
CREATE INDEX IF NOT EXISTS visitors_ts_seq ON visitors (ts, seq)
;
CREATE INDEX IF NOT EXISTS visitors_search_text ON visitors USING gin (search_text gin_trgm_ops)
;
CREATE INDEX IF NOT EXISTS visitors_phone_digits ON visitors USING gin (phone_digits gin_trgm_ops)
;
-- rooms: id (PK), visitor_id (the owner), open (at most one open room per visitor: the partial
-- unique index), ts/seq (order of a visitor's rooms), record (the whole room).
CREATE TABLE IF NOT EXISTS rooms (
    id text PRIMARY KEY,
    visitor_id text NOT NULL,
    open boolean NOT NULL,
    ts bigint NOT NULL,
    seq bigint NOT NULL,
    record bytea NOT NULL
)
;
CREATE UNIQUE INDEX IF NOT EXISTS rooms_one_open_per_visitor ON rooms (visitor_id) WHERE open
;
CREATE INDEX IF NOT EXISTS rooms_visitor_ts ON rooms (visitor_id, ts, seq)
;
-- messages: id (PK; a client may choose it), rid (the room), ts/seq (order in the room),
-- record (the whole message).
CREATE TABLE IF NOT EXISTS messages (
    id text PRIMARY KEY,
    rid text NOT NULL,
    ts bigint NOT NULL,
    seq bigint NOT NULL,
    record bytea NOT NULL
)
;
CREATE INDEX IF NOT EXISTS messages_rid_ts ON messages (rid, ts, seq)
;
-- page_visits (navigation history): id (PK), token (whose), rid (the room, if any), href (the
-- overview's top pages), ts/seq (order), expire_at (room-less entries of unregistered tokens;
-- NULL: never), record (the whole entry).
CREATE TABLE IF NOT EXISTS page_visits (
    id text PRIMARY KEY,
    token text NOT NULL,
    rid text,
    href text NOT NULL,
    ts bigint NOT NULL,
    seq bigint NOT NULL,
    expire_at bigint,
    record bytea NOT NULL
)
;
CREATE INDEX IF NOT EXISTS page_visits_token_ts ON page_visits (token, ts, seq)
;
CREATE INDEX IF NOT EXISTS page_visits_rid_ts ON page_visits (rid, ts, seq)
;
CREATE INDEX IF NOT EXISTS page_visits_ts ON page_visits (ts, seq)
;
CREATE INDEX IF NOT EXISTS page_visits_expire_at ON page_visits (expire_at)
;
-- users: id (PK), username_key (the lower-cased username: unique regardless of case), record
-- (the whole user, password hash included).
CREATE TABLE IF NOT EXISTS users (
    id text PRIMARY KEY,
    username_key text NOT NULL,
    record bytea NOT NULL
)
;
CREATE UNIQUE INDEX IF NOT EXISTS users_username_key ON users (username_key)
;
-- sessions (logins): token_hash (PK, the SHA-256 of the login token; the token itself is never
-- stored), user_id, expires_at (pruned after), record (the whole session).
CREATE TABLE IF NOT EXISTS sessions (
    token_hash bytea PRIMARY KEY,
    user_id text NOT NULL,
    expires_at bigint NOT NULL,
    record bytea NOT NULL
)
;
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id)
;
-- merge_locks: slot (PK, a hash of a phone or email modulo 4096). A registration that may merge
-- by phone or email locks its slots' rows first, so that those registrations run one at a time.
CREATE TABLE IF NOT EXISTS merge_locks (
    slot integer PRIMARY KEY
)
;
-- meta: settings of the database as a whole (e.g. which custom fields search_text holds).
CREATE TABLE IF NOT EXISTS meta (
    key text PRIMARY KEY,
    value text NOT NULL
)
;
-- leases: one row per background job; the replica whose lease has not expired runs it.
CREATE TABLE IF NOT EXISTS leases (
    name text PRIMARY KEY,
    holder text NOT NULL,
    expires_at bigint NOT NULL
)
;
-- failed_logins: failed login attempts counted across replicas. key (PK: the limit's name and
-- the address or lower-cased username), window_start (the window began with its first failure;
-- a minute later the next failure starts a new one), n (failures in the window).
CREATE TABLE IF NOT EXISTS failed_logins (
    key text PRIMARY KEY,
    window_start bigint NOT NULL,
    n bigint NOT NULL
)
