//! Why a send or a receive on an `mpsc` channel did not happen.
//!
//! Every send error carries the value back, so the caller can retry, log it, or route it
//! elsewhere. `Debug` does not print the value (so `T` need not be `Debug`, as with std's
//! channels), and `Display` says what happened in words an operator understands.

use std::fmt;

/// The receiver is gone (dropped, or it called `close`): the value comes back unsent.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// The value that could not be sent.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError").finish_non_exhaustive()
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(CLOSED)
    }
}

impl<T> std::error::Error for SendError<T> {}

/// Why `try_send` did not send; the value comes back in both cases.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// Every slot of the bounded buffer is taken (or promised to a sender that waited longer).
    Full(T),
    /// The receiver is gone; no send will ever succeed.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The value that could not be sent.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(value) | TrySendError::Closed(value) => value,
        }
    }
}

impl<T> From<SendError<T>> for TrySendError<T> {
    fn from(SendError(value): SendError<T>) -> TrySendError<T> {
        TrySendError::Closed(value)
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("channel full: every slot is taken"),
            TrySendError::Closed(_) => f.write_str(CLOSED),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

/// Why `try_recv` returned no value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing buffered right now; a sender may still send.
    Empty,
    /// Nothing buffered and nothing will come: every sender was dropped, or the receiver closed
    /// the channel.
    Disconnected,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryRecvError::Empty => "channel empty: no value buffered yet",
            TryRecvError::Disconnected => {
                "channel closed and empty: every sender was dropped or the receiver closed it"
            }
        })
    }
}

impl std::error::Error for TryRecvError {}

/// What a send to a gone receiver reports.
const CLOSED: &str = "channel closed: the receiver was dropped or closed the channel";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_give_the_value_back_and_say_what_happened() {
        let closed = SendError(String::from("job"));
        assert_eq!(
            closed.to_string(),
            "channel closed: the receiver was dropped or closed the channel"
        );
        assert_eq!(format!("{closed:?}"), "SendError { .. }");
        assert_eq!(closed.into_inner(), "job");

        let full = TrySendError::Full(1);
        assert_eq!(full.to_string(), "channel full: every slot is taken");
        assert_eq!(format!("{full:?}"), "Full(..)");
        assert_eq!(full.into_inner(), 1);
        assert_eq!(TrySendError::from(SendError(2)), TrySendError::Closed(2));

        assert_eq!(
            TryRecvError::Disconnected.to_string(),
            "channel closed and empty: every sender was dropped or the receiver closed it"
        );
    }

    #[test]
    fn send_errors_fit_in_a_boxed_error() {
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(SendError(3u8));
        assert!(boxed.to_string().starts_with("channel closed"));
    }
}
