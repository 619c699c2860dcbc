//! The differential conformance suite, part one: every named type of every kernel in
//! tests/data, as globals of a BPF program, in C skeletons compared with bpftool's.
//!
//! For each kernel, every named struct, union, enum and typedef gets globals of its type, of a
//! pointer to it and of a two-element array of it (where C allows each), spread over `.bss`,
//! `.data`, `.rodata` and a custom `.data.conf` section, in chunks of
//! `BPFGEN_CONFORMANCE_CHUNK` types (default 2500). Each chunk is built by `bpfgen build`; then
//! - bpftool 7.1's skeleton of the same object has the same data-section members (names), and
//!   each member has the same C type (gcc's `__builtin_types_compatible_p`, so that a typedef
//!   bpfgen writes as what it names still counts as the same type);
//! - bpfgen's skeleton compiles with `-Wall -Werror` as C and as C++, against libbpf 1.1 and
//!   1.7, and its size assertions hold.
//!
//! With `BPFGEN_CONFORMANCE_RUST=1` (a longer mode), each chunk's Rust skeleton must also
//! hold every public item of libbpf-cargo 0.27.2's.
//!
//! User space needs the definitions of the types a skeleton names. They come from the kernel's
//! vmlinux.h, minus the declarations that the headers a skeleton includes (glibc, libbpf, its
//! uapi copy) already make: those are found by compiling and dropping each declaration the
//! compiler rejects, until nothing is rejected, per language and libbpf version. A type that
//! needs a dropped declaration by value is left out (user space's definition may differ in
//! size); the counts say how many.

use crate::util::*;
use bpfgen::btf::table::{Kind, TypeTable};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What a skeleton's user space includes before the skeleton's own types.
const SKELETON_INCLUDES: &str = "#include <errno.h>\n#include <stdlib.h>\n#include <stdbool.h>\n\
     #include <bpf/libbpf.h>\n#include <bpf/bpf.h>\n";

/// The sections the globals are spread over, with the qualifiers each needs.
const SECTIONS: &[(&str, &str)] = &[
    (".bss", ""),
    (".data", ""),
    (".rodata", "const volatile "),
    (".data.conf", ""),
];

/// One user-space variant a skeleton must compile in.
#[derive(Clone, Copy)]
struct Variant {
    cxx: bool,
    libbpf17: bool,
}

const VARIANTS: [Variant; 4] = [
    Variant {
        cxx: false,
        libbpf17: false,
    },
    Variant {
        cxx: false,
        libbpf17: true,
    },
    Variant {
        cxx: true,
        libbpf17: false,
    },
    Variant {
        cxx: true,
        libbpf17: true,
    },
];

impl Variant {
    fn label(self) -> &'static str {
        match (self.cxx, self.libbpf17) {
            (false, false) => "c-libbpf1.1",
            (false, true) => "c-libbpf1.7",
            (true, false) => "cxx-libbpf1.1",
            (true, true) => "cxx-libbpf1.7",
        }
    }

    /// gcc or g++ with the include flags of this variant's libbpf.
    fn compiler(self) -> Command {
        let mut cmd = Command::new(if self.cxx { "g++" } else { "gcc" });
        cmd.args(["-x", if self.cxx { "c++" } else { "c" }]);
        if self.libbpf17 {
            cmd.args(libbpf17_include_flags());
        }
        cmd
    }
}

/// A named type of the kernel, and how its globals are declared.
struct Root {
    /// How C names it: `struct task_struct`, `enum pid_type`, `pid_t`.
    spelling: String,
    /// A typedef of a function type, or of an incomplete (forward-declared) struct: only a
    /// pointer to it can be a variable.
    pointer_only: bool,
    /// Ends in a flexible array member: no arrays of it.
    flexible: bool,
    /// `const` itself (a typedef of a const type): its objects can only be in `.rodata`.
    constant: bool,
}

/// Why named types were left out, and how many.
#[derive(Default)]
struct Exclusions {
    /// Needs a declaration that user space's headers make differently (by value, or by name
    /// through pointers and prototypes).
    shadowed: usize,
    /// Empty in C, or holding an empty member (`struct u64_stats_sync` on 64-bit): C and C++
    /// disagree on its size, so no size assertion can hold in both.
    zero_sized: usize,
    /// Declared more than once under one name (vmlinux.h renames the others `___N`).
    duplicate_name: usize,
}

