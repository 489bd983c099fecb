//! A socket awaited on a runtime other than its own fails loudly instead of hanging.
//!
//! A socket's readiness is watched by the reactor it was registered with. Awaited under another
//! runtime's `block_on` (or none), its waker would be left with a reactor nobody polls. This check
//! runs only on the way to `Pending`, so the hot path — data already there — pays nothing.

use std::task::Poll;

use mio::event::Source;

use super::poll_evented::PollEvented;
use crate::runtime::context;

impl<S: Source> PollEvented<S> {
    /// `Pending`: the task now waits for this socket's reactor to wake it — after checking that
    /// the reactor is the one of the loop running the task.
    ///
    /// A socket belongs to the runtime that created it. Awaited on another runtime's loop (or on
    /// none), it would leave its waker with a reactor that nobody polls: a wait that never ends,
    /// and nothing to say why. So it panics and names the mistake. The check is made only here,
    /// on the way to waiting, where the hang would begin: an operation that completes at once
    /// needs no reactor, and the hot path (data already there) pays nothing.
    pub(super) fn wait<T>(&self) -> Poll<T> {
        match context::with_core(|core| self.registration.is_in(core.reactor())) {
            Some(true) => Poll::Pending,
            Some(false) => panic!(
                "this {} (token {}) was created on another evloop runtime and awaited on this \
                 one: only the runtime that created a socket watches it, so this wait would never \
                 end. Create sockets inside the runtime that uses them",
                self.kind(),
                self.token()
            ),
            None => panic!(
                "this {} (token {}) was awaited outside the evloop runtime that created it: only \
                 that runtime's loop watches it, so this wait would never end. Await it inside \
                 that runtime's `block_on`",
                self.kind(),
                self.token()
            ),
        }
    }

    /// The socket type's short name (`TcpStream`), for messages.
    fn kind(&self) -> &'static str {
        let full = std::any::type_name::<S>();
        full.rsplit("::").next().unwrap_or(full)
    }
}
