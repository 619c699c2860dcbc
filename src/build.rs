//! The orchestrator: `.bpf.c` sources in; stripped objects, skeletons and dependency files
//! out. The only layer that knows about files; every stage it calls is a function of bytes.
//!
//! Each source is built completely in memory, and its outputs are written together and
//! atomically, so a failure leaves the previous good outputs in place. A failing source does
//! not stop the others: the build reports every failure at the end.

mod remote;

use crate::build_cache::{self, CachedCompile};
use crate::cache::Cache;
use crate::cache_stats::{CacheStats, Counter};
use crate::check;
use crate::compile::{self, CompileOptions};
use crate::content_hash::file_hash;
use crate::depfile;
use crate::diag;
use crate::error::{Error, Result};
use crate::object::{BpfObject, names, strip};
use crate::output::OutputSet;
use crate::output_record::{self, Record};
use crate::skel;
use crate::skel::rust::Embed;
use crate::toolchain::Clang;
use crate::vmlinux::{self, Made, Pch};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Which skeleton a build writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SkeletonLang {
    /// `<stem>.skel.h`, for libbpf in C and C++.
    #[default]
    C,
    /// `<stem>.skel.rs`, for libbpf-rs (the object is `include_bytes!`d from beside it).
    Rust,
    /// No skeleton, only the object.
    None,
}

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// `.bpf.c` files.
    pub sources: Vec<PathBuf>,
    /// Where outputs go (`.output` by default).
    pub out_dir: PathBuf,
    /// Flags shared by every compilation.
    pub compile: CompileOptions,
    /// Which skeleton to write.
    pub skeleton: SkeletonLang,
    /// The kernel BTF that a generated `vmlinux.h` describes.
    pub btf: PathBuf,
    /// Whether `vmlinux.h` (generated, or the user's own) is precompiled.
    pub pch: bool,
    /// Where generated headers and precompiled headers are kept.
    pub cache: Cache,
    /// How many sources to compile at once.
    pub jobs: usize,
    /// Reuse and store compile results in the cache, keeping them under this many bytes;
    /// `None` compiles everything afresh (`--no-cache`).
    pub cache_limit: Option<u64>,
    /// This build's cache hits and misses, added to the cache directory's totals by
    /// [`BuildRequest::finish`].
    pub stats: Arc<CacheStats>,
    /// The shared cache behind the local one (`BPFGEN_REMOTE_CACHE`), consulted on a local
    /// miss and given every fresh compile; unused without `cache_limit`.
    #[cfg(feature = "remote-cache")]
    pub remote: Option<Arc<crate::remote_cache::RemoteCache>>,
    /// make's jobserver, when bpfgen runs under `make -jN`: every compile beyond the first
    /// takes one of its tokens, so that make and bpfgen together run at most N jobs.
    pub jobserver: Option<jobserver::Client>,
    /// Run `bpfgen check` on each object before writing it (`None`: `--no-check`); errors
    /// fail the source and leave its previous outputs in place. Shared: the target kernels'
    /// BTF is loaded once and read by every worker at once.
    pub check: Option<Arc<check::Options>>,
    /// Link all sources into one program of this name (`--link NAME`): `NAME.bpf.o`,
    /// `NAME.skel.h` and `NAME.bpf.d` instead of outputs per source.
    pub link: Option<String>,
    /// Say, in each source's diagnostics, whether the build cache answered, the clang command
    /// that ran (shell-quoted), and what was written (`--verbose`).
    pub verbose: bool,
    /// Write check findings into the diagnostics as JSON lines
    /// ([`crate::diag::Diagnostic::render_json`]) rather than for people
    /// (`--message-format json`).
    pub findings_as_json: bool,
}

impl BuildRequest {
    /// Ends the build's use of the caches: waits (within a bound) for the remote cache's
    /// queued writes and adds the build's counts to the cache directory's statistics. Returns
    /// the warnings to show, at most one of each kind for the whole build.
    pub fn finish(&self) -> Vec<String> {
        #[cfg(feature = "remote-cache")]
        let warnings = self.remote.as_ref().map(|r| r.finish()).unwrap_or_default();
        #[cfg(not(feature = "remote-cache"))]
        let warnings = Vec::new();
        // Statistics are informative: failing to record them must not fail the build.
        let _ = self.stats.persist(&self.cache);
        warnings
    }
}

