//! What the remote cache holds, and how an entry read from it is verified before use.
//!
//! Two kinds of entry, as the local cache's two levels: a *manifest* under the portable key
//! of a compile (clang, its version, the command line and the source's bytes) lists the
//! headers it read with their hashes and names its *result*; the result is stored under the
//! BLAKE3 hash of its own bytes (content-addressed) and holds the stripped object, the header
//! list and clang's diagnostics. Paths inside the local cache directory (a generated
//! `vmlinux.h`, a precompiled header) differ between machines: they are stored as
//! `$BPFGEN_CACHE/<kind>/...` and mapped back to this machine's on the way in.

use crate::build_cache::{self, CachedCompile, Dependency, ResultMeta};
use crate::compile::CompileOptions;
use crate::error::Result;
use crate::toolchain::Clang;
use serde_json::{Value, json};
use std::ffi::{OsStr, OsString};
use std::path::Path;

/// What a remote manifest's path is made of, and what its result's.
const MANIFESTS: &str = "v1/manifests";
const RESULTS: &str = "v1/results";
const RESULT_MAGIC: &[u8] = b"bpfgen remote result v1\n";
const MANIFEST_FORMAT: &str = "bpfgen remote manifest v1";
/// The placeholder for this machine's cache directory in what is stored.
const CACHE_PLACEHOLDER: &str = "$BPFGEN_CACHE";

/// The local cache directories one compile names (`<cache>/<kind>/<key>`), and how they are
/// spelled in the remote cache (`$BPFGEN_CACHE/<kind>`).
#[derive(Debug, Default)]
pub struct CacheDirs {
    /// (portable, local) prefixes.
    dirs: Vec<(String, String)>,
}

impl CacheDirs {
    /// The cache directories `opts` names: its precompiled header's and its generated
    /// headers' (each kind appears at most once in one compile).
    pub fn of(opts: &CompileOptions, cache_root: &Path) -> CacheDirs {
        let root = cache_root.to_string_lossy();
        let dirs = opts
            .pch
            .iter()
            .chain(&opts.fallback_include_dirs)
            .filter_map(|path| {
                let text = path.to_string_lossy();
                let rest = text.strip_prefix(root.as_ref())?.strip_prefix('/')?;
                let mut components = rest.split('/');
                let (kind, key) = (components.next()?, components.next()?);
                Some((
                    format!("{CACHE_PLACEHOLDER}/{kind}"),
                    format!("{root}/{kind}/{key}"),
                ))
            })
            .collect();
        CacheDirs { dirs }
    }

    /// `text` with this machine's cache directories spelled portably.
    fn portable(&self, text: &str) -> String {
        self.dirs
            .iter()
            .fold(text.to_string(), |text, (portable, local)| {
                text.replace(local, portable)
            })
    }

    /// `text` with portable cache directories spelled as this machine's.
    fn local(&self, text: &str) -> String {
        self.dirs
            .iter()
            .fold(text.to_string(), |text, (portable, local)| {
                text.replace(portable, local)
            })
    }

    fn portable_arg(&self, arg: &OsStr) -> OsString {
        match arg.to_str() {
            Some(text) => self.portable(text).into(),
            None => arg.to_os_string(),
        }
    }
}

/// The remote key of compiling `source` with `opts`: what the local manifest key covers but
/// this machine's facts (directory times, cache directory), with a hash of the bpfgen
/// executable's bytes in place of its modification time.
pub fn portable_key(
    clang: &Clang,
    opts: &CompileOptions,
    source: &Path,
    dirs: &CacheDirs,
) -> Result<String> {
    let mut parts = build_cache::compile_parts(clang, opts, source, &|arg| dirs.portable_arg(arg))?;
    parts.insert(0, executable_hash().as_bytes().to_vec());
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"bpfgen remote key v1");
    for part in &parts {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    Ok(hasher.finalize().to_hex().to_string())
}

/// The BLAKE3 hash of this executable's bytes (bpfgen, or the build script using
/// [`crate::Builder`]), with bpfgen's version: identical binaries share entries wherever and
/// whenever they were installed.
fn executable_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let hash = std::env::current_exe()
            .and_then(std::fs::File::open)
            .and_then(|file| {
                blake3::Hasher::new()
                    .update_reader(file)
                    .map(|h| h.finalize())
            });
        match hash {
            Ok(hash) => format!("{} {}", env!("CARGO_PKG_VERSION"), hash.to_hex()),
            Err(_) => format!("{} unknown executable", env!("CARGO_PKG_VERSION")),
        }
    })
}

/// The path of the manifest stored under `key`.
pub fn manifest_path(key: &str) -> String {
    format!("{MANIFESTS}/{key}")
}

/// The path of the result whose bytes hash to `hash`.
pub fn result_path(hash: &str) -> String {
    format!("{RESULTS}/{hash}")
}

