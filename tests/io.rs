//! Whole-runtime tests of `evloop::io`: the extension methods, the buffers, `copy`, `split`, and
//! cancel-safety, first on in-memory streams that dribble bytes and say `Pending` on purpose,
//! then on real sockets (127.0.0.1, port 0).
//!
//! The in-memory streams ([`Trickle`], [`SlowWriter`]) return `Pending` on every other poll and
//! wake themselves, so every future here is made to stop and resume in the middle of its work.

mod echo_harness;
mod util;

use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::io::{self, IoSlice};
use std::marker::PhantomPinned;
use std::net::Shutdown;
use std::pin::{Pin, pin};
use std::task::{Context, Poll};
use std::time::Duration;

use echo_harness::within;
use evloop::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
    BufWriter, ReadBuf,
};
use evloop::net::{TcpListener, TcpStream};
use evloop::spawn;

// ---------------------------------------------------------------------------------------------
// In-memory streams that make futures wait.

/// A reader over `data` that gives at most `chunk` bytes per read and says `Pending` (waking
/// itself) before every read, so that each read is split across two polls.
struct Trickle {
    /// What is left to give.
    data: Vec<u8>,
    /// The most bytes one read gives.
    chunk: usize,
    /// The next poll says `Pending`.
    stall: bool,
    /// The size of every buffer offered by a read that returned `Ready`.
    offered: Vec<usize>,
}

impl Trickle {
    fn new(data: &[u8], chunk: usize) -> Trickle {
        Trickle {
            data: data.to_vec(),
            chunk,
            stall: true,
            offered: Vec::new(),
        }
    }
}

impl AsyncRead for Trickle {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        me.stall = !me.stall;
        if !me.stall {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        me.offered.push(buf.remaining());
        let n = me.chunk.min(buf.remaining()).min(me.data.len());
        buf.put_slice(&me.data[..n]);
        me.data.drain(..n);
        Poll::Ready(Ok(()))
    }
}

/// A writer that takes at most `chunk` bytes per write and says `Pending` (waking itself) before
/// every write, flush and shutdown; it records every write it took.
#[derive(Default)]
struct SlowWriter {
    /// The most bytes one write takes (0: takes nothing, ever).
    chunk: usize,
    /// The next poll says `Pending`.
    stall: bool,
    /// Every write taken, in order.
    writes: Vec<Vec<u8>>,
    /// Completed flushes.
    flushes: usize,
    /// Completed shutdowns.
    shutdowns: usize,
}

impl SlowWriter {
    fn new(chunk: usize) -> SlowWriter {
        SlowWriter {
            chunk,
            stall: true,
            ..SlowWriter::default()
        }
    }

    /// Everything written, joined.
    fn bytes(&self) -> Vec<u8> {
        self.writes.concat()
    }

    /// `Pending` on every other call (waking the task at once), else `Ready`.
    fn stall(&mut self, cx: &mut Context<'_>) -> bool {
        self.stall = !self.stall;
        if !self.stall {
            cx.waker().wake_by_ref();
        }
        !self.stall
    }
}

impl AsyncWrite for SlowWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        if me.stall(cx) {
            return Poll::Pending;
        }
        let n = me.chunk.min(buf.len());
        if n > 0 {
            me.writes.push(buf[..n].to_vec());
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        if me.stall(cx) {
            return Poll::Pending;
        }
        me.flushes += 1;
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        if me.stall(cx) {
            return Poll::Pending;
        }
        me.shutdowns += 1;
        Poll::Ready(Ok(()))
    }
}

/// Polls `future` once and drops it: a cancellation right after its first poll.
async fn poll_once<F: Future>(future: F) -> Poll<F::Output> {
    let mut future = pin!(future);
    poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await
}

/// Runs `test` on a fresh runtime, failing after 30 s.
fn run<F: Future>(test: F) -> F::Output {
    within(&util::runtime(), 30, test)
}

/// `len` bytes of a pattern that does not repeat every 256 bytes.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

// ---------------------------------------------------------------------------------------------
// AsyncReadExt

