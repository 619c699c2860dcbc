//! `bpfgen package` and `build --package`: OCI layouts that pass the image-layout and bpfman
//! checks, the manifest against its schema, eunomia packages that eunomia's own loader
//! (bpf-loader-lib, what `ecli` runs) loads and attaches, min-CO-RE BTF inside, byte-identical
//! outputs across directories, and one-line errors.

use crate::min_core::min_core_btf;
use crate::util::*;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

/// The entries of a tar archive, in order.
fn untar(bytes: &[u8]) -> Files {
    let mut archive = tar::Archive::new(bytes);
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            (e.path().unwrap().display().to_string(), data)
        })
        .collect()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// A btfhub-style tree of the kernels in tests/data plus the running one.
fn btfhub_tree(dir: &Path) -> PathBuf {
    let root = dir.join("btfhub");
    for (kernel, release) in [
        (KERNELS[0], "6.1.0-56-amd64"),
        (KERNELS[1], "6.12.117-amd64"),
    ] {
        let at = root.join("debian/12/x86_64");
        std::fs::create_dir_all(&at).unwrap();
        std::fs::copy(kernel_btf(kernel), at.join(format!("{release}.btf"))).unwrap();
    }
    root
}

/// A descriptor's blob, checked: it exists, its size and digest are the descriptor's.
fn blob(layout: &Path, descriptor: &Value) -> Vec<u8> {
    let digest = descriptor["digest"].as_str().unwrap();
    let hex = digest.strip_prefix("sha256:").unwrap();
    let bytes = std::fs::read(layout.join("blobs/sha256").join(hex)).unwrap();
    assert_eq!(sha256(&bytes), hex, "blob digest");
    assert_eq!(descriptor["size"].as_u64().unwrap(), bytes.len() as u64);
    bytes
}

/// Files of an archive: paths and contents, in order.
type Files = Vec<(String, Vec<u8>)>;

