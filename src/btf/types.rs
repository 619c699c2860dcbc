//! Checked queries over btf-rs: every lookup returns an error instead of panicking, and every
//! walk along a type chain is bounded, so malformed BTF (dangling ids, cycles) fails cleanly.

use crate::error::{Error, Result};
use btf_rs::{BtfType, Type};
use fallible_iterator::FallibleIterator;

/// How deep a chain of modifiers, typedefs, pointers and arrays may go before we call it a cycle.
const MAX_CHAIN: usize = 64;
/// Pointer size of every BPF target.
pub const POINTER_SIZE: u64 = 8;

/// Parsed BTF with the queries bpfgen needs.
pub struct Btf {
    inner: btf_rs::Btf,
    type_count: u32,
}

/// Linkage of a BTF `VAR`, as libbpf reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarLinkage {
    /// A `static` variable: never exposed through a skeleton.
    Static,
    /// A global variable defined in this object.
    Global,
    /// An `extern` declaration (`__kconfig`, `__ksym`).
    Extern,
}

impl VarLinkage {
    /// The C keyword for it, as reports spell it: `static`, `global` or `extern`.
    pub fn name(self) -> &'static str {
        match self {
            VarLinkage::Static => "static",
            VarLinkage::Global => "global",
            VarLinkage::Extern => "extern",
        }
    }
}

