//! The story, runnable: three requests call a slow synchronous function (an "LLM call", 1 s)
//! while a heartbeat ticks every 10 ms — offloaded to threads, offloaded under a lock, and run on
//! the loop thread after thread creation was really denied.
//!
//! Run with: `cargo run --example three_requests`
//!
//! Flags: `--scenario offload|offload-lock|fallback|all` (default all), `--worker
//! threads|inline|fallback` (default fallback), `--lock` / `--no-lock`, `--requests N` (3),
//! `--work-ms MS` (1000), `--arrive-ms MS` (10: time between arrivals), `--deny-threads`,
//! `--stats`, `--trace DIR` (a Chrome trace-event file per scenario, `DIR/offload.json`, ...: open
//! them in Perfetto, `docs/08-offload-and-the-fallback.md`). Try also:
//!
//! ```text
//! cargo run --example three_requests -- --scenario offload --worker inline   # blocking on purpose
//! cargo run --example three_requests -- --scenario offload --worker threads --deny-threads
//! #   a bare thread pool and no fallback: the requests fail, like asyncio's "can't start new thread"
//! RUST_LOG=evloop=debug cargo run --example three_requests -- --scenario fallback
//! cargo run --example three_requests -- --trace traces   # traces/offload.json, traces/fallback.json, ...
//! ```
//!
//! Thread denial is irreversible for a process (`evloop::sandbox::deny_thread_creation`), so with
//! `--scenario all` the fallback scenario runs in a child process: this program re-executes itself.

mod scenario;
mod timeline;

use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use evloop::worker::Worker;
use scenario::Config;

fn main() -> io::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let args = Args::parse()?;
    if let Some(dir) = &args.trace_dir {
        std::fs::create_dir_all(dir)?;
    }
    let names: Vec<&str> = match args.scenario.as_str() {
        "all" => vec!["offload", "offload-lock", "fallback"],
        one => vec![one],
    };
    let mut summary = Vec::new();
    // A child re-executed by `run_in_child` prints only the scenario: its parent printed the header.
    let is_child = std::env::var_os(CHILD_ENV).is_some();
    for (i, name) in names.iter().enumerate() {
        if !is_child {
            println!("\n=== scenario {}/{}: {name} ===", i + 1, names.len());
        }
        let line = if names.len() > 1 && args.denies(name) {
            run_in_child(name)?
        } else {
            run_here(name, &args)?
        };
        summary.push(line);
    }
    if summary.len() > 1 {
        print_summary(&summary);
    }
    Ok(())
}

/// Set in the environment of a re-executed child.
const CHILD_ENV: &str = "EVLOOP_THREE_REQUESTS_CHILD";

/// Runs one scenario in this process and returns its machine-readable line.
fn run_here(name: &str, args: &Args) -> io::Result<String> {
    let config = args.config(name);
    let worker = make_worker(&args.worker, args.denies(name))?;
    println!(
        "{} request(s), each calling a blocking function for {} ms{}; a heartbeat ticks every {} ms.",
        config.requests,
        config.work.as_millis(),
        if config.lock {
            ", under the execution lock"
        } else {
            ", no lock"
        },
        config.heartbeat.as_millis()
    );
    let outcome = scenario::run(&config, worker)?;
    println!("{}\n", outcome.probe);
    print!(
        "{}",
        timeline::render(&outcome.requests, &outcome.ticks, outcome.total, 60)
    );
    println!(
        "\ntotal {:.0} ms, worst heartbeat lateness {:.1} ms",
        outcome.total.as_secs_f64() * 1e3,
        outcome.worst_lag.as_secs_f64() * 1e3
    );
    println!("{}", scenario::explain(&config, &outcome));
    if args.stats {
        println!("\n{}", outcome.stats);
    }
    if let Some(path) = &config.trace {
        println!("trace written to {}", path.display());
    }
    let line = scenario::summary_line(&config, &args.worker, &outcome);
    println!("{line}");
    Ok(line)
}

/// The worker named on the command line; with `deny`, thread creation is denied first
/// (`evloop::worker::by_name_denied`: for real with seccomp where the platform allows).
fn make_worker(name: &str, deny: bool) -> io::Result<Box<dyn Worker>> {
    let found = if deny {
        evloop::worker::by_name_denied(name)?.map(|(worker, denial)| {
            println!("{denial}");
            worker
        })
    } else {
        evloop::worker::by_name(name)
    };
    found.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unknown worker {name:?}"),
        )
    })
}

