//! Builds the BPF programs of this crate with bpfgen's build.rs API.

use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for name in ["events", "tcp_cc"] {
        let built = bpfgen::Builder::new()
            .source(format!("src/bpf/{name}.bpf.c"))
            .clang_args(["-Wall", "-Werror"])
            .build_and_generate(out.join(format!("{name}.skel.rs")));
        if let Err(err) = built {
            panic!("{err}");
        }
    }
}
