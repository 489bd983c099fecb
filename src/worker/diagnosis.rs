//! Why a thread could not be spawned, in words an operator can act on.
//!
//! `std::thread::Builder::spawn` reports failure as a bare `io::Error`, e.g. "Resource
//! temporarily unavailable (os error 11)". That is true and unhelpful: it does not say that a
//! *task limit* was hit, nor where such limits live. When the worker cannot spawn its thread it
//! runs jobs on the loop thread instead and warns once; this module writes that warning:
//!
//! ```text
//! Resource temporarily unavailable (os error 11): the OS refused a new thread: a task limit was
//! reached; check a pids cgroup limit (/sys/fs/cgroup/pids.max), RLIMIT_NPROC (ulimit -u) or
//! kernel.threads-max
//! ```
//!
//! # What the errors usually mean (Linux)
//!
//! ```text
//! errno    SpawnFailure   usual cause
//! EAGAIN   ResourceLimit  pids cgroup full (containers, systemd TasksMax), RLIMIT_NPROC,
//!                         kernel.threads-max or pid_max; also sandbox::deny_thread_creation
//! EPERM    Forbidden      a seccomp profile refusing clone/clone3 (old Docker profiles said
//!                         EPERM to clone3, which broke glibc 2.34+)
//! ENOSYS   Forbidden      clone3 refused as "not implemented" and nothing fell back to clone
//! ENOMEM   OutOfMemory    mmap of the thread's stack failed: RLIMIT_AS, memory cgroup
//! -        Unsupported    a target without threads; std says ErrorKind::Unsupported
//! ```
//!
//! We classify by the raw errno first and by `io::ErrorKind` only for errors that carry none.
//! The order matters: std maps ENOSYS to `ErrorKind::Unsupported` too, and "a seccomp profile said
//! no" needs a different fix from "this target has no threads".
//!
//! [`cgroup_hint`] adds the numbers when a pids cgroup is the likely culprit
//! ("pids.current 512 of pids.max 512 in /sys/fs/cgroup/..."). It only reads files, never fails
//! loudly, and returns `None` wherever there is nothing to read (other OSes, no pids controller,
//! the root cgroup).

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The kind of thread-spawn failure, by what the OS said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpawnFailure {
    /// `EAGAIN`: a limit on the number of tasks (threads count as tasks) was reached.
    ResourceLimit,
    /// `EPERM` or `ENOSYS`: a security policy (usually seccomp) refused the clone call.
    Forbidden,
    /// `ENOMEM`: no memory (or address space) for the new thread's stack.
    OutOfMemory,
    /// The target has no threads at all.
    Unsupported,
    /// Anything else.
    Other,
}

/// A classified thread-spawn error, ready to be logged.
#[derive(Debug, Clone)]
pub struct SpawnDiagnosis {
    /// What kind of failure the OS error stands for.
    pub failure: SpawnFailure,
    /// The error as the OS put it (`err.to_string()`), e.g.
    /// "Resource temporarily unavailable (os error 11)".
    pub os_error: String,
}

impl SpawnDiagnosis {
    /// Classifies the error returned by `std::thread::Builder::spawn` (or `pthread_create`).
    pub fn from_error(err: &io::Error) -> SpawnDiagnosis {
        let failure = err
            .raw_os_error()
            .and_then(classify_errno)
            .unwrap_or_else(|| classify_kind(err.kind()));
        SpawnDiagnosis {
            failure,
            os_error: err.to_string(),
        }
    }

    /// What the failure usually means, in one clause.
    pub fn meaning(&self) -> &'static str {
        match self.failure {
            SpawnFailure::ResourceLimit => "the OS refused a new thread: a task limit was reached",
            SpawnFailure::Forbidden => {
                "the OS forbade a new thread: a security policy refused the clone call"
            }
            SpawnFailure::OutOfMemory => "the OS found no memory for the new thread's stack",
            SpawnFailure::Unsupported => "threads are not available on this target",
            SpawnFailure::Other => "thread creation failed for a reason not classified here",
        }
    }

    /// Where to look first.
    pub fn what_to_check(&self) -> &'static str {
        match self.failure {
            SpawnFailure::ResourceLimit => {
                "a pids cgroup limit (/sys/fs/cgroup/pids.max), RLIMIT_NPROC (ulimit -u) \
                 or kernel.threads-max"
            }
            SpawnFailure::Forbidden => {
                "a seccomp profile that refuses clone/clone3 (e.g. a container's default profile)"
            }
            SpawnFailure::OutOfMemory => {
                "the thread stack size vs. RLIMIT_AS / address-space or memory cgroup limits"
            }
            SpawnFailure::Unsupported => "this target has no threads (e.g. wasm32-unknown-unknown)",
            SpawnFailure::Other => {
                "the OS error itself; `strace -f -e trace=clone,clone3` shows the failing call"
            }
        }
    }
}