#[test]
fn read_returns_what_is_there_then_zero_at_the_end() {
    run(async {
        let mut reader = Trickle::new(b"hello", 3);
        let mut buf = [0u8; 4];
        assert_eq!(reader.read(&mut buf).await.expect("read"), 3);
        assert_eq!(&buf[..3], b"hel");
        assert_eq!(reader.read(&mut buf).await.expect("read"), 2);
        assert_eq!(&buf[..2], b"lo");
        assert_eq!(reader.read(&mut buf).await.expect("read at the end"), 0);

        let mut slice: &[u8] = b"abc";
        assert_eq!(slice.read(&mut buf[..2]).await.expect("read"), 2);
        assert_eq!(slice, b"c", "a slice read advances the slice");
    });
}

#[test]
fn read_exact_fills_across_short_reads_and_fails_at_an_early_end() {
    run(async {
        let mut reader = Trickle::new(b"0123456789", 3);
        let mut buf = [0u8; 7];
        assert_eq!(reader.read_exact(&mut buf).await.expect("read_exact"), 7);
        assert_eq!(&buf, b"0123456");
        assert_eq!(
            reader.offered,
            [7, 4, 1],
            "each read was offered the rest of the buffer"
        );

        let err = reader.read_exact(&mut buf).await.expect_err("only 3 left");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(reader.read_exact(&mut []).await.expect("nothing wanted"), 0);
    });
}

#[test]
fn read_to_end_appends_everything_and_counts_it() {
    run(async {
        // Larger than read_to_end's 32 KiB chunk, so the Vec grows and several chunks are used.
        let data = pattern(100_000);
        let mut reader = Trickle::new(&data, 40_000);
        let mut buf = b"kept:".to_vec();
        let n = reader.read_to_end(&mut buf).await.expect("read_to_end");
        assert_eq!(n, data.len());
        assert_eq!(&buf[..5], b"kept:");
        assert!(buf[5..] == data[..], "every byte in order");
        assert!(
            reader.offered.iter().all(|&room| room <= 32 * 1024),
            "no read is offered more than one zeroed chunk: {:?}",
            reader.offered
        );
    });
}

#[test]
fn read_to_string_appends_utf8_and_leaves_the_string_alone_otherwise() {
    run(async {
        let mut reader = Trickle::new("grüße, 世界".as_bytes(), 2);
        let mut text = String::from(">");
        let n = reader.read_to_string(&mut text).await.expect("utf-8");
        assert_eq!(text, ">grüße, 世界");
        assert_eq!(n, "grüße, 世界".len());

        let mut reader = Trickle::new(b"ok \xff bad", 4);
        let err = reader
            .read_to_string(&mut text)
            .await
            .expect_err("not utf-8");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(text, ">grüße, 世界", "unchanged");
    });
}

#[test]
fn numbers_round_trip_in_both_byte_orders() {
    run(async {
        let mut out = Vec::new();
        out.write_u8(0xAB).await.expect("u8");
        out.write_i8(-2).await.expect("i8");
        out.write_u16(0x0102).await.expect("u16");
        out.write_u16_le(0x0102).await.expect("u16_le");
        out.write_i16(-3).await.expect("i16");
        out.write_i16_le(-4).await.expect("i16_le");
        out.write_u32(0x0102_0304).await.expect("u32");
        out.write_u32_le(0x0102_0304).await.expect("u32_le");
        out.write_i32(-5).await.expect("i32");
        out.write_i32_le(-6).await.expect("i32_le");
        out.write_u64(u64::MAX - 7).await.expect("u64");
        out.write_u64_le(0x0102_0304_0506_0708)
            .await
            .expect("u64_le");
        out.write_i64(i64::MIN).await.expect("i64");
        out.write_i64_le(-9).await.expect("i64_le");
        out.write_u128(u128::MAX / 3).await.expect("u128");
        out.write_u128_le(42).await.expect("u128_le");
        out.write_i128(i128::MIN + 1).await.expect("i128");
        out.write_i128_le(-11).await.expect("i128_le");
        out.write_f32(1.5).await.expect("f32");
        out.write_f32_le(-0.25).await.expect("f32_le");
        out.write_f64(std::f64::consts::PI).await.expect("f64");
        out.write_f64_le(-1e300).await.expect("f64_le");
        // The byte orders, spelled out for two of them.
        assert_eq!(&out[2..6], &[1, 2, 2, 1]);
        assert_eq!(&out[10..18], &[1, 2, 3, 4, 4, 3, 2, 1]);

        // One byte per read: every number is assembled across several polls.
        let mut r = Trickle::new(&out, 1);
        assert_eq!(r.read_u8().await.expect("u8"), 0xAB);
        assert_eq!(r.read_i8().await.expect("i8"), -2);
        assert_eq!(r.read_u16().await.expect("u16"), 0x0102);
        assert_eq!(r.read_u16_le().await.expect("u16_le"), 0x0102);
        assert_eq!(r.read_i16().await.expect("i16"), -3);
        assert_eq!(r.read_i16_le().await.expect("i16_le"), -4);
        assert_eq!(r.read_u32().await.expect("u32"), 0x0102_0304);
        assert_eq!(r.read_u32_le().await.expect("u32_le"), 0x0102_0304);
        assert_eq!(r.read_i32().await.expect("i32"), -5);
        assert_eq!(r.read_i32_le().await.expect("i32_le"), -6);
        assert_eq!(r.read_u64().await.expect("u64"), u64::MAX - 7);
        assert_eq!(
            r.read_u64_le().await.expect("u64_le"),
            0x0102_0304_0506_0708
        );
        assert_eq!(r.read_i64().await.expect("i64"), i64::MIN);
        assert_eq!(r.read_i64_le().await.expect("i64_le"), -9);
        assert_eq!(r.read_u128().await.expect("u128"), u128::MAX / 3);
        assert_eq!(r.read_u128_le().await.expect("u128_le"), 42);
        assert_eq!(r.read_i128().await.expect("i128"), i128::MIN + 1);
        assert_eq!(r.read_i128_le().await.expect("i128_le"), -11);
        assert_eq!(r.read_f32().await.expect("f32"), 1.5);
        assert_eq!(r.read_f32_le().await.expect("f32_le"), -0.25);
        assert_eq!(r.read_f64().await.expect("f64"), std::f64::consts::PI);
        assert_eq!(r.read_f64_le().await.expect("f64_le"), -1e300);
        let err = r.read_u8().await.expect_err("all read");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    });
}

