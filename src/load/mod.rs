//! `bpfgen check --load`: the running kernel's verdict on each program of an object, with
//! the real libbpf 1.7 (map creation, relocations and CO-RE exactly as at run time).
//!
//! Each program is loaded on its own (the object opened afresh, the other programs' autoload
//! off), so one refusal hides nothing: first at verifier log level 4 (statistics only), and,
//! when refused, again at level 1 for the log the finding is made from ([`log`],
//! `verdict`). Loaded programs give veristat-style [`stats`]; [`compare`] sets two runs
//! side by side. Everything is unloaded before [`load`] returns.

pub mod compare;
mod libbpf;
pub mod log;
pub mod stats;
mod verdict;

use crate::diag::{Code, Diagnostic, Severity};
use crate::object::BpfObject;
use stats::{ProgramRecord, Stats, Verdict};

/// Log buffer for the statistics-only load.
const STATS_LOG: usize = 64 * 1024;
/// Log buffer for a refused program's full log: the kernel keeps the end of a longer log,
/// which is where the error is.
const FULL_LOG: usize = 16 * 1024 * 1024;
/// Verifier log levels: 1 the instructions and states, 4 the statistics.
const LOG_LEVEL_FULL: u32 = 1 | 4;
const LOG_LEVEL_STATS: u32 = 4;
/// Default `max_entries` for maps declared with 0 (user space sizes them at run time).
pub const DEFAULT_ENTRIES: u32 = 1024;
/// Default size of ring buffers declared with 0 bytes: 256 KiB.
pub const DEFAULT_RINGBUF_BYTES: u32 = 256 * 1024;

/// Value size of stack-trace maps declared without one, as user space sets it
/// (`perf_max_stack_depth * sizeof(u64)`): the kernel's default depth, 127 frames.
pub const DEFAULT_STACK_VALUE_BYTES: u32 = 127 * 8;

/// How maps are sized before the load.
#[derive(Debug, Clone)]
pub struct Options {
    /// `max_entries` per map name (`--map-size NAME=N`), whatever the object declares.
    pub map_sizes: Vec<(String, u32)>,
    /// `max_entries` for other maps declared with 0.
    pub default_entries: u32,
    /// Bytes for ring buffers declared with 0.
    pub ringbuf_bytes: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            map_sizes: Vec::new(),
            default_entries: DEFAULT_ENTRIES,
            ringbuf_bytes: DEFAULT_RINGBUF_BYTES,
        }
    }
}

impl libbpf::MapSizer for Options {
    fn size(&self, name: &str, map_type: u32, declared: u32) -> Option<u32> {
        if let Some((_, size)) = self.map_sizes.iter().rev().find(|(n, _)| n == name) {
            return Some(*size);
        }
        if declared != 0 {
            return None;
        }
        match map_type {
            // libbpf sizes perf event arrays to the number of CPUs itself.
            libbpf_sys::BPF_MAP_TYPE_PERF_EVENT_ARRAY => None,
            libbpf_sys::BPF_MAP_TYPE_RINGBUF | libbpf_sys::BPF_MAP_TYPE_USER_RINGBUF => {
                Some(self.ringbuf_bytes)
            }
            _ => Some(self.default_entries),
        }
    }

    fn value_size(&self, map_type: u32, declared: u32) -> Option<u32> {
        (map_type == libbpf_sys::BPF_MAP_TYPE_STACK_TRACE && declared == 0)
            .then_some(DEFAULT_STACK_VALUE_BYTES)
    }
}

/// What loading an object gave: one record per program, and the findings (refusals, and
/// failures before the verifier).
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Each program's verdict, in the object's order.
    pub programs: Vec<ProgramRecord>,
    /// Why programs were refused.
    pub findings: Vec<Diagnostic>,
    /// The verifier's log of each refused program (program name, log), as the kernel wrote
    /// it.
    pub logs: Vec<(String, String)>,
}

/// Whether this process may load BPF programs: CAP_BPF or CAP_SYS_ADMIN in its effective set.
pub fn privileged() -> bool {
    const CAP_SYS_ADMIN: u32 = 21;
    const CAP_BPF: u32 = 39;
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    let effective = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or(0);
    effective & (1 << CAP_SYS_ADMIN | 1 << CAP_BPF) != 0
}

/// Loads each program of the object in `data` (reported as `name`, opened by libbpf under
/// `object_name`) into the running kernel, one at a time, and unloads it again.
pub fn load(data: &[u8], name: &str, object_name: &str, options: &Options) -> Report {
    let parsed = BpfObject::parse(data, object_name).ok();
    let programs = match libbpf::programs(data, object_name) {
        Ok(programs) => programs,
        Err(message) => {
            let finding = Diagnostic::new(
                Code::LoadFailed,
                Severity::Error,
                name,
                format!("libbpf cannot open the object: {message}"),
            );
            return Report {
                programs: Vec::new(),
                findings: vec![finding],
                logs: Vec::new(),
            };
        }
    };
    let object = Loading {
        data,
        name,
        object_name,
        options,
        parsed: parsed.as_ref(),
    };
    let mut report = Report::default();
    for (index, program) in programs.iter().enumerate() {
        let (verdict, finding, log) = object.load_program(index, &program.name);
        report.programs.push(ProgramRecord {
            object: name.to_string(),
            program: program.name.clone(),
            section: program.section.clone(),
            verdict,
        });
        report.findings.extend(finding);
        report
            .logs
            .extend(log.map(|log| (program.name.clone(), log)));
    }
    report
}

