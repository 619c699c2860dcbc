//! The skeletons, and what the binaries share: running the `events` programs against a
//! child process and collecting what the BPF side saw of it.
#![deny(warnings)]

use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{MapCore, MapFlags, RingBufferBuilder};
use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::process::Command;
use std::rc::Rc;
use std::time::Duration;

pub mod events {
    include!(concat!(env!("OUT_DIR"), "/events.skel.rs"));
}

pub mod tcp_cc {
    include!(concat!(env!("OUT_DIR"), "/tcp_cc.skel.rs"));
}

pub mod dropin {
    include!(concat!(env!("OUT_DIR"), "/dropin.skel.rs"));
}

/// Code written against libbpf-cargo's skeleton of `dropin.bpf.c` (issue 18's shapes:
/// `MaybeUninit<bool>` members, `slf`, padding fields, bitfields as padding, anonymous types
/// named after their parent), compiled against both skeletons: opens the object and sets
/// its read-only configuration.
pub fn dropin_configure() -> Result<(), libbpf_rs::Error> {
    use dropin::types;
    let mut storage = MaybeUninit::uninit();
    let mut open_skel = dropin::DropinSkelBuilder::default().open(&mut storage)?;
    let rodata = open_skel
        .maps
        .rodata_data
        .as_deref_mut()
        .expect(".rodata is mapped");
    rodata.tool_config.verbose.write(true);
    rodata.tool_config.slf = 1;
    rodata.tool_config.r#in = types::inner { a: 2 };
    let bss = open_skel
        .maps
        .bss_data
        .as_deref_mut()
        .expect(".bss is mapped");
    bss.foo = types::Foo {
        x: 1,
        y: [0; 10],
        z: std::ptr::null_mut(),
    };
    bss.foo = types::Foo {
        x: 1,
        ..Default::default()
    };
    bss.bits = types::bits { __pad_0: [0; 2] };
    bss.mixed = types::mixed {
        c: 1,
        g: 2,
        nested: types::__anon_mixed_1 {
            p: 3,
            __anon_mixed_3: types::__anon_mixed_3 { q: 4 },
        },
        __anon_mixed_2: types::__anon_mixed_2 { s: 5 },
    };
    bss.anon_global = types::__anon_1 { anon_a: 6 };
    bss.colour = types::colour::GREEN;
    Ok(())
}

/// The skeletons of bpfgen's test fixtures, compiled for their names and types.
#[cfg(feature = "bpfgen-skeletons")]
pub mod fixtures {
    macro_rules! skeletons {
        ($($module:ident => $file:literal),* $(,)?) => {
            $(pub mod $module {
                include!(concat!(env!("OUT_DIR"), "/", $file));
            })*
        };
    }
    skeletons! {
        first => "1st.skel.rs",
        datasecs => "datasecs.skel.rs",
        hostile => "hostile.skel.rs",
        hyphen_name => "hyphen-name.skel.rs",
        kconfig => "kconfig.skel.rs",
        mapless => "mapless.skel.rs",
        nobtf => "nobtf.skel.rs",
        nobtf_maps => "nobtf_maps.skel.rs",
        struct_ops => "struct_ops.skel.rs",
        tricky => "tricky.skel.rs",
        ulong => "ulong.skel.rs",
    }
}

use events::*;

/// What the BPF side saw of one run of `/bin/true`.
pub struct Seen {
    /// The exec event from the ring buffer.
    pub event: types::event,
    /// `.bss` after the child exited.
    pub bss: types::bss,
    /// The child's `per_pid` entry.
    pub stats: types::stats,
}

/// Opens the skeleton, sets read-only and data sections before load, loads, attaches, runs
/// `/bin/true` and collects its exec event, the counters and its hash map entry.
pub fn run_child() -> Result<Seen, Box<dyn std::error::Error>> {
    let mut storage = MaybeUninit::uninit();
    let mut open_skel = EventsSkelBuilder::default().open(&mut storage)?;
    let rodata = open_skel.maps.rodata_data.as_deref_mut().expect(".rodata is mapped");
    rodata.target_ppid = std::process::id();
    rodata.level = 9;
    open_skel.maps.data_data.as_deref_mut().expect(".data is mapped").mode = 42;
    let custom = open_skel.maps.data_custom_data.as_deref_mut();
    custom.expect(".data.custom is mapped").custom = 100;
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

    assert!(Command::new("/bin/true").status()?.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while received.borrow().is_empty() && std::time::Instant::now() < deadline {
        ring.poll(Duration::from_millis(100))?;
    }
    let event = *received.borrow().first().expect("an exec event within 10 s");
    while skel.maps.bss_data.as_deref().unwrap().exit_count == 0
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let value = skel
        .maps
        .per_pid
        .lookup(&event.pid.to_ne_bytes(), MapFlags::ANY)?
        .expect("the child's pid is in per_pid");
    // SAFETY: the map's values are `struct stats`.
    let stats = unsafe { value.as_ptr().cast::<types::stats>().read_unaligned() };
    let bss = *skel.maps.bss_data.as_deref().expect(".bss is mapped");
    Ok(Seen { event, bss, stats })
}

/// A C string from a `char` array.
pub fn c_string(chars: &[i8]) -> String {
    chars
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| char::from(c as u8))
        .collect()
}
