//! Issue 16, "tokio programs run by renaming": small programs written against tokio's API, ported
//! to evloop by the mechanical rename alone, and run.
//!
//! `tests/tokio_port/written_for_tokio/` holds the programs as written for tokio (not compiled
//! here: evloop has no tokio dependency; each was compiled and run against tokio 1.54.1 by hand when
//! it was added). Next to them, `tests/tokio_port/*.rs` are the evloop programs this test runs.
//! The first test checks that each port is *exactly* its original after two replacements:
//!
//! ```text
//!  tokio::runtime::Builder::new_current_thread()
//!      .enable_all()
//!      .build()?                                     →   evloop::Runtime::new()?
//!  tokio                                             →   evloop
//! ```
//!
//! so no hand edit can hide in a port. The other tests run the ports and check what they did.
//! (What still differs from tokio, and what breaks on the way to its multi-thread runtime, is
//! `docs/09-from-evloop-to-tokio-and-asyncio.md`.)

mod util;

#[path = "tokio_port/line_chat.rs"]
mod line_chat;
#[path = "tokio_port/port_probe.rs"]
mod port_probe;
#[path = "tokio_port/udp_echo.rs"]
mod udp_echo;

use std::fs;

/// The ported programs, by file name.
const PROGRAMS: [&str; 3] = ["udp_echo", "port_probe", "line_chat"];

/// The rename, as a list of replacements applied in order.
const RENAME: [(&str, &str); 2] = [
    (
        "tokio::runtime::Builder::new_current_thread()\n        .enable_all()\n        .build()?",
        "evloop::Runtime::new()?",
    ),
    ("tokio", "evloop"),
];

/// `source` with every replacement of [`RENAME`] applied.
fn renamed(source: &str) -> String {
    RENAME.iter().fold(source.to_string(), |text, (from, to)| {
        text.replace(from, to)
    })
}

#[test]
#[cfg_attr(miri, ignore)] // reads files
fn every_port_is_its_tokio_original_renamed_and_nothing_else() {
    for name in PROGRAMS {
        let original = fs::read_to_string(format!("tests/tokio_port/written_for_tokio/{name}.rs"))
            .expect("the original");
        let port = fs::read_to_string(format!("tests/tokio_port/{name}.rs")).expect("the port");
        assert!(
            original.contains("tokio::"),
            "{name}: an original names tokio"
        );
        assert!(!port.contains("tokio"), "{name}: the port does not");
        assert_eq!(
            renamed(&original),
            port,
            "{name}: the port differs from its renamed original"
        );
    }
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn udp_echo_runs_as_written() {
    util::init_logging();
    assert_eq!(udp_echo::run(200).expect("the program runs"), 200);
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets, name resolution
fn port_probe_runs_as_written() {
    util::init_logging();
    let (open, listening) = port_probe::run().expect("the program runs");
    assert_eq!(open, listening, "exactly the listening ports are open");
}

#[test]
#[cfg_attr(miri, ignore)] // real sockets
fn line_chat_runs_as_written() {
    util::init_logging();
    let (bob_heard, alice_heard) = line_chat::run().expect("the program runs");
    assert!(bob_heard.ends_with(": hello bob"), "{bob_heard}");
    assert!(alice_heard.ends_with(": hi alice"), "{alice_heard}");
    assert_ne!(
        bob_heard.split(": ").next(),
        alice_heard.split(": ").next(),
        "each heard the other, by address"
    );
}
