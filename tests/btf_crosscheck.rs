//! bpfgen's BTF reader checked against an independent one: btf-rs (a dev-dependency, and only
//! that) decodes the same bytes, and every type must read the same in both: kind, name, size,
//! referred type, members with their types and bit offsets, enumerator values, parameters,
//! linkage, DATASEC entries. Over the BTF of the three kernels in tests/data, of every example
//! and fixture object, and of the raw-BTF fuzz corpora: what bpfgen accepts, btf-rs must read
//! the same way (bpfgen may refuse more: it checks more).

use crate::util::*;
use bpfgen::btf::table::{Kind, Linkage, TypeTable};
use btf_rs::{Btf, BtfType, Type};
use std::path::Path;

/// One line per type: the facts both readers give, spelled the same way.
fn ours(table: &TypeTable) -> Vec<String> {
    (1..table.len())
        .map(|id| {
            let ty = table.get(id).unwrap();
            let name = table.name(ty.name);
            let items = table.items(ty);
            let members = |with_bits: bool| {
                items
                    .iter()
                    .map(|m| {
                        let name = table.name(m.name);
                        if with_bits {
                            format!("{name}:{}@{}/{}", m.target, m.bit_offset, m.bitfield_size)
                        } else {
                            format!("{name}:{}", m.target)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let values = || {
                items
                    .iter()
                    .map(|m| format!("{}={}", table.name(m.name), m.value))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            match ty.kind {
                Kind::Void => unreachable!("only id 0 is void"),
                Kind::Int { signed } => format!("int {name} {} {signed}", ty.size),
                Kind::Float => format!("float {name} {}", ty.size),
                Kind::Ptr => format!("ptr {}", ty.target),
                Kind::Array { nelems } => format!("array {} {nelems}", ty.target),
                Kind::Struct => format!("struct {name} {} [{}]", ty.size, members(true)),
                Kind::Union => format!("union {name} {} [{}]", ty.size, members(true)),
                Kind::Enum { signed } => format!("enum {name} {} {signed} [{}]", ty.size, values()),
                Kind::Enum64 { signed } => {
                    format!("enum64 {name} {} {signed} [{}]", ty.size, values())
                }
                Kind::Fwd { union } => format!("fwd {name} {union}"),
                Kind::Typedef => format!("typedef {name} {}", ty.target),
                Kind::Const => format!("const {}", ty.target),
                Kind::Volatile => format!("volatile {}", ty.target),
                Kind::Restrict => format!("restrict {}", ty.target),
                Kind::TypeTag { attribute } => format!("type_tag {name} {} {attribute}", ty.target),
                Kind::FuncProto => format!("func_proto {} [{}]", ty.target, members(false)),
                Kind::Func => format!("func {name} {} {}", ty.target, ty.linkage.name()),
                Kind::Var => format!("var {name} {} {}", ty.target, ty.linkage.name()),
                Kind::Datasec => {
                    let entries: Vec<String> = items
                        .iter()
                        .map(|e| format!("{}@{}+{}", e.target, e.bit_offset, e.value))
                        .collect();
                    format!("datasec {name} {} [{}]", ty.size, entries.join(","))
                }
                Kind::DeclTag => format!("decl_tag {name} {}", ty.target),
            }
        })
        .collect()
}

/// The same lines from btf-rs; `Err` when it cannot decode a type.
fn theirs(btf: &Btf, count: u32) -> Result<Vec<String>, String> {
    // btf-rs has no name for offset 0 (anonymous); bpfgen's is the empty string.
    let name = |t: &dyn BtfType| match t.get_name_offset() {
        None | Some(0) => String::new(),
        Some(_) => btf
            .resolve_name(t)
            .unwrap_or_else(|e| format!("<btf-rs: {e}>")),
    };
    let linkage = |is_static: bool, is_extern: bool| {
        if is_static {
            Linkage::Static
        } else if is_extern {
            Linkage::Extern
        } else {
            Linkage::Global
        }
        .name()
    };
    (1..count)
        .map(|id| {
            let ty = btf
                .resolve_type_by_id(id)
                .map_err(|e| format!("type [{id}]: {e}"))?;
            let target = ty.as_btf_type().and_then(|t| t.get_type_id()).unwrap_or(0);
            Ok(match &ty {
                Type::Void => "void".to_string(),
                Type::Int(t) => format!("int {} {} {}", name(t), t.size(), t.is_signed()),
                Type::Float(t) => format!("float {} {}", name(t), t.size()),
                Type::Ptr(_) => format!("ptr {target}"),
                Type::Array(t) => format!("array {target} {}", t.len()),
                Type::Struct(t) | Type::Union(t) => {
                    let members: Vec<String> = t
                        .members
                        .iter()
                        .map(|m| {
                            format!(
                                "{}:{}@{}/{}",
                                name(m),
                                m.get_type_id().unwrap_or(0),
                                m.bit_offset(),
                                m.bitfield_size().unwrap_or(0)
                            )
                        })
                        .collect();
                    let kind = if matches!(ty, Type::Struct(_)) {
                        "struct"
                    } else {
                        "union"
                    };
                    format!("{kind} {} {} [{}]", name(t), t.size(), members.join(","))
                }
                Type::Enum(t) => {
                    let values = t.members.iter().map(|m| format!("{}={}", name(m), m.val()));
                    enum_line("enum", name(t), t.size(), t.is_signed(), values)
                }
                Type::Enum64(t) => {
                    let values = t.members.iter().map(|m| format!("{}={}", name(m), m.val()));
                    enum_line("enum64", name(t), t.size(), t.is_signed(), values)
                }
                Type::Fwd(t) => format!("fwd {} {}", name(t), t.is_union()),
                Type::Typedef(t) => format!("typedef {} {target}", name(t)),
                Type::Const(_) => format!("const {target}"),
                Type::Volatile(_) => format!("volatile {target}"),
                Type::Restrict(_) => format!("restrict {target}"),
                Type::TypeTag(t) => format!("type_tag {} {target} {}", name(t), t.is_attribute()),
                Type::FuncProto(t) => {
                    let params: Vec<String> = t
                        .parameters
                        .iter()
                        .map(|p| format!("{}:{}", name(p), p.get_type_id().unwrap_or(0)))
                        .collect();
                    format!("func_proto {} [{}]", t.return_type_id(), params.join(","))
                }
                Type::Func(t) => format!(
                    "func {} {target} {}",
                    name(t),
                    linkage(t.is_static(), t.is_extern())
                ),
                Type::Var(t) => format!(
                    "var {} {target} {}",
                    name(t),
                    linkage(t.is_static(), t.is_extern())
                ),
                Type::Datasec(t) => {
                    let entries: Vec<String> = t
                        .variables
                        .iter()
                        .map(|v| {
                            format!(
                                "{}@{}+{}",
                                v.get_type_id().unwrap_or(0),
                                v.offset(),
                                v.size()
                            )
                        })
                        .collect();
                    format!("datasec {} {} [{}]", name(t), t.size(), entries.join(","))
                }
                Type::DeclTag(t) => format!("decl_tag {} {target}", name(t)),
                other => {
                    return Err(format!(
                        "type [{id}]: a kind this test does not know: {other:?}"
                    ));
                }
            })
        })
        .collect()
}

/// What became of one BTF read by both readers.
#[derive(PartialEq, Debug)]
enum Outcome {
    /// bpfgen refused it.
    Refused,
    /// Both read it, the same.
    Same,
    /// A name starts inside another string (`"pwr_acc"` named `"acc"`, as string tables that
    /// share suffixes do): valid BTF, which libbpf and the kernel read, but btf-rs finds names
    /// only where a string starts. The offset was checked to be such a place.
    NameInsideString,
}

/// The line of an enum or enum64 whose enumerators read `values` (`name=value` each).
fn enum_line(
    kind: &str,
    name: String,
    size: usize,
    signed: bool,
    values: impl Iterator<Item = String>,
) -> String {
    let values: Vec<String> = values.collect();
    format!("{kind} {name} {size} {signed} [{}]", values.join(","))
}

/// Reads `bytes` with both readers; when bpfgen accepts them, btf-rs must read every type
/// the same.
fn crosscheck(what: &str, bytes: &[u8]) -> Outcome {
    let Ok(table) = TypeTable::from_bytes(bytes, None) else {
        return Outcome::Refused;
    };
    let btf = match Btf::from_bytes(bytes) {
        Ok(btf) => btf,
        Err(btf_rs::Error::InvalidString(offset)) if inside_a_string(bytes, offset) => {
            return Outcome::NameInsideString;
        }
        Err(e) => panic!("{what}: bpfgen reads it, btf-rs does not: {e}"),
    };
    let theirs = theirs(&btf, table.len())
        .unwrap_or_else(|e| panic!("{what}: bpfgen reads it, btf-rs does not: {e}"));
    // Names btf-rs resolves only when asked for (members, parameters) fail the same way.
    let unread: Vec<u32> = theirs
        .iter()
        .flat_map(|line| line.split("<btf-rs: no string at offset ").skip(1))
        .map(|rest| rest[..rest.find('>').unwrap()].parse().unwrap())
        .collect();
    if !unread.is_empty() {
        assert!(
            unread.iter().all(|&offset| inside_a_string(bytes, offset)),
            "{what}: btf-rs finds no string at {unread:?}"
        );
        return Outcome::NameInsideString;
    }
    for (index, (a, b)) in ours(&table).iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "{what}: type [{}] reads differently", index + 1);
    }
    Outcome::Same
}

/// Whether `offset` of raw BTF's string section is past the start of a string.
fn inside_a_string(bytes: &[u8], offset: u32) -> bool {
    let word = |at: usize| {
        let raw: [u8; 4] = bytes[at..at + 4].try_into().unwrap();
        if bytes[0] == 0x9f {
            u32::from_le_bytes(raw)
        } else {
            u32::from_be_bytes(raw)
        }
    };
    let strings = word(4) as usize + word(16) as usize;
    let at = strings + offset as usize;
    offset > 0 && offset < word(20) && bytes[at - 1] != 0
}

#[test]
fn kernel_btf_reads_the_same_in_btf_rs() {
    for kernel in KERNELS {
        let bytes = std::fs::read(kernel_btf(kernel)).unwrap();
        assert_eq!(crosscheck(kernel, &bytes), Outcome::Same, "{kernel}");
    }
}

/// The `.BTF` section of an ELF object.
fn btf_section(object: &Path) -> Option<Vec<u8>> {
    use object::{Object, ObjectSection};
    let bytes = std::fs::read(object).unwrap();
    let file = object::File::parse(&*bytes).ok()?;
    let section = file.section_by_name(".BTF")?;
    Some(section.data().ok()?.to_vec())
}

#[test]
fn object_btf_of_every_example_and_fixture_reads_the_same_in_btf_rs() {
    let dir = scratch();
    let sources: Vec<_> = ["examples/c", "tests/fixtures", "tests/fixtures/link"]
        .iter()
        .flat_map(|d| std::fs::read_dir(repo().join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".bpf.c"))
        .collect();
    let mut checked = 0;
    for source in &sources {
        let out = dir.path().join(source.file_name().unwrap());
        let built = run(bpfgen()
            .args(["build", "--skel", "none", "--no-check", "-o"])
            .arg(&out)
            .arg("-I")
            .arg(example(""))
            .arg("-I")
            .arg(source.parent().unwrap())
            .arg(source));
        if !built.status.success() {
            continue; // the fixtures that must not compile
        }
        for object in std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().path()) {
            if object.extension().is_some_and(|e| e == "o")
                && let Some(btf) = btf_section(&object)
            {
                let outcome = crosscheck(&object.display().to_string(), &btf);
                assert_eq!(outcome, Outcome::Same, "{}", object.display());
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 20,
        "only {checked} objects with BTF were checked"
    );
}

#[test]
fn raw_btf_fuzz_inputs_read_the_same_in_btf_rs() {
    let (mut same, mut inside) = (0, 0);
    for target in ["btf_to_c", "btf_to_rust"] {
        for kind in ["corpus", "regressions"] {
            let dir = repo().join("fuzz").join(kind).join(target);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for input in entries.map(|e| e.unwrap().path()) {
                let bytes = std::fs::read(&input).unwrap();
                match crosscheck(&input.display().to_string(), &bytes) {
                    Outcome::Same => same += 1,
                    Outcome::NameInsideString => inside += 1,
                    Outcome::Refused => {}
                }
            }
        }
    }
    assert!(same > 0, "no fuzz input was valid BTF");
    eprintln!(
        "{same} fuzz inputs bpfgen accepts read the same in btf-rs; {inside} name a string \
         inside another, which btf-rs cannot read"
    );
}
