//! `join!` and `try_join!`: run several futures on the current task until all finish (or, for
//! `try_join!`, until one fails).
//!
//! Both share the shape of `select!` (`macros/select.rs`): the futures pinned in a tuple, one
//! output slot per future, one `poll_fn` that polls each unfinished future once per wake-up. Only
//! the stopping rule differs: `select!` stops at the first match, `join!` when every slot is full,
//! `try_join!` at the first `Err`, or when every slot holds an `Ok` value.
//!
//! `__join_parse!` turns the comma-separated futures into `((skip) (future))` pairs, the same
//! "one `_` per earlier future" trick `select!` uses to find a future's place in a tuple.

/// Runs every future to completion, concurrently on the current task, and returns their outputs
/// as a tuple in the order written.
///
/// "Concurrently" means interleaved, not in parallel: while one future waits (for a socket, a
/// timer, a lock) the others are polled. Nothing is spawned, so the futures may borrow local
/// variables. Each wake-up polls every future that has not finished yet, in the order written
/// (tokio rotates the first one; with a handful of futures the difference is not measurable).
/// A finished future is kept, not polled again, until the last one finishes.
///
/// ```
/// # evloop::Runtime::new().unwrap().block_on(async {
/// use std::time::Duration;
/// use evloop::time::sleep;
///
/// let started = std::time::Instant::now();
/// let (a, b) = evloop::join!(
///     async { sleep(Duration::from_millis(20)).await; 1 },
///     async { sleep(Duration::from_millis(20)).await; "two" },
/// );
/// assert_eq!((a, b), (1, "two"));
/// assert!(started.elapsed() < Duration::from_millis(1000)); // the sleeps overlapped
/// # });
/// ```
///
/// Any number of futures (up to the compiler's recursion limit, 128 by default: one level per
/// future); `join!()` is `()`.
#[macro_export]
macro_rules! join {
    () => {
        ()
    };
    ($($future:expr),+ $(,)?) => {
        $crate::__join_parse!(join () [] $($future,)+)
    };
}

/// Like [`join!`] for futures whose output is a `Result`: `Ok` with the tuple of values when all
/// succeed, or the first `Err` as soon as it happens, dropping (cancelling) the futures still
/// running.
///
/// Every future must have the same error type (convert with `map_err` or `?` inside an `async`
/// block otherwise).
///
/// ```
/// # evloop::Runtime::new().unwrap().block_on(async {
/// let sum = async {
///     let (a, b) = evloop::try_join!(
///         async { Ok::<_, String>(1) },
///         async { Ok::<_, String>(2) },
///     )?;
///     Ok::<_, String>(a + b)
/// };
/// assert_eq!(sum.await, Ok(3));
///
/// let failed = evloop::try_join!(
///     async { Err::<(), _>("no") },
///     std::future::pending::<Result<(), &str>>(), // dropped at the error
/// );
/// assert_eq!(failed, Err("no"));
/// # });
/// ```
#[macro_export]
macro_rules! try_join {
    () => {
        ::core::result::Result::<(), ::core::convert::Infallible>::Ok(())
    };
    ($($future:expr),+ $(,)?) => {
        $crate::__join_parse!(try_join () [] $($future,)+)
    };
}

/// Pairs each future with its "skip" list (one `_` per future before it), then expands.
#[doc(hidden)]
#[macro_export]
macro_rules! __join_parse {
    ($kind:ident ($($count:tt)*) [$($done:tt)*] $future:expr, $($rest:tt)*) => {
        $crate::__join_parse!($kind ($($count)* _) [$($done)* (($($count)*) ($future))] $($rest)*)
    };
    (join $count:tt [$((($($skip:tt)*) ($future:expr)))+]) => {{
        let mut outputs = ($($crate::__select_none!($($skip)*),)+);
        {
            let mut futures = ($(::core::pin::pin!(::core::future::IntoFuture::into_future($future)),)+);
            ::core::future::poll_fn(|cx| {
                let mut all_done = true;
                $({
                    let ($($skip,)* output, ..) = &mut outputs;
                    if output.is_none() {
                        let ($($skip,)* future, ..) = &mut futures;
                        match ::core::future::Future::poll(future.as_mut(), cx) {
                            ::core::task::Poll::Ready(value) => {
                                *output = ::core::option::Option::Some(value);
                            }
                            ::core::task::Poll::Pending => all_done = false,
                        }
                    }
                })+
                if all_done {
                    ::core::task::Poll::Ready(())
                } else {
                    ::core::task::Poll::Pending
                }
            })
            .await;
        }
        ($({
            let ($($skip,)* output, ..) = &mut outputs;
            output.take().expect("join! returns only when every future finished")
        },)+)
    }};
    (try_join $count:tt [$((($($skip:tt)*) ($future:expr)))+]) => {{
        let mut outputs = ($($crate::__select_none!($($skip)*),)+);
        let finished = {
            let mut futures = ($(::core::pin::pin!(::core::future::IntoFuture::into_future($future)),)+);
            ::core::future::poll_fn(|cx| {
                let mut all_done = true;
                $({
                    let ($($skip,)* output, ..) = &mut outputs;
                    if output.is_none() {
                        let ($($skip,)* future, ..) = &mut futures;
                        match ::core::future::Future::poll(future.as_mut(), cx) {
                            ::core::task::Poll::Ready(::core::result::Result::Ok(value)) => {
                                *output = ::core::option::Option::Some(value);
                            }
                            // The first error ends the join; leaving this block drops the rest.
                            ::core::task::Poll::Ready(::core::result::Result::Err(error)) => {
                                return ::core::task::Poll::Ready(::core::result::Result::Err(error));
                            }
                            ::core::task::Poll::Pending => all_done = false,
                        }
                    }
                })+
                if all_done {
                    ::core::task::Poll::Ready(::core::result::Result::Ok(()))
                } else {
                    ::core::task::Poll::Pending
                }
            })
            .await
        };
        finished.map(|()| ($({
            let ($($skip,)* output, ..) = &mut outputs;
            output.take().expect("try_join! returns Ok only when every future succeeded")
        },)+))
    }};
}
