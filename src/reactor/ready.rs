//! `Ready`: the readiness bits the kernel reported for one socket and no operation has disproved.
//!
//! A slot keeps five bits — readable, writable, read closed (the peer's FIN), write closed, error —
//! and the rules for forgetting them, which carry the edge-triggered protocol of `reactor/mod.rs`:
//! all of a direction's bits go after `WouldBlock` ([`Ready::cleared`]); only the data bit after a
//! short transfer ([`Ready::drained`]), so that an end of stream reported with the last data is
//! not lost.

use super::Direction;

/// Readiness bits the kernel reported and no operation has yet disproved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Ready(pub(super) u8);

impl Ready {
    /// Data (or a connection) can be read.
    pub(super) const READABLE: u8 = 1;
    /// Data can be written.
    pub(super) const WRITABLE: u8 = 2;
    /// The peer shut its writing side (we will read EOF).
    pub(super) const READ_CLOSED: u8 = 4;
    /// Our writing side is shut or the peer is gone.
    pub(super) const WRITE_CLOSED: u8 = 8;
    /// An error is pending on the socket.
    pub(super) const ERROR: u8 = 16;

    /// The bits that let an operation in `dir` make progress (data, EOF, or an error to return).
    pub(super) fn mask(dir: Direction) -> u8 {
        match dir {
            Direction::Read => Self::READABLE | Self::READ_CLOSED | Self::ERROR,
            Direction::Write => Self::WRITABLE | Self::WRITE_CLOSED | Self::ERROR,
        }
    }

    /// The bit that says data (or space) is available in `dir`, without the closed/error bits.
    pub(super) fn available(dir: Direction) -> u8 {
        match dir {
            Direction::Read => Self::READABLE,
            Direction::Write => Self::WRITABLE,
        }
    }

    /// Converts a mio event into bits.
    pub(super) fn from_event(event: &mio::event::Event) -> Ready {
        let mut bits = 0;
        let flags = [
            (event.is_readable(), Self::READABLE),
            (event.is_writable(), Self::WRITABLE),
            (event.is_read_closed(), Self::READ_CLOSED),
            (event.is_write_closed(), Self::WRITE_CLOSED),
            (event.is_error(), Self::ERROR),
        ];
        for (set, bit) in flags {
            if set {
                bits |= bit;
            }
        }
        Ready(bits)
    }

    /// These bits after an operation in `dir` returned `WouldBlock`: nothing there any more.
    pub(super) fn cleared(self, dir: Direction) -> Ready {
        Ready(self.0 & !Self::mask(dir))
    }

    /// These bits after a short read (or write) in `dir`: no data (or space) left, but an end of
    /// stream or error already reported stays.
    pub(super) fn drained(self, dir: Direction) -> Ready {
        Ready(self.0 & !Self::available(dir))
    }

    /// True if an operation in `dir` may make progress.
    pub(super) fn allows(self, dir: Direction) -> bool {
        self.0 & Self::mask(dir) != 0
    }
}
