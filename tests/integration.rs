//! One integration-test binary for visitord: every area lives in a module under `tests/api/`.

mod agent;
mod api;
mod cli;
mod common;
mod crash;
mod hostile;
mod openapi;
mod ops;
mod races;
mod resources;
mod store;
mod web;
