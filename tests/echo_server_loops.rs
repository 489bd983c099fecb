//! Issue 18: `examples/echo_server/main.rs --loops N` runs one loop per thread, each with its own
//! listener on one port (`SO_REUSEPORT`, `examples/echo_server/loops.rs`). This test runs the built
//! example with two loops, makes 64 connections, and checks from the final report of each loop
//! that both served some of them, and that every connection was echoed. The process harness is
//! `tests/example_process/mod.rs`.
#![cfg(unix)]

mod example_process;

use std::io::{Read, Write};

use example_process::{ExampleProcess, connect};

/// Connections made; with two listeners chosen by a hash of each connection's ports, the chance
/// that all of them land on one loop is 2 in 2^64.
const CONNECTIONS: u64 = 64;

#[test]
#[cfg_attr(miri, ignore)] // runs a process
fn issue_18_with_two_loops_each_loop_serves_connections() {
    let server = ExampleProcess::start("echo_server", &["--loops", "2"], "warn");
    let mut clients = Vec::new();
    for i in 0..CONNECTIONS {
        let mut client = connect(server.addr);
        let message = format!("ping {i:02}");
        client.write_all(message.as_bytes()).expect("write");
        let mut echo = vec![0u8; message.len()];
        client.read_exact(&mut echo).expect("echo");
        assert_eq!(echo, message.as_bytes(), "connection {i} echoed");
        clients.push(client); // kept open: idle connections at shutdown
    }
    server.interrupt();
    let exit = server.wait();
    assert!(
        exit.status.success(),
        "exit 0: {:?}\n{}",
        exit.status,
        exit.stdout
    );
    let served: Vec<u64> = (0..2)
        .map(|i| {
            let prefix = format!("final stats, loop {i}: served ");
            let line = exit
                .stdout
                .lines()
                .find(|line| line.starts_with(&prefix))
                .unwrap_or_else(|| panic!("no line {prefix:?} in\n{}", exit.stdout));
            line[prefix.len()..]
                .split(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("a count in {line:?}"))
        })
        .collect();
    assert_eq!(served.iter().sum::<u64>(), CONNECTIONS, "{served:?}");
    assert!(
        served.iter().all(|&n| n > 0),
        "every loop served: {served:?}"
    );
}