/// A manifest as stored.
#[derive(Debug)]
pub struct Manifest {
    format: String,
    dependencies: Vec<Dependency>,
    /// The BLAKE3 hash of the result's bytes.
    pub result: String,
}

impl Manifest {
    fn to_json_bytes(&self) -> Vec<u8> {
        json!({
            "format": self.format,
            "dependencies": Dependency::list_to_json(&self.dependencies),
            "result": self.result,
        })
        .to_string()
        .into_bytes()
    }

    fn from_json_bytes(bytes: &[u8]) -> std::result::Result<Self, String> {
        let json: Value =
            serde_json::from_slice(bytes).map_err(|e| format!("manifest does not parse: {e}"))?;
        let field = |name: &str| {
            json[name]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("manifest has no {name}"))
        };
        Ok(Manifest {
            format: field("format")?,
            dependencies: Dependency::list_from_json(&json["dependencies"])
                .ok_or("manifest has no dependency list")?,
            result: field("result")?,
        })
    }
}

/// A compile result and its dependencies as stored: the manifest's bytes, the result's
/// bytes, and the path of each.
pub struct Encoded {
    /// Where the manifest goes.
    pub manifest_path: String,
    /// The manifest.
    pub manifest: Vec<u8>,
    /// Where the result goes.
    pub result_path: String,
    /// The result.
    pub result: Vec<u8>,
}

/// The entries that store `compiled` (made from `dependencies`) under `key`.
pub fn encode(
    key: &str,
    compiled: &CachedCompile,
    dependencies: &[Dependency],
    dirs: &CacheDirs,
) -> Encoded {
    let meta = ResultMeta {
        headers: compiled.headers.iter().map(|h| dirs.portable(h)).collect(),
        diagnostics: compiled.diagnostics.clone(),
    };
    let meta = meta.to_json_bytes();
    let mut result = RESULT_MAGIC.to_vec();
    result.extend((meta.len() as u64).to_le_bytes());
    result.extend(meta);
    result.extend(&compiled.object);
    let hash = blake3::hash(&result).to_hex().to_string();
    let manifest = Manifest {
        format: MANIFEST_FORMAT.to_string(),
        dependencies: dependencies
            .iter()
            .map(|dep| Dependency {
                path: dirs.portable(&dep.path),
                hash: dep.hash.clone(),
            })
            .collect(),
        result: hash.clone(),
    };
    Encoded {
        manifest_path: manifest_path(key),
        manifest: manifest.to_json_bytes(),
        result_path: result_path(&hash),
        result,
    }
}

/// Reads a stored manifest; its dependencies come back as this machine's paths.
pub fn decode_manifest(
    bytes: &[u8],
    dirs: &CacheDirs,
) -> std::result::Result<(Manifest, Vec<Dependency>), String> {
    let manifest = Manifest::from_json_bytes(bytes)?;
    if manifest.format != MANIFEST_FORMAT {
        return Err(format!("manifest format is '{}'", manifest.format));
    }
    if manifest.result.len() != 64 || !manifest.result.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("manifest names no result hash".into());
    }
    let local = manifest
        .dependencies
        .iter()
        .map(|dep| Dependency {
            path: dirs.local(&dep.path),
            hash: dep.hash.clone(),
        })
        .collect();
    Ok((manifest, local))
}

/// Verifies a stored result against the manifest that named it: its bytes hash to the name,
/// it lists exactly the manifest's headers, and its object parses as a BPF object.
pub fn decode_result(
    bytes: &[u8],
    manifest: &Manifest,
    dirs: &CacheDirs,
) -> std::result::Result<CachedCompile, String> {
    if blake3::hash(bytes).to_hex().as_str() != manifest.result {
        return Err("result's bytes do not match its hash".into());
    }
    let rest = bytes
        .strip_prefix(RESULT_MAGIC)
        .ok_or("result is not a bpfgen result")?;
    let (length, rest) = rest.split_at_checked(8).ok_or("result is truncated")?;
    let length = u64::from_le_bytes(length.try_into().expect("8 bytes"));
    let (meta, object) = usize::try_from(length)
        .ok()
        .and_then(|length| rest.split_at_checked(length))
        .ok_or("result is truncated")?;
    let meta = ResultMeta::from_json_bytes(meta).ok_or("result's header list does not parse")?;
    if !meta
        .headers
        .iter()
        .eq(manifest.dependencies.iter().map(|d| &d.path))
    {
        return Err("result's header list is not its manifest's".into());
    }
    crate::object::BpfObject::parse(object, "remote_bpf")
        .map_err(|e| format!("result's object does not parse: {e}"))?;
    Ok(CachedCompile {
        object: object.to_vec(),
        headers: meta.headers.iter().map(|h| dirs.local(h)).collect(),
        diagnostics: meta.diagnostics,
    })
}
