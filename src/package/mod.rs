//! `bpfgen package`: compiled objects packaged for the runtimes that load them, reproducibly.
//!
//! - [`Format::Oci`]: an OCI image layout whose images follow bpfman's bytecode image spec
//!   (one tar+gzip layer, the object first, `io.ebpf.*` labels), one image per platform under
//!   one image index, with bpfgen's manifest and min-CO-RE BTF in the layer ([`oci`]);
//!   [`Format::OciArchive`] is the same layout as one tar file.
//! - [`Format::EcliJson`] / [`Format::EcliTar`]: eunomia's `package.json` and `package.tar`,
//!   what `ecli` runs ([`ecli`]).
//!
//! Every format is built from the same [`PackageObject`]s and describes them with the same
//! [`manifest`]. Nothing depends on the host, the directory or the time but
//! `SOURCE_DATE_EPOCH`.

pub mod archive;
pub mod ecli;
pub mod manifest;
pub mod oci;
pub mod platform;

use crate::btf::min_core::{Relocated, min_core_btf};
use crate::btf::source::{FileBytes, raw_btf};
use crate::error::{Error, Result};
use crate::object::{BpfObject, ByteOrder, names};
use platform::{KernelBtf, Platform};
use std::path::{Path, PathBuf};

/// The package formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// An OCI image layout directory.
    Oci,
    /// An OCI image layout in one tar file (`skopeo copy oci-archive:FILE ...`).
    OciArchive,
    /// eunomia's `package.json`.
    EcliJson,
    /// eunomia's `package.tar`: `package.json`, the object and a btfhub-layout BTF archive.
    EcliTar,
}

impl Format {
    /// Every format's command-line name, in order.
    pub const NAMES: [&'static str; 4] = ["oci", "oci-archive", "ecli-json", "ecli-tar"];

    /// The output name `bpfgen build --package` gives the package of `stem`.
    pub fn output_name(self, stem: &str) -> String {
        match self {
            Format::Oci => format!("{stem}.oci"),
            Format::OciArchive => format!("{stem}.oci.tar"),
            Format::EcliJson => format!("{stem}.package.json"),
            Format::EcliTar => format!("{stem}.package.tar"),
        }
    }
}

impl std::str::FromStr for Format {
    type Err = Error;
    fn from_str(name: &str) -> Result<Self> {
        match name {
            "oci" => Ok(Format::Oci),
            "oci-archive" => Ok(Format::OciArchive),
            "ecli-json" => Ok(Format::EcliJson),
            "ecli-tar" => Ok(Format::EcliTar),
            other => Err(Error::environment(format!(
                "unknown package format '{other}' (known: {})",
                Format::NAMES.join(", ")
            ))),
        }
    }
}

/// How an object was built, when bpfgen built it (recorded in the manifest).
#[derive(Debug, Clone, Default)]
pub struct BuildInfo {
    /// `clang --version`'s version number.
    pub clang: String,
    /// The compile flags that shape the object (target, arch, defines, include dirs as given,
    /// extra clang arguments).
    pub flags: Vec<String>,
    /// Each source file's name and SHA-256.
    pub sources: Vec<(String, String)>,
}

/// One object to package, for one platform.
pub struct PackageObject {
    /// Its file name inside packages (`helloworld.bpf.o`).
    pub file_name: String,
    /// The object file.
    pub bytes: Vec<u8>,
    /// The object, parsed.
    pub object: BpfObject,
    /// libbpf's object name (`helloworld_bpf`).
    pub obj_name: String,
    /// The platform it is for.
    pub platform: Platform,
    /// min-CO-RE BTF of this platform's kernels for it.
    pub btfs: Vec<(KernelBtf, Vec<u8>)>,
    /// How it was built, when known.
    pub build: Option<BuildInfo>,
}

/// What to package: objects (at most one per platform) and when they were made.
pub struct Package {
    /// The objects, by platform.
    pub objects: Vec<PackageObject>,
    /// `SOURCE_DATE_EPOCH`: the one time written anywhere in a package.
    pub epoch: u64,
    /// The structs ecli prints events as (eunomia's `export_types`).
    pub export_types: Vec<String>,
}

/// One object to read for a package.
pub struct ObjectInput {
    /// The object file.
    pub path: PathBuf,
    /// The platform's name, when the user named one (`arm64=prog.bpf.o`, or `build --arch`);
    /// otherwise the host's, which an object of the other byte order cannot be for.
    pub arch: Option<String>,
    /// How it was built, when bpfgen built it.
    pub build: Option<BuildInfo>,
}

impl Package {
    /// Reads and parses the objects, gives each the min-CO-RE BTF of the `kernels` of its
    /// platform, and checks that no two objects claim one platform.
    pub fn new(inputs: Vec<ObjectInput>, kernels: &[KernelBtf], epoch: u64) -> Result<Self> {
        let kernel_btfs = kernels
            .iter()
            .map(|k| FileBytes::open(&k.path).map(|bytes| (k, bytes)))
            .collect::<Result<Vec<_>>>()?;
        let mut objects: Vec<PackageObject> = Vec::new();
        for input in inputs {
            let object = read_object(input, &kernel_btfs)?;
            if let Some(other) = objects.iter().find(|o| o.platform == object.platform) {
                return Err(Error::environment(format!(
                    "{} and {} are both for {}: name each object's platform (ARCH=OBJECT)",
                    other.file_name, object.file_name, object.platform.arch
                )));
            }
            objects.push(object);
        }
        objects.sort_by_key(|o| o.platform);
        Ok(Package {
            objects,
            epoch,
            export_types: Vec::new(),
        })
    }
}

fn read_object(input: ObjectInput, kernels: &[(&KernelBtf, FileBytes)]) -> Result<PackageObject> {
    let path = &input.path;
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::environment("is not a file").in_file(path))?;
    let obj_name = names::object_name_from_file(&file_name);
    let object = BpfObject::parse(&bytes, &obj_name).map_err(|e| e.in_file(path))?;
    if let Some(linked) = object.first_linked_extern() {
        let why = crate::skel::model::unlinked_extern_message(&linked.name);
        return Err(Error::input(why).in_file(path));
    }
    let big_endian = object.byte_order == ByteOrder::Big;
    let platform = match &input.arch {
        Some(arch) => {
            // An unknown name is a usage error; a known one of the other byte order, the input's.
            Platform::parse(arch, None).map_err(|e| e.in_file(path))?;
            Platform::parse(arch, Some(big_endian)).map_err(|_| {
                Error::input(format!(
                    "is {} and no {arch} platform is",
                    endianness(big_endian)
                ))
                .in_file(path)
            })?
        }
        None => {
            let host = Platform::host()?;
            if host.big_endian != big_endian {
                return Err(Error::environment(format!(
                    "is {} unlike this machine: name its platform (e.g. s390x={})",
                    endianness(big_endian),
                    path.display()
                ))
                .in_file(path));
            }
            host
        }
    };
    let mut btfs = Vec::new();
    for (kernel, full) in kernels.iter().filter(|(k, _)| k.platform == platform) {
        let raw = raw_btf(full).map_err(|e| e.in_file(&kernel.path))?;
        let relocated = Relocated {
            path,
            object: &object,
        };
        let min = min_core_btf(raw, &[relocated]).map_err(|e| e.in_file(&kernel.path))?;
        btfs.push(((*kernel).clone(), min));
    }
    Ok(PackageObject {
        file_name,
        bytes,
        object,
        obj_name,
        platform,
        btfs,
        build: input.build,
    })
}