/// The kernel's vmlinux.h split into its top-level declarations (blank-line separated), with
/// the ones rejected after `SKELETON_INCLUDES` in `variant` dropped. Returns the header and
/// the names the dropped declarations declared.
fn user_space_types(dir: &Path, vmlinux: &str, variant: Variant) -> (String, BTreeSet<String>) {
    let blocks: Vec<&str> = vmlinux.split("\n\n").collect();
    let mut dropped = vec![false; blocks.len()];
    let header = dir.join(format!("types-{}.h", variant.label()));
    let tu = dir.join(format!("types-{}.tu", variant.label()));
    std::fs::write(
        &tu,
        format!(
            "{SKELETON_INCLUDES}#define BPF_NO_PRESERVE_ACCESS_INDEX\n#include \"{}\"\n",
            header.display()
        ),
    )
    .unwrap();
    let pattern = format!("{}:", header.display());
    for _round in 0..64 {
        let mut text = String::new();
        let mut first_lines = Vec::new();
        let mut line = 1;
        for (block, _) in blocks.iter().zip(&dropped).filter(|(_, d)| !**d) {
            first_lines.push((line, *block));
            line += block.matches('\n').count() + 2;
            text.push_str(block);
            text.push_str("\n\n");
        }
        std::fs::write(&header, &text).unwrap();
        let out = run(variant
            .compiler()
            .args(["-fsyntax-only", "-fmax-errors=0", "-w"])
            .arg(&tu));
        if out.status.success() {
            let names = blocks
                .iter()
                .zip(&dropped)
                .filter(|(_, d)| **d)
                .filter_map(|(b, _)| declared_name(b))
                .collect();
            return (text, names);
        }
        let log = stderr(&out);
        let mut rejected = BTreeSet::new();
        for line in log.lines().filter(|l| l.contains(": error: ")) {
            let Some(rest) = line.strip_prefix(&pattern) else {
                continue;
            };
            let number: usize = rest.split(':').next().unwrap().parse().unwrap();
            let at = first_lines.partition_point(|(start, _)| *start <= number) - 1;
            rejected.insert(first_lines[at].1);
        }
        assert!(
            !rejected.is_empty(),
            "{}: errors outside the kernel's types:\n{log}",
            variant.label()
        );
        for (block, drop) in blocks.iter().zip(dropped.iter_mut()) {
            if rejected.contains(block) {
                *drop = true;
            }
        }
    }
    panic!("{}: vmlinux.h does not settle", variant.label());
}

/// The tag or typedef name a top-level declaration of vmlinux.h declares (`struct bpf_insn`,
/// `fd_set`); none for anonymous enums.
fn declared_name(block: &str) -> Option<String> {
    let first = block.lines().next()?;
    for tag in ["struct ", "union ", "enum "] {
        if let Some(rest) = first.strip_prefix(tag) {
            let name = rest.trim_end_matches(" {").trim_end_matches(';');
            return (!name.is_empty() && name != "{").then(|| format!("{tag}{name}"));
        }
    }
    let last = block.trim_end().trim_end_matches(';');
    let last = last.rsplit('\n').next()?;
    let name = match last.find("(*") {
        Some(at) => &last[at + 2..last[at..].find(')').map_or(last.len(), |e| at + e)],
        None => last
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .rfind(|w| !w.is_empty())?,
    };
    Some(name.trim().to_string())
}

/// How C spells named type `id`, if it is a named struct, union, enum or typedef.
fn spelling(table: &TypeTable, id: u32) -> Option<String> {
    let ty = table.get(id).ok()?;
    let name = table.name(ty.name);
    if name.is_empty() {
        return None;
    }
    match ty.kind {
        Kind::Struct => Some(format!("struct {name}")),
        Kind::Union => Some(format!("union {name}")),
        Kind::Enum { .. } | Kind::Enum64 { .. } => Some(format!("enum {name}")),
        Kind::Typedef => Some(name.to_string()),
        _ => None,
    }
}

/// Whether type `id`, as written in a declaration, depends on a named type in `shadowed`:
/// through members of what it holds `by_value` (their layout counts), and by name through
/// pointers and prototypes (`loff_t` in a parameter is glibc's `long`, not the kernel's
/// `long long`).
fn needs_shadowed(
    table: &TypeTable,
    id: u32,
    by_value: bool,
    shadowed: &BTreeSet<String>,
    memo: &mut BTreeMap<(u32, bool), bool>,
) -> bool {
    if let Some(&known) = memo.get(&(id, by_value)) {
        return known;
    }
    memo.insert((id, by_value), false);
    let ty = table.get(id).unwrap();
    let own = spelling(table, id).is_some_and(|s| shadowed.contains(&s));
    let needs = own
        || match ty.kind {
            Kind::Struct | Kind::Union => {
                (by_value || table.name(ty.name).is_empty())
                    && table
                        .items(ty)
                        .to_vec()
                        .iter()
                        .any(|m| needs_shadowed(table, m.target, by_value, shadowed, memo))
            }
            Kind::Array { .. }
            | Kind::Typedef
            | Kind::Const
            | Kind::Volatile
            | Kind::Restrict
            | Kind::TypeTag { .. } => needs_shadowed(table, ty.target, by_value, shadowed, memo),
            Kind::Ptr => needs_shadowed(table, ty.target, false, shadowed, memo),
            Kind::FuncProto => {
                needs_shadowed(table, ty.target, false, shadowed, memo)
                    || table.items(ty).to_vec().iter().any(|p| {
                        p.target != 0 && needs_shadowed(table, p.target, false, shadowed, memo)
                    })
            }
            _ => false,
        };
    memo.insert((id, by_value), needs);
    needs
}

