//! `select!`: the parser (a token muncher), the expansion, and the pattern cleaner.
//!
//! Read `macros/mod.rs` first: it shows what one `select!` turns into. This file has three
//! macros, in the order they run:
//!
//! 1. `select!` itself only notes `biased;` and hands the branches to `__select_parse!`.
//! 2. `__select_parse!` reads one branch at a time (`pattern = future, if condition => handler`)
//!    into a uniform shape, counting branches with one `_` each.
//! 3. `__select_expand!` writes the code: preconditions, the pinned futures, the `poll_fn` loop,
//!    and the final `match` that runs the winner's handler.
//!
//! `__select_clean_pattern!` and `__count!` are helpers of the expansion.

/// Waits on several futures at once and runs the handler of the first one to finish with a value
/// that matches its pattern; the others are dropped (cancelled).
///
/// ```text
/// select! {
///     [biased;]
///     <pattern> = <future> [, if <condition>] => <handler>,
///     ...
///     [else => <handler>]
/// }
/// ```
///
/// - Each `<future>` is evaluated once (anything `IntoFuture`), pinned on the stack and polled
///   from the current task; nothing is spawned.
/// - A branch whose `<condition>` is false is *disabled*: its future is still created but never
///   polled. Use it in loops (`, if !done`).
/// - When a future finishes, its output is matched against `<pattern>`. On a match, every future
///   is dropped and then `<handler>` runs, with the pattern's bindings, *outside* any closure: it
///   may `.await`, `return`, `break`, `continue` or use `?` for the surrounding code. On a
///   mismatch the branch is disabled and the others go on.
/// - When every branch is disabled, `else` runs; without an `else` that panics.
/// - Fairness: without `biased;` each poll starts at the next branch (a per-thread counter), so
///   an always-ready branch cannot starve the others; with `biased;` branches are polled in the
///   order written, which makes priorities explicit ("shutdown first").
///
/// ```
/// # evloop::Runtime::new().unwrap().block_on(async {
/// use std::time::Duration;
/// use evloop::sync::mpsc;
///
/// let (tx, mut rx) = mpsc::unbounded_channel::<u32>();
/// tx.send(7).unwrap();
/// let got = evloop::select! {
///     Some(n) = rx.recv() => n,
///     _ = evloop::time::sleep(Duration::from_secs(5)) => 0,
/// };
/// assert_eq!(got, 7); // and the sleep was dropped, its timer cancelled
/// # });
/// ```
///
/// Limits of this `macro_rules!` version: at most 64 branches; patterns are read token by token
/// until their `=`, so a very long pattern may need a higher `#![recursion_limit]`; a pattern
/// passed in from another macro as a `$p:pat` fragment is matched whole (see
/// `__select_clean_pattern!` for why that matters only for `mut`/`ref` bindings).
#[macro_export]
macro_rules! select {
    (biased; $($branches:tt)*) => {
        $crate::__select_parse!(@branch biased () [] [] $($branches)*)
    };
    ($($branches:tt)*) => {
        $crate::__select_parse!(@branch rotate () [] [] $($branches)*)
    };
}

/// Reads `select!` branches into `( (skip) [pattern] (future) (condition) (handler) )` groups.
///
/// State, carried from call to call: the polling mode (`biased` or `rotate`), one `_` per branch
/// read so far (the next branch's index, and the "skip" list that finds its place in a tuple),
/// the branches read so far, and the tokens of the pattern being read.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // Nothing at all.
    (@branch $mode:ident () [] []) => {
        ::core::compile_error!("select! needs at least one branch")
    };
    // Every branch read, no `else`: all branches disabled is a bug in the caller's logic.
    (@branch $mode:ident $count:tt $branches:tt []) => {
        $crate::__select_expand!($mode $count $branches
            ::core::panic!("all branches of select! are disabled and there is no `else` branch"))
    };
    // The `else` branch, which must come last.
    (@branch $mode:ident $count:tt $branches:tt [] else => $else:expr $(,)?) => {
        $crate::__select_expand!($mode $count $branches $else)
    };
    // The `=` that ends a pattern.
    (@branch $mode:ident $count:tt $branches:tt [$($pattern:tt)+] = $($rest:tt)*) => {
        $crate::__select_parse!(@future $mode $count $branches [$($pattern)+] $($rest)*)
    };
    // One more token of the pattern.
    (@branch $mode:ident $count:tt $branches:tt [$($pattern:tt)*] $next:tt $($rest:tt)*) => {
        $crate::__select_parse!(@branch $mode $count $branches [$($pattern)* $next] $($rest)*)
    };

    // After the `=`: the future and an optional `, if condition` (else `true`).
    (@future $mode:ident $count:tt $branches:tt $pattern:tt
        $future:expr, if $condition:expr => $($rest:tt)*) => {
        $crate::__select_parse!(@handler $mode $count $branches $pattern
            ($future) ($condition) $($rest)*)
    };
    (@future $mode:ident $count:tt $branches:tt $pattern:tt $future:expr => $($rest:tt)*) => {
        $crate::__select_parse!(@handler $mode $count $branches $pattern ($future) (true) $($rest)*)
    };

    // The handler: a block, with or without a comma after it, or an expression, with a comma
    // unless it is the last branch.
    (@handler $mode:ident $count:tt $branches:tt $pattern:tt $future:tt $condition:tt
        $handler:block, $($rest:tt)*) => {
        $crate::__select_parse!(@push $mode $count $branches $pattern $future $condition
            ($handler) $($rest)*)
    };
    (@handler $mode:ident $count:tt $branches:tt $pattern:tt $future:tt $condition:tt
        $handler:block $($rest:tt)*) => {
        $crate::__select_parse!(@push $mode $count $branches $pattern $future $condition
            ($handler) $($rest)*)
    };
    (@handler $mode:ident $count:tt $branches:tt $pattern:tt $future:tt $condition:tt
        $handler:expr, $($rest:tt)*) => {
        $crate::__select_parse!(@push $mode $count $branches $pattern $future $condition
            ($handler) $($rest)*)
    };
    (@handler $mode:ident $count:tt $branches:tt $pattern:tt $future:tt $condition:tt
        $handler:expr) => {
        $crate::__select_parse!(@push $mode $count $branches $pattern $future $condition
            ($handler))
    };

    // Records the branch under the current count, adds one `_`, reads the next branch.
    (@push $mode:ident ($($count:tt)*) [$($branches:tt)*] $pattern:tt
        $future:tt $condition:tt $handler:tt $($rest:tt)*) => {
        $crate::__select_parse!(@branch $mode ($($count)* _)
            [$($branches)* (($($count)*) $pattern $future $condition $handler)] [] $($rest)*)
    };
}

