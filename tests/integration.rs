//! One integration-test binary for visitord: every area lives in a module under `tests/api/`.

mod api;
mod common;