fn endianness(big_endian: bool) -> &'static str {
    if big_endian {
        "big-endian"
    } else {
        "little-endian"
    }
}

/// A package ready to be written: one file, or a directory of files.
pub enum Rendered {
    /// A single file.
    File(Vec<u8>),
    /// A directory: relative paths and contents.
    Dir(Vec<archive::Entry>),
}

/// `package` in `format`.
pub fn render(package: &Package, format: Format) -> Result<Rendered> {
    match format {
        Format::Oci => oci::layout(package).map(Rendered::Dir),
        Format::OciArchive => {
            let entries = oci::layout(package)?;
            archive::tar(&entries, package.epoch).map(Rendered::File)
        }
        Format::EcliJson => {
            ecli::package_json(single(package)?, &package.export_types).map(Rendered::File)
        }
        Format::EcliTar => {
            ecli::package_tar(single(package)?, &package.export_types, package.epoch)
                .map(Rendered::File)
        }
    }
}

/// The one object of an eunomia package (which has no notion of platforms).
fn single(package: &Package) -> Result<&PackageObject> {
    match package.objects.as_slice() {
        [object] => Ok(object),
        _ => Err(Error::environment(
            "an ecli package holds one object; package each platform's object separately",
        )),
    }
}

/// Writes `rendered` to `out` atomically: a file replaces a file; a directory replaces a
/// previous package directory in one exchange, so readers see the old or the new package.
pub fn write(rendered: &Rendered, out: &Path) -> Result<()> {
    match rendered {
        Rendered::File(bytes) => crate::output::write_atomic(out, bytes),
        Rendered::Dir(entries) => crate::output::write_dir_atomic(
            out,
            entries
                .iter()
                .map(|e| (e.path.as_str(), e.bytes.as_slice())),
            "oci-layout",
        ),
    }
}