/// Writes the code of one `select!` from the parsed branches; see `macros/mod.rs` for a worked
/// expansion.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_expand {
    // Only an `else` branch: nothing to wait for (tokio runs the `else` too).
    ($mode:ident () [] $else:expr) => {
        $else
    };
    ($mode:ident ($($count:tt)*) [$(
        (($($skip:tt)*) [$($pattern:tt)+] ($future:expr) ($condition:expr) ($handler:expr))
    )+] $else:expr) => {{
        const _: () = {
            let branches: u32 = $crate::__count!($($count)*);
            ::core::assert!(branches <= 64, "select! supports at most 64 branches");
        };
        let branches: u32 = $crate::__count!($($count)*);

        // 1. Preconditions: bit i set = branch i is never polled (again).
        let mut disabled: u64 = 0;
        $(
            if !$condition {
                disabled |= 1u64 << $crate::__count!($($skip)*);
            }
        )+

        // 2. The winner's output is parked here; every other slot stays `None`.
        let mut outputs = ($($crate::__select_none!($($skip)*),)+);
        {
            // 3. Every future pinned on the stack, in a tuple; dropped at the end of this block,
            //    that is before any handler runs.
            let mut futures = ($(::core::pin::pin!(::core::future::IntoFuture::into_future($future)),)+);
            ::core::future::poll_fn(|cx| {
                let start = $crate::__select_start!($mode branches);
                let mut any_pending = false;
                for offset in 0..branches {
                    let branch = (start + offset) % branches;
                    if disabled & (1u64 << branch) != 0 {
                        continue;
                    }
                    $(
                        if branch == $crate::__count!($($skip)*) {
                            let ($($skip,)* future, ..) = &mut futures;
                            match ::core::future::Future::poll(future.as_mut(), cx) {
                                ::core::task::Poll::Pending => any_pending = true,
                                ::core::task::Poll::Ready(output) => {
                                    // Done either way: a finished future is not polled again.
                                    disabled |= 1u64 << branch;
                                    // Does the output fit the pattern? Checked on a reference,
                                    // so that a mismatch can be dropped and a match moved out.
                                    #[allow(unused_variables, unreachable_patterns, unused_parens)]
                                    let fits = ::core::matches!(
                                        &output,
                                        $crate::__select_clean_pattern!($($pattern)+)
                                    );
                                    if fits {
                                        let ($($skip,)* slot, ..) = &mut outputs;
                                        *slot = ::core::option::Option::Some(output);
                                        return ::core::task::Poll::Ready(());
                                    }
                                }
                            }
                        }
                    )+
                }
                // Nothing matched: wait if some branch may still finish, else all are disabled.
                if any_pending {
                    ::core::task::Poll::Pending
                } else {
                    ::core::task::Poll::Ready(())
                }
            })
            .await;
        }

        // 4. The handler of the one filled slot, with the pattern bound by value; no slot filled
        //    means every branch was disabled.
        match outputs {
            $(
                ($($skip,)* ::core::option::Option::Some($($pattern)+), ..) => $handler,
            )+
            _ => $else,
        }
    }};
}

/// Which branch to poll first: always the first when `biased`, else the next in turn.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_start {
    (biased $branches:ident) => {
        0u32
    };
    (rotate $branches:ident) => {
        $crate::macros::support::next_start($branches)
    };
}

/// An empty output slot (the argument only makes the repetition run once per branch).
#[doc(hidden)]
#[macro_export]
macro_rules! __select_none {
    ($($skip:tt)*) => {
        ::core::option::Option::None
    };
}

