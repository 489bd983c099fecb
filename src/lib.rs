//! evloop
