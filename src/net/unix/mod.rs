//! Unix domain sockets: `UnixListener` and `UnixStream`, for processes on the same machine.
//!
//! A Unix stream socket behaves like a TCP connection without the network: the address is a path
//! in the file system (or an unnamed pair from `socketpair(2)`), there is no handshake to wait for
//! and no packet loss. For the loop it is the same story as TCP — a mio socket plus its reactor
//! slot (`PollEvented`), reads and writes retried on readiness — so the two types here are thin,
//! like their TCP cousins, and share the accept loop (with its back-off when descriptors run out)
//! of `tcp_listener.rs`.
//!
//! Names are tokio's: `UnixListener::bind` is synchronous (no name to resolve),
//! `UnixStream::connect(path).await`, `UnixStream::pair()`, and the peer's address is
//! [`SocketAddr`] (std's, which tokio wraps).
//!
//! What tokio has that is not here: `UnixDatagram`, peer credentials (`peer_cred`), and
//! `UnixStream`'s own split halves (`evloop::io::split` splits any stream).

mod listener;
mod stream;

pub use listener::UnixListener;
pub use std::os::unix::net::SocketAddr;
pub use stream::UnixStream;