impl Btf {
    /// Parses raw BTF (the contents of a `.BTF` section or a `/sys/kernel/btf` file).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let inner = btf_rs::Btf::from_bytes(bytes)
            .map_err(|e| Error::input(format!("invalid BTF: {e}")))?;
        // The iterator yields `void` (id 0) first.
        let with_void = inner
            .type_iter()
            .count()
            .map_err(|e| Error::input(format!("invalid BTF: {e}")))?;
        let type_count = u32::try_from(with_void.saturating_sub(1))
            .ok()
            .filter(|&n| n as usize <= super::table::MAX_TYPES)
            .ok_or_else(|| Error::input("invalid BTF: more types than the kernel allows"))?;
        Ok(Btf { inner, type_count })
    }

    /// Number of types, not counting the implicit `void` (id 0).
    pub fn type_count(&self) -> u32 {
        self.type_count
    }

    /// The type with `id`; id 0 is `void`.
    pub fn get(&self, id: u32) -> Result<Type> {
        if id == 0 {
            return Ok(Type::Void);
        }
        if id > self.type_count {
            return Err(Error::input(format!(
                "invalid BTF: type id {id} out of range (BTF has {} types)",
                self.type_count
            )));
        }
        self.inner
            .resolve_type_by_id(id)
            .map_err(|e| Error::input(format!("invalid BTF: type [{id}]: {e}")))
    }

    /// The name of a type or member; empty for anonymous ones.
    pub fn name(&self, item: &dyn BtfType) -> Result<String> {
        match item.get_name_offset() {
            None | Some(0) => Ok(String::new()),
            Some(_) => self
                .inner
                .resolve_name(item)
                .map_err(|e| Error::input(format!("invalid BTF: bad string offset: {e}"))),
        }
    }

    /// The name of the type with `id`; empty for anonymous types and `void`.
    pub fn type_name(&self, id: u32) -> Result<String> {
        match self.get(id)?.as_btf_type() {
            Some(t) => self.name(t),
            None => Ok(String::new()),
        }
    }

    /// The type a modifier, typedef, pointer, array, var or member refers to.
    pub fn target_id(item: &dyn BtfType) -> u32 {
        item.get_type_id().unwrap_or(0)
    }

    /// Every type id with its type, in id order.
    pub fn types(&self) -> impl Iterator<Item = Result<(u32, Type)>> + '_ {
        (1..=self.type_count).map(move |id| self.get(id).map(|t| (id, t)))
    }

    /// The `DATASEC` named `name` (".bss", ".maps", ".kconfig", ...), with its id.
    pub fn find_datasec(&self, name: &str) -> Result<Option<(u32, btf_rs::Datasec)>> {
        for entry in self.types() {
            if let (id, Type::Datasec(sec)) = entry?
                && self.name(&sec)? == name
            {
                return Ok(Some((id, sec)));
            }
        }
        Ok(None)
    }

    /// Follows `const`, `volatile`, `restrict` and type tags to the type they qualify.
    pub fn skip_mods(&self, id: u32) -> Result<(u32, Type)> {
        self.skip(id, false)
    }

    /// Follows modifiers and typedefs to the underlying type.
    pub fn skip_mods_and_typedefs(&self, id: u32) -> Result<(u32, Type)> {
        self.skip(id, true)
    }

    fn skip(&self, mut id: u32, typedefs: bool) -> Result<(u32, Type)> {
        for _ in 0..MAX_CHAIN {
            let ty = self.get(id)?;
            id = match &ty {
                Type::Const(m) | Type::Volatile(m) | Type::Restrict(m) => Self::target_id(m),
                Type::TypeTag(t) => Self::target_id(t),
                Type::Typedef(t) if typedefs => Self::target_id(t),
                _ => return Ok((id, ty)),
            };
        }
        Err(chain_too_deep(id))
    }

    /// The size in bytes of a value of type `id`, as `btf__resolve_size` computes it.
    pub fn resolve_size(&self, id: u32) -> Result<u64> {
        let mut id = id;
        let mut count: u64 = 1;
        for _ in 0..MAX_CHAIN {
            let size = match self.get(id)? {
                Type::Int(t) => t.size() as u64,
                Type::Float(t) => t.size() as u64,
                Type::Enum(t) => t.size() as u64,
                Type::Enum64(t) => t.size() as u64,
                Type::Struct(t) | Type::Union(t) => t.size() as u64,
                Type::Datasec(t) => t.size() as u64,
                Type::Ptr(_) => POINTER_SIZE,
                Type::Array(a) => {
                    count = count
                        .checked_mul(a.len() as u64)
                        .ok_or_else(|| Error::input("invalid BTF: array size overflows"))?;
                    id = Self::target_id(&a);
                    continue;
                }
                Type::Typedef(t) => {
                    id = Self::target_id(&t);
                    continue;
                }
                Type::Const(m) | Type::Volatile(m) | Type::Restrict(m) => {
                    id = Self::target_id(&m);
                    continue;
                }
                Type::TypeTag(t) => {
                    id = Self::target_id(&t);
                    continue;
                }
                Type::Var(v) => {
                    id = Self::target_id(&v);
                    continue;
                }
                other => {
                    return Err(Error::input(format!(
                        "invalid BTF: type [{id}] of kind {} has no size",
                        other.name()
                    )));
                }
            };
            return size
                .checked_mul(count)
                .ok_or_else(|| Error::input("invalid BTF: type size overflows"));
        }
        Err(chain_too_deep(id))
    }

    /// The alignment of type `id`, as `btf__align_of` computes it (packed structs give 1).
    pub fn align_of(&self, id: u32) -> Result<u64> {
        self.align_of_depth(id, 0)
    }

    fn align_of_depth(&self, id: u32, depth: usize) -> Result<u64> {
        if depth > MAX_CHAIN {
            return Err(chain_too_deep(id));
        }
        let align = match self.get(id)? {
            Type::Int(t) => (t.size() as u64).min(POINTER_SIZE),
            Type::Float(t) => (t.size() as u64).min(POINTER_SIZE),
            Type::Enum(t) => (t.size() as u64).min(POINTER_SIZE),
            Type::Enum64(t) => (t.size() as u64).min(POINTER_SIZE),
            Type::Ptr(_) => POINTER_SIZE,
            Type::Array(a) => self.align_of_depth(Self::target_id(&a), depth + 1)?,
            Type::Typedef(t) => self.align_of_depth(Self::target_id(&t), depth + 1)?,
            Type::Const(m) | Type::Volatile(m) | Type::Restrict(m) => {
                self.align_of_depth(Self::target_id(&m), depth + 1)?
            }
            Type::TypeTag(t) => self.align_of_depth(Self::target_id(&t), depth + 1)?,
            Type::Struct(s) | Type::Union(s) => {
                let mut max_align = 1;
                for member in &s.members {
                    let align = self.align_of_depth(Self::target_id(member), depth + 1)?;
                    max_align = max_align.max(align);
                    let unaligned = u64::from(member.bit_offset()) % (8 * align) != 0;
                    if member.bitfield_size().unwrap_or(0) == 0 && unaligned {
                        return Ok(1);
                    }
                }
                if !(s.size() as u64).is_multiple_of(max_align) {
                    1
                } else {
                    max_align
                }
            }
            other => {
                return Err(Error::input(format!(
                    "invalid BTF: type [{id}] of kind {} has no alignment",
                    other.name()
                )));
            }
        };
        Ok(align.max(1))
    }

    /// The linkage of a `VAR`.
    pub fn var_linkage(var: &btf_rs::Var) -> VarLinkage {
        if var.is_static() {
            VarLinkage::Static
        } else if var.is_extern() {
            VarLinkage::Extern
        } else {
            VarLinkage::Global
        }
    }
}

fn chain_too_deep(id: u32) -> Error {
    Error::input(format!(
        "invalid BTF: type chain from [{id}] is longer than {MAX_CHAIN} links (a cycle?)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btf::raw::{BtfWriter, RawType, kind};

    /// Raw little-endian BTF holding one type, `int` (id 1).
    fn one_int() -> Vec<u8> {
        let mut btf = BtfWriter::default();
        let name_off = btf.add_str(b"int");
        btf.push(RawType {
            name_off,
            info: kind::INT << 24,
            size_or_type: 4,
            extra: vec![32],
        });
        btf.to_bytes(false)
    }

    #[test]
    fn counts_types_without_void_and_finds_nothing_past_the_end() {
        let btf = Btf::parse(&one_int()).unwrap();
        assert_eq!(btf.type_count(), 1);
        assert_eq!(btf.type_name(1).unwrap(), "int");
        assert!(btf.find_datasec(".bss").unwrap().is_none());
        assert!(btf.get(2).is_err());
        assert_eq!(btf.resolve_size(1).unwrap(), 4);
    }
}
