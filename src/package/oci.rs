//! OCI image layout (image-spec 1.1 `image-layout.md`) whose images are bpfman "eBPF
//! bytecode images" (bpfman's `shipping-bytecode.md`, backwards-compatible variant):
//!
//! ```text
//! oci-layout, index.json ── ref "latest" ──▶ image index (one manifest per platform)
//!   image manifest ── config: io.ebpf.programs / io.ebpf.maps labels
//!                  └─ the only layer (tar+gzip): OBJECT.bpf.o (first, the only *.o),
//!                     bpfgen.manifest.json, btf/ID/VERSION_ID/MACHINE/RELEASE.btf
//! ```
//!
//! bpfman's pullers take the first layer and its first entry (Rust) or its first `*.o`
//! (Go) and reject images with other layer media types, so nothing else goes in the image.

use super::archive::{Entry, canonical_json, gzip, sha256_hex, tar};
use super::manifest::{self, bpfman_map_type, bpfman_program_type};
use super::{Package, PackageObject};
use crate::error::Result;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// `application/vnd.oci.image.index.v1+json`.
pub const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
/// `application/vnd.oci.image.manifest.v1+json`.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// `application/vnd.oci.image.config.v1+json`.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
/// The one layer media type both of bpfman's pullers accept.
pub const LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// The blobs of a layout, by SHA-256 (identical blobs are stored once).
#[derive(Default)]
struct Blobs(BTreeMap<String, Vec<u8>>);

impl Blobs {
    /// Stores `bytes` and returns their descriptor.
    fn add(&mut self, media_type: &str, bytes: Vec<u8>) -> Value {
        let digest = sha256_hex(&bytes);
        let descriptor = json!({
            "mediaType": media_type,
            "digest": format!("sha256:{digest}"),
            "size": bytes.len(),
        });
        self.0.insert(digest, bytes);
        descriptor
    }
}

/// The files of the layout of `package`: `oci-layout`, `index.json` and `blobs/sha256/*`.
pub fn layout(package: &Package) -> Result<Vec<Entry>> {
    let mut blobs = Blobs::default();
    let created = rfc3339(package.epoch);
    let mut manifests = Vec::new();
    for object in &package.objects {
        let mut descriptor = image(object, package.epoch, &created, &mut blobs)?;
        descriptor["platform"] = json!({"architecture": object.platform.arch, "os": "linux"});
        manifests.push(descriptor);
    }
    let index = json!({
        "schemaVersion": 2,
        "mediaType": INDEX_MEDIA_TYPE,
        "manifests": manifests,
        "annotations": {"org.opencontainers.image.created": created},
    });
    let mut index_descriptor = blobs.add(INDEX_MEDIA_TYPE, canonical_json(&index));
    index_descriptor["annotations"] = json!({"org.opencontainers.image.ref.name": "latest"});
    let top = json!({
        "schemaVersion": 2,
        "mediaType": INDEX_MEDIA_TYPE,
        "manifests": [index_descriptor],
    });
    let mut entries = vec![
        Entry {
            path: "index.json".into(),
            bytes: canonical_json(&top),
        },
        Entry {
            path: "oci-layout".into(),
            bytes: canonical_json(&json!({"imageLayoutVersion": "1.0.0"})),
        },
    ];
    entries.extend(blobs.0.into_iter().map(|(digest, bytes)| Entry {
        path: format!("blobs/sha256/{digest}"),
        bytes,
    }));
    Ok(entries)
}

/// One platform's image: its layer, config and manifest stored; the manifest's descriptor
/// returned.
fn image(object: &PackageObject, epoch: u64, created: &str, blobs: &mut Blobs) -> Result<Value> {
    let manifest = canonical_json(&manifest::manifest(object, epoch)?);
    let manifest_sha = sha256_hex(&manifest);
    let mut files = vec![
        Entry {
            path: object.file_name.clone(),
            bytes: object.bytes.clone(),
        },
        Entry {
            path: manifest::FILE_NAME.into(),
            bytes: manifest,
        },
    ];
    let mut btfs: Vec<_> = object.btfs.iter().collect();
    btfs.sort_by_key(|(kernel, _)| kernel.archive_path());
    files.extend(btfs.into_iter().map(|(kernel, bytes)| Entry {
        path: format!("btf/{}", kernel.archive_path()),
        bytes: bytes.clone(),
    }));
    let layer_tar = tar(&files, epoch)?;
    let diff_id = format!("sha256:{}", sha256_hex(&layer_tar));
    let layer = blobs.add(LAYER_MEDIA_TYPE, gzip(&layer_tar));
    let target = if object.platform.big_endian {
        "bpfeb"
    } else {
        "bpfel"
    };
    let config = json!({
        "architecture": object.platform.arch,
        "os": "linux",
        "created": created,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "config": {"Labels": {
            "io.ebpf.programs": json_string(bpfman_programs(object)),
            "io.ebpf.maps": json_string(bpfman_maps(object)),
            "io.bpfgen.manifest.sha256": manifest_sha,
        }},
    });
    let config = blobs.add(CONFIG_MEDIA_TYPE, canonical_json(&config));
    let image = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": config,
        "layers": [layer],
        "annotations": {
            "org.opencontainers.image.created": created,
            "org.opencontainers.image.title": object.file_name,
            "io.bpfgen.version": env!("CARGO_PKG_VERSION"),
            "io.bpfgen.target": target,
        },
    });
    Ok(blobs.add(MANIFEST_MEDIA_TYPE, canonical_json(&image)))
}

/// `io.ebpf.programs`: program name to bpfman program type, for the programs bpfman loads.
fn bpfman_programs(object: &PackageObject) -> Map<String, Value> {
    object
        .object
        .programs
        .iter()
        .filter_map(|p| Some((p.name.clone(), Value::from(bpfman_program_type(p)?))))
        .collect()
}

/// `io.ebpf.maps`: map name to bpfman map type, internal maps (global data, kconfig) left out.
fn bpfman_maps(object: &PackageObject) -> Map<String, Value> {
    object
        .object
        .maps
        .iter()
        .filter(|m| !m.is_internal())
        .map(|m| (m.name.clone(), Value::from(bpfman_map_type(m.def.map_type))))
        .collect()
}

/// The programs of `package` that bpfman cannot load, by object: its labels leave them out.
pub fn programs_bpfman_skips(package: &Package) -> Vec<(String, String)> {
    package
        .objects
        .iter()
        .flat_map(|o| {
            o.object
                .programs
                .iter()
                .filter(|p| bpfman_program_type(p).is_none())
                .map(|p| {
                    (
                        o.file_name.clone(),
                        format!("{} (SEC(\"{}\"))", p.name, p.section),
                    )
                })
        })
        .collect()
}

fn json_string(map: Map<String, Value>) -> String {
    String::from_utf8(canonical_json(&Value::Object(map))).expect("JSON is UTF-8")
}

/// `epoch` (seconds since 1970, UTC) as RFC 3339 (`1970-01-01T00:00:00Z`).
pub fn rfc3339(epoch: u64) -> String {
    let (days, secs) = (epoch / 86_400, epoch % 86_400);
    // Howard Hinnant's civil_from_days, for days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(4_107_542_399), "2100-02-28T23:59:59Z");
    }
}
