//! Every generated skeleton compiles with -Wall -Werror as C and as C++, against the system's
//! libbpf 1.1 and against libbpf 1.7 (bpftool's headers break when versions differ).

use crate::util::*;
use std::path::Path;
use std::process::Command;

const FIXTURES: &[(&str, &str)] = &[
    ("datasecs", "datasecs_bpf"),
    ("struct_ops", "struct_ops_bpf"),
    ("kconfig", "kconfig_bpf"),
    ("mapless", "mapless_bpf"),
    ("hyphen-name", "hyphen_name_bpf"),
    ("1st", "_1st_bpf"),
    ("nobtf", "nobtf_bpf"),
    ("tricky", "tricky_bpf"),
];

/// A translation unit that includes the header and uses its whole API.
fn translation_unit(stem: &str, obj: &str) -> String {
    format!(
        "/* the types datasecs.bpf.c shares with user space */\n\
         struct point {{ int x, y; }};\n\
         enum color {{ RED, GREEN, BLUE }};\n\
         #include \"{stem}.skel.h\"\n\
         int main(void)\n\
         {{\n\
         \tstruct {obj} *skel = {obj}__open();\n\
         \tsize_t size;\n\
         \tif (!skel || {obj}__load(skel) || {obj}__attach(skel))\n\
         \t\treturn 1;\n\
         \t{obj}__detach(skel);\n\
         \t(void){obj}__elf_bytes(&size);\n\
         \t{obj}__destroy(skel);\n\
         \treturn {obj}__open_and_load() == NULL;\n\
         }}\n"
    )
}

fn compile(dir: &Path, stem: &str, obj: &str, cxx: bool, extra: &[String]) {
    let ext = if cxx { "cc" } else { "c" };
    let tu = dir.join(format!("{stem}-use.{ext}"));
    std::fs::write(&tu, translation_unit(stem, obj)).unwrap();
    let mut cmd = Command::new(if cxx { "g++" } else { "gcc" });
    cmd.args(["-Wall", "-Wextra", "-Werror", "-c"])
        .args(extra)
        .arg("-I")
        .arg(dir)
        .arg(&tu)
        .arg("-o")
        .arg(dir.join(format!("{stem}-{ext}.o")));
    run_ok(&mut cmd);
}

#[test]
fn skeletons_compile_as_c_and_cxx_against_libbpf_1_1_and_1_7() {
    let dir = scratch();
    for (stem, _) in FIXTURES {
        let mut cmd = bpfgen();
        cmd.arg("build")
            .arg(fixture(&format!("{stem}.bpf.c")))
            .arg("-o")
            .arg(dir.path());
        if *stem == "nobtf" {
            cmd.args(["--", "-g0"]);
        }
        run_ok(&mut cmd);
    }
    let libbpf17 = libbpf17_include_flags();
    for (stem, obj) in FIXTURES {
        for cxx in [false, true] {
            compile(dir.path(), stem, obj, cxx, &[]);
            compile(dir.path(), stem, obj, cxx, &libbpf17);
        }
    }
}

#[test]
fn names_that_are_not_identifiers_are_made_valid() {
    let dir = build_fixture("1st");
    let header = std::fs::read_to_string(dir.path().join("1st.skel.h")).unwrap();
    assert!(header.contains("struct _1st_bpf {"));
    assert!(header.contains("#ifndef ___1ST_BPF_SKEL_H__"));
    // libbpf derives the internal map name from the (valid) object name.
    assert!(header.contains("map->name = \"_1st_bpf.bss\";"));

    let object = dir.path().join("1st.bpf.o");
    let out = run_ok(
        bpfgen()
            .args(["gen", "skeleton"])
            .arg(&object)
            .args(["--name", "my-obj"]),
    );
    let header = String::from_utf8(out.stdout).unwrap();
    assert!(header.contains("struct my_obj {"));
    assert!(header.contains("s->name = \"my_obj\";"));
}
