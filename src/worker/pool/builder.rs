//! `PoolBuilder`: the knobs of a `ThreadPool` — threads, keep-alive, queue, policy, spawner.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::ThreadPool;
use super::thread::{PoolConfig, PoolShared, PoolState};
use crate::worker::error::QueueFull;
use crate::worker::mode::ModeReport;
use crate::worker::spawner::{OsThreads, ThreadSpawner};
use crate::worker::stats::WorkerCounters;

/// Configures a [`ThreadPool`]: `ThreadPool::builder().max_threads(8).build()`.
pub struct PoolBuilder {
    /// Settings so far.
    config: PoolConfig,
    /// How threads get created.
    spawner: Box<dyn ThreadSpawner>,
}

impl ThreadPool {
    /// A pool with the defaults: up to 64 threads, 10 s keep-alive, 1024 queued jobs, `Wait`.
    pub fn new() -> ThreadPool {
        ThreadPool::builder().build()
    }

    /// Configures a pool.
    pub fn builder() -> PoolBuilder {
        PoolBuilder {
            config: PoolConfig {
                max_threads: 64,
                keep_alive: Duration::from_secs(10),
                queue_capacity: 1024,
                when_full: QueueFull::Wait,
            },
            spawner: Box::new(OsThreads),
        }
    }
}

impl PoolBuilder {
    /// Most threads alive at once (default 64; at least 1).
    pub fn max_threads(mut self, max: usize) -> PoolBuilder {
        self.config.max_threads = max.max(1);
        self
    }

    /// How long an idle thread waits for a job before exiting (default 10 s).
    pub fn keep_alive(mut self, keep_alive: Duration) -> PoolBuilder {
        self.config.keep_alive = keep_alive;
        self
    }

    /// Most jobs waiting while every thread is busy (default 1024; 0: none wait).
    pub fn queue_capacity(mut self, capacity: usize) -> PoolBuilder {
        self.config.queue_capacity = capacity;
        self
    }

    /// What happens to a job when the queue is full (default [`QueueFull::Wait`]).
    pub fn when_full(mut self, policy: QueueFull) -> PoolBuilder {
        self.config.when_full = policy;
        self
    }

    /// How threads are created (default [`OsThreads`]; tests pass a [`Deny`](crate::worker::Deny)).
    pub fn spawner(mut self, spawner: impl ThreadSpawner) -> PoolBuilder {
        self.spawner = Box::new(spawner);
        self
    }

    /// Creates the pool. No thread is created before the first job.
    pub fn build(self) -> ThreadPool {
        ThreadPool {
            shared: Arc::new(PoolShared {
                state: Mutex::new(PoolState {
                    queue: VecDeque::new(),
                    alive: 0,
                    idle: 0,
                    starting: 0,
                    spawn_refused: false,
                    shutdown: false,
                    room_waiters: Vec::new(),
                    next_thread: 1,
                }),
                job_ready: Condvar::new(),
                config: self.config,
                spawner: self.spawner,
                counters: WorkerCounters::default(),
            }),
            report: ModeReport::default(),
            overflow_announced: AtomicBool::new(false),
        }
    }
}

impl fmt::Debug for PoolBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