/// An object being loaded: its bytes, the names it goes by, the map sizes, and its parsed
/// form (for source columns), when bpfgen's parser reads it.
struct Loading<'a> {
    data: &'a [u8],
    name: &'a str,
    object_name: &'a str,
    options: &'a Options,
    parsed: Option<&'a BpfObject>,
}

impl Loading<'_> {
    /// One program's verdict, and the finding and the verifier log when it was refused.
    fn load_program(
        &self,
        index: usize,
        program: &str,
    ) -> (Verdict, Option<Diagnostic>, Option<String>) {
        let attempt = |level, size| {
            libbpf::load_one(
                self.data,
                self.object_name,
                index,
                self.options,
                level,
                size,
            )
        };
        let name = self.name;
        let failed = |message: String| {
            let finding = Diagnostic::new(
                Code::LoadFailed,
                Severity::Error,
                name,
                format!("program '{program}' did not load: {message}"),
            );
            refused(finding)
        };
        let first = match attempt(LOG_LEVEL_STATS, STATS_LOG) {
            Ok(first) => first,
            Err(message) => return failed(message),
        };
        if first.status == 0 {
            return (Verdict::Loaded(statistics(&first)), None, None);
        }
        let full = match attempt(LOG_LEVEL_FULL, FULL_LOG) {
            Ok(full) if full.status != 0 => full,
            // Loaded the second time: the first failure was not the verifier's verdict.
            Ok(full) => return (Verdict::Loaded(statistics(&full)), None, None),
            Err(message) => return failed(message),
        };
        let refusal = log::refusal(&full.log);
        if refusal.errors.is_empty() && refusal.instruction.is_none() {
            let reason = libbpf_reason(&full);
            if unsupported_here(full.status) {
                return (Verdict::NotLoadable { reason }, None, None);
            }
            return failed(reason);
        }
        let (verdict, finding, _) = refused(verdict::finding(name, program, &refusal, self.parsed));
        (verdict, finding, Some(full.log))
    }
}

/// A refusal's verdict and finding (and no log yet).
fn refused(finding: Diagnostic) -> (Verdict, Option<Diagnostic>, Option<String>) {
    let code = finding.code.as_str().to_string();
    (Verdict::Refused { code }, Some(finding), None)
}

/// Errors that mean the kernel does not offer this program type or attach point here
/// (EPERM: fentry and LSM under lockdown; EOPNOTSUPP/ENOTSUPP; ESRCH/ENOENT: no such
/// attach target), when the verifier said nothing.
fn unsupported_here(status: i32) -> bool {
    use rustix::io::Errno;
    // The kernel's internal ENOTSUPP, which reaches user space as is.
    const ENOTSUPP: i32 = 524;
    let errno = -status;
    errno == ENOTSUPP
        || [Errno::PERM, Errno::NOENT, Errno::SRCH, Errno::OPNOTSUPP]
            .iter()
            .any(|e| e.raw_os_error() == errno)
}

/// Why a load failed before the verifier: libbpf's last warning, else the errno.
fn libbpf_reason(attempt: &libbpf::Attempt) -> String {
    let said = attempt
        .libbpf
        .lines()
        .map(|l| l.trim_start_matches("libbpf: ").trim())
        .rfind(|l| !l.is_empty() && !l.starts_with("-- ") && !l.contains("failed to load object"));
    said.map_or_else(|| libbpf::errno_message(attempt.status), str::to_string)
}

/// The statistics of a loaded program, from its log and `bpf_prog_info`.
fn statistics(attempt: &libbpf::Attempt) -> Stats {
    let log = log::stats(&attempt.log);
    let info = attempt.info;
    Stats {
        verified_insns: info.map_or(log.processed_insns.unwrap_or(0), |i| {
            u64::from(i.verified_insns)
        }),
        total_states: log.total_states.unwrap_or(0),
        peak_states: log.peak_states.unwrap_or(0),
        max_states_per_insn: log.max_states_per_insn.unwrap_or(0),
        verification_time_us: log.verification_time_us.unwrap_or(0),
        stack_depth: log.stack_depth.unwrap_or(0),
        jited_bytes: info.map_or(0, |i| u64::from(i.jited_bytes)),
        xlated_bytes: info.map_or(0, |i| u64::from(i.xlated_bytes)),
    }
}