#[test]
fn a_number_cut_short_is_unexpected_eof() {
    run(async {
        let mut r: &[u8] = &[1, 2, 3];
        let err = r.read_u32().await.expect_err("3 of 4 bytes");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    });
}

// ---------------------------------------------------------------------------------------------
// AsyncWriteExt

#[test]
fn write_write_all_and_write_vectored_into_a_vec() {
    run(async {
        let mut out = Vec::new();
        assert_eq!(out.write(b"abc").await.expect("write"), 3);
        out.write_all(b"def").await.expect("write_all");
        let bufs = [IoSlice::new(b"gh"), IoSlice::new(b""), IoSlice::new(b"ij")];
        assert!(out.is_write_vectored());
        assert_eq!(out.write_vectored(&bufs).await.expect("writev"), 4);
        out.flush().await.expect("flush");
        out.shutdown().await.expect("shutdown");
        assert_eq!(out, b"abcdefghij");
    });
}

#[test]
fn write_all_resumes_across_pending_and_short_writes() {
    run(async {
        let mut writer = SlowWriter::new(3);
        writer.write_all(b"0123456789").await.expect("write_all");
        assert_eq!(writer.writes, [&b"012"[..], b"345", b"678", b"9"]);

        // The default write_vectored writes the first non-empty buffer only.
        let bufs = [IoSlice::new(b""), IoSlice::new(b"ab"), IoSlice::new(b"cd")];
        assert!(!writer.is_write_vectored());
        assert_eq!(writer.write_vectored(&bufs).await.expect("writev"), 2);
        assert_eq!(writer.writes.last().expect("a write"), b"ab");

        writer.flush().await.expect("flush");
        writer.shutdown().await.expect("shutdown");
        assert_eq!((writer.flushes, writer.shutdowns), (1, 1));
    });
}

#[test]
fn write_all_to_a_writer_that_takes_nothing_is_write_zero() {
    run(async {
        let err = SlowWriter::new(0)
            .write_all(b"x")
            .await
            .expect_err("nothing taken");
        assert_eq!(err.kind(), io::ErrorKind::WriteZero);
        let err = SlowWriter::new(0).write_u16(7).await.expect_err("nothing");
        assert_eq!(err.kind(), io::ErrorKind::WriteZero);
    });
}

// ---------------------------------------------------------------------------------------------
// BufReader and AsyncBufReadExt

/// Input whose lines a BufReader of small capacity sees cut in every possible place.
const TEXT: &[u8] = b"first\nsecond\r\n\nfourth line, longer than the buffer\r\n\r\nlast";

