//! `ReadBuf`: the caller's buffer, and how much of it a read has filled.
//!
//! `std::io::Read::read` takes `&mut [u8]` and returns a count. `AsyncRead::poll_read` cannot
//! return a count next to `Pending`, so the count lives in the buffer instead: a reader *fills*
//! a `ReadBuf` and the caller looks at [`filled`](ReadBuf::filled) afterwards.
//!
//! ```text
//!  ┌──────────── capacity ─────────────┐
//!  │ filled (read so far) │ unfilled   │   reader: initialize_unfilled() -> write -> advance(n)
//!  └──────────────────────┴────────────┘           or put_slice(bytes)
//! ```
//!
//! tokio's `ReadBuf` has a third region: bytes that are not even *initialized* yet, so that a
//! reader can fill a fresh `Vec`'s spare capacity without zeroing it first. Handing out
//! uninitialized memory needs `unsafe` in the API (`assume_init`, `unfilled_mut`); this one only
//! wraps an initialized `&mut [u8]`, so `initialized` is always the whole buffer and the type has
//! no `unsafe` at all. The cost: whoever reads into new memory zeroes it first (`read_to_end`).
//!
//! Invariant: `filled <= buf.len()`. Every method that could break it panics instead, like
//! tokio's.

use std::fmt;

/// A buffer being filled by a read: the bytes read so far, then room for more.
pub struct ReadBuf<'a> {
    /// The caller's memory, every byte initialized.
    buf: &'a mut [u8],
    /// How many bytes at the front hold data read so far.
    filled: usize,
}

impl<'a> ReadBuf<'a> {
    /// Wraps `buf`, nothing filled yet.
    pub fn new(buf: &'a mut [u8]) -> ReadBuf<'a> {
        ReadBuf { buf, filled: 0 }
    }

    /// The size of the whole buffer.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// The bytes read so far.
    pub fn filled(&self) -> &[u8] {
        &self.buf[..self.filled]
    }

    /// The bytes read so far, to change in place.
    pub fn filled_mut(&mut self) -> &mut [u8] {
        &mut self.buf[..self.filled]
    }

    /// The initialized part: here always the whole buffer (see the module docs).
    pub fn initialized(&self) -> &[u8] {
        &self.buf[..]
    }

    /// The initialized part, mutable: the whole buffer.
    pub fn initialized_mut(&mut self) -> &mut [u8] {
        &mut self.buf[..]
    }

    /// The room left, to read into; follow with [`advance`](ReadBuf::advance). (In tokio this
    /// zeroes the uninitialized part first; here there is none.)
    pub fn initialize_unfilled(&mut self) -> &mut [u8] {
        &mut self.buf[self.filled..]
    }

    /// The first `n` bytes of the room left.
    ///
    /// # Panics
    /// If fewer than `n` bytes remain.
    pub fn initialize_unfilled_to(&mut self, n: usize) -> &mut [u8] {
        assert!(n <= self.remaining(), "n ({n}) overflows the room left");
        &mut self.buf[self.filled..self.filled + n]
    }

    /// A new `ReadBuf` over at most `n` bytes of the room left, for handing a reader a smaller
    /// buffer. What it fills shows here only after `advance(sub.filled().len())`.
    pub fn take(&mut self, n: usize) -> ReadBuf<'_> {
        let end = self.filled + n.min(self.remaining());
        ReadBuf::new(&mut self.buf[self.filled..end])
    }

    /// How many bytes may still be read into this buffer.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.filled
    }

    /// Forgets everything read so far (the bytes stay, as initialized memory).
    pub fn clear(&mut self) {
        self.filled = 0;
    }

    /// Counts `n` more bytes as read, after writing them into `initialize_unfilled()`.
    ///
    /// # Panics
    /// If that would pass the end of the buffer.
    pub fn advance(&mut self, n: usize) {
        let filled = self.filled.checked_add(n).expect("filled overflow");
        self.set_filled(filled);
    }

    /// Sets how many bytes at the front count as read.
    ///
    /// # Panics
    /// If `n` is larger than the buffer.
    pub fn set_filled(&mut self, n: usize) {
        assert!(
            n <= self.buf.len(),
            "filled ({n}) must not pass the capacity ({})",
            self.buf.len()
        );
        self.filled = n;
    }

    /// Appends `bytes` after the filled part.
    ///
    /// # Panics
    /// If they do not fit in the room left.
    pub fn put_slice(&mut self, bytes: &[u8]) {
        assert!(
            bytes.len() <= self.remaining(),
            "put_slice of {} bytes with room for {}",
            bytes.len(),
            self.remaining()
        );
        let end = self.filled + bytes.len();
        self.buf[self.filled..end].copy_from_slice(bytes);
        self.filled = end;
    }
}

