//! Properties of the store itself, below the HTTP layer.

mod search_props;
mod upgrade;