/// What `lines` must give for `TEXT`.
const LINES: [&str; 6] = [
    "first",
    "second",
    "",
    "fourth line, longer than the buffer",
    "",
    "last",
];

#[test]
fn lines_split_across_reads_crlf_empty_lines_and_a_last_line_without_newline() {
    run(async {
        for capacity in [1, 2, 3, 7, 64] {
            for chunk in [1, 2, 5, 100] {
                let reader = BufReader::with_capacity(capacity, Trickle::new(TEXT, chunk));
                let mut lines = reader.lines();
                let mut got = Vec::new();
                while let Some(line) = lines.next_line().await.expect("next_line") {
                    got.push(line);
                }
                assert_eq!(got, LINES, "capacity {capacity}, chunk {chunk}");
                assert!(
                    lines.next_line().await.expect("after the end").is_none(),
                    "the end stays the end"
                );
            }
        }
    });
}

#[test]
fn lines_of_an_empty_stream_and_of_a_lone_newline() {
    run(async {
        let mut lines = BufReader::new(&b""[..]).lines();
        assert_eq!(lines.next_line().await.expect("empty"), None);
        let mut lines = (&b"\n"[..]).lines();
        assert_eq!(lines.next_line().await.expect("one").as_deref(), Some(""));
        assert_eq!(lines.next_line().await.expect("end"), None);
    });
}

#[test]
fn read_line_appends_and_keeps_the_line_ending() {
    run(async {
        let mut reader = BufReader::with_capacity(4, Trickle::new(b"ab\r\ncdefgh\nij", 3));
        let mut text = String::from("[");
        assert_eq!(reader.read_line(&mut text).await.expect("line 1"), 4);
        assert_eq!(reader.read_line(&mut text).await.expect("line 2"), 7);
        assert_eq!(reader.read_line(&mut text).await.expect("line 3"), 2);
        assert_eq!(reader.read_line(&mut text).await.expect("end"), 0);
        assert_eq!(text, "[ab\r\ncdefgh\nij");
    });
}

#[test]
fn read_line_of_bytes_that_are_not_utf8_leaves_the_string_unchanged() {
    run(async {
        let mut reader = BufReader::with_capacity(2, Trickle::new(b"bad \xc3\x28\nfine\n", 3));
        let mut text = String::from("before");
        let err = reader.read_line(&mut text).await.expect_err("invalid");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(text, "before");
        assert_eq!(reader.read_line(&mut text).await.expect("next line"), 5);
        assert_eq!(
            text, "beforefine\n",
            "the bad line was consumed, the next one is intact"
        );
    });
}

#[test]
fn read_until_and_split_cut_at_the_delimiter() {
    run(async {
        let mut reader = BufReader::with_capacity(3, Trickle::new(b"a,bcd,,efg", 2));
        let mut buf = Vec::new();
        assert_eq!(reader.read_until(b',', &mut buf).await.expect("a,"), 2);
        assert_eq!(reader.read_until(b',', &mut buf).await.expect("bcd,"), 4);
        assert_eq!(buf, b"a,bcd,");

        let mut segments = reader.split(b',');
        let mut got = Vec::new();
        while let Some(segment) = segments.next_segment().await.expect("segment") {
            got.push(segment);
        }
        assert_eq!(got, [&b""[..], b"efg"]);
    });
}

#[test]
fn a_buffered_reader_serves_small_reads_from_one_large_read() {
    run(async {
        let mut reader = BufReader::with_capacity(16, Trickle::new(b"0123456789", 100));
        let mut two = [0u8; 2];
        for expected in [b"01", b"23", b"45"] {
            reader.read_exact(&mut two).await.expect("read");
            assert_eq!(&two, expected);
        }
        assert_eq!(
            reader.get_ref().offered,
            [16],
            "one inner read, of the whole buffer"
        );
        assert_eq!(reader.buffer(), b"6789");
        assert_eq!(reader.capacity(), 16);
    });
}

