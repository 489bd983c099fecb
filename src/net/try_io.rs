//! Operations that do not wait: `try_read` and `try_write` after `readable().await` /
//! `writable().await`, as tokio offers them.
//!
//! One attempt, now, whatever the slot says; a `WouldBlock` clears readiness so that the next
//! wait parks until a new event.

use std::io::{self, Read, Write};

use mio::event::Source;

use super::poll_evented::PollEvented;
use crate::reactor::Direction;

impl<S: Source> PollEvented<S> {
    /// Runs `op` once, now, whatever the slot says; a `WouldBlock` clears readiness so that the
    /// next wait parks until a new event.
    pub(crate) fn try_io<R>(
        &self,
        dir: Direction,
        op: impl FnOnce(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        let result = op(&self.source);
        if matches!(&result, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            self.registration.clear_readiness(dir);
        }
        result
    }
}

/// The stream forms (`&TcpStream` implements `Read` and `Write` in mio).
impl<S: Source> PollEvented<S>
where
    for<'a> &'a S: Read + Write,
{
    /// One read attempt now, without waiting (see [`PollEvented::try_io`]).
    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.try_io(Direction::Read, |mut s| s.read(buf))?;
        self.note_transfer(Direction::Read, n, buf.len());
        Ok(n)
    }

    /// One write attempt now, without waiting (see [`PollEvented::try_io`]).
    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        let n = self.try_io(Direction::Write, |mut s| s.write(buf))?;
        self.note_transfer(Direction::Write, n, buf.len());
        Ok(n)
    }
}
