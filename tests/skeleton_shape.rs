//! Reads the shape of a C skeleton header: the members of `maps`, `progs`, `links`, and of each
//! data-section struct. Works on bpftool's headers and on bpfgen's alike.

use std::collections::BTreeMap;

/// The member names a skeleton header exposes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SkeletonShape {
    pub maps: Vec<String>,
    pub progs: Vec<String>,
    pub links: Vec<String>,
    /// struct_ops shadow pointers.
    pub struct_ops: Vec<String>,
    /// Data-section pointer name -> member names (padding included).
    pub datasecs: BTreeMap<String, Vec<String>>,
}

/// Keywords that spell (part of) a base type; a typedef name is the one other identifier a
/// base type may have.
const TYPE_KEYWORDS: &[&str] = &[
    "void",
    "char",
    "short",
    "int",
    "long",
    "float",
    "double",
    "signed",
    "unsigned",
    "_Bool",
    "bool",
    "__int128",
    "_Float128",
];
const QUALIFIERS: &[&str] = &["const", "volatile", "restrict", "static", "extern"];

/// The declared name in a member line such as `int (*fp)(int);`, `char tag[8];` or
/// `__u8 (*(*p)[2])[16];`: the first identifier after the base type (parameter lists come
/// after it).
fn member_name(line: &str) -> String {
    let mut base_done = false;
    let mut in_declarator = false;
    let mut skip_tag = false;
    let mut rest = line.trim();
    while !rest.is_empty() {
        let word_len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if word_len == 0 {
            let c = rest.chars().next().unwrap();
            in_declarator |= c == '*' || c == '(';
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let word = &rest[..word_len];
        rest = &rest[word_len..];
        if skip_tag {
            skip_tag = false;
            base_done = true;
        } else if ["struct", "union", "enum"].contains(&word) {
            skip_tag = true;
        } else if QUALIFIERS.contains(&word) {
        } else if TYPE_KEYWORDS.contains(&word) {
            base_done = true;
        } else if base_done || in_declarator {
            return word.to_string();
        } else {
            base_done = true;
        }
    }
    panic!("no declared name in {line:?}")
}

/// The name after a nested struct's closing brace: `} *bss;`, `} maps;`, `} pairs[2];`.
fn closing_name(line: &str) -> String {
    let line = line.trim_start_matches('}').trim_end_matches(';');
    line[..line.find('[').unwrap_or(line.len())]
        .trim_matches(|c: char| c == '*' || c.is_whitespace())
        .to_string()
}

/// Parses the body of `struct <obj> { ... }` in `header`.
pub fn parse(header: &str, obj: &str) -> SkeletonShape {
    let start = header
        .find(&format!("\nstruct {obj} {{\n"))
        .unwrap_or_else(|| panic!("no struct {obj} in header"));
    let body = &header[start..];
    let body = &body[..body.find("#ifdef __cplusplus").unwrap()];
    let mut shape = SkeletonShape::default();
    let mut depth = 0;
    let mut members: Vec<String> = Vec::new();
    for line in body.lines().skip(2) {
        let trimmed = line.trim();
        if trimmed.ends_with('{') {
            depth += 1;
            if depth == 1 {
                members.clear();
            }
            continue;
        }
        if trimmed.starts_with('}') {
            depth -= 1;
            if depth == 0 {
                let name = closing_name(trimmed);
                let collected = std::mem::take(&mut members);
                match name.as_str() {
                    "maps" => shape.maps = collected,
                    "progs" => shape.progs = collected,
                    "links" => shape.links = collected,
                    "struct_ops" => shape.struct_ops = collected,
                    _ => {
                        shape.datasecs.insert(name, collected);
                    }
                }
            } else if depth == 1 {
                members.push(closing_name(trimmed));
            }
            continue;
        }
        if depth == 1 && trimmed.ends_with(';') {
            members.push(member_name(trimmed));
        }
    }
    shape
}

#[test]
fn member_names_are_read_from_declarators() {
    assert_eq!(member_name("\t\tint (*bss_fp)(int);"), "bss_fp");
    assert_eq!(member_name("char tag[8];"), "tag");
    assert_eq!(member_name("struct bpf_map *counts;"), "counts");
    assert_eq!(
        member_name("enum libbpf_tristate CONFIG_XYZ;"),
        "CONFIG_XYZ"
    );
    assert_eq!(member_name("__u8 (*(*p0))[16];"), "p0");
    assert_eq!(member_name("int (*a1[2])(void *ctx);"), "a1");
    assert_eq!(member_name("const volatile unsigned long long v2;"), "v2");
    assert_eq!(member_name(" *bss;"), "bss");
    assert_eq!(member_name("pid_t pid;"), "pid");
}
