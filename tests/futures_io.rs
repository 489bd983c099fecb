//! The `futures-io` feature: `TcpStream` and its halves used through the `futures_io` traits only.
//!
//! Run with: `cargo test --features futures-io --test futures_io`. The code under test is written
//! against `futures_io::{AsyncRead, AsyncWrite}` (as a runtime-agnostic library would be), with
//! `poll_fn` instead of an extension crate, and talks to a peer that uses `evloop::io`.

mod echo_harness;
mod util;

use std::future::poll_fn;
use std::io;
use std::pin::Pin;

use echo_harness::within;
use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{TcpListener, TcpStream};
use evloop::spawn;

/// Writes all of `bytes` through `futures_io::AsyncWrite`.
async fn send_all<W: futures_io::AsyncWrite + Unpin>(writer: &mut W, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        let n = poll_fn(|cx| Pin::new(&mut *writer).poll_write(cx, bytes))
            .await
            .expect("futures_io write");
        assert!(n > 0, "the socket took nothing");
        bytes = &bytes[n..];
    }
    poll_fn(|cx| Pin::new(&mut *writer).poll_flush(cx))
        .await
        .expect("futures_io flush");
}

/// Reads through `futures_io::AsyncRead` until the end of the stream.
async fn receive_to_end<R: futures_io::AsyncRead + Unpin>(reader: &mut R) -> Vec<u8> {
    let (mut got, mut buf) = (Vec::new(), [0u8; 1000]);
    loop {
        let n = poll_fn(|cx| Pin::new(&mut *reader).poll_read(cx, &mut buf))
            .await
            .expect("futures_io read");
        if n == 0 {
            return got;
        }
        got.extend_from_slice(&buf[..n]);
    }
}

/// Closes the writing side through `futures_io::AsyncWrite::poll_close`.
async fn close<W: futures_io::AsyncWrite + Unpin>(writer: &mut W) {
    poll_fn(|cx| Pin::new(&mut *writer).poll_close(cx))
        .await
        .expect("futures_io close");
}

/// A peer speaking `evloop::io`: echoes everything until the end of the stream, then closes.
async fn echo_peer(listener: TcpListener) -> io::Result<u64> {
    let (mut stream, _) = listener.accept().await?;
    let (mut reader, mut writer) = stream.split();
    let copied = evloop::io::copy(&mut reader, &mut writer).await?;
    AsyncWriteExt::shutdown(&mut writer).await?;
    Ok(copied)
}

/// 300 000 bytes: more than one read, so the loops above really loop.
fn payload() -> Vec<u8> {
    (0..300_000u32).map(|i| (i % 253) as u8).collect()
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn a_tcp_stream_reads_writes_and_closes_through_futures_io() {
    let rt = util::runtime();
    within(&rt, 30, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let peer = spawn(echo_peer(listener));
        let stream = TcpStream::connect(addr).await.expect("connect");
        let (mut reader, mut writer) = stream.into_split();
        let sent = payload();
        let sending = spawn(async move {
            send_all(&mut writer, &payload()).await;
            close(&mut writer).await;
        });
        let echoed = receive_to_end(&mut reader).await;
        sending.await.expect("sender task");
        assert!(
            echoed == sent,
            "echo differs ({} of {} bytes)",
            echoed.len(),
            sent.len()
        );
        assert_eq!(
            peer.await.expect("peer task").expect("peer"),
            sent.len() as u64
        );
    });
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn a_whole_stream_and_its_borrowed_halves_work_through_futures_io() {
    let rt = util::runtime();
    within(&rt, 30, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let peer = spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            let mut request = [0u8; 5];
            stream.read_exact(&mut request).await.expect("peer read");
            stream.write_all(b"pong!").await.expect("peer write");
            let mut rest = Vec::new();
            stream
                .read_to_end(&mut rest)
                .await
                .expect("peer read to end");
            (request, rest)
        });
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        // The whole stream, through the futures_io traits.
        send_all(&mut stream, b"ping!").await;
        let mut reply = [0u8; 5];
        let n =
            poll_fn(|cx| futures_io::AsyncRead::poll_read(Pin::new(&mut stream), cx, &mut reply))
                .await
                .expect("read reply");
        assert_eq!(&reply[..n], &b"pong!"[..n]);
        // The borrowed halves, through the same traits.
        let (mut reader, mut writer) = stream.split();
        send_all(&mut writer, b"bye").await;
        close(&mut writer).await;
        let rest_of_reply = receive_to_end(&mut reader).await;
        assert_eq!([&reply[..n], &rest_of_reply[..]].concat(), b"pong!");
        let (request, rest) = peer.await.expect("peer task");
        assert_eq!(&request, b"ping!");
        assert_eq!(rest, b"bye");
    });
}
