//! The build's use of the remote cache tier ([`crate::remote_cache`]): looked up after a
//! local miss, a verified hit copied into the local cache; given every fresh compile. Without
//! the `remote-cache` feature, a tier that never answers and stores nothing.

use super::BuildRequest;
use crate::build_cache::{CachedCompile, Dependency};
use crate::compile::CompileOptions;
use crate::toolchain::Clang;
use std::path::Path;

/// One source's compile, as the remote tier sees it.
pub(super) struct Remote<'a> {
    #[cfg(feature = "remote-cache")]
    tier: Option<Tier<'a>>,
    #[cfg(not(feature = "remote-cache"))]
    tier: std::marker::PhantomData<&'a ()>,
}

#[cfg(feature = "remote-cache")]
struct Tier<'a> {
    cache: &'a crate::remote_cache::RemoteCache,
    dirs: crate::remote_cache::entry::CacheDirs,
    clang: &'a Clang,
    opts: &'a CompileOptions,
    source: &'a Path,
    /// The portable key, computed on first use: a local hit never needs it.
    key: std::sync::OnceLock<Option<String>>,
}

#[cfg(feature = "remote-cache")]
impl Tier<'_> {
    fn key(&self) -> Option<&str> {
        self.key
            .get_or_init(|| {
                crate::remote_cache::entry::portable_key(
                    self.clang,
                    self.opts,
                    self.source,
                    &self.dirs,
                )
                .ok()
            })
            .as_deref()
    }
}

impl<'a> Remote<'a> {
    /// The remote side of compiling `source` with `opts`: nothing without a remote cache (or
    /// with `--no-cache`).
    #[cfg_attr(not(feature = "remote-cache"), allow(unused_variables))]
    pub(super) fn new(
        clang: &'a Clang,
        request: &'a BuildRequest,
        opts: &'a CompileOptions,
        source: &'a Path,
    ) -> Remote<'a> {
        #[cfg(feature = "remote-cache")]
        let tier = request
            .remote
            .as_deref()
            .filter(|_| request.cache_limit.is_some())
            .map(|cache| Tier {
                cache,
                dirs: crate::remote_cache::entry::CacheDirs::of(opts, request.cache.root()),
                clang,
                opts,
                source,
                key: std::sync::OnceLock::new(),
            });
        #[cfg(not(feature = "remote-cache"))]
        let tier = std::marker::PhantomData;
        Remote { tier }
    }

    /// The remote result, verified, whose headers this machine has with the same bytes; it is
    /// copied into the local cache under `local_key`.
    #[cfg_attr(not(feature = "remote-cache"), allow(unused_variables))]
    pub(super) fn lookup(&self, request: &BuildRequest, local_key: &str) -> Option<CachedCompile> {
        #[cfg(feature = "remote-cache")]
        {
            let tier = self.tier.as_ref()?;
            let hit = tier.cache.lookup(tier.key()?, &tier.dirs)?;
            if let Some(limit) = request.cache_limit {
                // The local copy only saves time: failing to store it must not fail the build.
                let _ = crate::build_cache::store(
                    &request.cache,
                    local_key,
                    &hit.compiled,
                    &hit.dependencies,
                    limit,
                );
            }
            Some(hit.compiled)
        }
        #[cfg(not(feature = "remote-cache"))]
        None
    }

    /// Queues a fresh compile for writing to the remote cache (in read-write mode).
    #[cfg_attr(not(feature = "remote-cache"), allow(unused_variables))]
    pub(super) fn store(&self, compiled: &CachedCompile, dependencies: &[Dependency]) {
        #[cfg(feature = "remote-cache")]
        if let Some(tier) = &self.tier
            && let Some(key) = tier.key()
        {
            tier.cache.store(key, compiled, dependencies, &tier.dirs);
        }
    }
}
