//! Which ports of a host accept TCP connections: every port probed at once, each probe bounded by
//! a timeout, the results collected as they come. Written against tokio's API.

use std::io;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::timeout;

/// The ports of `ports` on `host` that accept a connection within `limit`, in ascending order.
pub async fn open_ports(host: &str, ports: &[u16], limit: Duration) -> Vec<u16> {
    let mut probes = JoinSet::new();
    for &port in ports {
        let host = host.to_string();
        probes.spawn(async move {
            let attempt = timeout(limit, TcpStream::connect((host.as_str(), port))).await;
            (port, matches!(attempt, Ok(Ok(_))))
        });
    }
    let mut open = Vec::new();
    while let Some(probe) = probes.join_next().await {
        let (port, accepted) = probe.expect("a probe does not panic");
        if accepted {
            open.push(port);
        }
    }
    open.sort_unstable();
    open
}

/// The whole program: two listeners, one port that was just closed, and a probe of all three.
/// Returns (the open ports found, the ports that should be open).
pub fn run() -> io::Result<(Vec<u16>, Vec<u16>)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let first = TcpListener::bind("127.0.0.1:0").await?;
        let second = TcpListener::bind("localhost:0").await?;
        let closed = TcpListener::bind("127.0.0.1:0").await?.local_addr()?.port();
        let mut listening = vec![first.local_addr()?.port(), second.local_addr()?.port()];
        listening.sort_unstable();
        let ports = [listening[0], closed, listening[1]];
        let open = open_ports("localhost", &ports, Duration::from_secs(10)).await;
        println!("probed {ports:?} on localhost: {open:?} open");
        Ok((open, listening))
    })
}
