//! One integration-test binary for visitord: every area lives in a module under `tests/api/`.

mod agent;
mod api;
mod common;
mod store;
