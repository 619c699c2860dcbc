//! The fuzz corpus and every crash regression, replayed as ordinary tests (no fuzzing engine):
//! fuzz/corpus/<target>/* and fuzz/regressions/<target>/*.

use crate::util::repo;

mod harness {
    #![allow(dead_code)]
    include!("../fuzz/harness.rs");
}

fn replay(target: &str, run: fn(&[u8])) {
    let mut inputs = 0;
    for kind in ["corpus", "regressions"] {
        let dir = repo().join("fuzz").join(kind).join(target);
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let data = std::fs::read(entry.path()).unwrap();
            run(&data);
            inputs += 1;
        }
    }
    assert!(inputs > 0, "no stored inputs for {target}");
}

#[test]
fn object_read_corpus_replays() {
    replay("object_read", harness::object_read);
}

#[test]
fn check_replays_the_object_corpus() {
    replay("object_read", harness::check);
    replay("check", harness::check);
}

#[test]
fn btf_ext_corpus_replays() {
    replay("btf_ext", harness::btf_ext);
}

#[test]
fn btf_to_c_corpus_replays() {
    replay("btf_to_c", harness::btf_to_c);
}

#[test]
fn btf_to_rust_corpus_replays() {
    replay("btf_to_rust", harness::btf_to_rust);
}

#[test]
fn link_corpus_replays() {
    replay("link", harness::link);
}

#[test]
fn skeletons_replay_the_object_corpus() {
    replay("object_read", harness::skeletons);
    replay("skeletons", harness::skeletons);
}

#[test]
fn min_core_corpus_replays() {
    replay("min_core", harness::min_core);
}

#[test]
fn check_kernel_corpus_replays() {
    replay("check_kernel", harness::check_kernel);
}

#[test]
fn split_btf_corpus_replays() {
    replay("split_btf", harness::split_btf);
}

#[test]
fn package_corpus_replays() {
    replay("package", harness::package);
}

#[test]
fn check_source_corpus_replays() {
    replay("check_source", harness::check_source);
}