/// Shows the sizes, not the bytes (a buffer may be large).
impl fmt::Debug for ReadBuf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadBuf")
            .field("filled", &self.filled)
            .field("capacity", &self.capacity())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::ReadBuf;

    #[test]
    fn a_new_buffer_is_empty_and_all_room() {
        let mut memory = [7u8; 8];
        let buf = ReadBuf::new(&mut memory);
        assert_eq!(buf.capacity(), 8);
        assert_eq!(buf.remaining(), 8);
        assert!(buf.filled().is_empty());
        assert_eq!(buf.initialized(), &[7u8; 8], "all of it is initialized");
    }

    #[test]
    fn writing_then_advancing_fills_in_order() {
        let mut memory = [0u8; 8];
        let mut buf = ReadBuf::new(&mut memory);
        buf.initialize_unfilled()[..3].copy_from_slice(b"abc");
        buf.advance(3);
        buf.put_slice(b"de");
        assert_eq!(buf.filled(), b"abcde");
        assert_eq!(buf.remaining(), 3);
        assert_eq!(buf.initialize_unfilled().len(), 3);
        buf.filled_mut()[0] = b'A';
        assert_eq!(buf.filled(), b"Abcde");
        buf.clear();
        assert!(buf.filled().is_empty());
        assert_eq!(buf.remaining(), 8);
        // `buf`'s borrow of `memory` ends here: what was read is in the caller's memory.
        assert_eq!(
            &memory[..5],
            b"Abcde",
            "the bytes went into the caller's memory"
        );
    }

    #[test]
    fn set_filled_may_move_back_and_forth() {
        let mut memory = *b"hello";
        let mut buf = ReadBuf::new(&mut memory);
        buf.set_filled(5);
        assert_eq!(buf.filled(), b"hello");
        buf.set_filled(2);
        assert_eq!(buf.filled(), b"he");
    }

    #[test]
    fn take_lends_a_smaller_buffer_over_the_room_left() {
        let mut memory = [0u8; 10];
        let mut buf = ReadBuf::new(&mut memory);
        buf.put_slice(b"xy");
        let mut sub = buf.take(3);
        assert_eq!(sub.capacity(), 3);
        sub.put_slice(b"123");
        let n = sub.filled().len();
        buf.advance(n);
        assert_eq!(buf.filled(), b"xy123");
        assert_eq!(buf.take(100).capacity(), 5, "capped at the room left");
    }

    #[test]
    fn initialize_unfilled_to_gives_exactly_n_bytes() {
        let mut memory = [0u8; 4];
        let mut buf = ReadBuf::new(&mut memory);
        buf.put_slice(b"a");
        assert_eq!(buf.initialize_unfilled_to(2).len(), 2);
    }

    #[test]
    #[should_panic(expected = "overflows the room left")]
    fn initialize_unfilled_to_past_the_end_panics() {
        let mut memory = [0u8; 4];
        ReadBuf::new(&mut memory).initialize_unfilled_to(5);
    }

    #[test]
    #[should_panic(expected = "must not pass the capacity")]
    fn advancing_past_the_end_panics() {
        let mut memory = [0u8; 4];
        let mut buf = ReadBuf::new(&mut memory);
        buf.advance(3);
        buf.advance(2);
    }

    #[test]
    #[should_panic(expected = "put_slice of 5 bytes with room for 4")]
    fn put_slice_that_does_not_fit_panics() {
        let mut memory = [0u8; 4];
        ReadBuf::new(&mut memory).put_slice(b"12345");
    }

    #[test]
    fn debug_shows_sizes_not_bytes() {
        let mut memory = [0u8; 4];
        let mut buf = ReadBuf::new(&mut memory);
        buf.put_slice(b"a");
        assert_eq!(format!("{buf:?}"), "ReadBuf { filled: 1, capacity: 4 }");
    }
}
