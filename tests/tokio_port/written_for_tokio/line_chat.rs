//! A line chat: every line a client sends reaches every other client, prefixed with the sender's
//! address. Written against tokio's API: a listener, a task per client, a broadcast channel, a
//! buffered reader of lines, split streams and `select!`.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;

/// One line said in the chat, and who said it.
#[derive(Clone, Debug)]
pub struct Said {
    /// The sender.
    pub from: SocketAddr,
    /// What they said, without the newline.
    pub line: String,
}

/// Accepts clients forever, one task each; they talk through one broadcast channel.
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    let (chat, _) = broadcast::channel(64);
    loop {
        let (stream, peer) = listener.accept().await?;
        // Subscribed before the welcome: a client that read it hears everything said after.
        let (chat, heard) = (chat.clone(), chat.subscribe());
        tokio::spawn(async move {
            if let Err(e) = client(stream, peer, chat, heard).await {
                eprintln!("{peer}: {e}");
            }
        });
    }
}

/// One client: its lines go to the chat, the chat's lines from others go to it.
async fn client(
    stream: TcpStream,
    peer: SocketAddr,
    chat: broadcast::Sender<Said>,
    mut heard: broadcast::Receiver<Said>,
) -> io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader).lines();
    writer
        .write_all(format!("welcome {peer}\n").as_bytes())
        .await?;
    loop {
        tokio::select! {
            line = lines.next_line() => match line? {
                Some(line) => {
                    let _ = chat.send(Said { from: peer, line });
                }
                None => return Ok(()),
            },
            said = heard.recv() => match said {
                Ok(said) if said.from != peer => {
                    let text = format!("{}: {}\n", said.from, said.line);
                    writer.write_all(text.as_bytes()).await?;
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    writer.write_all(format!("({missed} lines missed)\n").as_bytes()).await?;
                }
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
        }
    }
}

/// The whole program: a server and two clients who greet each other. Returns what each heard.
pub fn run() -> io::Result<(String, String)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(serve(listener));
        let (alice_reader, mut alice) = TcpStream::connect(addr).await?.into_split();
        let mut alice_hears = BufReader::new(alice_reader).lines();
        let (bob_reader, mut bob) = TcpStream::connect(addr).await?.into_split();
        let mut bob_hears = BufReader::new(bob_reader).lines();
        // Each reads its welcome first: then both are in the chat.
        let welcome = alice_hears.next_line().await?.unwrap_or_default();
        assert!(welcome.starts_with("welcome"), "{welcome}");
        let welcome = bob_hears.next_line().await?.unwrap_or_default();
        assert!(welcome.starts_with("welcome"), "{welcome}");
        alice.write_all(b"hello bob\n").await?;
        let bob_heard = bob_hears.next_line().await?.unwrap_or_default();
        bob.write_all(b"hi alice\n").await?;
        let alice_heard = alice_hears.next_line().await?.unwrap_or_default();
        println!("bob heard {bob_heard:?}, alice heard {alice_heard:?}");
        server.abort();
        Ok((bob_heard, alice_heard))
    })
}