/// Every check the issue names on one OCI layout; returns each platform's
/// (architecture, layer entries, labels).
fn check_oci_layout(layout: &Path, scratch: &Path) -> Vec<(String, Files, Value)> {
    assert_eq!(
        json(&std::fs::read(layout.join("oci-layout")).unwrap()),
        serde_json::json!({"imageLayoutVersion": "1.0.0"})
    );
    // Every blob is named by its digest.
    for entry in std::fs::read_dir(layout.join("blobs/sha256")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(sha256(&std::fs::read(&path).unwrap()), name);
    }
    let top = json(&std::fs::read(layout.join("index.json")).unwrap());
    assert_eq!(top["schemaVersion"], 2);
    let refs = top["manifests"].as_array().unwrap();
    assert_eq!(refs.len(), 1);
    assert_eq!(
        refs[0]["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    assert_eq!(
        refs[0]["annotations"]["org.opencontainers.image.ref.name"],
        "latest"
    );
    let index = json(&blob(layout, &refs[0]));
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let mut images = Vec::new();
    let mut previous_arch = String::new();
    for descriptor in index["manifests"].as_array().unwrap() {
        assert_eq!(
            descriptor["mediaType"],
            "application/vnd.oci.image.manifest.v1+json"
        );
        assert_eq!(descriptor["platform"]["os"], "linux");
        let arch = descriptor["platform"]["architecture"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(arch > previous_arch, "platforms sorted");
        previous_arch.clone_from(&arch);
        let manifest = json(&blob(layout, descriptor));
        assert_eq!(manifest["schemaVersion"], 2);
        assert_eq!(
            manifest["mediaType"],
            "application/vnd.oci.image.manifest.v1+json"
        );
        assert_eq!(
            manifest["config"]["mediaType"],
            "application/vnd.oci.image.config.v1+json"
        );
        let layers = manifest["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 1, "bpfman: exactly one layer");
        assert_eq!(
            layers[0]["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+gzip"
        );
        let layer_tar = gunzip(&blob(layout, &layers[0]));
        let config = json(&blob(layout, &manifest["config"]));
        assert_eq!(config["architecture"], arch.as_str());
        assert_eq!(config["os"], "linux");
        assert_eq!(
            config["rootfs"]["diff_ids"][0],
            format!("sha256:{}", sha256(&layer_tar)).as_str()
        );
        let entries = untar(&layer_tar);
        // bpfman's Rust puller takes the first entry, its Go puller the first `*.o`.
        assert!(entries[0].0.ends_with(".o"), "{}", entries[0].0);
        assert_eq!(&entries[0].1[..4], b"\x7fELF");
        let machine = [entries[0].1[18], entries[0].1[19]];
        let machine = match entries[0].1[5] {
            2 => u16::from_be_bytes(machine),
            _ => u16::from_le_bytes(machine),
        };
        assert_eq!(machine, 247, "EM_BPF");
        assert_eq!(
            entries.iter().filter(|(p, _)| p.ends_with(".o")).count(),
            1,
            "the only object"
        );
        assert_eq!(entries[1].0, "bpfgen.manifest.json");
        assert_matches_schema("bpfgen.manifest.schema.json", &entries[1].1, scratch);
        let bpfgen_manifest = json(&entries[1].1);
        assert_eq!(
            bpfgen_manifest["object"]["sha256"],
            sha256(&entries[0].1).as_str()
        );
        for btf in bpfgen_manifest["btf"].as_array().unwrap() {
            let path = btf["path"].as_str().unwrap();
            let (_, bytes) = entries.iter().find(|(p, _)| p == path).unwrap();
            assert_eq!(btf["sha256"], sha256(bytes).as_str());
        }
        let labels = &config["config"]["Labels"];
        let parsed = serde_json::json!({
            "programs": json(labels["io.ebpf.programs"].as_str().unwrap().as_bytes()),
            "maps": json(labels["io.ebpf.maps"].as_str().unwrap().as_bytes()),
        });
        images.push((arch, entries, parsed));
    }
    images
}

#[test]
fn build_package_writes_oci_layouts_that_pass_the_image_and_bpfman_checks() {
    let dir = scratch();
    let btfhub = btfhub_tree(dir.path());
    let out = dir.path().join("out");
    run_ok(
        bpfgen()
            .args(["build", "--skel", "none", "--package", "-o"])
            .arg(&out)
            .arg("-I")
            .arg(example(""))
            .arg(example("bootstrap.bpf.c"))
            .arg(example("xdp.bpf.c"))
            .arg("--package-btf")
            .arg(&btfhub),
    );
    let images = check_oci_layout(&out.join("bootstrap.oci"), dir.path());
    let [(arch, entries, labels)] = images.as_slice() else {
        panic!("one platform: {images:?}")
    };
    assert_eq!(arch, "amd64");
    assert_eq!(
        labels,
        &serde_json::json!({
            "programs": {"handle_exec": "tracepoint", "handle_exit": "tracepoint"},
            "maps": {"exec_start": "hash", "rb": "ringbuf"},
        })
    );
    let names: Vec<&str> = entries.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        names,
        [
            "bootstrap.bpf.o",
            "bpfgen.manifest.json",
            "btf/debian/12/x86_64/6.1.0-56-amd64.btf",
            "btf/debian/12/x86_64/6.12.117-amd64.btf",
        ]
    );
    assert_eq!(
        entries[0].1,
        std::fs::read(out.join("bootstrap.bpf.o")).unwrap(),
        "the built object, as built"
    );
    // The min-CO-RE BTF inside is what `gen min-core-btf` writes for that kernel.
    let alone = dir.path().join("alone.btf");
    min_core_btf(
        &kernel_btf(KERNELS[0]),
        &alone,
        &[out.join("bootstrap.bpf.o")],
    );
    assert_eq!(entries[2].1, std::fs::read(&alone).unwrap());
    let manifest = json(&entries[1].1);
    assert_eq!(
        manifest["build"]["clang"]
            .as_str()
            .unwrap()
            .split('.')
            .count(),
        3
    );
    assert_eq!(
        manifest["build"]["sources"][0]["sha256"],
        sha256(&std::fs::read(example("bootstrap.bpf.c")).unwrap()).as_str()
    );
    assert!(
        manifest["coreRelocations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["access"] == "task_struct->real_parent")
    );

    let xdp = check_oci_layout(&out.join("xdp.oci"), dir.path());
    assert_eq!(
        xdp[0].2["programs"],
        serde_json::json!({"xdp_count": "xdp"})
    );
}

#[test]
fn objects_for_several_platforms_share_one_image_index() {
    let dir = scratch();
    for (arch, target) in [("x86", "bpfel"), ("arm64", "bpfel"), ("s390", "bpfeb")] {
        run_ok(
            bpfgen()
                .args([
                    "build",
                    "--skel",
                    "none",
                    "--no-check",
                    "--arch",
                    arch,
                    "--target",
                    target,
                ])
                .arg("-o")
                .arg(dir.path().join(arch))
                .arg(example("minimal.bpf.c")),
        );
    }
    let object = |arch: &str| dir.path().join(arch).join("minimal.bpf.o");
    let layout = dir.path().join("minimal.oci");
    run_ok(
        bpfgen()
            .arg("package")
            .arg(format!("s390x={}", object("s390").display()))
            .arg(format!("amd64={}", object("x86").display()))
            .arg(format!("arm64={}", object("arm64").display()))
            .arg("-o")
            .arg(&layout),
    );
    let images = check_oci_layout(&layout, dir.path());
    let arches: Vec<&str> = images.iter().map(|(a, ..)| a.as_str()).collect();
    assert_eq!(arches, ["amd64", "arm64", "s390x"]);
    let s390 = json(&images[2].1[1].1);
    assert_eq!(s390["object"]["target"], "bpfeb");

    // A big-endian object is not this machine's; one platform cannot have two objects.
    let spell = |arch: &str, stem: &str| format!("{arch}={}", object(stem).display());
    let cases: [(Vec<String>, i32, &str); 4] = [
        (
            vec![object("s390").display().to_string()],
            2,
            "name its platform",
        ),
        (
            vec![object("x86").display().to_string(), spell("amd64", "arm64")],
            2,
            "are both for amd64",
        ),
        (vec![spell("s390x", "x86")], 1, "no s390x platform is"),
        (vec![spell("vax", "x86")], 2, "unknown platform 'vax'"),
    ];
    for (objects, code, needle) in cases {
        let out = run(bpfgen()
            .arg("package")
            .args(&objects)
            .arg("-o")
            .arg(dir.path().join("x.oci")));
        assert_eq!(
            out.status.code(),
            Some(code),
            "{objects:?}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains(needle),
            "{objects:?}: {}",
            stderr(&out)
        );
    }
    assert!(!dir.path().join("x.oci").exists());
}

/// Every format, built in two directories from copies of the example and packaged with
/// paths spelled differently, is byte for byte the same; SOURCE_DATE_EPOCH is the only
/// time in it.
#[test]
fn every_format_is_byte_identical_across_directories() {
    let formats = [
        ("oci", "p.oci"),
        ("oci-archive", "p.tar"),
        ("ecli-json", "p.json"),
        ("ecli-tar", "p.package.tar"),
    ];
    let make = |root: &Path| {
        std::fs::create_dir_all(root).unwrap();
        std::fs::copy(example("bootstrap.bpf.c"), root.join("bootstrap.bpf.c")).unwrap();
        std::fs::copy(example("bootstrap.h"), root.join("bootstrap.h")).unwrap();
        run_ok(bpfgen().current_dir(root).args([
            "build",
            "--skel",
            "none",
            "bootstrap.bpf.c",
            "-o",
            "out",
        ]));
        for (format, out) in formats {
            run_ok(
                bpfgen()
                    .current_dir(root)
                    .env("SOURCE_DATE_EPOCH", "1700000000")
                    .args(["package", "--format", format, "-o", out])
                    .arg(root.join("out/bootstrap.bpf.o"))
                    .arg("--btf")
                    .arg(kernel_btf_in_tree(root)),
            );
        }
    };
    let dir = scratch();
    let (a, b) = (dir.path().join("a"), dir.path().join("b/deeper"));
    make(&a);
    make(&b);
    for (_, out) in formats {
        assert!(tree(&a.join(out)) == tree(&b.join(out)), "{out} differs");
    }
    let mut archive = untar(&std::fs::read(a.join("p.tar")).unwrap());
    archive.sort();
    assert!(
        archive == tree(&a.join("p.oci")),
        "oci-archive is the layout as a tar"
    );
    let mut header = tar::Archive::new(std::fs::File::open(a.join("p.package.tar")).unwrap());
    for entry in header.entries().unwrap() {
        let entry = entry.unwrap();
        assert_eq!(entry.header().mtime().unwrap(), 1_700_000_000);
        assert_eq!(entry.header().uid().unwrap(), 0);
    }
    let index = json(&std::fs::read(a.join("p.oci/index.json")).unwrap());
    let nested = json(&blob(&a.join("p.oci"), &index["manifests"][0]));
    assert_eq!(
        nested["annotations"]["org.opencontainers.image.created"],
        "2023-11-14T22:13:20Z"
    );
}

/// A kernel BTF file placed in a btfhub-style tree under `root`.
fn kernel_btf_in_tree(root: &Path) -> PathBuf {
    let file = root.join("kernels/debian/12/x86_64/6.1.0-56-amd64.btf");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::copy(kernel_btf(KERNELS[0]), &file).unwrap();
    file
}

/// A file's bytes, or a directory's files by relative path, sorted.
fn tree(path: &Path) -> Files {
    if path.is_file() {
        return vec![(String::new(), std::fs::read(path).unwrap())];
    }
    let mut files = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(path).unwrap().display().to_string();
                files.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    files.sort();
    files
}

/// The ecli loader test crate (tests/ecli-loader, on eunomia's bpf-loader-lib), built once.
fn ecli_loader() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        const TARGET: &str = "ecli-loader";
        run_ok(&mut test_crate_cargo("ecli-loader", TARGET, "build", &[]));
        repo().join("target").join(TARGET).join("debug/ecli-loader")
    })
}

#[test]
fn eunomias_loader_loads_and_attaches_bpfgens_ecli_packages() {
    if !kernel_available("eunomias_loader_loads_and_attaches_bpfgens_ecli_packages") {
        return;
    }
    let dir = scratch();
    run_ok(
        bpfgen()
            .args(["build", "--skel", "none", "--package=ecli-json", "-o"])
            .arg(dir.path())
            .arg(example("helloworld.bpf.c")),
    );
    let package = dir.path().join("helloworld.package.json");
    let meta = json(&std::fs::read(&package).unwrap());
    assert_eq!(meta["meta"]["bpf_skel"]["obj_name"], "helloworld_bpf");
    assert_eq!(
        meta["meta"]["bpf_skel"]["progs"][0]["attach"],
        "tracepoint/syscalls/sys_enter_execve"
    );
    let out = run_ok(
        Command::new(ecli_loader())
            .arg(&package)
            .args(["--seconds", "1"]),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "loaded and attached: helloworld_bpf (1 programs)\n"
    );

    // package.tar: the loader finds the min-CO-RE BTF for this system in btfhub-archive/,
    // and prints the ring buffer's events as the exported struct.
    let tar_path = dir.path().join("switches.package.tar");
    run_ok(
        bpfgen()
            .args(["build", "--skel", "none", "-o"])
            .arg(dir.path())
            .arg(fixture("package/switches.bpf.c")),
    );
    run_ok(
        bpfgen()
            .args(["package", "--format", "ecli-tar", "--export-type", "event"])
            .arg(dir.path().join("switches.bpf.o"))
            .args(["--btf", "/sys/kernel/btf/vmlinux", "-o"])
            .arg(&tar_path),
    );
    let unpacked = dir.path().join("unpacked");
    let mut btf_files = Vec::new();
    for (path, bytes) in untar(&std::fs::read(&tar_path).unwrap()) {
        let at = unpacked.join(&path);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::fs::write(&at, bytes).unwrap();
        if path.starts_with("btfhub-archive/") {
            btf_files.push(at);
        }
    }
    let [btf] = btf_files.as_slice() else {
        panic!("one kernel's BTF: {btf_files:?}")
    };
    // On a kernel without BTF of its own (this one's hidden), the loader relocates the
    // CO-RE reads with the package's min-CO-RE BTF and decodes the events as the exported
    // struct. (bpf-loader-lib 0.2.1 passes libbpf the path it builds from --btf-archive
    // without a terminating NUL, so the file is given through BTF_FILE_PATH, its fallback.)
    let loader = |btf: &Path| {
        let mut cmd = without_kernel_btf(dir.path());
        cmd.env("BTF_FILE_PATH", btf)
            .arg(ecli_loader())
            .arg(unpacked.join("package.json"))
            .args(["--seconds", "1"]);
        run(&mut cmd)
    };
    let out = loader(btf);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "loaded and attached: switches_bpf (1 programs)\n"
    );
    let events = stderr(&out);
    let summary = events.lines().last().unwrap();
    assert!(
        summary.contains(" events; first: {\"comm\":") && summary.contains("\"ppid\":"),
        "{events}"
    );
    // Another object's min-CO-RE BTF does not have the task_struct members: no load.
    let other = dir.path().join("helloworld.btf");
    min_core_btf(
        Path::new("/sys/kernel/btf/vmlinux"),
        &other,
        &[dir.path().join("helloworld.bpf.o")],
    );
    let out = loader(&other);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("failed to load and attach"),
        "{}",
        stderr(&out)
    );

    let out = run(bpfgen()
        .args([
            "package",
            "--format",
            "ecli-json",
            "--export-type",
            "no_such",
        ])
        .arg(dir.path().join("switches.bpf.o"))
        .arg("-o")
        .arg(dir.path().join("x.json")));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("has no struct no_such"),
        "{}",
        stderr(&out)
    );
}

