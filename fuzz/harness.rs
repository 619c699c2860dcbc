// What each fuzz target does with one input. Included (with `include!`) by the cargo-fuzz
// targets in fuzz_targets/ and by tests/fuzz_corpus.rs, which replays the stored corpus and
// every crash regression in plain `cargo test`. Errors are fine; panics, hangs and unbounded
// allocation are the bugs.

/// Reads an object, then everything bpfgen derives from it: skeleton model, C skeleton,
/// inspect report.
pub fn object_read(data: &[u8]) {
    let Ok(object) = bpfgen::object::BpfObject::parse(data, "fuzz_bpf") else {
        return;
    };
    let _ = bpfgen::skel::generate(&object, "fuzz_bpf", data, &bpfgen::skel::Lang::C);
    if let Ok(report) = bpfgen::inspect::Report::new(&object) {
        let _ = report.to_json();
        let _ = report.to_text();
    }
}

/// Reads an object and runs every `bpfgen check` rule on it, with its own BTF as the target
/// kernel: every CO-RE relocation is resolved against the types it was written for.
pub fn check(data: &[u8]) {
    let Ok(object) = bpfgen::object::BpfObject::parse(data, "fuzz_bpf") else {
        return;
    };
    let targets = bpfgen::btf::source::raw_btf(data)
        .and_then(|raw| bpfgen::btf::table::TypeTable::from_bytes(raw, None))
        .map(|types| vec![bpfgen::btf::core::Target::new("self", types)])
        .unwrap_or_default();
    let options = bpfgen::check::Options::with_targets(targets);
    if let Ok(findings) = bpfgen::check::check_object(&object, "fuzz.bpf.o", &options) {
        for finding in &findings {
            let _ = finding.render_human();
            let _ = finding.render_json();
        }
    }
}