impl fmt::Display for SpawnDiagnosis {
    /// One line: `<os_error>: <meaning>; check <what_to_check>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (meaning, check) = (self.meaning(), self.what_to_check());
        write!(f, "{}: {meaning}; check {check}", self.os_error)
    }
}

/// The failure an errno stands for, or `None` when the errno says nothing specific.
#[cfg(unix)]
fn classify_errno(errno: i32) -> Option<SpawnFailure> {
    match errno {
        libc::EAGAIN => Some(SpawnFailure::ResourceLimit),
        libc::EPERM | libc::ENOSYS => Some(SpawnFailure::Forbidden),
        libc::ENOMEM => Some(SpawnFailure::OutOfMemory),
        _ => None,
    }
}

/// Off Unix, raw OS errors are not errnos (Windows gives Win32 codes): leave them to the kind.
#[cfg(not(unix))]
fn classify_errno(_code: i32) -> Option<SpawnFailure> {
    None
}

/// The failure an error kind stands for, for errors without a (recognised) errno.
fn classify_kind(kind: io::ErrorKind) -> SpawnFailure {
    match kind {
        io::ErrorKind::Unsupported => SpawnFailure::Unsupported,
        io::ErrorKind::OutOfMemory => SpawnFailure::OutOfMemory,
        io::ErrorKind::PermissionDenied => SpawnFailure::Forbidden,
        _ => SpawnFailure::Other,
    }
}

/// Where cgroup v2 (and, as `<root>/pids`, v1) hierarchies are mounted.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The pids-cgroup numbers behind a likely EAGAIN, e.g.
/// "pids.current 512 of pids.max 512 in /sys/fs/cgroup/system.slice/app.service".
///
/// Reads `/proc/self/cgroup` to find this process's pids cgroup, then `pids.max` and
/// `pids.current` there and in each parent up to the hierarchy's root, and reports the level
/// closest to its limit (a parent's limit binds too). Best effort: `None` when any of that is
/// missing or unreadable; never panics.
pub fn cgroup_hint() -> Option<String> {
    let membership = fs::read_to_string("/proc/self/cgroup").ok()?;
    let (hierarchy, leaf) = pids_cgroup_dir(&membership)?;
    let levels: Vec<PidsLevel> = leaf
        .ancestors()
        .take_while(|dir| dir.starts_with(&hierarchy))
        .filter_map(PidsLevel::read)
        .collect();
    tightest(&levels).map(PidsLevel::describe)
}

