//! Whole-runtime tests of `select!`, `join!` and `try_join!`: which branch wins, what is dropped
//! and when, `biased;`, rotation, `else`, preconditions, patterns, and short-circuiting.

mod util;

use std::cell::{Cell, RefCell};
use std::future::{Future, pending};
use std::rc::Rc;
use std::time::Duration;

use evloop::sync::{Notify, mpsc, oneshot};
use evloop::task::yield_now;
use evloop::time::{sleep, timeout};

/// Sets its flag when dropped: shows that a future holding it was dropped (cancelled).
struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

/// A future that holds a `DropFlag` and never finishes; `dropped` turns true when it is dropped.
fn never_finishes(dropped: &Rc<Cell<bool>>) -> impl Future<Output = u32> + use<> {
    let flag = DropFlag(dropped.clone());
    async move {
        let _flag = flag;
        pending::<u32>().await
    }
}

/// Ready after `n` yields to the scheduler, with `value`; counts its polls into `polls`.
async fn after_yields<T>(n: usize, value: T, polls: Rc<Cell<usize>>) -> T {
    for _ in 0..n {
        polls.set(polls.get() + 1);
        yield_now().await;
    }
    polls.set(polls.get() + 1);
    value
}

/// Runs `future` on a fresh runtime, failing loudly instead of hanging.
fn run<F: Future>(future: F) -> F::Output {
    util::runtime().block_on(async {
        timeout(Duration::from_secs(10), future)
            .await
            .expect("no progress for 10 s: a lost wake-up?")
    })
}

#[test]
fn select_runs_the_first_finished_branch_after_dropping_the_others() {
    run(async {
        let loser_dropped = Rc::new(Cell::new(false));
        let polls = Rc::new(Cell::new(0));
        let winner = evloop::select! {
            n = never_finishes(&loser_dropped) => n,
            n = after_yields(2, 7, polls.clone()) => {
                assert!(loser_dropped.get(), "the loser is dropped before the handler runs");
                n
            }
        };
        assert_eq!(winner, 7);
        assert_eq!(
            polls.get(),
            3,
            "polled once per wake-up: two yields, then ready"
        );
    });
}

#[test]
fn biased_select_polls_in_the_order_written() {
    run(async {
        for _ in 0..4 {
            let first = evloop::select! {
                biased;
                a = async { "first" } => a,
                b = async { "second" } => b,
            };
            assert_eq!(first, "first");
        }
    });
}

#[test]
fn unbiased_select_rotates_the_first_branch_so_none_starves() {
    run(async {
        let winners: Vec<u8> = {
            let mut winners = Vec::new();
            for _ in 0..6 {
                winners.push(evloop::select! {
                    a = async { 0u8 } => a,
                    b = async { 1u8 } => b,
                });
            }
            winners
        };
        // Both always ready: each poll starts one branch later, so winners alternate.
        assert!(
            winners.windows(2).all(|w| w[0] != w[1]),
            "winners: {winners:?}"
        );
    });
}

#[test]
fn a_false_precondition_disables_a_branch_without_polling_it() {
    run(async {
        let polls = Rc::new(Cell::new(0));
        let skip_ready = false;
        let got = evloop::select! {
            n = after_yields(0, 1, polls.clone()), if skip_ready => n,
            n = after_yields(1, 2, Rc::new(Cell::new(0))) => n,
        };
        assert_eq!(got, 2, "the ready branch was disabled");
        assert_eq!(polls.get(), 0, "a disabled branch is never polled");
    });
}

#[test]
fn else_runs_when_every_branch_is_disabled_by_preconditions_or_mismatches() {
    run(async {
        let by_precondition = evloop::select! {
            _ = async { 1 }, if false => "branch",
            else => "else",
        };
        assert_eq!(by_precondition, "else");

        let by_mismatch = evloop::select! {
            Some(n) = async { None::<u8> } => n.to_string(),
            Ok(n) = async { Err::<u8, ()>(()) } => n.to_string(),
            else => String::from("else"),
        };
        assert_eq!(by_mismatch, "else");

        let only_else = evloop::select! { else => 3 };
        assert_eq!(only_else, 3);
    });
}

#[test]
fn a_branch_whose_pattern_does_not_match_is_disabled_and_the_others_go_on() {
    run(async {
        let (tx, mut rx) = mpsc::unbounded_channel::<u32>();
        drop(tx); // recv() is Ready(None) at once, which does not match Some(_)
        let polls = Rc::new(Cell::new(0));
        let got = evloop::select! {
            biased;
            Some(v) = rx.recv() => v,
            v = after_yields(3, 42, polls.clone()) => v,
        };
        assert_eq!(got, 42);
        assert_eq!(polls.get(), 4);
    });
}

#[test]
#[should_panic(expected = "all branches of select! are disabled")]
fn without_else_a_fully_disabled_select_panics() {
    run(async {
        evloop::select! {
            Some(v) = async { None::<u8> } => v,
        }
    });
}

#[test]
fn patterns_may_bind_by_mut_and_destructure_nested_values() {
    run(async {
        let got = evloop::select! {
            (mut a, Some(ref b)) = async { (1, Some(String::from("x"))) } => {
                a += 1;
                format!("{a}{b}")
            }
        };
        assert_eq!(got, "2x");
        let got = evloop::select! {
            Ok([first, .., mut last]) | Err([first, .., mut last]) =
                async { Ok::<[u8; 3], [u8; 3]>([1, 2, 3]) } => {
                last *= 10;
                (first, last)
            }
        };
        assert_eq!(got, (1, 30));
        let mut slot = 5;
        let got = evloop::select! {
            &mut ref mut v = async { &mut slot } => {
                *v += 1;
                *v
            }
        };
        assert_eq!(got, 6);
        let got = evloop::select! {
            Some((&a, &&b)) = async { Some((&1u8, &&2u8)) } => a + b,
        };
        assert_eq!(got, 3);
    });
}

