//! Shared by the benches: the machine description and CPU-time clocks (Linux, 64-bit),
//! so results taken on a shared, loaded machine can be compared by CPU time rather than
//! wall time.
#![allow(dead_code)]

use std::time::Duration;

/// `nproc`, the CPU model and whether it has SHA instructions, and the load averages.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown CPU".to_owned(), |s| s.trim().to_owned());
    let flags = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .unwrap_or_default();
    let has = |f: &str| flags.split_whitespace().any(|x| x == f);
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "nproc {nproc}; {model}; sha_ni {}, avx2 {}; load average {}",
        if has("sha_ni") { "yes" } else { "no" },
        if has("avx2") { "yes" } else { "no" },
        load()
    )
}

/// The three load averages from `/proc/loadavg`.
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

extern "C" {
    // From the C library std already links (no `libc` crate needed).
    fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
}

const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
const CLOCK_THREAD_CPUTIME_ID: i32 = 3;

fn cpu_clock(clock: i32) -> Duration {
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec (64-bit Linux layout); the clock ids
    // are the Linux constants.
    let rc = unsafe { clock_gettime(clock, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime({clock}) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Nanoseconds the calling thread has spent on a CPU (`CLOCK_THREAD_CPUTIME_ID`):
/// unaffected by the time spent waiting for a CPU on a loaded machine.
/// (`/proc/thread-self/schedstat` is not used: it lags by up to a scheduler tick.)
pub fn thread_cpu_ns() -> u64 {
    cpu_clock(CLOCK_THREAD_CPUTIME_ID).as_nanos() as u64
}

/// User + system CPU time of the whole process, all threads (`CLOCK_PROCESS_CPUTIME_ID`,
/// the sum `getrusage(RUSAGE_SELF)` reports, at nanosecond resolution).
pub fn process_cpu() -> Duration {
    cpu_clock(CLOCK_PROCESS_CPUTIME_ID)
}

/// User + system CPU time of the process from `/proc/self/stat` (fields 14 and 15, clock
/// ticks of 10 ms): a cross-check of [`process_cpu`].
pub fn process_cpu_proc() -> Duration {
    stat_ticks(14, 15)
}

/// User + system CPU time of the children this process has waited for (`/proc/self/stat`
/// fields 16 and 17, as `getrusage(RUSAGE_CHILDREN)`), in 10 ms clock ticks.
pub fn children_cpu() -> Duration {
    stat_ticks(16, 17)
}

/// User + system CPU time of process `pid` (`/proc/<pid>/stat`, 10 ms ticks).
pub fn pid_cpu(pid: u32) -> Duration {
    stat_ticks_of(&format!("/proc/{pid}/stat"), 14, 15)
}

fn stat_ticks(user: usize, system: usize) -> Duration {
    stat_ticks_of("/proc/self/stat", user, system)
}

fn stat_ticks_of(path: &str, user: usize, system: usize) -> Duration {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // The command name (field 2) may contain spaces: count fields after its ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3, so field n is at index n - 3.
    let ticks = |n: usize| fields.get(n - 3).and_then(|s| s.parse::<u64>().ok());
    let total = ticks(user).unwrap_or(0) + ticks(system).unwrap_or(0);
    // USER_HZ is 100 on every Linux architecture we run on.
    Duration::from_millis(total * 10)
}

/// The calling thread's (minor page faults, involuntary context switches, voluntary
/// context switches) so far, from `/proc/thread-self/stat` and `status`.
pub fn thread_events() -> (u64, u64, u64) {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let minflt = rest
        .split_whitespace()
        .nth(10 - 3)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or(0)
    };
    (
        minflt,
        field("nonvoluntary_ctxt_switches:"),
        field("voluntary_ctxt_switches:"),
    )
}

/// Resident set size of this process from `/proc/self/statm`.
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// The `q`-quantile (0..=1) of a sorted slice.
pub fn quantile<T: Copy>(sorted: &[T], q: f64) -> T {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Median of `v` (sorts it).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// `met` / `NOT met`.
pub fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

/// 1.2 µs / 350 ns / 12.3 ms.
pub fn fmt_ns(ns: f64) -> String {
    if ns < 10_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 10_000_000.0 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{:.1} ms", ns / 1e6)
    }
}
