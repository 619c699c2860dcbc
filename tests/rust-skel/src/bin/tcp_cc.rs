//! Registers the `tcp_cc` congestion control as code written for libbpf-cargo does
//! (`attach()`, then the map's `attach_struct_ops()`), then through bpfgen's
//! `attach_with_struct_ops()`, and checks that the kernel lists it, and that dropping the link
//! unregisters it.
#![deny(warnings)]

use bpfgen_rust_skel_test::c_string;
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use std::mem::MaybeUninit;

use bpfgen_rust_skel_test::tcp_cc::*;

const AVAILABLE: &str = "/proc/sys/net/ipv4/tcp_available_congestion_control";

fn listed() -> bool {
    std::fs::read_to_string(AVAILABLE)
        .expect("readable")
        .split_whitespace()
        .any(|name| name == "bpfgen_rs")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut storage = MaybeUninit::uninit();
    let open_skel = TcpCcSkelBuilder::default().open(&mut storage)?;
    assert_eq!(c_string(&open_skel.struct_ops.bpfgen_rs().name), "bpfgen_rs");
    assert!(!open_skel.struct_ops.bpfgen_rs().ssthresh.is_null());
    let mut skel = open_skel.load()?;
    assert!(!listed(), "registered before attach");
    skel.attach()?;
    assert!(!listed(), "attach() registered the struct_ops map");
    let link = skel.maps.bpfgen_rs.attach_struct_ops()?;
    assert!(listed(), "bpfgen_rs not in {AVAILABLE}");
    drop(link);
    assert!(!listed(), "still registered after its link was dropped");

    skel.attach_with_struct_ops()?;
    assert!(
        skel.links.bpfgen_rs.is_some(),
        "attach_with_struct_ops() keeps the link"
    );
    assert!(
        listed(),
        "bpfgen_rs not in {AVAILABLE} after attach_with_struct_ops()"
    );
    println!("bpfgen_rs is in {AVAILABLE}");
    skel.links.bpfgen_rs = None;
    assert!(!listed(), "still registered after its link was dropped");
    Ok(())
}