/// From the text of `/proc/self/cgroup`, the pids hierarchy's mount point and this process's
/// directory in it: the cgroup v1 `pids` controller line if there is one, else the v2 line
/// `0::<path>`.
fn pids_cgroup_dir(membership: &str) -> Option<(PathBuf, PathBuf)> {
    let mut unified = None;
    for line in membership.lines() {
        // Each line is "<hierarchy id>:<controllers>:<path>".
        let mut fields = line.splitn(3, ':');
        let (id, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
        let relative = path.trim_start_matches('/');
        if controllers.split(',').any(|c| c == "pids") {
            let hierarchy = Path::new(CGROUP_ROOT).join("pids");
            let dir = hierarchy.join(relative);
            return Some((hierarchy, dir));
        }
        if id == "0" && controllers.is_empty() {
            unified = Some((
                PathBuf::from(CGROUP_ROOT),
                Path::new(CGROUP_ROOT).join(relative),
            ));
        }
    }
    unified
}

/// One cgroup's task count and limit.
#[derive(Debug, PartialEq, Eq)]
struct PidsLevel {
    /// The cgroup's directory.
    dir: PathBuf,
    /// `pids.current`: tasks (processes and threads) in this cgroup and below.
    current: u64,
    /// `pids.max`: the limit, `None` when it reads "max" (no limit here).
    max: Option<u64>,
}

impl PidsLevel {
    /// Reads `pids.current` and `pids.max` in `dir`; `None` if either is missing or odd (the
    /// root cgroup has neither).
    fn read(dir: &Path) -> Option<PidsLevel> {
        let current = fs::read_to_string(dir.join("pids.current")).ok()?;
        let max = fs::read_to_string(dir.join("pids.max")).ok()?;
        PidsLevel::parse(dir, &current, &max)
    }

    /// Builds a level from the two files' text.
    fn parse(dir: &Path, current: &str, max: &str) -> Option<PidsLevel> {
        let current = current.trim().parse().ok()?;
        let max = match max.trim() {
            "max" => None,
            number => Some(number.parse().ok()?),
        };
        let dir = dir.to_path_buf();
        Some(PidsLevel { dir, current, max })
    }

    /// How many more tasks fit; unlimited levels have all the room in the world.
    fn headroom(&self) -> u64 {
        self.max
            .map_or(u64::MAX, |max| max.saturating_sub(self.current))
    }

    /// "pids.current 512 of pids.max 512 in /sys/fs/cgroup/...".
    fn describe(&self) -> String {
        let max = self
            .max
            .map_or_else(|| "max".to_string(), |max| max.to_string());
        let (current, dir) = (self.current, self.dir.display());
        format!("pids.current {current} of pids.max {max} in {dir}")
    }
}

/// The level with the least headroom; the nearest one (first in `levels`) on a tie.
fn tightest(levels: &[PidsLevel]) -> Option<&PidsLevel> {
    levels.iter().min_by_key(|level| level.headroom())
}

/// `thread creation refused: <os error>`, and the diagnosis: `<meaning>; check <where>`, plus the
/// pids cgroup's numbers when a task limit is the likely cause and they can be read.
pub(crate) fn refusal(error: &io::Error) -> (String, String) {
    let diagnosis = SpawnDiagnosis::from_error(error);
    let mut explained = format!(
        "{}; check {}",
        diagnosis.meaning(),
        diagnosis.what_to_check()
    );
    if matches!(diagnosis.failure, SpawnFailure::ResourceLimit)
        && let Some(hint) = pids_hint()
    {
        explained.push_str(&format!(" ({hint})"));
    }
    (
        format!("thread creation refused: {}", diagnosis.os_error),
        explained,
    )
}

/// "pids.current 512 of pids.max 512 in /sys/fs/cgroup/...", read from the cgroup files.
fn pids_hint() -> Option<String> {
    // Miri's isolation refuses file reads (and would stop the test); there is no cgroup to read.
    if cfg!(miri) { None } else { cgroup_hint() }
}

/// The probe's reason line: `thread creation refused: <os error> (<meaning>; check <where>)`.
pub(crate) fn refusal_reason(error: &io::Error) -> String {
    let (refused, diagnosis) = refusal(error);
    format!("{refused} ({diagnosis})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn diagnose(errno: i32) -> SpawnDiagnosis {
        SpawnDiagnosis::from_error(&io::Error::from_raw_os_error(errno))
    }

    #[cfg(unix)]
    #[test]
    fn eagain_is_a_resource_limit() {
        let diagnosis = diagnose(libc::EAGAIN);
        assert_eq!(diagnosis.failure, SpawnFailure::ResourceLimit);
        assert!(diagnosis.what_to_check().contains("pids.max"));
    }

    #[cfg(unix)]
    #[test]
    fn eperm_and_enosys_are_forbidden() {
        for errno in [libc::EPERM, libc::ENOSYS] {
            let diagnosis = diagnose(errno);
            assert_eq!(diagnosis.failure, SpawnFailure::Forbidden, "errno {errno}");
            assert!(diagnosis.what_to_check().contains("seccomp"));
        }
    }

    #[cfg(unix)]
    #[test]
    fn enomem_is_out_of_memory() {
        assert_eq!(diagnose(libc::ENOMEM).failure, SpawnFailure::OutOfMemory);
    }

    #[cfg(unix)]
    #[test]
    fn unrelated_errno_is_other() {
        assert_eq!(diagnose(libc::EINVAL).failure, SpawnFailure::Other);
    }

    #[test]
    fn errors_without_errno_go_by_kind() {
        // What std returns on targets without threads: a kind, no OS code.
        let no_threads = io::Error::new(io::ErrorKind::Unsupported, "no threads here");
        let diagnosis = SpawnDiagnosis::from_error(&no_threads);
        assert_eq!(diagnosis.failure, SpawnFailure::Unsupported);
        assert!(diagnosis.what_to_check().contains("wasm32"));
        let oom = io::Error::from(io::ErrorKind::OutOfMemory);
        assert_eq!(
            SpawnDiagnosis::from_error(&oom).failure,
            SpawnFailure::OutOfMemory
        );
        let odd = io::Error::other("something else");
        assert_eq!(
            SpawnDiagnosis::from_error(&odd).failure,
            SpawnFailure::Other
        );
    }

    #[cfg(unix)]
    #[test]
    fn display_is_os_error_meaning_and_check_on_one_line() {
        let diagnosis = diagnose(libc::EAGAIN);
        let os_error = io::Error::from_raw_os_error(libc::EAGAIN).to_string();
        assert_eq!(diagnosis.os_error, os_error);
        let expected = format!(
            "{os_error}: the OS refused a new thread: a task limit was reached; check a pids \
             cgroup limit (/sys/fs/cgroup/pids.max), RLIMIT_NPROC (ulimit -u) or kernel.threads-max"
        );
        assert_eq!(diagnosis.to_string(), expected);
        assert!(!expected.contains('\n'));
    }

    #[test]
    fn v1_pids_controller_wins_over_the_unified_line() {
        let membership = "12:memory:/a\n8:pids,cpu:/docker/abc\n0::/user.slice\n";
        let (hierarchy, dir) = pids_cgroup_dir(membership).expect("pids line present");
        assert_eq!(hierarchy, Path::new("/sys/fs/cgroup/pids"));
        assert_eq!(dir, Path::new("/sys/fs/cgroup/pids/docker/abc"));
    }

    #[test]
    fn v2_unified_line_is_used_without_a_pids_controller() {
        let membership = "0::/system.slice/app.service\n";
        let (hierarchy, dir) = pids_cgroup_dir(membership).expect("unified line present");
        assert_eq!(hierarchy, Path::new("/sys/fs/cgroup"));
        assert_eq!(dir, Path::new("/sys/fs/cgroup/system.slice/app.service"));
        assert_eq!(pids_cgroup_dir("3:memory:/x\n"), None);
        assert_eq!(pids_cgroup_dir("garbage"), None);
    }

    #[test]
    fn pids_files_parse_with_max_as_no_limit() {
        let dir = Path::new("/sys/fs/cgroup/app");
        let full = PidsLevel::parse(dir, "512\n", "512\n").expect("numbers");
        assert_eq!(
            full.describe(),
            "pids.current 512 of pids.max 512 in /sys/fs/cgroup/app"
        );
        let unlimited = PidsLevel::parse(dir, "7\n", "max\n").expect("max");
        assert_eq!(unlimited.max, None);
        assert_eq!(
            unlimited.describe(),
            "pids.current 7 of pids.max max in /sys/fs/cgroup/app"
        );
        assert_eq!(PidsLevel::parse(dir, "", "max"), None);
        assert_eq!(PidsLevel::parse(dir, "3", "lots"), None);
    }

    #[test]
    fn the_level_closest_to_its_limit_is_reported() {
        let level = |dir: &str, current, max| PidsLevel {
            dir: PathBuf::from(dir),
            current,
            max,
        };
        let levels = [
            level("/leaf", 40, None),
            level("/parent", 500, Some(512)),
            level("/grandparent", 900, Some(10_000)),
        ];
        assert_eq!(
            tightest(&levels).map(|l| l.dir.as_path()),
            Some(Path::new("/parent"))
        );
        let unlimited = [level("/leaf", 3, None), level("/parent", 9, None)];
        assert_eq!(
            tightest(&unlimited).map(|l| l.dir.as_path()),
            Some(Path::new("/leaf"))
        );
        assert_eq!(tightest(&[]), None);
    }

    // Reads the real /proc and /sys, which Miri's isolation forbids.
    #[cfg_attr(miri, ignore)]
    #[test]
    fn cgroup_hint_on_this_machine_is_well_formed() {
        let Some(hint) = cgroup_hint() else { return };
        let (_, dir) = hint.split_once(" in ").expect("hint names its cgroup");
        assert!(hint.starts_with("pids.current "), "{hint}");
        assert!(hint.contains(" of pids.max "), "{hint}");
        assert!(Path::new(dir).join("pids.max").exists(), "{hint}");
    }
}