#[test]
fn a_large_read_skips_an_empty_buffer() {
    run(async {
        let mut reader = BufReader::with_capacity(4, Trickle::new(b"0123456789", 100));
        let mut one = [0u8; 1];
        reader.read_exact(&mut one).await.expect("small read");
        assert_eq!(reader.get_ref().offered, [4], "filled the buffer");
        let mut big = [0u8; 8];
        assert_eq!(reader.read(&mut big).await.expect("from the buffer"), 3);
        assert_eq!(&big[..3], b"123");
        assert_eq!(reader.read(&mut big).await.expect("straight through"), 6);
        assert_eq!(&big[..6], b"456789");
        assert_eq!(
            reader.get_ref().offered,
            [4, 8],
            "the second inner read got the caller's 8-byte buffer, not the 4-byte one"
        );
    });
}

#[test]
#[should_panic(expected = "at least one byte")]
fn a_buffered_reader_without_room_is_refused() {
    let _ = BufReader::with_capacity(0, &b""[..]);
}

#[test]
fn a_byte_slice_is_its_own_buffered_reader() {
    run(async {
        let mut slice: &[u8] = b"xy\nz";
        let mut line = String::new();
        slice.read_line(&mut line).await.expect("line");
        assert_eq!((line.as_str(), slice), ("xy\n", &b"z"[..]));
        let available = poll_fn(|cx| match Pin::new(&mut slice).poll_fill_buf(cx) {
            Poll::Ready(Ok(bytes)) => Poll::Ready(bytes.to_vec()),
            other => panic!("a slice is always ready: {:?}", other.map(|r| r.err())),
        })
        .await;
        assert_eq!(available, b"z");
        Pin::new(&mut slice).consume(5);
        assert!(slice.is_empty(), "consume past the end is clamped");
    });
}

// ---------------------------------------------------------------------------------------------
// BufWriter

#[test]
fn small_writes_are_collected_until_the_buffer_fills_or_is_flushed() {
    run(async {
        let mut writer = BufWriter::with_capacity(8, SlowWriter::new(100));
        writer.write_all(b"abc").await.expect("write");
        writer.write_all(b"def").await.expect("write");
        assert!(
            writer.get_ref().writes.is_empty(),
            "nothing reached the stream yet"
        );
        assert_eq!(writer.buffer(), b"abcdef");
        // 6 + 4 > 8: the buffer goes out first, then "ghij" is buffered.
        writer.write_all(b"ghij").await.expect("write");
        assert_eq!(writer.get_ref().writes, [b"abcdef"]);
        // At least the capacity: straight through, after what is buffered.
        writer.write_all(b"0123456789").await.expect("large write");
        assert_eq!(
            writer.get_ref().writes,
            [&b"abcdef"[..], b"ghij", b"0123456789"]
        );
        writer.write_all(b"k").await.expect("write");
        writer.flush().await.expect("flush");
        assert_eq!(writer.get_ref().bytes(), b"abcdefghij0123456789k");
        assert_eq!(writer.get_ref().flushes, 1, "flush reached the stream");
        assert!(writer.buffer().is_empty());
    });
}

#[test]
fn a_flush_interrupted_by_pending_resumes_without_sending_twice() {
    run(async {
        let mut writer = BufWriter::with_capacity(16, SlowWriter::new(3));
        writer.write_all(b"0123456789").await.expect("buffered");
        writer.write_u16(0x4142).await.expect("buffered number");
        writer.shutdown().await.expect("shutdown flushes first");
        let inner = writer.into_inner();
        assert_eq!(inner.bytes(), b"0123456789AB");
        assert_eq!(inner.writes.len(), 4, "3-byte pieces: {:?}", inner.writes);
        assert_eq!(inner.shutdowns, 1);
    });
}

#[test]
fn vectored_writes_are_collected_when_they_fit() {
    run(async {
        let mut writer = BufWriter::with_capacity(8, SlowWriter::new(100));
        assert!(writer.is_write_vectored());
        let bufs = [IoSlice::new(b"ab"), IoSlice::new(b"cd")];
        assert_eq!(writer.write_vectored(&bufs).await.expect("writev"), 4);
        assert_eq!(writer.buffer(), b"abcd");
        let big = [IoSlice::new(b"01234"), IoSlice::new(b"56789")];
        // Too big to collect: flush, then the (non-vectored) stream takes the first buffer.
        assert_eq!(writer.write_vectored(&big).await.expect("writev"), 5);
        assert_eq!(writer.get_ref().writes, [&b"abcd"[..], b"01234"]);
    });
}

