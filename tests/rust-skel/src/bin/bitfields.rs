//! What only bpfgen's skeleton has: bitfield accessors on the padding that libbpf-cargo turns
//! bitfields into (`__pad_8`, as there), here on the kernel's own event and on a value built in
//! user space.
#![deny(warnings)]

use bpfgen_rust_skel_test::events::types;
use bpfgen_rust_skel_test::run_child;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let event = run_child()?.event;
    assert_eq!((event.is_thread(), event.prio(), event.level()), (0, 100, 9));

    let mut local = types::event::default();
    local.set_prio(127);
    local.set_level(0xf);
    local.set_is_thread(1);
    local.set_level(3);
    assert_eq!((local.is_thread(), local.prio(), local.level()), (1, 127, 3));
    // C puts is_thread in bit 0, prio in bits 1-7, level in bits 8-11 of the storage.
    assert_eq!([local.__pad_8[0], local.__pad_8[1]], [0xff, 0x03]);
    println!("bitfields: kernel event prio {} level {}", event.prio(), event.level());
    Ok(())
}
