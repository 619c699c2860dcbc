// What each fuzz target does with one input. Included (with `include!`) by the cargo-fuzz
// targets in fuzz_targets/ and by tests/fuzz_corpus.rs, which replays the stored corpus and
// every crash regression in plain `cargo test`. Errors are fine; panics, hangs and unbounded
// allocation are the bugs.

/// Reads an object, then everything bpfgen derives from it: skeleton model, C skeleton,
/// inspect report.
pub fn object_read(data: &[u8]) {
    let Ok(object) = bpfgen::object::BpfObject::parse(data, "fuzz_bpf") else {
        return;
    };
    if let Ok(model) = bpfgen::skel::Skeleton::new(
        &object,
        "fuzz_bpf",
        bpfgen::object::names::skeleton_identifier,
    ) {
        let _ = bpfgen::skel::c::render(&model, &object, data);
    }
    if let Ok(report) = bpfgen::inspect::Report::new(&object) {
        let _ = report.to_json();
        let _ = report.to_text();
    }
}

/// Reads an object and runs every `bpfgen check` rule on it, with its own BTF as the target
/// kernel: every CO-RE relocation is resolved against the types it was written for.
pub fn check(data: &[u8]) {
    let Ok(object) = bpfgen::object::BpfObject::parse(data, "fuzz_bpf") else {
        return;
    };
    let targets = bpfgen::btf::source::raw_btf(data)
        .and_then(|raw| bpfgen::btf::table::TypeTable::from_bytes(raw, None))
        .map(|types| vec![bpfgen::btf::core::Target::new("self", types)])
        .unwrap_or_default();
    let options = bpfgen::check::Options::with_targets(targets);
    if let Ok(findings) = bpfgen::check::check_object(&object, "fuzz.bpf.o", &options) {
        for finding in &findings {
            let _ = finding.render_human();
            let _ = finding.render_json();
        }
    }
}

/// Parses `.BTF.ext` against a BTF string table: the first two bytes give the length of the
/// BTF part, the rest is the `.BTF.ext` section.
pub fn btf_ext(data: &[u8]) {
    let Some((len, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let split = (u16::from_le_bytes(*len) as usize).min(rest.len());
    let (btf, ext) = rest.split_at(split);
    if let Ok(strings) = bpfgen::btf::ext::BtfStrings::new(btf) {
        let _ = bpfgen::btf::ext::BtfExt::parse(ext, &strings);
    }
}

/// Indexes raw BTF, then writes the whole C header and every type's skeleton declaration.
pub fn btf_to_c(data: &[u8]) {
    let Ok(table) = bpfgen::btf::table::TypeTable::from_bytes(data, None) else {
        return;
    };
    let _ = bpfgen::btf::dump::vmlinux_header(&table);
    let style = bpfgen::btf::dump::DeclStyle {
        strip_mods: true,
        keep_typedef: &|table: &bpfgen::btf::table::TypeTable, id: u32| {
            table
                .get(id)
                .is_ok_and(|ty| table.name(ty.name).starts_with("__u"))
        },
        bool_keyword: true,
        avoid_keywords: true,
    };
    for id in 1..table.len().min(256) {
        let _ = bpfgen::btf::dump::declaration(&table, id, "x", 1, &style);
    }
}

/// Indexes raw BTF, then writes Rust types for its first few hundred types.
pub fn btf_to_rust(data: &[u8]) {
    let Ok(table) = bpfgen::btf::table::TypeTable::from_bytes(data, None) else {
        return;
    };
    let roots: Vec<u32> = (1..table.len().min(512)).collect();
    let _ = bpfgen::btf::rust::rust_types(&table, &roots);
}