#[test]
fn a_buffered_writer_to_a_writer_that_takes_nothing_is_write_zero() {
    run(async {
        let mut writer = BufWriter::with_capacity(8, SlowWriter::new(0));
        writer.write_all(b"abc").await.expect("buffered");
        let err = writer.flush().await.expect_err("nothing taken");
        assert_eq!(err.kind(), io::ErrorKind::WriteZero);
    });
}

// ---------------------------------------------------------------------------------------------
// Pointers, trait objects, stand-ins

/// A reader that must not move once polled (`PhantomPinned`): usable only pinned. Its position is
/// in a `Cell` so that it can advance through `Pin<&mut Self>` without `unsafe`.
struct PinnedReader {
    /// What is left to read.
    rest: Cell<&'static [u8]>,
    /// Makes the type `!Unpin`.
    _pinned: PhantomPinned,
}

impl AsyncRead for PinnedReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut rest = self.rest.get();
        let poll = Pin::new(&mut rest).poll_read(cx, buf);
        self.rest.set(rest);
        poll
    }
}

#[test]
fn boxes_references_and_pinned_boxes_pass_the_traits_through() {
    run(async {
        let mut boxed: Box<dyn AsyncRead + Unpin> = Box::new(&b"boxed"[..]);
        let mut text = String::new();
        boxed.read_to_string(&mut text).await.expect("box");
        assert_eq!(text, "boxed");

        /// Writes through a writer taken by value: `W` is the pointer type under test.
        async fn write_through<W: AsyncWrite + Unpin>(mut writer: W, bytes: &[u8]) {
            writer.write_all(bytes).await.expect("write_all");
            writer.flush().await.expect("flush");
        }
        let mut out = Vec::new();
        write_through(&mut out, b"&mut, ").await;
        write_through(&mut out as &mut (dyn AsyncWrite + Unpin), b"&mut dyn").await;
        assert_eq!(out, b"&mut, &mut dyn");
        let boxed: Box<dyn AsyncWrite + Unpin> = Box::new(Vec::new());
        write_through(boxed, b"boxed").await;
        write_through(Box::pin(Vec::new()), b"Pin<Box<_>>").await;

        let mut pinned = Box::pin(PinnedReader {
            rest: Cell::new(b"pinned"),
            _pinned: PhantomPinned,
        });
        let mut buf = [0u8; 6];
        pinned.read_exact(&mut buf).await.expect("Pin<Box<_>>");
        assert_eq!(&buf, b"pinned");

        let mut lines = Box::new(BufReader::new(&b"a\nb"[..])).lines();
        assert_eq!(lines.next_line().await.expect("a").as_deref(), Some("a"));
    });
}

#[test]
fn empty_sink_and_repeat() {
    run(async {
        let mut buf = Vec::new();
        assert_eq!(
            evloop::io::empty()
                .read_to_end(&mut buf)
                .await
                .expect("empty"),
            0
        );
        let mut ten_thousand = &pattern(10_000)[..];
        let copied = evloop::io::copy(&mut ten_thousand, &mut evloop::io::sink()).await;
        assert_eq!(copied.expect("copy to sink"), 10_000);
        let mut sevens = [0u8; 5];
        evloop::io::repeat(7)
            .read_exact(&mut sevens)
            .await
            .expect("repeat");
        assert_eq!(sevens, [7; 5]);
        let mut sink = evloop::io::sink();
        assert_eq!(sink.write(b"gone").await.expect("sink"), 4);
    });
}

// ---------------------------------------------------------------------------------------------
// Real sockets: TcpStream through the traits, copy, copy_bidirectional, split, cancel-safety

/// A connected pair: (client, server side).
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let client = spawn(async move { TcpStream::connect(addr).await.expect("connect") });
    let (server, _) = listener.accept().await.expect("accept");
    (client.await.expect("connect task"), server)
}

/// An echo server built from `copy`: accepts one connection, copies it onto itself until the
/// client's end, then shuts its side down. Returns the bytes echoed.
async fn copy_echo(listener: TcpListener) -> io::Result<u64> {
    let (mut stream, _) = listener.accept().await?;
    let (mut reader, mut writer) = stream.split();
    let echoed = evloop::io::copy(&mut reader, &mut writer).await?;
    AsyncWriteExt::shutdown(&mut writer).await?;
    Ok(echoed)
}

