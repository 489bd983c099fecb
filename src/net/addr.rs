//! `ToSocketAddrs` and `lookup_host`: addresses for `bind` and `connect`, resolved off the loop.
//!
//! `std::net::ToSocketAddrs` turns `"example.com:80"` into addresses by calling `getaddrinfo`,
//! which *blocks* for as long as DNS takes to answer (milliseconds, or seconds when a server is
//! down). Called inside a task, it would stop the whole loop for that long. So evloop, like tokio,
//! has its own `ToSocketAddrs`, which sorts the argument before doing anything:
//!
//! ```text
//!  SocketAddr, (IpAddr, u16), "127.0.0.1:80", ("::1", 80)  ─► parsed here, on the loop   (no hop)
//!  "localhost:80", ("example.com", 443), String           ─► spawn_blocking(getaddrinfo)
//!                                                              └─ the loop serves others meanwhile
//! ```
//!
//! A literal address needs no system call at all, so it never pays for a trip to a worker thread:
//! binding `"127.0.0.1:0"` costs what it cost when `bind` was synchronous. A name goes through
//! [`spawn_blocking`], the same door as any other blocking call, so
//! it runs on a pool thread — or inline on the loop when the worker has no thread
//! (`docs/06-offload-and-the-fallback.md`).
//!
//! The trait is *sealed*, as tokio's is: users name it in bounds (`A: ToSocketAddrs`) but cannot
//! implement or call it, so its one method can change without breaking anybody.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::task::spawn_blocking;

/// What `bind`, `connect` and [`lookup_host`] accept: a `SocketAddr`, an `(ip, port)` pair, a
/// `"host:port"` string or a `(host, port)` pair, as tokio's trait of the same name.
///
/// Literal addresses are parsed at once; host names are resolved on the blocking worker (module
/// docs). The trait is sealed: use it in bounds only.
pub trait ToSocketAddrs: sealed::ToSocketAddrsPriv {}

/// The sealed half: a public trait in a private module, so nobody outside can name it.
pub(crate) mod sealed {
    use std::io;
    use std::net::SocketAddr;

    use crate::worker::BlockingHandle;

    /// How an argument turns into addresses.
    pub trait ToSocketAddrsPriv {
        /// Parses a literal now, or starts resolving a name on the worker.
        fn to_resolution(&self) -> Resolution;
    }

    /// An address argument on its way to a list of addresses.
    #[derive(Debug)]
    pub enum Resolution {
        /// Known already (a literal, or a parse error).
        Ready(io::Result<Vec<SocketAddr>>),
        /// A host name being resolved by `getaddrinfo` on the worker.
        Blocking(BlockingHandle<io::Result<Vec<SocketAddr>>>),
    }
}

use sealed::{Resolution, ToSocketAddrsPriv};

/// The addresses `addr` stands for, resolving host names on the worker.
pub(crate) async fn resolve(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    match addr.to_resolution() {
        Resolution::Ready(addrs) => addrs,
        Resolution::Blocking(handle) => handle.await.map_err(|e| {
            // The job panicked (getaddrinfo does not) or never ran (the worker refused it).
            io::Error::other(format!("name resolution did not run: {e}"))
        })?,
    }
}

/// Resolves `host` (`"example.com:80"`, `("example.com", 80)`, or a literal) to its addresses,
/// without blocking the loop. tokio's `lookup_host`.
///
/// ```no_run
/// # evloop::Runtime::new().unwrap().block_on(async {
/// for addr in evloop::net::lookup_host("localhost:8080").await? {
///     println!("{addr}");
/// }
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
///
/// # Panics
/// Outside a runtime (for a host name: it needs the runtime's worker).
pub async fn lookup_host(host: impl ToSocketAddrs) -> io::Result<impl Iterator<Item = SocketAddr>> {
    Ok(resolve(host).await?.into_iter())
}

/// Resolves `host:port` on the worker with std's blocking resolver.
fn resolve_on_worker(host_and_port: String) -> Resolution {
    log::debug!("resolving {host_and_port:?} on the worker");
    Resolution::Blocking(spawn_blocking(move || {
        std::net::ToSocketAddrs::to_socket_addrs(&host_and_port).map(Iterator::collect)
    }))
}

/// One address, known already.
fn ready(addr: SocketAddr) -> Resolution {
    Resolution::Ready(Ok(vec![addr]))
}

// Addresses already in binary form: nothing to resolve.