/// Whether `ty` is a struct or union C writes without members: size 0 in C, 1 in C++. BTF
/// may give such a union a size (`release_pages_arg`, a transparent union whose members BTF
/// lost), which vmlinux.h cannot reproduce.
fn is_empty_composite(table: &TypeTable, ty: &bpfgen::btf::table::Ty) -> bool {
    matches!(ty.kind, Kind::Struct | Kind::Union) && (ty.size == 0 || table.items(ty).is_empty())
}

/// Whether `id` is or holds, by value, a struct or union of size 0 (C++ gives it a byte).
fn holds_zero_sized(table: &TypeTable, id: u32, depth: usize) -> bool {
    let Ok(resolved) = table.skip_mods_and_typedefs(id) else {
        return false;
    };
    let ty = table.get(resolved).unwrap();
    if is_empty_composite(table, ty) {
        return true;
    }
    match ty.kind {
        Kind::Struct | Kind::Union if depth < 64 => table.items(ty).iter().any(|m| {
            let member = table.skip_mods_and_typedefs(m.target).unwrap_or(0);
            let member_ty = table.get(member).unwrap();
            is_empty_composite(table, member_ty) || holds_zero_sized(table, m.target, depth + 1)
        }),
        Kind::Array { .. } if depth < 64 => holds_zero_sized(table, ty.target, depth + 1),
        _ => false,
    }
}

/// Whether struct `id` ends in a flexible array member.
fn is_flexible(table: &TypeTable, id: u32) -> bool {
    let Ok(resolved) = table.skip_mods_and_typedefs(id) else {
        return false;
    };
    let ty = table.get(resolved).unwrap();
    if !matches!(ty.kind, Kind::Struct) {
        return false;
    }
    table.items(ty).last().is_some_and(|last| {
        let member = table.skip_mods_and_typedefs(last.target).unwrap();
        matches!(
            table.get(member).unwrap().kind,
            Kind::Array { nelems: 0, .. }
        ) || is_flexible(table, member)
    })
}

/// Whether `id` is const-qualified itself, through typedefs and other modifiers.
fn is_const(table: &TypeTable, mut id: u32) -> bool {
    loop {
        let ty = table.get(id).unwrap();
        match ty.kind {
            Kind::Const => return true,
            Kind::Typedef | Kind::Volatile | Kind::Restrict | Kind::TypeTag { .. } => {
                id = ty.target
            }
            Kind::Array { .. } => id = ty.target,
            _ => return false,
        }
    }
}

/// The named types of `table` that user space can define as the kernel does.
fn roots(table: &TypeTable, shadowed: &BTreeSet<String>) -> (Vec<Root>, Exclusions) {
    let mut excluded = Exclusions::default();
    // Tags share one namespace, typedefs another: a name declared twice in one is renamed
    // `___N` by vmlinux.h in an order this test does not predict.
    let mut uses: BTreeMap<(bool, &str), usize> = BTreeMap::new();
    for id in 1..table.len() {
        if spelling(table, id).is_some() {
            let ty = table.get(id).unwrap();
            *uses
                .entry((ty.kind == Kind::Typedef, table.name(ty.name)))
                .or_default() += 1;
        }
    }
    let mut memo = BTreeMap::new();
    let mut roots = Vec::new();
    for id in 1..table.len() {
        let Some(spelling) = spelling(table, id) else {
            continue;
        };
        let ty = table.get(id).unwrap();
        if uses[&(ty.kind == Kind::Typedef, table.name(ty.name))] > 1 {
            excluded.duplicate_name += 1;
            continue;
        }
        if needs_shadowed(table, id, true, shadowed, &mut memo) {
            excluded.shadowed += 1;
            continue;
        }
        let resolved = table.skip_mods_and_typedefs(id).unwrap();
        let function = matches!(table.get(resolved).unwrap().kind, Kind::FuncProto);
        // Forward-declared structs have no size: only pointers to them.
        let size = table.size_of(id).ok();
        if !function && (size == Some(0) || holds_zero_sized(table, id, 0)) {
            excluded.zero_sized += 1;
            continue;
        }
        roots.push(Root {
            spelling,
            pointer_only: function || size.is_none(),
            flexible: is_flexible(table, id),
            constant: is_const(table, id),
        });
    }
    (roots, excluded)
}