/// A command prefix that runs a program in a private mount namespace where
/// /sys/kernel/btf/vmlinux cannot be read: a kernel without BTF, as far as loaders can tell.
fn without_kernel_btf(scratch: &Path) -> Command {
    let mask = scratch.join("no-kernel-btf");
    std::fs::write(&mask, b"").unwrap();
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg("mount --bind \"$0\" /sys/kernel/btf/vmlinux && exec \"$@\"")
        .arg(&mask);
    cmd
}

#[test]
fn bad_inputs_are_one_line_errors_and_leave_outputs_alone() {
    let dir = scratch();
    let object = built_example(dir.path(), "minimal");
    let text = dir.path().join("notes.o");
    std::fs::write(&text, "not an object").unwrap();
    let previous = dir.path().join("previous.json");
    std::fs::write(&previous, "previous").unwrap();
    let foreign = dir.path().join("mine");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("keep.txt"), "keep").unwrap();
    let not_a_dir = dir.path().join("minimal.bpf.o/p.oci");
    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (
            vec![
                text.display().to_string(),
                "--format".into(),
                "ecli-json".into(),
            ],
            1,
            "notes.o",
        ),
        (
            vec![
                "/usr/bin/true".into(),
                "--format".into(),
                "ecli-json".into(),
            ],
            1,
            "/usr/bin/true",
        ),
        (
            vec![
                object.display().to_string(),
                "--btf".into(),
                object.display().to_string(),
            ],
            2,
            "cannot tell which kernel",
        ),
    ];
    for (args, code, needle) in cases {
        let out = run(bpfgen().arg("package").args(&args).arg("-o").arg(&previous));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(std::fs::read(&previous).unwrap(), b"previous");
    }
    for out_path in [&foreign, &not_a_dir] {
        let out = run(bpfgen().arg("package").arg(&object).arg("-o").arg(out_path));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(&*out_path.display().to_string()), "{err}");
    }
    assert_eq!(std::fs::read(foreign.join("keep.txt")).unwrap(), b"keep");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn objects_with_kconfig_externs_package_in_every_format_and_load() {
    let dir = scratch();
    run_ok(
        bpfgen()
            .args(["build", "--skel", "none", "-o"])
            .arg(dir.path())
            .arg(fixture("package/kconfig_externs.bpf.c")),
    );
    let object = dir.path().join("kconfig_externs.bpf.o");
    let package = |format: &str, out: &Path| {
        run_ok(
            bpfgen()
                .args(["package", "--format", format])
                .arg(&object)
                .arg("-o")
                .arg(out),
        );
    };
    let layout = dir.path().join("oci");
    package("oci", &layout);
    let images = check_oci_layout(&layout, dir.path());
    let manifest = json(&images[0].1[1].1);
    assert_eq!(
        manifest["externs"],
        serde_json::json!([
            {"name": "CONFIG_BPF_SYSCALL", "kind": "kconfig", "weak": true, "type": "_Bool"},
            {"name": "LINUX_KERNEL_VERSION", "kind": "kconfig", "weak": false, "type": "int"},
        ])
    );
    package("oci-archive", &dir.path().join("image.tar"));
    package("ecli-tar", &dir.path().join("package.tar"));
    let ecli = dir.path().join("package.json");
    package("ecli-json", &ecli);
    if !kernel_available("objects_with_kconfig_externs_package_in_every_format_and_load") {
        return;
    }
    let out = run_ok(
        Command::new(ecli_loader())
            .arg(&ecli)
            .args(["--seconds", "1"]),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "loaded and attached: kconfig_externs_bpf (1 programs)\n"
    );
}