/// Counts `_` tokens: `__count!(_ _ _)` is `1 + 1 + 1 + 0`, a constant `u32`.
#[doc(hidden)]
#[macro_export]
macro_rules! __count {
    () => {
        0u32
    };
    (_ $($rest:tt)*) => {
        1u32 + $crate::__count!($($rest)*)
    };
}

/// Rewrites a pattern so it can be matched against a *reference* to the value without moving
/// anything: drops the binding modes `mut`, `ref`, `ref mut` and the reference patterns `&`,
/// `&mut`, inside groups too. `Some(mut line)` becomes `(Some(line))`, `(&a, ref b)` becomes
/// `((a, b))`.
///
/// Why: `select!` must know whether an output fits its pattern before deciding to keep it, and
/// matching by value would move the output into the bindings. Matched through `&output`, plain
/// bindings bind by reference (Rust's "default binding modes"), but there an explicit `mut x`,
/// `ref x` or `&x` is an error (edition 2024), so those words go. None of them changes *whether*
/// a value fits — a binding always fits, and `&p` fits exactly when `p` fits what it points
/// to — which is all this check asks. Tokio cleans patterns with a procedural macro for the
/// same reason (it keeps `&`, so tokio rejects `&x` patterns in edition 2024).
///
/// The muncher keeps a stack of open groups: entering `( ... )` pushes what was written so far
/// and what follows the group; reaching the end of the group's tokens pops it and wraps the
/// cleaned content back in its delimiter.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_clean_pattern {
    // Everything read, no group open: the cleaned pattern, parenthesised (it may be `A | B`).
    (@[$($out:tt)*] @[]) => {
        ($($out)*)
    };
    // The end of a group's tokens: close it and go on after it.
    (@[$($out:tt)*] @[(paren [$($before:tt)*] [$($after:tt)*]) $($stack:tt)*]) => {
        $crate::__select_clean_pattern!(@[$($before)* ($($out)*)] @[$($stack)*] $($after)*)
    };
    (@[$($out:tt)*] @[(bracket [$($before:tt)*] [$($after:tt)*]) $($stack:tt)*]) => {
        $crate::__select_clean_pattern!(@[$($before)* [$($out)*]] @[$($stack)*] $($after)*)
    };
    (@[$($out:tt)*] @[(brace [$($before:tt)*] [$($after:tt)*]) $($stack:tt)*]) => {
        $crate::__select_clean_pattern!(@[$($before)* {$($out)*}] @[$($stack)*] $($after)*)
    };
    // Reference patterns (`&`, `&mut`, and `&&` lexed as one token): dropped.
    (@$out:tt @$stack:tt & mut $($rest:tt)*) => {
        $crate::__select_clean_pattern!(@$out @$stack $($rest)*)
    };
    (@$out:tt @$stack:tt && mut $($rest:tt)*) => {
        $crate::__select_clean_pattern!(@$out @$stack $($rest)*)
    };
    (@$out:tt @$stack:tt & $($rest:tt)*) => {
        $crate::__select_clean_pattern!(@$out @$stack $($rest)*)
    };
    (@$out:tt @$stack:tt && $($rest:tt)*) => {
        $crate::__select_clean_pattern!(@$out @$stack $($rest)*)
    };
    // Binding modes: dropped.
    (@$out:tt @$stack:tt ref mut $($rest:tt)*) => {
        $crate::__select_clean_pattern!(@$out @$stack $($rest)*)
    };
    (@$out:tt @$stack:tt ref $($rest:tt)*) => {
        $crate::__select_clean_pattern!(@$out @$stack $($rest)*)
    };
    (@$out:tt @$stack:tt mut $($rest:tt)*) => {
        $crate::__select_clean_pattern!(@$out @$stack $($rest)*)
    };
    // A group: clean its content first (push what surrounds it).
    (@[$($out:tt)*] @[$($stack:tt)*] ($($inner:tt)*) $($rest:tt)*) => {
        $crate::__select_clean_pattern!(@[] @[(paren [$($out)*] [$($rest)*]) $($stack)*] $($inner)*)
    };
    (@[$($out:tt)*] @[$($stack:tt)*] [$($inner:tt)*] $($rest:tt)*) => {
        $crate::__select_clean_pattern!(@[] @[(bracket [$($out)*] [$($rest)*]) $($stack)*] $($inner)*)
    };
    (@[$($out:tt)*] @[$($stack:tt)*] {$($inner:tt)*} $($rest:tt)*) => {
        $crate::__select_clean_pattern!(@[] @[(brace [$($out)*] [$($rest)*]) $($stack)*] $($inner)*)
    };
    // Any other token: copied.
    (@[$($out:tt)*] @$stack:tt $next:tt $($rest:tt)*) => {
        $crate::__select_clean_pattern!(@[$($out)* $next] @$stack $($rest)*)
    };
    // Entry: nothing written yet, no group open.
    ($($pattern:tt)+) => {
        $crate::__select_clean_pattern!(@[] @[] $($pattern)+)
    };
}
