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

/// The declared name in a member line such as `int (*fp)(int);` or `char tag[8];`.
fn member_name(line: &str) -> String {
    let decl = line.trim().trim_end_matches(';').trim();
    if let Some(at) = decl.find("(*") {
        let rest = &decl[at + 2..];
        return rest[..rest.find(')').unwrap()].trim().to_string();
    }
    let decl = match decl.find('[') {
        Some(at) => &decl[..at],
        None => decl,
    };
    decl.rsplit(|c: char| !(c.is_alphanumeric() || c == '_'))
        .find(|s| !s.is_empty())
        .unwrap()
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
                let name = member_name(trimmed.trim_start_matches('}'));
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
                members.push(member_name(trimmed.trim_start_matches('}')));
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
}
