//! evloop
#![warn(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod sandbox;
pub mod task;
pub mod worker;

pub use task::JoinError;
