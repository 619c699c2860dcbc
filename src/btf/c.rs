//! C declarations from BTF types: `int (*fp)(int)`, `char tag[8]`, `struct { int a; } anon`,
//! as libbpf's `btf_dump__emit_type_decl` prints them for skeleton variables.

use super::types::Btf;
use crate::error::{Error, Result};
use btf_rs::Type;

/// How deep declarators and inline definitions may nest.
const MAX_DEPTH: usize = 64;

/// Options for [`declaration`].
pub struct DeclOptions<'a> {
    /// Drop `const`, `volatile` and `restrict` (skeletons keep them only for `.kconfig`).
    pub strip_mods: bool,
    /// Tab depth of the declaration; inline struct bodies go one deeper.
    pub indent: usize,
    /// Whether a typedef name can be used as is; other typedefs are replaced by what they name.
    pub keep_typedef: &'a dyn Fn(&str) -> bool,
}

/// Renders `type_id` declaring `name` (empty for an abstract declarator, e.g. a parameter).
pub fn declaration(btf: &Btf, type_id: u32, name: &str, opts: &DeclOptions) -> Result<String> {
    Renderer { btf, opts }.render(type_id, name.to_string(), Vec::new(), 0)
}

/// Typedef names that user space sees through `<bpf/libbpf.h>` (linux/types.h, stdint.h,
/// stddef.h, stdbool.h), so a skeleton may name them.
pub fn is_userspace_typedef(name: &str) -> bool {
    const LIBC: &[&str] = &[
        "size_t",
        "ssize_t",
        "bool",
        "int8_t",
        "int16_t",
        "int32_t",
        "int64_t",
        "uint8_t",
        "uint16_t",
        "uint32_t",
        "uint64_t",
        "intptr_t",
        "uintptr_t",
    ];
    const UAPI_PREFIXES: &[&str] = &["__u", "__s", "__be", "__le"];
    LIBC.contains(&name)
        || (UAPI_PREFIXES.iter().any(|p| name.starts_with(p))
            && name[2..].chars().all(|c| c.is_ascii_alphanumeric()))
        || name == "__wsum"
        || name == "__sum16"
}

struct Renderer<'a> {
    btf: &'a Btf,
    opts: &'a DeclOptions<'a>,
}

