//! Written as for libbpf-cargo's skeleton, and built against both generators: checks what
//! the BPF side saw of a child process through every kind of map and data section.
#![deny(warnings)]

use bpfgen_rust_skel_test::events::types;
use bpfgen_rust_skel_test::{c_string, dropin_configure, run_child};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    dropin_configure()?;
    let seen = run_child()?;
    let event = &seen.event;
    assert_eq!(c_string(&event.comm), "true");
    assert_eq!(event.kind, types::event_kind::EVENT_EXEC);
    // SAFETY: both members of the union are plain integers.
    assert_eq!(unsafe { event.tag.halves }, [0x1234, 0xabcd]);
    assert_eq!(unsafe { event.tag.raw }, 0xabcd_1234);
    assert_eq!((event.mode, event.custom), (42, 101));
    assert_eq!((seen.bss.exec_count, seen.bss.exit_count), (1, 1));
    assert_eq!(seen.bss.last_event.pid, event.pid);
    assert_eq!((seen.stats.execs, seen.stats.exits), (1, 1));
    println!(
        "exec event: pid {} comm {}, exec_count {}, exit_count {}, per_pid {{execs: {}, exits: {}}}",
        event.pid,
        c_string(&event.comm),
        seen.bss.exec_count,
        seen.bss.exit_count,
        seen.stats.execs,
        seen.stats.exits
    );
    Ok(())
}
