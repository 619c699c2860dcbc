//! libbpf's and bpftool's naming rules: object names, internal map names, skeleton identifiers.
//!
//! Every generated name must equal what libbpf computes at run time, or the skeleton's maps are
//! not found ("failed to find skeleton map"). Every identifier must also be valid C and Rust,
//! which bpftool does not guarantee ([`crate::ident`]).

use crate::ident::sanitize_identifier;

/// The kernel's limit for object and map names, including the terminating NUL.
pub const BPF_OBJ_NAME_LEN: usize = 16;
/// bpftool truncates object names to this many characters.
const MAX_OBJ_NAME_LEN: usize = 63;

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

/// Whether a data section is a custom one (`.data.x`, `.rodata.x`, `.bss.x`: a second dot).
fn is_custom_section(section: &str) -> bool {
    section.get(1..).is_some_and(|rest| rest.contains('.'))
}

/// The name a skeleton registers the internal map of data section `section` under. Names
/// starting with a dot are matched by libbpf against the ELF section name itself, so custom
/// sections use it verbatim (libbpf's own, sanitized and truncated name for `.bss.a-b` would
/// not be found); standard sections get libbpf's prefixed internal name (`hello_bp.bss`).
pub fn data_map_name(object_name: &str, section: &str) -> String {
    if is_custom_section(section) {
        section.to_string()
    } else {
        internal_map_name(object_name, section)
    }
}

/// The skeleton identifier of a data section's map: custom sections are named after the
/// whole section (`.rodata.data` -> `rodata_data`, never clashing with `.data`'s `data`),
/// standard ones as bpftool's `get_map_ident` derives them from the map name (`hello_bp.bss`
/// -> `bss`). None when the name has none of the known suffixes (bpftool skips such maps).
pub fn data_map_ident(section: &str, map_name: &str) -> Option<String> {
    if is_custom_section(section) {
        return Some(sanitize_identifier(&section[1..]));
    }
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
    fn data_map_idents_match_bpftool_and_never_clash() {
        let ident = |section: &str| data_map_ident(section, &data_map_name("hello_bpf", section));
        assert_eq!(ident(".bss").as_deref(), Some("bss"));
        assert_eq!(ident(".rodata.cfg").as_deref(), Some("rodata_cfg"));
        assert_eq!(ident(".data.custom").as_deref(), Some("data_custom"));
        assert_eq!(ident(".rodata.str1.1").as_deref(), Some("rodata_str1_1"));
        assert_eq!(ident(".rodata.data").as_deref(), Some("rodata_data"));
        assert_eq!(ident(".bss.a-b").as_deref(), Some("bss_a_b"));
        assert_eq!(data_map_ident(".weird", "weird"), None);
    }

    #[test]
    fn custom_sections_keep_their_real_name() {
        assert_eq!(data_map_name("hello_bpf", ".data.custom"), ".data.custom");
        assert_eq!(data_map_name("hello_bpf", ".bss.a-b"), ".bss.a-b");
        assert_eq!(data_map_name("hello_bpf", ".bss"), "hello_bp.bss");
    }
}
