//! visitord: Rocket.Chat's Livechat visitor REST API served from an embedded sled store.
//!
//! The binary (`src/main.rs`) and every test share [`http::build_app`] and [`store::Store`].
#![forbid(unsafe_code)]

pub mod admin;
pub mod backup;
pub mod backup_schedule;
pub mod cli;
pub mod commands;
pub mod config;
pub mod copy;
pub mod credentials;
pub mod demo;
pub mod domain;
pub mod eraser;
pub mod export;
pub mod healthcheck;
pub mod http;
pub mod import;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod periodic;
pub mod postgres;
pub mod server;
pub mod store;
pub mod time;
