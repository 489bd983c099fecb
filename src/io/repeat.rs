//! `repeat(byte)`: a reader that never ends, every byte the same.
//!
//! A source of as many bytes as a test wants, without allocating them: combine it with a count
//! (`read_exact` into a buffer of the wanted size). Always ready; never the end of the stream.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{AsyncRead, ReadBuf};

/// A reader of one byte forever; see [`repeat`].
#[derive(Debug, Clone, Copy)]
pub struct Repeat {
    /// The byte every read gives.
    byte: u8,
}

/// A reader that fills every buffer with `byte` and never ends.
pub fn repeat(byte: u8) -> Repeat {
    Repeat { byte }
}

impl AsyncRead for Repeat {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let room = buf.initialize_unfilled();
        room.fill(self.byte);
        let n = room.len();
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}