impl ToSocketAddrs for SocketAddr {}
impl ToSocketAddrsPriv for SocketAddr {
    fn to_resolution(&self) -> Resolution {
        ready(*self)
    }
}

impl ToSocketAddrs for SocketAddrV4 {}
impl ToSocketAddrsPriv for SocketAddrV4 {
    fn to_resolution(&self) -> Resolution {
        ready(SocketAddr::V4(*self))
    }
}

impl ToSocketAddrs for SocketAddrV6 {}
impl ToSocketAddrsPriv for SocketAddrV6 {
    fn to_resolution(&self) -> Resolution {
        ready(SocketAddr::V6(*self))
    }
}

impl ToSocketAddrs for (IpAddr, u16) {}
impl ToSocketAddrsPriv for (IpAddr, u16) {
    fn to_resolution(&self) -> Resolution {
        ready(SocketAddr::from(*self))
    }
}

impl ToSocketAddrs for (Ipv4Addr, u16) {}
impl ToSocketAddrsPriv for (Ipv4Addr, u16) {
    fn to_resolution(&self) -> Resolution {
        ready(SocketAddr::from(*self))
    }
}

impl ToSocketAddrs for (Ipv6Addr, u16) {}
impl ToSocketAddrsPriv for (Ipv6Addr, u16) {
    fn to_resolution(&self) -> Resolution {
        ready(SocketAddr::from(*self))
    }
}

impl ToSocketAddrs for &[SocketAddr] {}
impl ToSocketAddrsPriv for &[SocketAddr] {
    fn to_resolution(&self) -> Resolution {
        Resolution::Ready(Ok(self.to_vec()))
    }
}

// Text: a literal is parsed here; anything else is a name for the resolver.

impl ToSocketAddrs for str {}
impl ToSocketAddrsPriv for str {
    fn to_resolution(&self) -> Resolution {
        match self.parse::<SocketAddr>() {
            Ok(addr) => ready(addr),
            Err(_) => resolve_on_worker(self.to_owned()),
        }
    }
}

impl ToSocketAddrs for String {}
impl ToSocketAddrsPriv for String {
    fn to_resolution(&self) -> Resolution {
        self.as_str().to_resolution()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl ToSocketAddrsPriv for (&str, u16) {
    fn to_resolution(&self) -> Resolution {
        let (host, port) = *self;
        match host.parse::<IpAddr>() {
            Ok(ip) => ready(SocketAddr::new(ip, port)),
            // std's own `(&str, u16)` resolution takes the host bare, even an IPv6 one, and so
            // does `"host:port"` once it is not a literal: join them the way std splits them.
            Err(_) => resolve_on_worker(format!("{host}:{port}")),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl ToSocketAddrsPriv for (String, u16) {
    fn to_resolution(&self) -> Resolution {
        (self.0.as_str(), self.1).to_resolution()
    }
}

/// A reference resolves as what it points at (`&str`, `&String`, `&SocketAddr`, ...).
impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: ToSocketAddrsPriv + ?Sized> ToSocketAddrsPriv for &T {
    fn to_resolution(&self) -> Resolution {
        (**self).to_resolution()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The addresses of an argument that must not need the worker (no runtime here at all).
    fn literal(addr: impl ToSocketAddrs) -> Vec<SocketAddr> {
        match addr.to_resolution() {
            Resolution::Ready(addrs) => addrs.expect("a valid literal"),
            Resolution::Blocking(_) => panic!("a literal went to the worker"),
        }
    }

    #[test]
    fn literals_are_parsed_without_the_worker() {
        let v4: SocketAddr = "127.0.0.1:80".parse().expect("literal");
        let v6: SocketAddr = "[::1]:80".parse().expect("literal");
        assert_eq!(literal("127.0.0.1:80"), [v4]);
        assert_eq!(literal(String::from("[::1]:80")), [v6]);
        assert_eq!(literal(("127.0.0.1", 80)), [v4]);
        assert_eq!(literal(("::1", 80)), [v6]);
        assert_eq!(literal((String::from("127.0.0.1"), 80)), [v4]);
        assert_eq!(literal((Ipv4Addr::LOCALHOST, 80)), [v4]);
        assert_eq!(literal((IpAddr::from(Ipv6Addr::LOCALHOST), 80)), [v6]);
        assert_eq!(literal(v4), [v4]);
        let by_reference: &SocketAddr = &v4;
        assert_eq!(literal(by_reference), [v4]);
        assert_eq!(literal(&[v4, v6][..]), [v4, v6]);
    }
}
