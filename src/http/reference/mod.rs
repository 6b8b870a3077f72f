//! The API reference: the OpenAPI document generated from the route table, the shapes it
//! uses, and the vendored viewer that renders it at `/api/docs`.

pub mod document;
pub mod schema;
pub mod viewer;
