//! Where the remote cache is and whether this build may write to it: `BPFGEN_REMOTE_CACHE`
//! and `BPFGEN_REMOTE_CACHE_MODE`, or the same given to [`crate::Builder`].

use crate::error::{Error, Result};

/// A store the remote cache lives in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    /// `redis://[USER[:PASSWORD]@]HOST:PORT[/DB]`.
    Redis {
        /// `tcp://HOST:PORT`.
        endpoint: String,
        /// The database number (0 by default).
        db: i64,
        /// `USER`, if given.
        username: Option<String>,
        /// `PASSWORD`, if given.
        password: Option<String>,
    },
    /// `s3://BUCKET[/PREFIX]`; endpoint, region and credentials from the AWS variables
    /// (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, ...).
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix entries go under.
        prefix: String,
    },
    /// `webdav://HOST:PORT/PATH` (plain HTTP) or `webdavs://HOST:PORT/PATH` (HTTPS).
    Webdav {
        /// `http://HOST:PORT` or `https://HOST:PORT`.
        endpoint: String,
        /// The collection entries go under.
        root: String,
    },
    /// `gha`: the GitHub Actions cache, from a job's `ACTIONS_CACHE_URL` and
    /// `ACTIONS_RUNTIME_TOKEN` (exposed to run steps by e.g. crazy-max/ghaction-github-runtime).
    Gha,
}

/// Whether a build writes what it compiles to the remote cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Read only (the default): builds use what trusted builds stored and store nothing, so
    /// that a job that forgot to say otherwise (a pull request's) cannot poison the cache.
    #[default]
    ReadOnly,
    /// Read and write: for trusted builds (the main branch's CI).
    ReadWrite,
}

/// A remote cache's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteConfig {
    /// Where entries are kept.
    pub store: Store,
    /// Whether this build writes.
    pub mode: Mode,
    /// The location as given (without a password), for messages.
    pub display: String,
}

impl RemoteConfig {
    /// The configuration `BPFGEN_REMOTE_CACHE` and `BPFGEN_REMOTE_CACHE_MODE` give; `None`
    /// when the first is unset or empty.
    pub fn from_env() -> Result<Option<RemoteConfig>> {
        let location = std::env::var("BPFGEN_REMOTE_CACHE").unwrap_or_default();
        if location.is_empty() {
            return Ok(None);
        }
        let mode = match std::env::var("BPFGEN_REMOTE_CACHE_MODE").as_deref() {
            Err(_) | Ok("") => Mode::default(),
            Ok(text) => Mode::parse(text)?,
        };
        Self::parse(&location, mode).map(Some)
    }

    /// The configuration of the store at `location` (a `BPFGEN_REMOTE_CACHE` value).
    pub fn parse(location: &str, mode: Mode) -> Result<RemoteConfig> {
        let bad = |why: &str| {
            Error::environment(format!(
                "BPFGEN_REMOTE_CACHE='{location}': {why} (expected redis://HOST:PORT/DB, \
                 s3://BUCKET/PREFIX, webdav://HOST:PORT/PATH, webdavs://HOST:PORT/PATH or gha)"
            ))
        };
        let store = if location == "gha" {
            Store::Gha
        } else {
            let (scheme, rest) = location.split_once("://").ok_or_else(|| bad("no scheme"))?;
            let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
            if authority.is_empty() {
                return Err(bad("no host or bucket"));
            }
            match scheme {
                "redis" => {
                    redis(authority, path).ok_or_else(|| bad("the database is not a number"))?
                }
                "s3" => Store::S3 {
                    bucket: authority.to_string(),
                    prefix: path.trim_matches('/').to_string(),
                },
                "webdav" | "webdavs" => Store::Webdav {
                    endpoint: format!(
                        "{}://{authority}",
                        if scheme == "webdav" { "http" } else { "https" }
                    ),
                    root: path.trim_matches('/').to_string(),
                },
                _ => return Err(bad(&format!("unknown scheme {scheme}"))),
            }
        };
        let display = match location.split_once('@') {
            Some((credentials, host)) if location.starts_with("redis://") => {
                let user = credentials.trim_start_matches("redis://");
                let user = user.split_once(':').map_or(user, |(user, _)| user);
                format!("redis://{user}@{host}")
            }
            _ => location.to_string(),
        };
        Ok(RemoteConfig {
            store,
            mode,
            display,
        })
    }
}

