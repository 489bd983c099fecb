//! The three-requests demo: its timeline drawing, and (once wired) its scenarios end to end.

#[path = "../examples/three_requests/timeline.rs"]
mod timeline;