/// Sends `data` on `stream` from one task and reads everything back in another; returns what came
/// back. The sender shuts its side down when done, so the echo ends.
async fn send_and_collect(stream: TcpStream, data: Vec<u8>) -> Vec<u8> {
    let (mut reader, mut writer) = stream.into_split();
    let sender = spawn(async move {
        writer.write_all(&data).await.expect("send");
        AsyncWriteExt::shutdown(&mut writer).await.expect("FIN");
    });
    let mut back = Vec::new();
    reader.read_to_end(&mut back).await.expect("read back");
    sender.await.expect("sender task");
    back
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn a_tcp_stream_reads_and_writes_through_the_extension_traits() {
    run(async {
        let (mut client, server) = tcp_pair().await;
        let peer = spawn(async move {
            // BufReader<TcpStream> reads lines and still writes (the writes pass through).
            let mut server = BufReader::with_capacity(5, server);
            let mut line = String::new();
            server.read_line(&mut line).await.expect("read_line");
            let number = server.read_u32().await.expect("read_u32");
            let mut rest = Vec::new();
            server.read_to_end(&mut rest).await.expect("read_to_end");
            server
                .write_u64_le(u64::from(number) + 1)
                .await
                .expect("reply");
            server.shutdown().await.expect("FIN");
            (line, number, rest)
        });
        client
            .write_all(b"hello over tcp\n")
            .await
            .expect("write_all");
        client.write_u32(0xDEAD_BEEF).await.expect("write_u32");
        let bufs = [IoSlice::new(b"vec"), IoSlice::new(b"tored")];
        // One writev(2) for both buffers; finish with write_all in case it took fewer bytes.
        let n = client.write_vectored(&bufs).await.expect("writev");
        client.write_all(&b"vectored"[n..]).await.expect("rest");
        assert!(client.is_write_vectored());
        client.flush().await.expect("flush");
        AsyncWriteExt::shutdown(&mut client).await.expect("FIN");
        assert_eq!(client.read_u64_le().await.expect("reply"), 0xDEAD_BEF0);
        assert_eq!(client.read(&mut [0u8; 8]).await.expect("end"), 0);
        let (line, number, rest) = peer.await.expect("peer task");
        assert_eq!(line, "hello over tcp\n");
        assert_eq!(number, 0xDEAD_BEEF);
        assert_eq!(rest, b"vectored");
    });
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn copy_echoes_a_few_megabytes_over_loopback() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = spawn(copy_echo(listener));
        let data = pattern(3 << 20);
        let stream = TcpStream::connect(addr).await.expect("connect");
        let back = send_and_collect(stream, data.clone()).await;
        assert!(
            back == data,
            "echo differs ({} of {} bytes)",
            back.len(),
            data.len()
        );
        assert_eq!(
            server.await.expect("server task").expect("copy"),
            data.len() as u64
        );
    });
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn copy_bidirectional_proxies_both_ways_and_passes_the_end_on() {
    run(async {
        // client ─► proxy ─► origin (a copy echo) ─► proxy ─► client
        let origin = TcpListener::bind("127.0.0.1:0").await.expect("bind origin");
        let origin_addr = origin.local_addr().expect("addr");
        let origin = spawn(copy_echo(origin));
        let proxy = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let proxy_addr = proxy.local_addr().expect("addr");
        let proxy = spawn(async move {
            let (mut inbound, _) = proxy.accept().await.expect("proxy accept");
            let mut outbound = TcpStream::connect(origin_addr)
                .await
                .expect("proxy connect");
            evloop::io::copy_bidirectional(&mut inbound, &mut outbound).await
        });
        let data = pattern(1 << 20);
        let stream = TcpStream::connect(proxy_addr).await.expect("connect");
        let back = send_and_collect(stream, data.clone()).await;
        assert!(
            back == data,
            "echo differs ({} of {} bytes)",
            back.len(),
            data.len()
        );
        let (up, down) = proxy.await.expect("proxy task").expect("proxy");
        assert_eq!((up, down), (data.len() as u64, data.len() as u64));
        assert_eq!(
            origin.await.expect("origin task").expect("origin"),
            data.len() as u64
        );
    });
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn split_halves_of_any_stream_work_from_two_tasks() {
    run(async {
        const TOTAL: usize = 2 << 20;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = spawn(copy_echo(listener));
        let stream = TcpStream::connect(addr).await.expect("connect");
        // Through a BufWriter, so the halves share a wrapper, not just a socket.
        let (mut reader, mut writer) = evloop::io::split(BufWriter::new(stream));
        assert!(reader.is_pair_of(&writer) && writer.is_pair_of(&reader));
        // The reader starts first and parks on "no data yet" while the writer fills the pipe.
        let reading = spawn(async move {
            let mut back = vec![0u8; TOTAL];
            reader.read_exact(&mut back).await.expect("read back");
            (reader, back)
        });
        let writing = spawn(async move {
            writer.write_all(&pattern(TOTAL)).await.expect("write");
            writer.flush().await.expect("flush");
            writer
        });
        let writer = writing.await.expect("writer task");
        let (reader, back) = reading.await.expect("reader task");
        assert!(back == pattern(TOTAL), "echo differs");
        let mut stream = reader.unsplit(writer).into_inner();
        AsyncWriteExt::shutdown(&mut stream).await.expect("FIN");
        assert_eq!(stream.read(&mut [0u8; 1]).await.expect("end"), 0);
        assert_eq!(
            server.await.expect("server task").expect("copy"),
            TOTAL as u64
        );
    });
}

#[test]
#[should_panic(expected = "halves of two streams")]
fn unsplit_of_halves_of_two_streams_panics() {
    let (reader, _) = evloop::io::split(evloop::io::empty());
    let (_, writer) = evloop::io::split(evloop::io::empty());
    reader.unsplit(writer);
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn a_cancelled_read_loses_no_data() {
    run(async {
        let (mut client, mut server) = tcp_pair().await;
        let mut buf = [0u8; 16];
        // Cancelled after one poll, with nothing to read yet.
        assert!(poll_once(client.read(&mut buf)).await.is_pending());
        // Cancelled by a timeout, the way it happens in real code.
        let waited = evloop::time::timeout(Duration::from_millis(20), client.read(&mut buf)).await;
        assert!(waited.is_err(), "nothing was sent yet");
        server.write_all(b"still here").await.expect("send");
        let mut got = [0u8; 10];
        client.read_exact(&mut got).await.expect("read");
        assert_eq!(
            &got, b"still here",
            "no byte was taken by the cancelled reads"
        );
    });
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn a_cancelled_read_exact_keeps_the_bytes_but_loses_the_count() {
    // The documented reason read_exact is not cancel-safe, shown.
    run(async {
        let (mut client, mut server) = tcp_pair().await;
        server.write_all(b"abc").await.expect("send");
        client.readable().await.expect("readable");
        let mut buf = [0u8; 10];
        assert!(poll_once(client.read_exact(&mut buf)).await.is_pending());
        assert_eq!(
            &buf[..3],
            b"abc",
            "the bytes are in the buffer, consumed from the socket"
        );
        server.write_all(b"0123456789").await.expect("send");
        client.read_exact(&mut buf).await.expect("read");
        assert_eq!(&buf, b"0123456789", "a new read_exact starts after them");
    });
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn a_cancelled_next_line_keeps_the_partial_line_but_read_line_does_not() {
    run(async {
        let (client, mut server) = tcp_pair().await;
        let mut reader = BufReader::new(client);
        // read_line: the partial line is in the dropped future.
        server.write_all(b"lost").await.expect("send");
        reader.get_ref().readable().await.expect("readable");
        let mut text = String::from("kept");
        assert!(poll_once(reader.read_line(&mut text)).await.is_pending());
        assert_eq!(text, "kept", "the string keeps its earlier contents");
        server.write_all(b" part\n").await.expect("send");
        reader.read_line(&mut text).await.expect("line");
        assert_eq!(
            text, "kept part\n",
            "\"lost\" went with the cancelled future"
        );

        // Lines::next_line: the partial line is in the Lines.
        let mut lines = reader.lines();
        server.write_all(b"hel").await.expect("send");
        lines
            .get_ref()
            .get_ref()
            .readable()
            .await
            .expect("readable");
        assert!(poll_once(lines.next_line()).await.is_pending());
        server.write_all(b"lo\nworld\r\n").await.expect("send");
        assert_eq!(
            lines.next_line().await.expect("line").as_deref(),
            Some("hello")
        );
        assert_eq!(
            lines.next_line().await.expect("line").as_deref(),
            Some("world")
        );
        server.shutdown_now(Shutdown::Write).expect("FIN");
        assert_eq!(lines.next_line().await.expect("end"), None);
    });
}
