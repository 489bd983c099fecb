//! Blocking work: offload to a thread, or run on the loop (the worker lands in the next commits).

pub mod diagnosis;