impl Renderer<'_> {
    /// Renders type `id` around the declarator `inner`, with pending qualifiers `quals`.
    fn render(
        &self,
        id: u32,
        inner: String,
        quals: Vec<&'static str>,
        depth: usize,
    ) -> Result<String> {
        if depth > MAX_DEPTH {
            return Err(Error::input(format!(
                "invalid BTF: type [{id}] nests deeper than {MAX_DEPTH} levels (a cycle?)"
            )));
        }
        let ty = self.btf.get(id)?;
        let base = |name: String| Ok(join(&prefixed(&quals, &name), &inner));
        match ty {
            Type::Void => base("void".into()),
            Type::Int(t) => {
                let name = self.btf.name(&t)?;
                // `_Bool` is not C++; libbpf.h includes stdbool.h, so `bool` works in both.
                base(if name == "_Bool" { "bool".into() } else { name })
            }
            Type::Float(t) => base(self.btf.name(&t)?),
            Type::Typedef(t) => {
                let name = self.btf.name(&t)?;
                if (self.opts.keep_typedef)(&name) {
                    base(name)
                } else {
                    self.render(Btf::target_id(&t), inner, quals, depth + 1)
                }
            }
            Type::Fwd(f) => {
                let keyword = if f.is_union() { "union" } else { "struct" };
                base(format!("{keyword} {}", self.btf.name(&f)?))
            }
            Type::Struct(_) | Type::Union(_) | Type::Enum(_) | Type::Enum64(_) => {
                base(self.composite(&ty, depth)?)
            }
            Type::Const(m) => self.qualified("const", &m, inner, quals, depth),
            Type::Volatile(m) => self.qualified("volatile", &m, inner, quals, depth),
            Type::Restrict(m) => self.qualified("restrict", &m, inner, quals, depth),
            Type::TypeTag(t) => self.render(Btf::target_id(&t), inner, quals, depth + 1),
            Type::Ptr(p) => {
                let target = Btf::target_id(&p);
                let star = if quals.is_empty() {
                    "*".to_string()
                } else {
                    format!("*{} ", quals.join(" "))
                };
                let needs_parens = matches!(
                    self.btf.skip_mods(target)?.1,
                    Type::Array(_) | Type::FuncProto(_)
                );
                let inner = if needs_parens {
                    format!("({star}{inner})")
                } else {
                    format!("{star}{inner}")
                };
                self.render(target, inner, Vec::new(), depth + 1)
            }
            Type::Array(a) => {
                let inner = format!("{inner}[{}]", a.len());
                self.render(Btf::target_id(&a), inner, quals, depth + 1)
            }
            Type::FuncProto(proto) => {
                let params = self.parameters(&proto, depth)?;
                let inner = format!("{inner}({params})");
                self.render(proto.return_type_id(), inner, Vec::new(), depth + 1)
            }
            other => Err(Error::input(format!(
                "type [{id}] of kind {} cannot be declared in C",
                other.name()
            ))),
        }
    }

    /// A `const`/`volatile`/`restrict` over `target`: kept unless modifiers are stripped.
    fn qualified(
        &self,
        qualifier: &'static str,
        target: &btf_rs::Volatile,
        inner: String,
        mut quals: Vec<&'static str>,
        depth: usize,
    ) -> Result<String> {
        if !self.opts.strip_mods {
            quals.push(qualifier);
        }
        self.render(Btf::target_id(target), inner, quals, depth + 1)
    }

    fn parameters(&self, proto: &btf_rs::FuncProto, depth: usize) -> Result<String> {
        if proto.parameters.is_empty() {
            return Ok("void".into());
        }
        let mut params = Vec::with_capacity(proto.parameters.len());
        for param in &proto.parameters {
            if param.is_variadic() {
                params.push("...".to_string());
                continue;
            }
            let name = self.btf.name(param)?;
            params.push(self.render(Btf::target_id(param), name, Vec::new(), depth + 1)?);
        }
        Ok(params.join(", "))
    }

    /// `struct name` for named types; the whole definition, inline, for anonymous ones.
    fn composite(&self, ty: &Type, depth: usize) -> Result<String> {
        let (keyword, name) = match ty {
            Type::Struct(t) => ("struct", self.btf.name(t)?),
            Type::Union(t) => ("union", self.btf.name(t)?),
            Type::Enum(t) => ("enum", self.btf.name(t)?),
            Type::Enum64(t) => ("enum", self.btf.name(t)?),
            _ => unreachable!("composite() is only called for structs, unions and enums"),
        };
        if !name.is_empty() {
            return Ok(format!("{keyword} {name}"));
        }
        let indent = self.opts.indent;
        let tabs = "\t".repeat(indent + 1);
        let mut body = format!("{keyword} {{\n");
        match ty {
            Type::Struct(s) | Type::Union(s) => {
                for member in &s.members {
                    let name = self.btf.name(member)?;
                    let nested = Renderer {
                        btf: self.btf,
                        opts: &DeclOptions {
                            indent: indent + 1,
                            ..*self.opts
                        },
                    };
                    let decl =
                        nested.render(Btf::target_id(member), name, Vec::new(), depth + 1)?;
                    match member.bitfield_size().filter(|&bits| bits > 0) {
                        Some(bits) => body.push_str(&format!("{tabs}{decl}: {bits};\n")),
                        None => body.push_str(&format!("{tabs}{decl};\n")),
                    }
                }
            }
            Type::Enum(e) => {
                for member in &e.members {
                    let value = if e.is_signed() {
                        (member.val() as i32).to_string()
                    } else {
                        member.val().to_string()
                    };
                    body.push_str(&format!("{tabs}{} = {value},\n", self.btf.name(member)?));
                }
            }
            Type::Enum64(e) => {
                for member in &e.members {
                    let value = if e.is_signed() {
                        format!("{}LL", member.val() as i64)
                    } else {
                        format!("{}ULL", member.val())
                    };
                    body.push_str(&format!("{tabs}{} = {value},\n", self.btf.name(member)?));
                }
            }
            _ => {}
        }
        body.push_str(&"\t".repeat(indent));
        body.push('}');
        Ok(body)
    }
}

fn prefixed(quals: &[&str], name: &str) -> String {
    if quals.is_empty() {
        name.to_string()
    } else {
        format!("{} {name}", quals.join(" "))
    }
}

fn join(base: &str, declarator: &str) -> String {
    if declarator.is_empty() {
        base.to_string()
    } else {
        format!("{base} {declarator}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userspace_typedefs() {
        assert!(is_userspace_typedef("__u32"));
        assert!(is_userspace_typedef("__be16"));
        assert!(is_userspace_typedef("uint64_t"));
        assert!(!is_userspace_typedef("u32"));
        assert!(!is_userspace_typedef("pid_t"));
        assert!(!is_userspace_typedef("__kernel_size_t"));
    }
}