impl Store {
    /// `HOST:PORT` of a store reached over one TCP connection (redis, WebDAV), which can be
    /// tried quickly before the first request.
    pub fn address(&self) -> Option<String> {
        match self {
            Store::Redis { endpoint, .. } => endpoint.strip_prefix("tcp://").map(String::from),
            Store::Webdav { endpoint, .. } => {
                let (scheme, host) = endpoint.split_once("://")?;
                let port = if scheme == "https" { 443 } else { 80 };
                Some(match host.rsplit_once(':') {
                    Some((_, digits)) if digits.parse::<u16>().is_ok() => host.to_string(),
                    _ => format!("{host}:{port}"),
                })
            }
            Store::S3 { .. } | Store::Gha => None,
        }
    }
}

impl Mode {
    /// `read-only` or `read-write`.
    pub fn parse(text: &str) -> Result<Mode> {
        match text {
            "read-only" => Ok(Mode::ReadOnly),
            "read-write" => Ok(Mode::ReadWrite),
            _ => Err(Error::environment(format!(
                "BPFGEN_REMOTE_CACHE_MODE='{text}': expected read-only or read-write"
            ))),
        }
    }

    /// `read-only` or `read-write`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::ReadOnly => "read-only",
            Mode::ReadWrite => "read-write",
        }
    }
}

/// `[USER[:PASSWORD]@]HOST:PORT` and `[DB]`; `None` when the database is not a number.
fn redis(authority: &str, path: &str) -> Option<Store> {
    let (credentials, host) = match authority.rsplit_once('@') {
        Some((credentials, host)) => (Some(credentials), host),
        None => (None, authority),
    };
    let (username, password) = match credentials.map(|c| c.split_once(':').unwrap_or((c, ""))) {
        Some((user, password)) => (
            Some(user.to_string()).filter(|u| !u.is_empty()),
            Some(password.to_string()).filter(|p| !p.is_empty()),
        ),
        None => (None, None),
    };
    let db = match path.trim_matches('/') {
        "" => 0,
        db => db.parse().ok()?,
    };
    Some(Store::Redis {
        endpoint: format!("tcp://{host}"),
        db,
        username,
        password,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        let redis =
            RemoteConfig::parse("redis://:secret@127.0.0.1:6379/2", Mode::ReadOnly).unwrap();
        assert_eq!(
            redis.store,
            Store::Redis {
                endpoint: "tcp://127.0.0.1:6379".into(),
                db: 2,
                username: None,
                password: Some("secret".into()),
            }
        );
        assert!(!redis.display.contains("secret"));
        let s3 = RemoteConfig::parse("s3://ci-cache/bpfgen/", Mode::ReadWrite).unwrap();
        assert_eq!(
            s3.store,
            Store::S3 {
                bucket: "ci-cache".into(),
                prefix: "bpfgen".into()
            }
        );
        let dav = RemoteConfig::parse("webdavs://dav.example:8443/cache", Mode::ReadOnly).unwrap();
        assert_eq!(
            dav.store,
            Store::Webdav {
                endpoint: "https://dav.example:8443".into(),
                root: "cache".into()
            }
        );
        assert_eq!(
            RemoteConfig::parse("gha", Mode::ReadOnly).unwrap().store,
            Store::Gha
        );
        for bad in ["ftp://x/y", "redis://h:1/zero", "localhost:6379", "s3://"] {
            assert!(RemoteConfig::parse(bad, Mode::ReadOnly).is_err(), "{bad}");
        }
        assert!(Mode::parse("write").is_err());
    }
}
