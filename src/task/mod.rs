//! Tasks: a spawned future, its handle, and how it ends.

mod join_error;

pub use join_error::JoinError;
pub(crate) use join_error::panic_message;
