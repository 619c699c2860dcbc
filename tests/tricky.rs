//! Layouts and names that broke skeletons, checked by reading the values back through the
//! skeleton after the program ran in the kernel.

use crate::util::*;
use std::process::Command;

const LOADER: &str = r#"
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "tricky.skel.h"

int main(void)
{
	struct tricky_bpf *skel = tricky_bpf__open_and_load();

	if (!skel) {
		perror("tricky_bpf__open_and_load");
		return 1;
	}
	if (tricky_bpf__attach(skel))
		return 2;
	syscall(SYS_getpid);
	printf("%d %d %d %d %d %d %d\n", skel->bss_a_b->dash_var,
	       skel->bss_very_long_section_name->long_var, skel->data->plain_data,
	       skel->rodata_data->rodata_data_var, skel->data->packed_anon.b,
	       skel->data->aligned_anon.b, skel->data->zero_width.b);
	tricky_bpf__destroy(skel);
	return 0;
}
"#;

#[test]
fn hidden_only_sections_get_no_pointer() {
    let dir = build_fixture("tricky");
    let header = std::fs::read_to_string(dir.path().join("tricky.skel.h")).unwrap();
    assert!(header.contains("map->name = \".bss.hidden\";"));
    assert!(
        !header.contains("hidden_count"),
        "a __hidden variable is exposed"
    );
    assert!(
        !header.contains("} *bss_hidden;"),
        "a section of hidden variables is mmaped"
    );
    assert!(header.contains("int (*array_ptr)[4];"));
    assert!(header.contains("int (*func_ptr)(int);"));
}

#[test]
fn tricky_layouts_and_names_work_in_the_kernel() {
    if !kernel_available("tricky_layouts_and_names_work_in_the_kernel") {
        return;
    }
    let dir = build_fixture("tricky");
    let loader = dir.path().join("loader.c");
    std::fs::write(&loader, LOADER).unwrap();
    compile_userspace(&loader, dir.path(), &dir.path().join("loader"));
    let out = run_ok(&mut Command::new(dir.path().join("loader")));
    let values: Vec<i64> = String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    let [dash, long, data, rodata_data, packed, aligned, zero] = values[..] else {
        panic!("unexpected output {values:?}");
    };
    assert!(dash >= 1, "dash_var {dash}");
    assert!(long >= 2, "long_var {long}");
    assert!(data >= 2 + 7 + 2 + 2 + 2, "plain_data {data}");
    assert_eq!((rodata_data, packed, aligned, zero), (7, 2, 2, 2));
}

#[test]
fn ulong_map_fields_are_read() {
    let dir = build_fixture("ulong");
    let out = run_ok(
        bpfgen()
            .args(["inspect", "--json"])
            .arg(dir.path().join("ulong.bpf.o")),
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["maps"][0]["map_type"], "bloom_filter");
    assert_eq!(report["maps"][0]["max_entries"], 16);
}