/// The BPF source declaring globals of `roots`, starting the section rotation at `rotation`.
fn chunk_source(roots: &[Root], rotation: usize) -> String {
    let mut source = String::from("#include \"vmlinux.h\"\n\n");
    for (i, root) in roots.iter().enumerate() {
        let (section, quals) = if root.constant {
            (".rodata", "volatile ")
        } else {
            SECTIONS[(i + rotation) % SECTIONS.len()]
        };
        let attr = format!("__attribute__((section(\"{section}\")))");
        let ty = &root.spelling;
        if !root.pointer_only {
            let _ = writeln!(source, "{quals}{ty} v{i} {attr};");
        }
        // A pointer in .rodata must be const itself, whatever it points to.
        let pointer_quals = if section == ".rodata" {
            "const volatile "
        } else {
            ""
        };
        let _ = writeln!(source, "{ty} *{pointer_quals}p{i} {attr};");
        if !root.pointer_only && !root.flexible {
            let _ = writeln!(source, "{quals}{ty} a{i}[2] {attr};");
        }
    }
    source
}

/// A translation unit: the user-space types of `variant`, then `body`.
fn user_space_tu(dir: &Path, name: &str, variant: Variant, body: &str) -> PathBuf {
    let ext = if variant.cxx { "cc" } else { "c" };
    let tu = dir.join(format!("{name}-{}.{ext}", variant.label()));
    std::fs::write(
        &tu,
        format!(
            "{SKELETON_INCLUDES}#define BPF_NO_PRESERVE_ACCESS_INDEX\n\
             #include <types-{}.h>\n{body}",
            variant.label()
        ),
    )
    .unwrap();
    tu
}

/// Builds one chunk and holds its skeleton to bpftool's; returns the members compared.
fn check_chunk(kernel_dir: &Path, chunk: usize, roots: &[Root], rotation: usize) -> usize {
    let dir = kernel_dir.join(format!("chunk{chunk}"));
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("chunk.bpf.c");
    std::fs::write(&source, chunk_source(roots, rotation)).unwrap();
    let context = format!("{}: ", source.display());
    run_ok(
        bpfgen()
            .args(["build", "--no-check", "-I"])
            .arg(kernel_dir)
            .arg("-o")
            .arg(&dir)
            .arg(&source),
    );
    let ours = std::fs::read_to_string(dir.join("chunk.skel.h")).unwrap();
    let theirs = run_ok(
        Command::new("bpftool")
            .args(["gen", "skeleton"])
            .arg(dir.join("chunk.bpf.o"))
            .args(["name", "ref_bpf"]),
    )
    .stdout;
    std::fs::write(dir.join("ref.skel.h"), &theirs).unwrap();
    let our_shape = crate::skeleton_shape::parse(&ours, "chunk_bpf");
    let mut their_shape =
        crate::skeleton_shape::parse(&String::from_utf8_lossy(&theirs), "ref_bpf");
    their_shape
        .datasecs
        .retain(|_, members| !members.is_empty());
    assert_eq!(
        our_shape.datasecs, their_shape.datasecs,
        "{context}data-section members differ from bpftool's"
    );

    // Each member's type is bpftool's, as gcc sees types.
    let mut same = String::from("#include \"chunk.skel.h\"\n#include \"ref.skel.h\"\n");
    let mut members = 0;
    for (sec, names) in &our_shape.datasecs {
        for name in names {
            members += 1;
            let _ = writeln!(
                same,
                "_Static_assert(__builtin_types_compatible_p(\
                 __typeof__(((struct chunk_bpf *)0)->{sec}->{name}), \
                 __typeof__(((struct ref_bpf *)0)->{sec}->{name})), \"{sec}.{name}\");"
            );
        }
    }
    let c = VARIANTS[0];
    let tu = user_space_tu(&dir, "same-types", c, &same);
    let out = syntax_check(c, &["-w"], kernel_dir, &dir, &tu);
    assert!(
        out.status.success(),
        "{context}member types differ from bpftool's:\n{}",
        first_errors(&stderr(&out))
    );

    // The longer mode: the Rust skeleton against libbpf-cargo's, on the same object.
    if std::env::var_os("BPFGEN_CONFORMANCE_RUST").is_some()
        && let Some(oracle) = crate::rust_skel::libbpf_cargo_oracle()
        && let Some(found) =
            crate::rust_skel::libbpf_cargo_differences(&oracle, &dir.join("chunk.bpf.o"))
    {
        assert!(
            found.missing.is_empty() && found.extra.is_empty(),
            "{context}Rust skeleton differs from libbpf-cargo's: missing {:?}, extra {:?}",
            &found.missing[..found.missing.len().min(20)],
            &found.extra[..found.extra.len().min(20)]
        );
    }

    // bpfgen's skeleton, whole, in every variant.
    let body = "#include \"chunk.skel.h\"\n\
                int main(void) { struct chunk_bpf *s = chunk_bpf__open_and_load(); \
                chunk_bpf__destroy(s); return 0; }\n";
    for variant in VARIANTS {
        let tu = user_space_tu(&dir, "use", variant, body);
        let out = syntax_check(
            variant,
            &["-Wall", "-Wextra", "-Werror"],
            kernel_dir,
            &dir,
            &tu,
        );
        assert!(
            out.status.success(),
            "{context}the skeleton does not compile as {}:\n{}",
            variant.label(),
            first_errors(&stderr(&out))
        );
    }
    members
}

