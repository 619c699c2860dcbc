//! The remote build cache: a second tier behind the local one, shared by machines (a CI
//! fleet, its developers) through a store that already exists (redis, S3, WebDAV, the GitHub
//! Actions cache), reached through Apache OpenDAL.
//!
//! A build asks the local cache first, then this one; a verified remote hit is copied into
//! the local cache; a fresh compile is queued for writing here in the background (bounded
//! queue, timeouts) and the queue is flushed, within a bound, when the build finishes
//! ([`RemoteCache::finish`]). The remote only ever saves time: the first failing or slow
//! request makes the rest of the build leave it alone and compile locally, with one warning;
//! an entry that fails verification ([`entry::decode_result`]) is ignored and rebuilt.

pub mod config;
pub mod entry;

use crate::build_cache::{CachedCompile, Dependency};
use crate::cache_stats::{CacheStats, Counter};
use crate::error::{Error, Result};
use config::{Mode, RemoteConfig, Store};
use entry::{CacheDirs, Encoded};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long one request (connecting included) may take before the remote counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the first connection to a redis or WebDAV server may take (the redis client
/// retries a refused connection until a request's timeout: a store that is down would
/// otherwise cost the whole [`REQUEST_TIMEOUT`]).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a finishing build waits for its queued writes.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(15);
/// How many results may wait to be written; beyond that, new ones are not written.
const QUEUE_LENGTH: usize = 256;

/// A connection to the remote cache, for one build.
pub struct RemoteCache {
    config: RemoteConfig,
    shared: Arc<Shared>,
    /// The writer's queue; `None` in read-only mode and once finished.
    queue: Mutex<Option<SyncSender<Encoded>>>,
    /// Told by the writer when it has written everything queued.
    flushed: Mutex<Option<Receiver<()>>>,
    /// Results queued and not yet written.
    pending: Arc<AtomicUsize>,
}

/// What the build's workers and the writer share.
struct Shared {
    operator: opendal::Operator,
    runtime: tokio::runtime::Runtime,
    display: String,
    /// `HOST:PORT` to try once before the first request, if the store has one.
    address: Option<String>,
    /// Whether that first connection succeeded, once tried.
    reachable: std::sync::OnceLock<bool>,
    /// Cleared by the first failed request: the rest of the build leaves the remote alone.
    healthy: AtomicBool,
    /// At most one warning of each kind (unreachable, rejected entry, unfinished writes).
    warnings: Mutex<Vec<(&'static str, String)>>,
    stats: Arc<CacheStats>,
}

impl std::fmt::Debug for RemoteCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteCache")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A verified remote hit: the result, and the (local) headers it was made from.
pub struct RemoteHit {
    /// The compile result.
    pub compiled: CachedCompile,
    /// Its headers and their hashes, which this machine's files match.
    pub dependencies: Vec<Dependency>,
}

impl RemoteCache {
    /// The remote cache `BPFGEN_REMOTE_CACHE` names, if any, counting into `stats`.
    pub fn from_env(stats: Arc<CacheStats>) -> Result<Option<RemoteCache>> {
        RemoteConfig::from_env()?
            .map(|config| RemoteCache::open(config, stats))
            .transpose()
    }

    /// A connection to the store `config` names (nothing is sent until the first lookup).
    pub fn open(config: RemoteConfig, stats: Arc<CacheStats>) -> Result<RemoteCache> {
        let operator = operator(&config.store)
            .map_err(|e| Error::environment(format!("remote cache {}: {e}", config.display)))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("bpfgen-remote-cache")
            .enable_all()
            .build()
            .map_err(|e| Error::environment(format!("remote cache: no tokio runtime: {e}")))?;
        let shared = Arc::new(Shared {
            operator,
            runtime,
            display: config.display.clone(),
            address: config.store.address(),
            reachable: std::sync::OnceLock::new(),
            healthy: AtomicBool::new(true),
            warnings: Mutex::new(Vec::new()),
            stats,
        });
        let pending = Arc::new(AtomicUsize::new(0));
        let (queue, flushed) = match config.mode {
            Mode::ReadOnly => (None, None),
            Mode::ReadWrite => {
                let (queue, flushed) = spawn_writer(&shared, &pending)?;
                (Some(queue), Some(flushed))
            }
        };
        Ok(RemoteCache {
            config,
            shared,
            queue: Mutex::new(queue),
            flushed: Mutex::new(flushed),
            pending,
        })
    }

    /// The configuration this cache was opened with.
    pub fn config(&self) -> &RemoteConfig {
        &self.config
    }

    /// The verified result stored under `key` whose headers this machine has with the same
    /// bytes; `None` on a miss, once the remote has failed, or when the entry is refused.
    pub fn lookup(&self, key: &str, dirs: &CacheDirs) -> Option<RemoteHit> {
        let shared = &self.shared;
        let manifest_bytes = shared.read(&entry::manifest_path(key))?;
        let (manifest, dependencies) = match entry::decode_manifest(&manifest_bytes, dirs) {
            Ok(decoded) => decoded,
            Err(why) => return shared.reject(key, &why),
        };
        if !crate::build_cache::dependencies_hold(&dependencies) {
            return None;
        }
        let result_bytes = shared.read(&entry::result_path(&manifest.result))?;
        match entry::decode_result(&result_bytes, &manifest, dirs) {
            Ok(compiled) => {
                let bytes = manifest_bytes.len() + result_bytes.len();
                shared.stats.add(Counter::RemoteBytesRead, bytes as u64);
                Some(RemoteHit {
                    compiled,
                    dependencies,
                })
            }
            Err(why) => shared.reject(key, &why),
        }
    }

    /// Queues `compiled` (made from `dependencies`) for writing under `key`, unless this build
    /// is read-only or the remote has failed. Never waits: with the queue full, the result is
    /// not written (and counted as an error).
    pub fn store(
        &self,
        key: &str,
        compiled: &CachedCompile,
        dependencies: &[Dependency],
        dirs: &CacheDirs,
    ) {
        let queue = self.queue.lock().expect("no panics holding it");
        let Some(queue) = queue.as_ref().filter(|_| self.shared.healthy()) else {
            return;
        };
        self.pending.fetch_add(1, Ordering::SeqCst);
        let encoded = entry::encode(key, compiled, dependencies, dirs);
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = queue.try_send(encoded)
        {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            self.shared.stats.add(Counter::RemoteErrors, 1);
        }
    }

    /// Waits (at most `FLUSH_TIMEOUT`) for the queued writes, then returns this build's
    /// warnings about the remote, one of each kind. Called once the build is done; later
    /// results are no longer written.
    pub fn finish(&self) -> Vec<String> {
        drop(self.queue.lock().expect("no panics holding it").take());
        if let Some(flushed) = self.flushed.lock().expect("no panics holding it").take()
            && flushed.recv_timeout(FLUSH_TIMEOUT).is_err()
        {
            let left = self.pending.load(Ordering::SeqCst);
            self.shared.warn(
                "flush",
                format!(
                    "{left} results not written within {}s; they are left out",
                    FLUSH_TIMEOUT.as_secs()
                ),
            );
        }
        let warnings = std::mem::take(&mut *self.shared.warnings.lock().expect("no panics"));
        warnings.into_iter().map(|(_, text)| text).collect()
    }
}

impl Drop for RemoteCache {
    /// A build that did not call [`RemoteCache::finish`] still writes what it queued.
    fn drop(&mut self) {
        self.finish();
    }
}

impl Shared {
    /// Whether requests may go to the remote: it has not failed, and its server (if it has
    /// one address) accepted a connection within [`CONNECT_TIMEOUT`] the first time.
    fn healthy(&self) -> bool {
        if !self.healthy.load(Ordering::SeqCst) {
            return false;
        }
        let Some(address) = &self.address else {
            return true;
        };
        *self.reachable.get_or_init(|| match connect(address) {
            Ok(()) => true,
            Err(e) => self
                .fail::<()>(&format!("cannot connect to {address}: {e}"))
                .is_some(),
        })
    }

    /// The bytes at `path`; `None` when absent or when the remote fails (then it is marked
    /// unhealthy).
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        if !self.healthy() {
            return None;
        }
        let read = self.runtime.block_on(async {
            tokio::time::timeout(REQUEST_TIMEOUT, self.operator.read(path)).await
        });
        match read {
            Ok(Ok(buffer)) => Some(buffer.to_vec()),
            Ok(Err(e)) if e.kind() == opendal::ErrorKind::NotFound => None,
            Ok(Err(e)) => self.fail(&e.to_string()),
            Err(_) => self.fail(&format!("no answer within {}s", REQUEST_TIMEOUT.as_secs())),
        }
    }

    /// Writes `bytes` at `path`; `false` (and the remote marked unhealthy) on failure.
    async fn write(&self, path: &str, bytes: Vec<u8>) -> bool {
        let length = bytes.len() as u64;
        match tokio::time::timeout(REQUEST_TIMEOUT, self.operator.write(path, bytes)).await {
            Ok(Ok(_)) => {
                self.stats.add(Counter::RemoteBytesWritten, length);
                true
            }
            Ok(Err(e)) => self.fail::<()>(&e.to_string()).is_some(),
            Err(_) => self
                .fail::<()>(&format!("no answer within {}s", REQUEST_TIMEOUT.as_secs()))
                .is_some(),
        }
    }

    /// Marks the remote failed for the rest of the build (warning once).
    fn fail<T>(&self, why: &str) -> Option<T> {
        self.stats.add(Counter::RemoteErrors, 1);
        if self.healthy.swap(false, Ordering::SeqCst) {
            self.warn(
                "failed",
                format!("{why}; compiling locally for the rest of this build"),
            );
        }
        None
    }

    /// Refuses the entry under `key` (warning once per build).
    fn reject<T>(&self, key: &str, why: &str) -> Option<T> {
        self.stats.add(Counter::RemoteRejected, 1);
        self.warn(
            "rejected",
            format!("entry {key} refused ({why}): ignored and compiled locally"),
        );
        None
    }

    fn warn(&self, kind: &'static str, text: String) {
        let mut warnings = self.warnings.lock().expect("no panics holding it");
        if warnings.iter().all(|(k, _)| *k != kind) {
            warnings.push((kind, format!("remote cache {}: {text}", self.display)));
        }
    }
}

/// Opens (and closes) a TCP connection to `address`, within [`CONNECT_TIMEOUT`].
fn connect(address: &str) -> std::io::Result<()> {
    use std::net::ToSocketAddrs;
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
    for addr in address.to_socket_addrs()? {
        match std::net::TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(_) => return Ok(()),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The writer: a thread that writes each queued result, then its manifest (so that no
/// manifest names a result not yet there), and says when the queue is closed and empty.
fn spawn_writer(
    shared: &Arc<Shared>,
    pending: &Arc<AtomicUsize>,
) -> Result<(SyncSender<Encoded>, Receiver<()>)> {
    let (queue, jobs) = std::sync::mpsc::sync_channel::<Encoded>(QUEUE_LENGTH);
    let (done, flushed) = std::sync::mpsc::channel();
    let (shared, pending) = (Arc::clone(shared), Arc::clone(pending));
    std::thread::Builder::new()
        .name("bpfgen-remote-writer".into())
        .spawn(move || {
            for job in jobs {
                if shared.healthy() {
                    shared.runtime.block_on(async {
                        shared.write(&job.result_path, job.result).await
                            && shared.write(&job.manifest_path, job.manifest).await
                    });
                }
                pending.fetch_sub(1, Ordering::SeqCst);
            }
            let _ = done.send(());
        })
        .map_err(|e| Error::environment(format!("remote cache: no writer thread: {e}")))?;
    Ok((queue, flushed))
}

/// The OpenDAL operator for `store`.
fn operator(store: &Store) -> opendal::Result<opendal::Operator> {
    use opendal::services;
    let operator = match store {
        Store::Redis {
            endpoint,
            db,
            username,
            password,
        } => {
            let mut builder = services::Redis::default()
                .endpoint(endpoint)
                .db(*db)
                .root("/bpfgen");
            if let Some(username) = username {
                builder = builder.username(username);
            }
            if let Some(password) = password {
                builder = builder.password(password);
            }
            opendal::Operator::new(builder)?.finish()
        }
        Store::S3 { bucket, prefix } => {
            let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
            let region = env("AWS_REGION")
                .or_else(|| env("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".into());
            let mut builder = services::S3::default()
                .bucket(bucket)
                .root(&format!("/{prefix}"))
                .region(&region);
            if let Some(endpoint) = env("AWS_ENDPOINT_URL") {
                builder = builder.endpoint(&endpoint);
            }
            opendal::Operator::new(builder)?.finish()
        }
        Store::Webdav { endpoint, root } => opendal::Operator::new(
            services::Webdav::default()
                .endpoint(endpoint)
                .root(&format!("/{root}")),
        )?
        .finish(),
        Store::Gha => opendal::Operator::new(
            services::Ghac::default()
                .root("/bpfgen")
                .version(concat!("bpfgen-", env!("CARGO_PKG_VERSION"))),
        )?
        .finish(),
    };
    Ok(operator)
}