/// Runs one scenario in a re-executed copy of this program (for irreversible thread denial),
/// passing its output through line by line and returning its machine-readable line.
fn run_in_child(name: &str) -> io::Result<String> {
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = argv.iter().position(|a| a == "--scenario") {
        argv.drain(i..(i + 2).min(argv.len()));
    }
    let mut child = Command::new(std::env::current_exe()?)
        .args(&argv)
        .args(["--scenario", name])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().expect("stdout was piped");
    let mut summary = None;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        if line.starts_with("scenario=") {
            summary = Some(line);
        }
    }
    let status = child.wait()?;
    if !status.success() {
        return Err(io::Error::other(format!(
            "scenario {name} failed: {status}"
        )));
    }
    summary.ok_or_else(|| io::Error::other(format!("scenario {name} printed no summary line")))
}

/// The table of all scenarios, read back from their machine-readable lines.
fn print_summary(lines: &[String]) {
    println!("\n=== summary ===");
    println!(
        "{:<14} {:>6} {:>10} {:>16} {:>10} {:>7}",
        "scenario", "lock", "total ms", "worst lag ms", "offloaded", "inline"
    );
    for line in lines {
        let field = |key: &str| {
            line.split(' ')
                .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
                .unwrap_or("?")
                .to_string()
        };
        println!(
            "{:<14} {:>6} {:>10} {:>16} {:>10} {:>7}",
            field("scenario"),
            field("lock"),
            field("total_ms"),
            field("worst_lag_ms"),
            field("offloaded"),
            field("inline")
        );
    }
    println!(
        "\nUnder the lock, offload and fallback do the same work in the same time. The difference is \
         the loop:\noffloaded, it keeps serving everything else; in the fallback it is blocked for \
         every call."
    );
}

/// The command line.
struct Args {
    /// `offload`, `offload-lock`, `fallback` or `all`.
    scenario: String,
    /// Worker name for `evloop::worker::by_name`.
    worker: String,
    /// `--lock` / `--no-lock`, overriding the scenario's own choice.
    lock: Option<bool>,
    /// Number of requests.
    requests: usize,
    /// Duration of one call.
    work: Duration,
    /// Time between arrivals.
    arrive_every: Duration,
    /// Deny thread creation in every scenario, not only in `fallback`.
    deny_threads: bool,
    /// Print runtime and worker statistics after each scenario.
    stats: bool,
    /// Write each scenario's trace to `DIR/NAME.json`.
    trace_dir: Option<PathBuf>,
}

impl Args {
    /// Parses `std::env::args`.
    fn parse() -> io::Result<Args> {
        let mut args = Args {
            scenario: "all".into(),
            worker: "fallback".into(),
            lock: None,
            requests: 3,
            work: Duration::from_millis(1000),
            arrive_every: Duration::from_millis(10),
            deny_threads: false,
            stats: false,
            trace_dir: None,
        };
        let mut argv = std::env::args().skip(1);
        let bad = |what: &str| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "bad or missing value for {what}; see the top of examples/three_requests/main.rs"
                ),
            )
        };
        while let Some(arg) = argv.next() {
            let mut value = || argv.next().ok_or_else(|| bad(&arg));
            match arg.as_str() {
                "--scenario" => args.scenario = value()?,
                "--worker" => args.worker = value()?,
                "--lock" => args.lock = Some(true),
                "--no-lock" => args.lock = Some(false),
                "--requests" => args.requests = value()?.parse().map_err(|_| bad("--requests"))?,
                "--work-ms" => {
                    args.work =
                        Duration::from_millis(value()?.parse().map_err(|_| bad("--work-ms"))?)
                }
                "--arrive-ms" => {
                    args.arrive_every =
                        Duration::from_millis(value()?.parse().map_err(|_| bad("--arrive-ms"))?)
                }
                "--deny-threads" => args.deny_threads = true,
                "--stats" => args.stats = true,
                "--trace" => args.trace_dir = Some(PathBuf::from(value()?)),
                other => return Err(bad(other)),
            }
        }
        if !["offload", "offload-lock", "fallback", "all"].contains(&args.scenario.as_str()) {
            return Err(bad("--scenario"));
        }
        if evloop::worker::by_name(&args.worker).is_none() {
            return Err(bad("--worker"));
        }
        Ok(args)
    }

    /// True when scenario `name` runs with thread creation denied.
    fn denies(&self, name: &str) -> bool {
        self.deny_threads || name == "fallback"
    }

    /// The configuration of scenario `name`, with the command line's overrides.
    fn config(&self, name: &str) -> Config {
        Config {
            name: name.to_string(),
            lock: self.lock.unwrap_or(name != "offload"),
            requests: self.requests,
            work: self.work,
            arrive_every: self.arrive_every,
            heartbeat: Duration::from_millis(10),
            trace: self
                .trace_dir
                .as_ref()
                .map(|dir| dir.join(format!("{name}.json"))),
        }
    }
}