/// Compiles `tu` (`-fsyntax-only`) in `variant` with `flags`, the kernel's user-space types
/// from `kernel_dir` (as system headers: their warnings are not the skeleton's) and the
/// skeletons in `dir`.
fn syntax_check(
    variant: Variant,
    flags: &[&str],
    kernel_dir: &Path,
    dir: &Path,
    tu: &Path,
) -> std::process::Output {
    run(variant
        .compiler()
        .args(flags)
        .args(["-fsyntax-only", "-isystem"])
        .arg(kernel_dir)
        .arg("-I")
        .arg(dir)
        .arg(tu))
}

/// The first lines of a compiler's errors: enough to see the cause.
fn first_errors(log: &str) -> String {
    log.lines().take(20).collect::<Vec<_>>().join("\n")
}

/// Every named type of `kernel`, checked; returns a line of counts.
fn check_kernel(kernel: &str, rotation: usize) -> String {
    // Kept after the run, so that a failure's sources and skeletons can be read.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("conformance-types")
        .join(kernel);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let btf = kernel_btf(kernel);
    let table = TypeTable::from_bytes(&std::fs::read(&btf).unwrap(), None).unwrap();
    let vmlinux_path = dir.join("vmlinux.h");
    gen_vmlinux(&btf, &vmlinux_path);
    let vmlinux = std::fs::read_to_string(&vmlinux_path).unwrap();
    let mut shadowed = BTreeSet::new();
    for variant in VARIANTS {
        let (_, dropped) = user_space_types(&dir, &vmlinux, variant);
        shadowed.extend(dropped);
    }
    // The compiler's own va_list is 8 bytes under -target bpf and 24 on x86-64: no user
    // space has the kernel's.
    shadowed.insert("__builtin_va_list".to_string());
    let (roots, excluded) = roots(&table, &shadowed);
    let chunk_size: usize = std::env::var("BPFGEN_CONFORMANCE_CHUNK")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2500);
    let chunks: Vec<&[Root]> = roots.chunks(chunk_size).collect();
    let members: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .iter()
            .enumerate()
            .map(|(i, chunk)| {
                let dir = &dir;
                scope.spawn(move || check_chunk(dir, i, chunk, rotation))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    format!(
        "{kernel}: {} named types checked in {} chunks ({members} data-section members equal \
         to bpftool's); left out: {} shadowed by user-space headers, {} zero-sized, {} \
         duplicate names",
        roots.len(),
        chunks.len(),
        excluded.shadowed,
        excluded.zero_sized,
        excluded.duplicate_name
    )
}

/// One test per kernel, so that the two cores share them.
macro_rules! kernel_test {
    ($test:ident, $index:expr) => {
        #[test]
        fn $test() {
            let kernel = KERNELS[$index];
            let counts = check_kernel(kernel, $index);
            eprintln!("conformance: {counts}");
            let report = Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("conformance-types-{kernel}.txt"));
            std::fs::write(report, format!("{counts}\n")).unwrap();
        }
    };
}

kernel_test!(
    every_named_type_of_linux_6_1_matches_bpftool_and_compiles,
    0
);
kernel_test!(
    every_named_type_of_linux_6_12_matches_bpftool_and_compiles,
    1
);
kernel_test!(
    every_named_type_of_linux_6_18_matches_bpftool_and_compiles,
    2
);
