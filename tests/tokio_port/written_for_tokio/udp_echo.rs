//! A UDP echo server and a client that checks it, in one program, written against tokio's API.
//!
//! The server answers every datagram with the same bytes; the client sends numbered datagrams
//! and checks that each one comes back unchanged.

use std::io;
use std::net::SocketAddr;

use tokio::net::UdpSocket;

/// Echoes every datagram back to its sender, forever.
pub async fn serve(socket: UdpSocket) -> io::Result<()> {
    let mut buf = vec![0u8; 1024];
    loop {
        let (len, peer) = socket.recv_from(&mut buf).await?;
        socket.send_to(&buf[..len], &peer).await?;
    }
}

/// Sends `count` numbered datagrams to `server`, one at a time; returns how many came back
/// unchanged.
pub async fn ping(server: SocketAddr, count: u32) -> io::Result<u32> {
    let socket = UdpSocket::bind("127.0.0.1:0").await?;
    socket.connect(server).await?;
    let mut echoed = 0;
    let mut buf = [0u8; 64];
    for i in 0..count {
        let message = format!("ping {i}");
        socket.send(message.as_bytes()).await?;
        let len = socket.recv(&mut buf).await?;
        if &buf[..len] == message.as_bytes() {
            echoed += 1;
        }
    }
    Ok(echoed)
}

/// The whole program: a server task, a client, and the count.
pub fn run(count: u32) -> io::Result<u32> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        let addr = socket.local_addr()?;
        let server = tokio::spawn(serve(socket));
        let echoed = ping(addr, count).await?;
        println!("{echoed} of {count} datagrams echoed by {addr}");
        server.abort();
        Ok(echoed)
    })
}
