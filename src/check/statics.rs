//! Static programs (B0102): libbpf's open refuses an object at the first program declared
//! `static`. So that one run reports every other finding too, `check` reads a copy of the
//! object in which those programs are global, and reports each of them at its declaration.

use super::Context;
use crate::diag::{Anchor, Code, Diagnostic, Severity};
use object::read::elf::ElfFile64;
use object::{Endianness, Object, ObjectSection, ObjectSymbol, SectionKind, SymbolKind};

/// `STB_GLOBAL << 4 | STT_FUNC`.
const GLOBAL_FUNC: u8 = 0x12;
/// The size of an ELF64 symbol, and where its `st_info` byte is.
const SYM_SIZE: usize = 24;
const ST_INFO: usize = 4;

/// The names of the `static` functions in program sections of ELF `data`, and a copy of
/// `data` in which they are global; `None` when there are none (or the ELF is unreadable).
pub(crate) fn globalised(data: &[u8]) -> Option<(Vec<u8>, Vec<String>)> {
    let file = ElfFile64::<Endianness>::parse(data).ok()?;
    let (symtab, _) = file.section_by_name(".symtab")?.file_range()?;
    let mut copy = data.to_vec();
    let mut names = Vec::new();
    for symbol in file.symbols() {
        let in_program = symbol
            .section_index()
            .and_then(|index| file.section_by_index(index).ok())
            .is_some_and(|s| s.kind() == SectionKind::Text && s.name() != Ok(".text"));
        if symbol.kind() != SymbolKind::Text || !symbol.is_local() || !in_program {
            continue;
        }
        let at = usize::try_from(symtab).ok()? + symbol.index().0 * SYM_SIZE + ST_INFO;
        *copy.get_mut(at)? = GLOBAL_FUNC;
        names.push(symbol.name().ok()?.to_string());
    }
    (!names.is_empty()).then_some((copy, names))
}

/// A B0102 error for each of the programs `names` (found static by [`globalised`]).
pub(crate) fn check(cx: &Context, names: &[String]) -> Vec<Diagnostic> {
    cx.object
        .programs
        .iter()
        .filter(|p| names.contains(&p.name))
        .map(|program| {
            cx.diagnostic(
                Code::StaticProgram,
                Severity::Error,
                format!(
                    "program '{}' in section '{}' is static; libbpf only loads global programs",
                    program.name, program.section
                ),
            )
            .at(cx.location(&program.section, program.offset))
            .anchored(Anchor::Above(format!("{}(", program.name)))
            .note("drop `static`, or move it to .text as a sub-program")
            .note(format!(
                "libbpf refuses to open the object: sec '{}': program '{}' is static and not \
                 supported",
                program.section, program.name
            ))
        })
        .collect()
}
