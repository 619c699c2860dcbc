//! `bpfgen inspect` reports what libbpf will see.

use crate::util::*;

#[test]
fn inspect_json_describes_programs_maps_and_variables() {
    let dir = build_fixture("datasecs");
    let out = run_ok(
        bpfgen()
            .args(["inspect", "--json"])
            .arg(dir.path().join("datasecs.bpf.o")),
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    let programs = report["programs"].as_array().unwrap();
    let names: Vec<_> = programs
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["on_getpid", "on_sys_enter"]);
    assert_eq!(programs[0]["prog_type"], "tracepoint");
    assert_eq!(programs[1]["prog_type"], "raw_tracepoint");
    assert!(programs[0]["insns"].as_u64().unwrap() > 0);

    let maps = report["maps"].as_array().unwrap();
    let hash = maps.iter().find(|m| m["name"] == "hash_map").unwrap();
    assert_eq!(hash["map_type"], "hash");
    assert_eq!(hash["kind"], "user");
    let bss = maps.iter().find(|m| m["name"] == "datasecs.bss").unwrap();
    let vars = bss["variables"].as_array().unwrap();
    let fp = vars.iter().find(|v| v["name"] == "bss_fp").unwrap();
    assert_eq!(fp["c_type"], "int (*)(int)");
    assert_eq!(fp["size"], 8);
    assert!(vars.iter().any(|v| v["linkage"] == "static"));
    let kconfig = maps.iter().find(|m| m["kind"] == "kconfig").unwrap();
    assert_eq!(kconfig["name"], "datasec.kconfig");

    assert_eq!(report["license"], "Dual BSD/GPL");
    assert!(report["btf"]["types"].as_u64().unwrap() > 10);
    assert!(report["btf_ext"]["line_info"].as_u64().unwrap() > 0);

    let text = run_ok(
        bpfgen()
            .arg("inspect")
            .arg(dir.path().join("datasecs.bpf.o")),
    );
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("on_sys_enter"));
    assert!(text.contains("BTF.ext:"));
}

#[test]
fn doctor_reports_clang_btf_and_libbpf() {
    let out = run_ok(bpfgen().arg("doctor"));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("clang:") && text.contains("version"),
        "{text}"
    );
    assert!(text.contains("libbpf headers: libbpf 1."), "{text}");
    assert!(text.contains("cache:"), "{text}");
    let out = run(bpfgen().args(["doctor", "--clang", "/nonexistent/clang"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("MISSING"));
}
