//! libbpf's and bpftool's naming rules: object names, internal map names, skeleton identifiers.
//!
//! Every generated name must equal what libbpf computes at run time, or the skeleton's maps are
//! not found ("failed to find skeleton map"). Every identifier must also be valid C and Rust,
//! which bpftool does not guarantee.

/// The kernel's limit for object and map names, including the terminating NUL.
pub const BPF_OBJ_NAME_LEN: usize = 16;
/// bpftool truncates object names to this many characters.
const MAX_OBJ_NAME_LEN: usize = 63;

/// Replaces every character that is not `[A-Za-z0-9_]` with `_`, as bpftool's
/// `sanitize_identifier` does, and prefixes `_` when the result would start with a digit or be
/// empty (bpftool leaves those invalid).
pub fn sanitize_identifier(name: &str) -> String {
    let mut ident: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if ident.is_empty() || ident.starts_with(|c: char| c.is_ascii_digit()) {
        ident.insert(0, '_');
    }
    ident
}

/// The skeleton object name for an object file name: the base name truncated to 63 characters,
/// a trailing `.o` removed, then sanitized (`minimal.bpf.o` -> `minimal_bpf`).
pub fn object_name_from_file(file_name: &str) -> String {
    let base: String = file_name.chars().take(MAX_OBJ_NAME_LEN).collect();
    let stem = base.strip_suffix(".o").unwrap_or(&base);
    sanitize_identifier(stem)
}

/// The name libbpf gives the internal map of data section `section` in object `object_name`
/// (`internal_map_name` in libbpf.c): up to 15 characters, object-name prefix for the standard
/// sections, the section name alone for custom `.data.*`/`.rodata.*` ones.
pub fn internal_map_name(object_name: &str, section: &str) -> String {
    let max = BPF_OBJ_NAME_LEN - 1;
    let suffix_len = section.len().max(7).min(max);
    let is_custom = section.get(1..).is_some_and(|rest| rest.contains('.'));
    let prefix_len = if is_custom {
        0
    } else {
        (BPF_OBJ_NAME_LEN - suffix_len - 1).min(object_name.len())
    };
    // libbpf copies the object name into a 16-byte buffer first.
    let object_name = truncate(object_name, max);
    let name = format!(
        "{}{}",
        truncate(object_name, prefix_len),
        truncate(section, suffix_len)
    );
    truncate(&name, max)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Whether libbpf reports the ELF section name itself as the name of this internal map
/// (`map_uses_real_name`: custom `.data.*` and `.rodata.*` sections).
pub fn uses_real_name(section: &str) -> bool {
    (section.starts_with(".data.") && section != ".data")
        || (section.starts_with(".rodata.") && section != ".rodata")
}

/// The skeleton identifier of an internal map, from its libbpf name, as bpftool's
/// `get_map_ident` derives it: the text after the first `.data`, `.rodata`, `.bss` or
/// `.kconfig` found in the name, sanitized (`hello_bp.bss` -> `bss`, `.rodata.cfg` ->
/// `rodata_cfg`). None when the name has none of them (bpftool skips such maps).
pub fn internal_map_ident(map_name: &str) -> Option<String> {
    [".data", ".rodata", ".bss", ".kconfig"]
        .iter()
        .find_map(|suffix| map_name.find(suffix))
        .map(|at| sanitize_identifier(&map_name[at + 1..]))
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names_follow_bpftool_and_stay_valid() {
        assert_eq!(object_name_from_file("minimal.bpf.o"), "minimal_bpf");
        assert_eq!(object_name_from_file("prog.elf"), "prog_elf");
        assert_eq!(object_name_from_file("my-prog.bpf.o"), "my_prog_bpf");
        assert_eq!(object_name_from_file("1st.bpf.o"), "_1st_bpf");
        assert_eq!(object_name_from_file(".o"), "_");
    }

    #[test]
    fn internal_map_names_match_libbpf() {
        assert_eq!(internal_map_name("hello_bpf", ".bss"), "hello_bp.bss");
        assert_eq!(internal_map_name("hello_bpf", ".rodata"), "hello_bp.rodata");
        assert_eq!(
            internal_map_name("hello_bpf", ".kconfig"),
            "hello_b.kconfig"
        );
        assert_eq!(
            internal_map_name("datasecs_bpf", ".kconfig"),
            "datasec.kconfig"
        );
        assert_eq!(
            internal_map_name("hello_bpf", ".data.custom"),
            ".data.custom"
        );
        assert_eq!(
            internal_map_name("x", ".rodata.very_long_name"),
            ".rodata.very_lo"
        );
        assert_eq!(internal_map_name("a", ".bss"), "a.bss");
        assert_eq!(internal_map_name("hello_bpf", ".data.a-b"), ".data.a_b");
    }

    #[test]
    fn internal_map_idents_match_bpftool() {
        assert_eq!(internal_map_ident("hello_bp.bss").as_deref(), Some("bss"));
        assert_eq!(
            internal_map_ident(".rodata.cfg").as_deref(),
            Some("rodata_cfg")
        );
        assert_eq!(
            internal_map_ident(".data.custom").as_deref(),
            Some("data_custom")
        );
        assert_eq!(
            internal_map_ident(".rodata.str1.1").as_deref(),
            Some("rodata_str1_1")
        );
        assert_eq!(
            internal_map_ident("hello_b.kconfig").as_deref(),
            Some("kconfig")
        );
        assert_eq!(internal_map_ident("weird"), None);
    }

    #[test]
    fn real_names_only_for_custom_data_sections() {
        assert!(uses_real_name(".data.custom"));
        assert!(uses_real_name(".rodata.cfg"));
        assert!(!uses_real_name(".rodata"));
        assert!(!uses_real_name(".bss.x"));
    }
}
