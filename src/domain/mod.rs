//! The domain: what storage must do for the API, independent of how it stores it.
//!
//! - [`Backend`]: the store seam, every operation the HTTP layer asks of storage;
//! - [`inputs`] and [`search`]: the plain values those operations take and give, besides the
//!   records of [`crate::model`];
//! - [`rules`]: the business rules every backend follows (match order, custom-field modes,
//!   `guest-N`, history lifetime);
//! - [`error`]: what an operation can fail with, [`Refusal`]s among it.
//!
//! No storage type (sled's or any other) appears in this module.

pub mod backend;
pub mod error;
pub mod inputs;
pub mod overview;
pub mod rules;
pub mod search;

pub use backend::Backend;
pub use error::{Refusal, Result, StoreError};
pub use inputs::{
    Counts, CustomFieldWrite, HttpInfo, ImportItem, MergePolicy, MessageInput, NewUser,
    PageVisitInput, Registration, RoomRequest, UserChanges,
};
pub use overview::{DayCounts, Overview, PageCount};
pub use search::{SearchPage, SearchQuery, Sort, SortField};
