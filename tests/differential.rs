//! bpfgen's skeletons against Debian's bpftool 7.1 (a test oracle only) on fixtures that cover
//! every data-section kind, custom sections, struct_ops, `__kconfig` externs, a map-less program
//! and a BTF-less object.
//!
//! Differences that are bpftool 7.1's (its embedded libbpf 1.1 predates them) are removed from
//! bpftool's side before comparing, each for a stated reason:
//! - it prints empty data-section structs for sections with no exposed variable (libbpf since
//!   3cd45b66 does not memory-map them, and current bpftool omits them);
//! - it does not know `.struct_ops.link` (libbpf 1.2), so such maps are missing;
//! - it has no links for struct_ops maps (map auto-attach, libbpf 1.5).

use crate::skeleton_shape::{SkeletonShape, parse};
use crate::util::*;
use std::path::Path;
use std::process::Command;

const BPF_F_LINK: u64 = 1 << 13;

struct Case {
    stem: &'static str,
    obj: &'static str,
    /// Built without `-g`: no BTF, so bpftool's `gen object` cannot process it.
    no_btf: bool,
}

const CASES: &[Case] = &[
    Case {
        stem: "datasecs",
        obj: "datasecs_bpf",
        no_btf: false,
    },
    Case {
        stem: "struct_ops",
        obj: "struct_ops_bpf",
        no_btf: false,
    },
    Case {
        stem: "kconfig",
        obj: "kconfig_bpf",
        no_btf: false,
    },
    Case {
        stem: "mapless",
        obj: "mapless_bpf",
        no_btf: false,
    },
    Case {
        stem: "hyphen-name",
        obj: "hyphen_name_bpf",
        no_btf: false,
    },
    Case {
        stem: "nobtf",
        obj: "nobtf_bpf",
        no_btf: true,
    },
];

fn clang_raw(source: &Path, out: &Path, debug: bool) {
    let mut cmd = Command::new("clang");
    if debug {
        cmd.arg("-g");
    }
    run_ok(
        cmd.args(["-O2", "-target", "bpf", "-fno-addrsig", "-I"])
            .arg(vmlinux_dir())
            .args(host_clang_flags())
            .arg("-c")
            .arg(source)
            .arg("-o")
            .arg(out),
    );
}

pub fn bpftool_skeleton(object: &Path, name: &str) -> String {
    let out = run_ok(
        Command::new("bpftool")
            .args(["gen", "skeleton"])
            .arg(object)
            .args(["name", name]),
    );
    String::from_utf8(out.stdout).unwrap()
}

/// bpftool's shape with its version's known gaps filled in as current libbpf behaves.
pub fn as_current_libbpf(
    mut shape: SkeletonShape,
    ours: &SkeletonShape,
    link_maps: &[String],
) -> SkeletonShape {
    shape.datasecs.retain(|_, members| !members.is_empty());
    for map in link_maps {
        assert!(
            !shape.maps.contains(map),
            "bpftool 7.1 unexpectedly knows {map}"
        );
        let at = ours.maps.iter().position(|m| m == map).unwrap();
        shape.maps.insert(at.min(shape.maps.len()), map.clone());
    }
    shape.links.extend(ours.struct_ops.iter().cloned());
    shape.struct_ops = ours.struct_ops.clone();
    shape
}

/// Maps that come from `.struct_ops.link`, read from `bpfgen inspect --json`.
pub fn struct_ops_link_maps(object: &Path) -> Vec<String> {
    let out = run_ok(bpfgen().args(["inspect", "--json"]).arg(object));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    report["maps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "struct_ops" && m["flags"].as_u64().unwrap() & BPF_F_LINK != 0)
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn skeleton_members_match_bpftool() {
    let dir = scratch();
    for case in CASES {
        let source = fixture(&format!("{}.bpf.c", case.stem));
        let ours_dir = dir.path().join("ours");
        let mut build = bpfgen();
        build
            .arg("build")
            .arg(&source)
            .arg("-o")
            .arg(&ours_dir)
            .arg("-I")
            .arg(vmlinux_dir());
        if case.no_btf {
            build.args(["--", "-g0"]);
        }
        run_ok(&mut build);
        let our_object = ours_dir.join(format!("{}.bpf.o", case.stem));
        let our_header =
            std::fs::read_to_string(ours_dir.join(format!("{}.skel.h", case.stem))).unwrap();
        let ours = parse(&our_header, case.obj);

        // bpftool's own pipeline: clang, gen object (strip), gen skeleton.
        let raw = dir.path().join(format!("{}.tmp.bpf.o", case.stem));
        clang_raw(&source, &raw, !case.no_btf);
        let theirs_object = if case.no_btf {
            raw.clone()
        } else {
            let stripped = dir.path().join(format!("{}.bpftool.bpf.o", case.stem));
            run_ok(
                Command::new("bpftool")
                    .args(["gen", "object"])
                    .arg(&stripped)
                    .arg(&raw),
            );
            stripped
        };
        let theirs = parse(&bpftool_skeleton(&theirs_object, case.obj), case.obj);
        let expected = as_current_libbpf(theirs, &ours, &struct_ops_link_maps(&our_object));
        assert_eq!(
            ours, expected,
            "{}: bpfgen vs bpftool skeleton members",
            case.stem
        );

        // bpftool accepts bpfgen's stripped object and sees the same skeleton in it.
        let theirs_on_ours = parse(&bpftool_skeleton(&our_object, case.obj), case.obj);
        let expected = as_current_libbpf(theirs_on_ours, &ours, &struct_ops_link_maps(&our_object));
        assert_eq!(
            ours, expected,
            "{}: bpftool reading bpfgen's object",
            case.stem
        );
    }
}

#[test]
fn kconfig_layout_matches_bpftool() {
    // The .kconfig struct is laid out by bpfgen itself (libbpf's extern sort); bpftool reads
    // libbpf's layout. Same members in the same order, same padding.
    let dir = build_fixture("datasecs");
    let ours = parse(
        &std::fs::read_to_string(dir.path().join("datasecs.skel.h")).unwrap(),
        "datasecs_bpf",
    );
    let theirs = parse(
        &bpftool_skeleton(&dir.path().join("datasecs.bpf.o"), "datasecs_bpf"),
        "datasecs_bpf",
    );
    assert_eq!(ours.datasecs["kconfig"], theirs.datasecs["kconfig"]);
    assert_eq!(ours.datasecs["kconfig"][0], "CONFIG_XYZ");
}