/// The files one source produced.
#[derive(Debug, Clone)]
pub struct Built {
    /// The source.
    pub source: PathBuf,
    /// The stripped object.
    pub object: PathBuf,
    /// The skeleton, if one was asked for.
    pub skeleton: Option<PathBuf>,
    /// The Make dependency file.
    pub depfile: PathBuf,
    /// Every header clang read.
    pub headers: Vec<String>,
}

/// What happened to one source.
pub struct SourceOutcome {
    /// The source.
    pub source: PathBuf,
    /// clang's diagnostics, verbatim (possibly empty).
    pub diagnostics: String,
    /// The outputs, or the error that stopped this source.
    pub result: Result<Built>,
}

/// The build record a package carries for an object bpfgen built from `source` with `clang`
/// and `options`: the clang version, the flags that shape an object (include directories as
/// the user spelled them, so that the record does not depend on where the tree is) and the
/// source's SHA-256.
#[cfg(feature = "package")]
pub fn package_build_info(
    clang: &Clang,
    options: &CompileOptions,
    source: &Path,
) -> Result<crate::package::BuildInfo> {
    let bytes = std::fs::read(source).map_err(|e| Error::io(source, &e))?;
    let flags = compile::object_flags(options)
        .iter()
        .map(|f| f.to_string_lossy().into_owned())
        .collect();
    let name = source.file_name().unwrap_or_default().to_string_lossy();
    Ok(crate::package::BuildInfo {
        clang: clang.version().to_string(),
        flags,
        sources: vec![(
            name.into_owned(),
            crate::package::archive::sha256_hex(&bytes),
        )],
    })
}

/// The stem of a source: its file name without `.bpf.c` (or, failing that, its extension).
pub fn source_stem(source: &Path) -> String {
    let name = source.file_name().unwrap_or_default().to_string_lossy();
    match name.strip_suffix(".bpf.c") {
        Some(stem) => stem.to_string(),
        None => source
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned(),
    }
}

/// Builds every source, `request.jobs` at a time; outcomes come back in source order.
/// `on_done` hears about each source as it finishes (for progress reporting). With
/// `request.link`, the sources are compiled, then linked into one program: the outcomes are
/// those of the sources that failed to compile, or else the one outcome of the link.
pub fn build(
    clang: &Clang,
    request: &BuildRequest,
    on_done: &(dyn Fn(&SourceOutcome) + Sync),
) -> Result<Vec<SourceOutcome>> {
    check_sources_are_files(&request.sources)?;
    if request.link.is_none() {
        check_distinct_stems(&request.sources)?;
    }
    if request.out_dir.exists() && !request.out_dir.is_dir() {
        return Err(
            Error::environment("is a file, not an output directory").in_file(&request.out_dir)
        );
    }
    std::fs::create_dir_all(&request.out_dir).map_err(|e| Error::io(&request.out_dir, &e))?;
    let generated = OnceLock::new();
    let Some(name) = &request.link else {
        return Ok(for_each_source(request, |source| {
            let outcome = build_one(clang, request, &generated, source);
            on_done(&outcome);
            outcome
        }));
    };
    let compiled = for_each_source(request, |source| {
        compile_source(clang, request, &generated, source)
    });
    let outcome = link_compiled(request, name, compiled);
    outcome.iter().for_each(on_done);
    Ok(outcome)
}

