//! C and Rust identifiers from names found in objects and BTF: the character rules and the
//! keywords that generated code must keep clear of. A leaf module: BTF's C and Rust writers,
//! the object reader's naming rules and the skeletons all spell identifiers through it.

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

/// Keywords of C (C23 included) and C++ that a BPF program, map or variable may still be
/// called in C (`new`, `class`, ...), or that a crafted object may use: as skeleton
/// identifiers they get a trailing `_`.
const KEYWORDS: &[&str] = &[
    "alignas",
    "alignof",
    "and",
    "and_eq",
    "asm",
    "auto",
    "bitand",
    "bitor",
    "bool",
    "break",
    "case",
    "catch",
    "char",
    "char8_t",
    "char16_t",
    "char32_t",
    "class",
    "compl",
    "concept",
    "const",
    "consteval",
    "constexpr",
    "constinit",
    "const_cast",
    "continue",
    "co_await",
    "co_return",
    "co_yield",
    "decltype",
    "default",
    "delete",
    "do",
    "double",
    "dynamic_cast",
    "else",
    "enum",
    "explicit",
    "export",
    "extern",
    "false",
    "float",
    "for",
    "friend",
    "goto",
    "if",
    "inline",
    "int",
    "long",
    "mutable",
    "namespace",
    "new",
    "noexcept",
    "not",
    "not_eq",
    "nullptr",
    "operator",
    "or",
    "or_eq",
    "private",
    "protected",
    "public",
    "register",
    "reinterpret_cast",
    "requires",
    "restrict",
    "return",
    "short",
    "signed",
    "sizeof",
    "static",
    "static_assert",
    "static_cast",
    "struct",
    "switch",
    "template",
    "this",
    "thread_local",
    "throw",
    "true",
    "try",
    "typedef",
    "typeid",
    "typename",
    "typeof",
    "union",
    "unsigned",
    "using",
    "virtual",
    "void",
    "volatile",
    "wchar_t",
    "while",
    "xor",
    "xor_eq",
    "_Alignas",
    "_Alignof",
    "_Atomic",
    "_Bool",
    "_Complex",
    "_Generic",
    "_Imaginary",
    "_Noreturn",
    "_Static_assert",
    "_Thread_local",
];

/// A skeleton identifier for `name`: sanitized, and kept clear of C and C++ keywords.
pub fn skeleton_identifier(name: &str) -> String {
    let mut ident = sanitize_identifier(name);
    if KEYWORDS.contains(&ident.as_str()) {
        ident.push('_');
    }
    ident
}

/// Keywords that user space has as type names: `bool` (C with `<stdbool.h>`, C23 and C++) and
/// C++'s character types. A typedef of BTF with one of these names (vmlinux.h's
/// `typedef _Bool bool;`) is referred to by that name, as bpftool does; escaping it would
/// name a type user space does not have.
const TYPE_KEYWORDS: &[&str] = &["bool", "wchar_t", "char8_t", "char16_t", "char32_t"];

/// Whether `name` is a keyword that user space also spells as a type name (`bool`,
/// `wchar_t`, `char8_t`, `char16_t`, `char32_t`), so that a typedef of that name is written
/// as it is.
pub fn is_type_keyword(name: &str) -> bool {
    TYPE_KEYWORDS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skeleton_identifiers_avoid_keywords() {
        assert_eq!(skeleton_identifier("counts"), "counts");
        assert_eq!(skeleton_identifier("new"), "new_");
        assert_eq!(skeleton_identifier("class"), "class_");
        assert_eq!(skeleton_identifier("a\"b*/c"), "a_b__c");
    }
}
