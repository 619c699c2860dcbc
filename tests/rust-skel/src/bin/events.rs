//! Written as for libbpf-cargo's skeleton: opens the `events` skeleton, sets read-only data
//! before load, loads, attaches, runs a child process, and checks what the BPF side saw:
//! its exec event through the ring buffer, the global counters, the per-pid hash map.
#![deny(warnings)]

use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{MapCore, MapFlags, RingBufferBuilder};
use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::process::Command;
use std::rc::Rc;
use std::time::Duration;

mod events {
    include!(concat!(env!("OUT_DIR"), "/events.skel.rs"));
}
use events::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut storage = MaybeUninit::uninit();
    let mut open_skel = EventsSkelBuilder::default().open(&mut storage)?;
    let rodata = open_skel.maps.rodata_data.as_deref_mut().expect(".rodata is mapped");
    rodata.target_ppid = std::process::id();
    rodata.level = 9;
    open_skel.maps.data_data.as_deref_mut().expect(".data is mapped").mode = 42;
    open_skel.maps.data_custom_data.as_deref_mut().expect(".data.custom is mapped").custom = 100;
    let mut skel = open_skel.load()?;
    skel.attach()?;
    assert!(skel.links.handle_exec.is_some() && skel.links.handle_exit.is_some());
    assert_eq!(skel.maps.rodata_data.unwrap().level, 9);

    let received: Rc<RefCell<Vec<types::event>>> = Rc::default();
    let sink = received.clone();
    let mut builder = RingBufferBuilder::new();
    builder.add(&skel.maps.events, move |data: &[u8]| {
        assert_eq!(data.len(), std::mem::size_of::<types::event>());
        // SAFETY: the BPF side submits exactly one `struct event`.
        let event = unsafe { data.as_ptr().cast::<types::event>().read_unaligned() };
        sink.borrow_mut().push(event);
        0
    })?;
    let ring = builder.build()?;

    let child = Command::new("/bin/true").status()?;
    assert!(child.success());
    let mut waited = Duration::ZERO;
    while received.borrow().is_empty() && waited < Duration::from_secs(10) {
        ring.poll(Duration::from_millis(100))?;
        waited += Duration::from_millis(100);
    }
    let events = received.borrow();
    let event = events.first().expect("an exec event within 10 s");
    let comm: Vec<u8> = event.comm.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    assert_eq!(comm, b"true");
    assert_eq!(event.kind, types::event_kind::EVENT_EXEC);
    assert_eq!((event.is_thread(), event.prio(), event.level()), (0, 100, 9));
    // SAFETY: both members of the union are plain integers.
    assert_eq!(unsafe { event.tag.halves }, [0x1234, 0xabcd]);
    assert_eq!(unsafe { event.tag.raw }, 0xabcd_1234);
    assert_eq!((event.mode, event.custom), (42, 101));

    let bss = skel.maps.bss_data.as_deref().expect(".bss is mapped");
    assert_eq!(bss.exec_count, 1);
    assert_eq!(bss.last_event.pid, event.pid);
    let mut waited = Duration::ZERO;
    while skel.maps.bss_data.as_deref().unwrap().exit_count == 0 && waited < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
        waited += Duration::from_millis(50);
    }
    let value = skel
        .maps
        .per_pid
        .lookup(&event.pid.to_ne_bytes(), MapFlags::ANY)?
        .expect("the child's pid is in per_pid");
    // SAFETY: the map's values are `struct stats`.
    let stats = unsafe { value.as_ptr().cast::<types::stats>().read_unaligned() };
    assert_eq!((stats.execs, stats.exits), (1, 1));
    println!(
        "exec event: pid {} comm true, exec_count {}, exit_count {}, per_pid {{execs: {}, exits: {}}}",
        event.pid,
        bss.exec_count,
        skel.maps.bss_data.as_deref().unwrap().exit_count,
        stats.execs,
        stats.exits
    );
    Ok(())
}