/// Runs `work` on every source, `request.jobs` at a time (sharing make's jobserver);
/// results come back in source order.
fn for_each_source<T: Send>(request: &BuildRequest, work: impl Fn(&Path) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<T>>> = request.sources.iter().map(|_| Mutex::new(None)).collect();
    let workers = request.jobs.clamp(1, request.sources.len().max(1));
    std::thread::scope(|scope| {
        for worker in 0..workers {
            let (next, results, work) = (&next, &results, &work);
            scope.spawn(move || {
                // The first worker runs on the token make gave this process and never
                // waits; the others hold a jobserver token for each source they take, and
                // stop waiting for one as soon as no source is left.
                while let Some(token) = worker_token(request, worker, next) {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(source) = request.sources.get(index) else {
                        break;
                    };
                    let result = work(source);
                    drop(token);
                    *results[index].lock().expect("no worker panics holding it") = Some(result);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .expect("no worker panics holding it")
                .expect("every source was built")
        })
        .collect()
}

/// Links the compiled sources into `name`'s outputs; if any source failed to compile, the
/// outcomes are those failures and nothing is written.
fn link_compiled(
    request: &BuildRequest,
    name: &str,
    compiled: Vec<(String, Result<CachedCompile>)>,
) -> Vec<SourceOutcome> {
    let mut diagnostics = String::new();
    let mut objects = Vec::new();
    let mut headers = Vec::new();
    let mut failed = Vec::new();
    for (source, (text, result)) in request.sources.iter().zip(compiled) {
        match result {
            Ok(compiled) => {
                diagnostics.push_str(&text);
                objects.push((source.display().to_string(), compiled.object));
                headers.extend(compiled.headers);
            }
            Err(error) => failed.push(SourceOutcome {
                source: source.clone(),
                diagnostics: text,
                result: Err(error),
            }),
        }
    }
    if !failed.is_empty() {
        return failed;
    }
    // The depfile names every source as a prerequisite, and every header once.
    headers.extend(
        request
            .sources
            .iter()
            .skip(1)
            .map(|s| s.to_string_lossy().into_owned()),
    );
    headers.sort();
    headers.dedup();
    let first = &request.sources[0];
    let result = crate::link::link(&objects).and_then(|linked| {
        let compiled = CachedCompile {
            object: linked,
            headers,
            diagnostics: String::new(),
        };
        finish(request, first, name, compiled, &mut diagnostics)
    });
    vec![SourceOutcome {
        source: first.clone(),
        diagnostics,
        result,
    }]
}

/// Compiles one source to its stripped object bytes, through the build cache, without
/// parsing, checking or writing anything (what `bpfgen check` needs for a `.bpf.c`); returns
/// clang's diagnostics with the result.
pub fn compile_object(
    clang: &Clang,
    request: &BuildRequest,
    source: &Path,
) -> (String, Result<Vec<u8>>) {
    let (diagnostics, compiled) = compile_source(clang, request, &OnceLock::new(), source);
    (diagnostics, compiled.map(|c| c.object))
}

/// The compile options of `source`, then its compile result (cached or fresh).
fn compile_source(
    clang: &Clang,
    request: &BuildRequest,
    generated: &OnceLock<Result<PathBuf>>,
    source: &Path,
) -> (String, Result<CachedCompile>) {
    match source_options(clang, request, generated, source) {
        Ok((opts, pch)) => {
            let (diagnostics, compiled) = compile_cached(clang, request, &opts, pch, source);
            (source_as_given(&diagnostics, source), compiled)
        }
        Err(err) => (String::new(), Err(err)),
    }
}

/// clang's diagnostics with the source named as the user named it: clang is given the
/// absolute path (for reproducible debug info), bpfgen's own messages use the path as given,
/// and one log should have one convention.
fn source_as_given(diagnostics: &str, source: &Path) -> String {
    match std::path::absolute(source) {
        Ok(absolute) if absolute != source => diagnostics.replace(
            &format!("{}:", absolute.display()),
            &format!("{}:", source.display()),
        ),
        _ => diagnostics.to_string(),
    }
}

/// Refuses a directory given as a source before clang runs (clang would warn about it in
/// many lines, then fail to find its own output).
fn check_sources_are_files(sources: &[PathBuf]) -> Result<()> {
    for source in sources {
        if source.is_dir() {
            return Err(Error::environment("is a directory, not a .bpf.c source").in_file(source));
        }
    }
    Ok(())
}

/// Two sources with one stem (`a/p.bpf.c`, `b/p.bpf.c`) would write the same outputs.
fn check_distinct_stems(sources: &[PathBuf]) -> Result<()> {
    let mut seen = std::collections::BTreeMap::new();
    for source in sources {
        if let Some(first) = seen.insert(source_stem(source), source) {
            return Err(Error::environment(format!(
                "{} and {} would write the same outputs ({}.bpf.o, ...); build them into \
                 different -o directories",
                first.display(),
                source.display(),
                source_stem(source)
            )));
        }
    }
    Ok(())
}

/// What lets `worker` take another source: nothing for the first worker or without make's
/// jobserver (`Some(None)`), a jobserver token otherwise (`Some(Some(token))`); `None` once
/// every source has been taken. Tokens are polled, never waited for, so that a worker can
/// give up when the others have finished the queue.
fn worker_token(
    request: &BuildRequest,
    worker: usize,
    next: &AtomicUsize,
) -> Option<Option<jobserver::Acquired>> {
    let Some(client) = request.jobserver.as_ref().filter(|_| worker > 0) else {
        return (next.load(Ordering::Relaxed) < request.sources.len()).then_some(None);
    };
    loop {
        if next.load(Ordering::Relaxed) >= request.sources.len() {
            return None;
        }
        match client.try_acquire() {
            Ok(Some(token)) => return Some(Some(token)),
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(10)),
            // A broken jobserver pipe: build on this worker's own account.
            Err(_) => return Some(None),
        }
    }
}

fn build_one(
    clang: &Clang,
    request: &BuildRequest,
    generated: &OnceLock<Result<PathBuf>>,
    source: &Path,
) -> SourceOutcome {
    let (mut diagnostics, compiled) = compile_source(clang, request, generated, source);
    let stem = source_stem(source);
    let result =
        compiled.and_then(|compiled| finish(request, source, &stem, compiled, &mut diagnostics));
    SourceOutcome {
        source: source.to_path_buf(),
        diagnostics,
        result,
    }
}

/// The stripped object of `source` and the headers it read, with clang's diagnostics: from the
/// build cache (local, then remote) when nothing it depends on changed, else from clang (and
/// then stored in both).
fn compile_cached(
    clang: &Clang,
    request: &BuildRequest,
    opts: &CompileOptions,
    pch: Option<Pch>,
    source: &Path,
) -> (String, Result<CachedCompile>) {
    let key = |opts: &CompileOptions| {
        request
            .cache_limit
            .and_then(|_| build_cache::manifest_key(clang, opts, source, &request.out_dir).ok())
    };
    let before = key(opts);
    let remote = remote::Remote::new(clang, request, opts, source);
    if let Some((hit, tier)) = before.as_ref().and_then(|k| {
        let local = build_cache::lookup(&request.cache, k).map(|hit| (hit, Counter::LocalHit));
        local.or_else(|| {
            remote
                .lookup(request, k)
                .map(|hit| (hit, Counter::RemoteHit))
        })
    }) {
        request.stats.add(tier, 1);
        let mut diagnostics = String::new();
        if request.verbose {
            let tier = if tier == Counter::RemoteHit {
                "remote cache hit"
            } else {
                "cache hit"
            };
            let _ = writeln!(diagnostics, "bpfgen: {}: {tier}", source.display());
        }
        diagnostics.push_str(&hit.diagnostics);
        return (diagnostics, Ok(hit));
    }
    let started = std::time::SystemTime::now();
    let (args, run_diagnostics, compiled) = compile_with_pch(clang, opts, pch, source, request);
    if before.is_some() {
        request.stats.add(Counter::Miss, 1);
    }
    // Stored only if nothing the key covers changed while clang ran (an edited source, a new
    // header in a searched directory), and no header was modified since `started`.
    if let (Ok(result), Some(before), Some(limit)) = (&compiled, &before, request.cache_limit)
        && key(opts).as_ref() == Some(before)
        && let Ok(Some(dependencies)) = build_cache::dependencies(result, started)
    {
        // The cache only saves time: failing to store (a full disk) must not fail the build.
        let _ = build_cache::store(&request.cache, before, result, &dependencies, limit);
        remote.store(result, &dependencies);
    }
    let mut diagnostics = String::new();
    if request.verbose {
        let cached = if request.cache_limit.is_some() {
            "cache miss; "
        } else {
            ""
        };
        let _ = writeln!(
            diagnostics,
            "bpfgen: {}: {cached}running: {}",
            source.display(),
            compile::shell_quoted(clang.path(), &args)
        );
    }
    diagnostics.push_str(&run_diagnostics);
    (diagnostics, compiled)
}

/// Compiles `source` with clang, precompiling the header it includes first when planned;
/// returns the command line that ran, clang's diagnostics and the stripped result.
fn compile_with_pch(
    clang: &Clang,
    opts: &CompileOptions,
    pch: Option<Pch>,
    source: &Path,
    request: &BuildRequest,
) -> (Vec<std::ffi::OsString>, String, Result<CachedCompile>) {
    let plain = CompileOptions {
        pch: None,
        ..opts.clone()
    };
    // An unusable precompiled header must never fail a build: the source compiles plainly.
    // Nor does one that another worker is still making hold this one up: the source
    // compiles plainly too, and lists the header as a compile with it would.
    let made = pch.as_ref().map(|pch| pch.make(&request.cache, clang));
    let with_pch = matches!(made, Some(Ok(Made::Ready(_))));
    let mut run = compile::compile(clang, if with_pch { opts } else { &plain }, source);
    if run.outcome.is_err()
        && with_pch
        && let Some(pch) = &opts.pch
    {
        // Drop a precompiled header clang refused, so that the next build makes a fresh one.
        let _ = std::fs::remove_file(pch);
        run = compile::compile(clang, &plain, source);
    }
    if let (Some(Ok(Made::InProgress)), Some(pch), Ok(compiled)) = (&made, &pch, &mut run.outcome) {
        // Once, as with the precompiled header: a plain compile of a source that includes
        // the header by the same path lists it already.
        let header = pch.header().to_string_lossy().into_owned();
        if !compiled.headers.contains(&header) {
            compiled.headers.insert(0, header);
        }
    }
    let compiled = run.outcome.and_then(|compiled| {
        Ok(CachedCompile {
            object: strip::strip_debug(&compiled.object).map_err(|e| e.in_file(source))?,
            headers: compiled.headers,
            diagnostics: run.diagnostics.clone(),
        })
    });
    (run.args, run.diagnostics, compiled)
}

/// Refuses to generate vmlinux.h from this machine's kernel for another architecture: its
/// types (`struct pt_regs`, `struct user_pt_regs`) are this machine's, and clang would fail
/// on them far from the cause.
fn check_vmlinux_matches_arch(request: &BuildRequest) -> Result<()> {
    let running_kernel = request.btf == Path::new(crate::btf::source::KERNEL_BTF);
    match crate::toolchain::TargetArch::host() {
        Ok(host) if running_kernel && host != request.compile.arch => {
            Err(Error::environment(format!(
                "includes vmlinux.h, and this machine's kernel BTF describes {}, not {}: give \
                 --btf with the BTF of a kernel for {} (or its vmlinux.h with -I)",
                host.libbpf_name(),
                request.compile.arch.libbpf_name(),
                request.compile.arch.libbpf_name()
            )))
        }
        _ => Ok(()),
    }
}

/// The compile options for one source: the request's, plus a generated `vmlinux.h` when the
/// source includes one that no include directory provides, and the precompiled form of the
/// header it includes first when that is `vmlinux.h` (generated, or the user's own when
/// unambiguous) or a project header that brings it in ([`project_header`]), planned: made
/// only if clang runs.
fn source_options(
    clang: &Clang,
    request: &BuildRequest,
    generated: &OnceLock<Result<PathBuf>>,
    source: &Path,
) -> Result<(CompileOptions, Option<Pch>)> {
    let mut opts = request.compile.clone();
    let Ok(text) = std::fs::read_to_string(source) else {
        // compile() reports the unreadable source.
        return Ok((opts, None));
    };
    let header = if !vmlinux::includes_vmlinux(&text) {
        // Looked for only to be precompiled.
        request
            .pch
            .then(|| project_header(clang, &opts, source, &text))
            .flatten()
    } else if vmlinux::provided(source, &opts) {
        vmlinux::provided_once(&vmlinux::search_path(clang, source, &opts), "vmlinux.h")
            .filter(|_| vmlinux::pch_compatible(&text))
    } else {
        check_vmlinux_matches_arch(request).map_err(|e| e.in_file(source))?;
        let dir = generated
            .get_or_init(|| vmlinux::generated_dir(&request.cache, &request.btf))
            .clone()
            .map_err(|e| e.in_file(source))?;
        opts.fallback_include_dirs.push(dir.clone());
        Some(dir.join("vmlinux.h")).filter(|_| vmlinux::pch_compatible(&text))
    };
    let pch = header
        .filter(|_| request.pch)
        .and_then(|header| Pch::plan(&request.cache, clang, &opts, &header).ok());
    opts.pch = pch.as_ref().map(|pch| pch.path.clone());
    Ok((opts, pch))
}

/// The project header `source` includes first, when it can be precompiled: it is the one
/// file of its name on the search path, guarded against a second inclusion, brings in
/// vmlinux.h, and it and the project's headers it brings in hold only preprocessor
/// directives, as a tool collection's shared header does
/// ([`vmlinux::precompilable_project_header`]).
fn project_header(
    clang: &Clang,
    opts: &CompileOptions,
    source: &Path,
    text: &str,
) -> Option<PathBuf> {
    let name = vmlinux::first_include(text)?;
    let search_path = vmlinux::search_path(clang, source, opts);
    let header = vmlinux::provided_once(&search_path, &name)?;
    vmlinux::precompilable_project_header(&header, &search_path, clang.system_includes())
        .then_some(header)
}

/// Runs `bpfgen check` on a freshly built object's bytes (parsed again, so that an object
/// libbpf cannot open is reported with every finding): findings go to `diagnostics`, and
/// any error fails the source.
fn run_checks(
    object: &[u8],
    object_name: &str,
    source: &Path,
    request: &BuildRequest,
    options: &check::Options,
    diagnostics: &mut String,
) -> Result<()> {
    let name = source.display().to_string();
    let mut findings =
        check::check_bytes(object, &name, object_name, options).map_err(|e| e.in_file(source))?;
    check::attach_sources(&mut findings, &[source.parent().unwrap_or(Path::new(""))]);
    for finding in &findings {
        if request.findings_as_json {
            diagnostics.push_str(&finding.render_json());
            diagnostics.push('\n');
        } else {
            diagnostics.push_str(&finding.render_human());
        }
    }
    if diag::has_errors(&findings) {
        return Err(Error::input(
            "bpfgen check found errors (above); outputs not written (--allow CODE or \
             Builder::check_level lowers one; --no-check or Builder::check(false) skips them)",
        )
        .in_file(source));
    }
    Ok(())
}

/// One compiled (or linked) object's outputs, `<stem>.bpf.o` and its companions: when a
/// record says the outputs on disk are those this object gives, its findings are replayed;
/// else [`write_outputs`] makes them (and they are recorded). Check findings are appended to
/// `diagnostics`, and `source` is what messages name.
fn finish(
    request: &BuildRequest,
    source: &Path,
    stem: &str,
    compiled: CachedCompile,
    diagnostics: &mut String,
) -> Result<Built> {
    let key = record_key(request, source, stem, &compiled);
    if let Some(record) = key
        .as_ref()
        .and_then(|key| output_record::lookup(&request.cache, key))
    {
        diagnostics.push_str(&record.diagnostics);
        let built = Built {
            source: source.to_path_buf(),
            object: output_path(request, stem, ".bpf.o"),
            skeleton: record.skeleton,
            depfile: output_path(request, stem, ".bpf.d"),
            headers: compiled.headers,
        };
        report_outputs(request, &built, &[], diagnostics);
        return Ok(built);
    }
    let before = diagnostics.len();
    let (built, written) = write_outputs(request, source, stem, compiled, diagnostics)?;
    if let Some(key) = key {
        let mut files = vec![built.object.as_path(), built.depfile.as_path()];
        files.extend(built.skeleton.as_deref());
        // Records only save time: failing to store one must not fail the build.
        let _ = Record::new(&files, built.skeleton.clone(), diagnostics[before..].into())
            .and_then(|record| output_record::store(&request.cache, &key, &record));
    }
    report_outputs(request, &built, &written, diagnostics);
    Ok(built)
}

/// With `--verbose`, says of each output whether it was written or already held its bytes
/// (after the record is stored: what a record replays is the findings, not this).
fn report_outputs(request: &BuildRequest, built: &Built, written: &[PathBuf], out: &mut String) {
    if !request.verbose {
        return;
    }
    for path in std::iter::once(&built.object)
        .chain(built.skeleton.iter())
        .chain([&built.depfile])
    {
        let what = if written.contains(path) {
            "wrote"
        } else {
            "unchanged"
        };
        let _ = writeln!(out, "bpfgen: {what} {}", path.display());
    }
}

/// The [`output_record`] key of `compiled`'s outputs: everything [`write_outputs`] reads.
/// `None` without the build cache, or when an input cannot be read.
fn record_key(
    request: &BuildRequest,
    source: &Path,
    stem: &str,
    compiled: &CachedCompile,
) -> Option<String> {
    request.cache_limit?;
    let check = match &request.check {
        Some(options) => options.fingerprint().ok()?,
        None => "no check".into(),
    };
    let settings = format!(
        "{:?} {:?} {check} json findings {}",
        request.skeleton, request.link, request.findings_as_json
    );
    let cwd = std::env::current_dir().ok()?;
    let mut inputs = vec![
        source.to_string_lossy().into_owned(),
        file_hash(source).ok()?,
    ];
    for header in &compiled.headers {
        inputs.push(header.clone());
        inputs.push(file_hash(Path::new(header)).ok()?);
    }
    let mut parts: Vec<&[u8]> = vec![
        b"bpfgen outputs v1",
        &compiled.object,
        settings.as_bytes(),
        cwd.as_os_str().as_encoded_bytes(),
        request.out_dir.as_os_str().as_encoded_bytes(),
        stem.as_bytes(),
    ];
    parts.extend(inputs.iter().map(|s| s.as_bytes()));
    Some(crate::cache::key(&parts))
}

/// `<out_dir>/<stem><suffix>`.
fn output_path(request: &BuildRequest, stem: &str, suffix: &str) -> PathBuf {
    request.out_dir.join(format!("{stem}{suffix}"))
}

/// Checks, models, renders and writes one compiled (or linked) object as `<stem>.bpf.o` and
/// its companions; check findings are appended to `diagnostics`, and `source` is what
/// messages name. Also returns the outputs written (those whose bytes changed).
fn write_outputs(
    request: &BuildRequest,
    source: &Path,
    stem: &str,
    compiled: CachedCompile,
    diagnostics: &mut String,
) -> Result<(Built, Vec<PathBuf>)> {
    let out = |suffix: &str| output_path(request, stem, suffix);
    let object_path = out(".bpf.o");
    let skeleton_path = match request.skeleton {
        SkeletonLang::C => Some(out(".skel.h")),
        SkeletonLang::Rust => Some(out(".skel.rs")),
        SkeletonLang::None => None,
    };
    let depfile_path = out(".bpf.d");

    let object_file = format!("{stem}.bpf.o");
    let object_name = names::object_name_from_file(&object_file);
    let stripped = compiled.object;
    let parsed = BpfObject::parse(&stripped, &object_name);
    if let Some(options) = &request.check {
        // What libbpf cannot open is a check finding too, reported with every other one;
        // the source then fails with the parse error itself.
        let checked = run_checks(
            &stripped,
            &object_name,
            source,
            request,
            options,
            diagnostics,
        );
        if parsed.is_ok() {
            checked?;
        }
    }
    let object = parsed.map_err(|e| e.in_file(source))?;

    // A per-file piece of a program (extern functions, maps or variables another file
    // defines) is what the static linker takes; libbpf cannot open it, so it has no skeleton.
    // The output of `--link` is final: what it leaves unresolved, nothing will resolve.
    let skeleton_path = match object.first_linked_extern() {
        Some(linked) if request.link.is_some() => {
            return Err(Error::input(format!(
                "extern '{}' is defined by none of the linked sources",
                linked.name
            ))
            .in_file(source));
        }
        Some(linked) if skeleton_path.is_some() => {
            let why = skel::model::unlinked_extern_message(&linked.name);
            let _ = writeln!(
                diagnostics,
                "bpfgen: note: {}: no skeleton: {why}",
                source.display()
            );
            None
        }
        _ => skeleton_path,
    };
    let mut outputs = OutputSet::new();
    outputs.stage(&object_path, &stripped)?;
    if let Some(path) = &skeleton_path {
        let lang = match request.skeleton {
            SkeletonLang::Rust => skel::Lang::Rust {
                type_prefix: skel::rust::type_prefix(&object_file),
                // The object is written beside the skeleton.
                embed: Embed::IncludeBytes(object_file.clone()),
            },
            SkeletonLang::C | SkeletonLang::None => skel::Lang::C,
        };
        let text = skel::generate(&object, &object_name, &stripped, &lang);
        outputs.stage(path, text.map_err(|e| e.in_file(source))?.as_bytes())?;
    }
    let mut targets = vec![object_path.to_string_lossy().into_owned()];
    targets.extend(
        skeleton_path
            .iter()
            .map(|p| p.to_string_lossy().into_owned()),
    );
    let deps = depfile::render(&targets, &source.to_string_lossy(), &compiled.headers);
    outputs.stage(&depfile_path, deps.as_bytes())?;
    let written = outputs.commit()?;

    Ok((
        Built {
            source: source.to_path_buf(),
            object: object_path,
            skeleton: skeleton_path,
            depfile: depfile_path,
            headers: compiled.headers,
        },
        written,
    ))
}
