//! How the `bpfgen` executable is linked on Linux with glibc (build.rs and the `gcc_eh` link in
//! the binary's main.rs): at a fixed address, so the loader applies no relative relocations at
//! start-up, without the shared libgcc_s, whose load and constructor cost every run, or libm
//! (main.rs defines `pow` and `log2`, the functions it supplied), and with
//! libelf and zlib from their static archives when build.rs found them.

use object::Endianness;
use object::elf;
use object::read::elf::{Dyn, ElfFile64, FileHeader};

/// The shared libraries the executable names in its dynamic section (`DT_NEEDED`).
fn needed_libraries(file: &ElfFile64<'_, Endianness>, data: &[u8]) -> Vec<String> {
    let endian = file.endian();
    let sections = file.elf_section_table();
    let (entries, strings_index) = sections
        .dynamic(endian, data)
        .expect("readable dynamic section")
        .expect("a dynamic section");
    let strings = sections
        .strings(endian, data, strings_index)
        .expect("readable dynamic strings");
    entries
        .iter()
        .filter(|entry| entry.d_tag(endian) == elf::DT_NEEDED)
        .map(|entry| {
            let name = entry.string(endian, strings).expect("a library name");
            String::from_utf8_lossy(name).into_owned()
        })
        .collect()
}

#[test]
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn the_executable_is_position_dependent_and_loads_neither_libgcc_s_nor_libm() {
    let data = std::fs::read(env!("CARGO_BIN_EXE_bpfgen")).unwrap();
    let file = ElfFile64::<Endianness>::parse(&*data).unwrap();
    assert_eq!(
        file.elf_header().e_type(file.endian()),
        elf::ET_EXEC,
        "bpfgen is linked as a PIE: build.rs's -no-pie did not reach the link"
    );
    let needed = needed_libraries(&file, &data);
    assert!(
        needed.iter().any(|name| name.starts_with("libc.so")),
        "{needed:?}"
    );
    assert!(
        !needed.iter().any(|name| name.starts_with("libgcc_s")),
        "bpfgen loads libgcc_s: {needed:?}"
    );
    assert!(
        !needed.iter().any(|name| name.starts_with("libm.so")),
        "bpfgen loads libm (main.rs defines the pow and log2 it used): {needed:?}"
    );
}

#[test]
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn libelf_and_zlib_are_linked_in_when_build_rs_found_their_archives() {
    let Some(dir) = option_env!("BPFGEN_STATIC_ARCHIVES") else {
        eprintln!("SKIPPED: build.rs found no static libelf and zlib to link (see build.rs)");
        return;
    };
    let data = std::fs::read(env!("CARGO_BIN_EXE_bpfgen")).unwrap();
    let file = ElfFile64::<Endianness>::parse(&*data).unwrap();
    let needed = needed_libraries(&file, &data);
    assert!(
        !needed
            .iter()
            .any(|name| name.starts_with("libelf") || name.starts_with("libz")),
        "bpfgen loads libelf or zlib although build.rs offered their archives in {dir}: {needed:?}"
    );
}