#[test]
fn handlers_can_await_break_and_return_for_the_surrounding_code() {
    async fn first_even(mut rx: mpsc::Receiver<u32>) -> Option<u32> {
        loop {
            evloop::select! {
                next = rx.recv() => match next {
                    Some(n) if n % 2 == 0 => return Some(n),
                    Some(_) => {
                        yield_now().await; // handlers may await
                        continue;
                    }
                    None => break,
                },
            }
        }
        None
    }
    run(async {
        let (tx, rx) = mpsc::channel(8);
        for n in [1, 3, 4, 5] {
            tx.try_send(n).expect("room");
        }
        assert_eq!(first_even(rx).await, Some(4));
        let (tx, rx) = mpsc::channel::<u32>(1);
        drop(tx);
        assert_eq!(first_even(rx).await, None);
    });
}

#[test]
fn select_in_a_loop_takes_messages_until_a_shutdown_notice() {
    run(async {
        let shutdown = Rc::new(Notify::new());
        let (tx, mut rx) = mpsc::unbounded_channel();
        let producer = evloop::spawn({
            let shutdown = shutdown.clone();
            async move {
                for i in 0..3 {
                    tx.send(i).expect("receiver alive");
                    yield_now().await;
                }
                shutdown.notify_one();
                pending::<()>().await; // keeps `tx` alive: only the notice can end the loop
            }
        });
        let mut got = Vec::new();
        loop {
            evloop::select! {
                biased;
                () = shutdown.notified() => break,
                Some(i) = rx.recv() => got.push(i),
            }
        }
        producer.abort();
        assert_eq!(got, [0, 1, 2]);
    });
}

#[test]
fn a_timed_out_branch_cancels_a_channel_receive_without_losing_the_value() {
    run(async {
        let (tx, rx) = oneshot::channel::<u32>();
        let mut rx = rx;
        let first = evloop::select! {
            v = &mut rx => v.ok(),
            () = sleep(Duration::from_millis(10)) => None,
        };
        assert_eq!(first, None, "nothing was sent yet");
        tx.send(9).expect("receiver alive");
        assert_eq!(
            rx.await,
            Ok(9),
            "the dropped branch only borrowed the receiver"
        );
    });
}

#[test]
fn join_runs_futures_concurrently_and_returns_outputs_in_order() {
    run(async {
        // A ping-pong between two futures: it would deadlock if they ran one after the other.
        let (ping_tx, mut ping_rx) = mpsc::channel::<u32>(1);
        let (pong_tx, mut pong_rx) = mpsc::channel::<u32>(1);
        let (pinged, ponged) = evloop::join!(
            async {
                let mut sum = 0;
                for i in 0..3 {
                    ping_tx.send(i).await.expect("ponger alive");
                    sum += pong_rx.recv().await.expect("ponger alive");
                }
                sum
            },
            async {
                let mut count = 0;
                while let Some(i) = ping_rx.recv().await {
                    pong_tx.send(i * 10).await.expect("pinger alive");
                    count += 1;
                    if count == 3 {
                        break;
                    }
                }
                count
            },
        );
        assert_eq!((pinged, ponged), (30, 3));
    });
}

#[test]
fn join_takes_any_number_of_futures() {
    run(async {
        let order = RefCell::new(Vec::new());
        let step = |i: usize| {
            let order = &order;
            async move {
                for _ in 0..(10 - i) {
                    yield_now().await;
                }
                order.borrow_mut().push(i);
                i
            }
        };
        let all = evloop::join!(
            step(0),
            step(1),
            step(2),
            step(3),
            step(4),
            step(5),
            step(6),
            step(7),
            step(8),
            step(9),
        );
        assert_eq!(
            all,
            (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
            "outputs in the order written"
        );
        assert_eq!(
            *order.borrow(),
            [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
            "finished interleaved"
        );
        assert_eq!(evloop::join!(async { 1 }), (1,));
        let () = evloop::join!();
    });
}

#[test]
fn try_join_returns_every_value_when_all_succeed() {
    run(async {
        let polls = Rc::new(Cell::new(0));
        let values = evloop::try_join!(async { Ok::<_, String>(1u8) }, async {
            after_yields(2, (), polls.clone()).await;
            Ok(String::from("two"))
        },);
        assert_eq!(values, Ok((1, String::from("two"))));
    });
}

#[test]
fn try_join_short_circuits_on_the_first_error_and_drops_the_rest() {
    run(async {
        let dropped = Rc::new(Cell::new(false));
        let slow_polls = Rc::new(Cell::new(0));
        let result = evloop::try_join!(
            async {
                after_yields(100, (), slow_polls.clone()).await;
                Ok::<u32, &str>(1)
            },
            async {
                yield_now().await;
                Err::<u32, &str>("failed")
            },
            async { Ok::<u32, &str>(never_finishes(&dropped).await) },
        );
        assert_eq!(result, Err("failed"));
        assert!(dropped.get(), "the unfinished futures were dropped");
        assert_eq!(slow_polls.get(), 2, "the slow one was not run to the end");
    });
}