/// Parses `.BTF.ext` against the strings of a BTF: the first two bytes give the length of the
/// BTF part, the rest is the `.BTF.ext` section.
pub fn btf_ext(data: &[u8]) {
    let Some((len, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let split = (u16::from_le_bytes(*len) as usize).min(rest.len());
    let (btf, ext) = rest.split_at(split);
    if let Ok(types) = bpfgen::btf::table::TypeTable::from_bytes(btf, None) {
        let _ = bpfgen::btf::ext::BtfExt::parse(ext, &types);
    }
}

/// Indexes raw BTF, then writes the whole C header and every type's skeleton declaration.
pub fn btf_to_c(data: &[u8]) {
    let Ok(table) = bpfgen::btf::table::TypeTable::from_bytes(data, None) else {
        return;
    };
    let _ = bpfgen::btf::dump::vmlinux_header(&table);
    let style = bpfgen::btf::dump::DeclStyle {
        strip_mods: true,
        keep_typedef: &|table: &bpfgen::btf::table::TypeTable, id: u32| {
            table
                .get(id)
                .is_ok_and(|ty| table.name(ty.name).starts_with("__u"))
        },
        bool_keyword: true,
        avoid_keywords: true,
    };
    for id in 1..table.len().min(256) {
        let _ = bpfgen::btf::dump::declaration(&table, id, "x", 1, &style);
    }
}

/// Indexes raw BTF, then writes Rust types for its first few hundred types.
pub fn btf_to_rust(data: &[u8]) {
    let Ok(table) = bpfgen::btf::table::TypeTable::from_bytes(data, None) else {
        return;
    };
    let roots: Vec<u32> = (1..table.len().min(512)).collect();
    let _ = bpfgen::btf::rust::rust_types(&table, &roots);
}

/// Splits one fuzz input into at most `max` inputs: each but the last is a 4-byte
/// little-endian length and that many bytes (fewer when the input ends first); the last is
/// whatever remains. Used by the targets that take several files at once.
pub fn frames(mut data: &[u8], max: usize) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    while parts.len() + 1 < max {
        let Some((len, rest)) = data.split_first_chunk::<4>() else {
            break;
        };
        let (part, rest) = rest.split_at((u32::from_le_bytes(*len) as usize).min(rest.len()));
        parts.push(part);
        data = rest;
    }
    parts.push(data);
    parts
}

/// `bpfgen gen object`: up to four objects framed in one input are linked; the linked object
/// must read back through the object reader, or the inputs must be rejected as invalid. The
/// command calls a linked object that does not read back "a bpfgen bug" (its only such
/// message); here that is a panic. Errors are not searched for the words: names in them come
/// from the input, and the fuzzer spells "bpfgen bug" into a symbol name within minutes.
pub fn link(data: &[u8]) {
    let inputs: Vec<(String, Vec<u8>)> = frames(data, 4)
        .into_iter()
        .enumerate()
        .map(|(i, bytes)| (format!("in{i}.bpf.o"), bytes.to_vec()))
        .collect();
    if let Ok(linked) = bpfgen::link::link(&inputs)
        && let Err(e) = bpfgen::object::BpfObject::parse(&linked, "linked")
    {
        panic!("the linked object does not read back: {}", e.message());
    }
}

/// The Rust skeleton and the C subskeleton of an object: the data-section layout path
/// (variables' offsets and sizes become padding and fields).
pub fn skeletons(data: &[u8]) {
    let Ok(object) = bpfgen::object::BpfObject::parse(data, "fuzz_bpf") else {
        return;
    };
    let rust = bpfgen::skel::Lang::Rust {
        type_prefix: bpfgen::skel::rust::type_prefix("fuzz.bpf.o"),
        embed: bpfgen::skel::rust::Embed::Bytes,
    };
    let _ = bpfgen::skel::generate(&object, "fuzz_bpf", data, &rust);
    let _ = bpfgen::skel::subskel::render(&object, "fuzz_bpf");
}

/// A kernel's BTF, indexed as `check --btf` indexes it, for the targets that take one.
fn kernel_target(kernel: &[u8]) -> Option<bpfgen::btf::core::Target> {
    let raw = bpfgen::btf::source::raw_btf(kernel).ok()?;
    let types = bpfgen::btf::table::TypeTable::from_bytes(raw, None).ok()?;
    Some(bpfgen::btf::core::Target::new("kernel.btf", types))
}

/// `bpfgen gen min-core-btf KERNEL OUT OBJECT`: an object and a kernel BTF framed in one
/// input. What is written must be BTF bpfgen reads back.
pub fn min_core(data: &[u8]) {
    let [object_bytes, kernel] = frames(data, 2)[..] else {
        return;
    };
    let Ok(object) = bpfgen::object::BpfObject::parse(object_bytes, "fuzz_bpf") else {
        return;
    };
    let Ok(raw) = bpfgen::btf::source::raw_btf(kernel) else {
        return;
    };
    let path = std::path::Path::new("fuzz.bpf.o");
    let relocated = [bpfgen::btf::min_core::Relocated {
        path,
        object: &object,
    }];
    if let Ok(btf) = bpfgen::btf::min_core::min_core_btf(raw, &relocated)
        && let Err(e) = bpfgen::btf::table::TypeTable::from_bytes(&btf, None)
    {
        panic!("min-CO-RE BTF does not read back: {}", e.message());
    }
}

/// `bpfgen check OBJECT --btf KERNEL`: every rule, with CO-RE relocations resolved against a
/// separately fuzzed kernel BTF (an object and a kernel BTF framed in one input).
pub fn check_kernel(data: &[u8]) {
    let [object_bytes, kernel] = frames(data, 2)[..] else {
        return;
    };
    let Ok(object) = bpfgen::object::BpfObject::parse(object_bytes, "fuzz_bpf") else {
        return;
    };
    let options = bpfgen::check::Options::with_targets(kernel_target(kernel).into_iter().collect());
    if let Ok(findings) = bpfgen::check::check_object(&object, "fuzz.bpf.o", &options) {
        for finding in &findings {
            let _ = finding.render_human();
            let _ = finding.render_json();
        }
    }
}

/// Split BTF on a base (`btf dump --base`, `gen vmlinux --base`): base and split framed in
/// one input, indexed together and written as a C header.
pub fn split_btf(data: &[u8]) {
    let [base, split] = frames(data, 2)[..] else {
        return;
    };
    let (Ok(base), Ok(split)) = (
        bpfgen::btf::source::raw_btf(base),
        bpfgen::btf::source::raw_btf(split),
    ) else {
        return;
    };
    if let Ok(table) = bpfgen::btf::table::TypeTable::from_bytes(split, Some(base)) {
        let _ = bpfgen::btf::dump::vmlinux_header(&table);
    }
}

/// A directory of its own for a target that needs files (removed when dropped).
struct ScratchDir(std::path::PathBuf);

impl ScratchDir {
    fn new(target: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "bpfgen-fuzz-{target}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory");
        ScratchDir(dir)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `bpfgen package OBJECT --btf KERNEL` in every format, and the manifest: an object and a
/// kernel BTF (placed in a btfhub-style tree) framed in one input.
pub fn package(data: &[u8]) {
    let [object_bytes, kernel] = frames(data, 2)[..] else {
        return;
    };
    // Objects the reader refuses never reach the package code: skip the files for them.
    if bpfgen::object::BpfObject::parse(object_bytes, "fuzz_bpf").is_err() {
        return;
    }
    let dir = ScratchDir::new("package");
    let object_path = dir.0.join("fuzz.bpf.o");
    std::fs::write(&object_path, object_bytes).expect("write object");
    let mut kernels = Vec::new();
    if !kernel.is_empty() {
        let machine = dir.0.join("debian/12").join(std::env::consts::ARCH);
        std::fs::create_dir_all(&machine).expect("btfhub tree");
        let kernel_path = machine.join("6.1.0-fuzz.btf");
        std::fs::write(&kernel_path, kernel).expect("write kernel BTF");
        kernels = bpfgen::package::platform::KernelBtf::discover(&kernel_path)
            .expect("a btfhub-style path names a kernel");
    }
    let input = bpfgen::package::ObjectInput {
        path: object_path,
        arch: None,
        build: None,
    };
    let Ok(mut package) = bpfgen::package::Package::new(vec![input], &kernels, 0) else {
        return;
    };
    package.export_types = vec!["event".to_string()];
    for object in &package.objects {
        let _ = bpfgen::package::manifest::manifest(object, 0);
    }
    let _ = bpfgen::package::oci::programs_bpfman_skips(&package);
    for name in bpfgen::package::Format::NAMES {
        let format: bpfgen::package::Format = name.parse().expect("a known format");
        let _ = bpfgen::package::render(&package, format);
    }
}

/// `bpfgen check OBJECT`'s own path: the bytes checked as the command checks them (an object
/// libbpf could not open is a finding), then the findings pointed at source files. An object
/// and a source text are framed in one input; the text is written under the base name of
/// every file a finding names, in a directory of its own, and no finding may end up naming
/// a file outside that directory.
pub fn check_source(data: &[u8]) {
    let [object_bytes, source] = frames(data, 2)[..] else {
        return;
    };
    let targets = bpfgen::btf::source::raw_btf(object_bytes)
        .ok()
        .and_then(kernel_target)
        .into_iter()
        .collect();
    let options = bpfgen::check::Options::with_targets(targets);
    let Ok(mut findings) =
        bpfgen::check::check_bytes(object_bytes, "fuzz.bpf.o", "fuzz_bpf", &options)
    else {
        return;
    };
    let dir = ScratchDir::new("check_source");
    for finding in &findings {
        let Some(location) = &finding.location else {
            continue;
        };
        if let Some(name) = std::path::Path::new(&location.file).file_name() {
            let _ = std::fs::write(dir.0.join(name), source);
        }
    }
    let carried: std::collections::HashSet<String> = findings
        .iter()
        .filter_map(|f| Some(f.location.as_ref()?.text.clone()))
        .collect();
    bpfgen::check::attach_sources(&mut findings, &[&dir.0]);
    let root = std::fs::canonicalize(&dir.0).expect("scratch directory");
    for finding in &findings {
        if let Some(location) = &finding.location {
            if std::path::Path::new(&location.file).starts_with(&dir.0) {
                let path = std::fs::canonicalize(&location.file).expect("an attached file");
                assert!(
                    path.starts_with(&root),
                    "a finding quotes {}",
                    path.display()
                );
            } else {
                assert!(
                    carried.contains(&location.text),
                    "a finding quotes a line neither the object nor the source root holds: {}",
                    location.file
                );
            }
        }
        let _ = finding.render_human();
        let _ = finding.render_json();
    }
}
