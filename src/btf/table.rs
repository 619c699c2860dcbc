//! A compact, indexable copy of a whole BTF: every type read once through btf-rs into flat
//! vectors, so that passes over all of a kernel's types (vmlinux.h generation) cost one
//! allocation-free lookup per visit.

use crate::error::{Error, Result};
use btf_rs::{BtfType, Type};
use std::ops::Range;
use std::path::Path;

/// What a type is, with the fields that matter to C code generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `void` (id 0 only).
    Void,
    /// An integer; the name says which.
    Int,
    /// A floating point type.
    Float,
    /// A pointer to `target`.
    Ptr,
    /// `nelems` elements of `target`.
    Array {
        /// Number of elements.
        nelems: u32,
    },
    /// A struct; members in `items`.
    Struct,
    /// A union; members in `items`.
    Union,
    /// An enum; enumerators in `items`.
    Enum {
        /// Whether values are signed.
        signed: bool,
    },
    /// A 64-bit enum; enumerators in `items`.
    Enum64 {
        /// Whether values are signed.
        signed: bool,
    },
    /// A forward declaration.
    Fwd {
        /// `union` rather than `struct`.
        union: bool,
    },
    /// A typedef of `target`.
    Typedef,
    /// `const target`.
    Const,
    /// `volatile target`.
    Volatile,
    /// `restrict target`.
    Restrict,
    /// A type tag on `target`.
    TypeTag {
        /// Printed as a plain attribute rather than `btf_type_tag`.
        attribute: bool,
    },
    /// A function prototype returning `target`; parameters in `items`.
    FuncProto,
    /// A function of prototype `target`.
    Func,
    /// A variable of type `target`.
    Var,
    /// A data section.
    Datasec,
    /// A declaration tag.
    DeclTag,
}

/// One type.
#[derive(Debug, Clone)]
pub struct Ty {
    /// What it is.
    pub kind: Kind,
    /// Its name; empty when anonymous.
    pub name: Box<str>,
    /// Size in bytes, for sized kinds.
    pub size: u32,
    /// The type it refers to (pointee, element, typedef target, return type, ...).
    pub target: u32,
    /// Its members, enumerators or parameters, as a range of [`TypeTable::items`].
    pub items: Range<u32>,
}

/// A member, enumerator or parameter.
#[derive(Debug, Clone)]
pub struct Item {
    /// Its name; empty when anonymous.
    pub name: Box<str>,
    /// Member or parameter type (0 for enumerators, and for a trailing `...`).
    pub target: u32,
    /// Member offset in bits.
    pub bit_offset: u32,
    /// Bitfield width in bits; 0 when not a bitfield.
    pub bitfield_size: u32,
    /// Enumerator value (as unsigned bits).
    pub value: u64,
}

/// Every type of a BTF, by id (id 0 is `void`).
pub struct TypeTable {
    types: Vec<Ty>,
    items: Vec<Item>,
}

impl TypeTable {
    /// Reads raw BTF bytes; `base` is the base BTF of split (module) BTF.
    pub fn from_bytes(bytes: &[u8], base: Option<&[u8]>) -> Result<Self> {
        let btf = match base {
            Some(base) => {
                let base = btf_rs::Btf::from_bytes(base).map_err(invalid)?;
                btf_rs::Btf::from_split_bytes(bytes, &base)
            }
            None => btf_rs::Btf::from_bytes(bytes),
        }
        .map_err(invalid)?;
        Self::from_btf(&btf)
    }

    /// Reads a raw BTF file through a memory map (a kernel's 5 MB BTF opens in about a
    /// millisecond this way, against ~80 ms for a parsed copy).
    pub fn from_raw_file(path: &Path) -> Result<Self> {
        let btf = btf_rs::Btf::from_file_with_backend(path, btf_rs::Backend::Mmap)
            .map_err(|e| invalid(e).in_file(path))?;
        Self::from_btf(&btf).map_err(|e| e.in_file(path))
    }

    /// Converts every type, the two halves of the id range on two threads.
    fn from_btf(btf: &btf_rs::Btf) -> Result<Self> {
        let last = match btf.split() {
            Some(split) => split.type_id_range().1,
            None => btf.base().type_id_range().1,
        };
        let count = last
            .checked_add(1)
            .filter(|&n| n > 0)
            .ok_or_else(|| Error::input("invalid BTF: no types"))?;
        let mid = count / 2;
        let (low, high) = std::thread::scope(|scope| {
            let high = scope.spawn(|| Self::convert_range(btf, mid..count));
            let low = Self::convert_range(btf, 0..mid);
            (low, high.join().expect("BTF conversion thread panicked"))
        });
        let mut table = low?;
        let high = high?;
        let shift = table.items.len() as u32;
        table.items.extend(high.items);
        table.types.extend(high.types.into_iter().map(|mut ty| {
            ty.items = ty.items.start + shift..ty.items.end + shift;
            ty
        }));
        table.check_references()?;
        Ok(table)
    }

    fn convert_range(btf: &btf_rs::Btf, ids: Range<u32>) -> Result<Self> {
        let mut table = TypeTable {
            types: Vec::with_capacity(ids.len()),
            items: Vec::with_capacity(ids.len() * 2),
        };
        for id in ids {
            let ty = if id == 0 {
                Type::Void
            } else {
                btf.resolve_type_by_id(id).map_err(invalid)?
            };
            let entry = table.convert(btf, &ty)?;
            table.types.push(entry);
        }
        Ok(table)
    }

    /// The type with `id`.
    pub fn get(&self, id: u32) -> Result<&Ty> {
        self.types.get(id as usize).ok_or_else(|| {
            Error::input(format!(
                "invalid BTF: type id {id} out of range ({} types)",
                self.types.len() - 1
            ))
        })
    }

    /// The members, enumerators or parameters of `ty`.
    pub fn items(&self, ty: &Ty) -> &[Item] {
        &self.items[ty.items.start as usize..ty.items.end as usize]
    }

    /// Number of type ids, `void` included.
    pub fn len(&self) -> u32 {
        self.types.len() as u32
    }

    /// Whether only `void` is there.
    pub fn is_empty(&self) -> bool {
        self.types.len() <= 1
    }

    fn convert(&mut self, btf: &btf_rs::Btf, ty: &Type) -> Result<Ty> {
        let name = |item: &dyn BtfType| -> Result<Box<str>> {
            match item.get_name_offset() {
                None | Some(0) => Ok("".into()),
                Some(_) => btf.resolve_name(item).map(Into::into).map_err(invalid),
            }
        };
        let start = self.items.len() as u32;
        let entry = |kind, name, size, target| Ty {
            kind,
            name,
            size,
            target,
            items: start..start,
        };
        let mut out = match ty {
            Type::Void => entry(Kind::Void, "".into(), 0, 0),
            Type::Int(t) => entry(Kind::Int, name(t)?, t.size() as u32, 0),
            Type::Float(t) => entry(Kind::Float, name(t)?, t.size() as u32, 0),
            Type::Ptr(t) => entry(Kind::Ptr, "".into(), 8, target(t)),
            Type::Array(t) => entry(
                Kind::Array {
                    nelems: t.len() as u32,
                },
                "".into(),
                0,
                target(t),
            ),
            Type::Struct(t) | Type::Union(t) => {
                let kind = if matches!(ty, Type::Struct(_)) {
                    Kind::Struct
                } else {
                    Kind::Union
                };
                for m in &t.members {
                    self.items.push(Item {
                        name: name(m)?,
                        target: target(m),
                        bit_offset: m.bit_offset(),
                        bitfield_size: m.bitfield_size().unwrap_or(0),
                        value: 0,
                    });
                }
                entry(kind, name(t)?, t.size() as u32, 0)
            }
            Type::Enum(t) => {
                for v in &t.members {
                    self.items.push(enumerator(name(v)?, u64::from(v.val())));
                }
                let signed = t.is_signed();
                entry(Kind::Enum { signed }, name(t)?, t.size() as u32, 0)
            }
            Type::Enum64(t) => {
                for v in &t.members {
                    self.items.push(enumerator(name(v)?, v.val()));
                }
                let signed = t.is_signed();
                entry(Kind::Enum64 { signed }, name(t)?, t.size() as u32, 0)
            }
            Type::Fwd(t) => entry(
                Kind::Fwd {
                    union: t.is_union(),
                },
                name(t)?,
                0,
                0,
            ),
            Type::Typedef(t) => entry(Kind::Typedef, name(t)?, 0, target(t)),
            Type::Const(t) => entry(Kind::Const, "".into(), 0, target(t)),
            Type::Volatile(t) => entry(Kind::Volatile, "".into(), 0, target(t)),
            Type::Restrict(t) => entry(Kind::Restrict, "".into(), 0, target(t)),
            Type::TypeTag(t) => entry(
                Kind::TypeTag {
                    attribute: t.is_attribute(),
                },
                name(t)?,
                0,
                target(t),
            ),
            Type::FuncProto(t) => {
                for p in &t.parameters {
                    self.items.push(Item {
                        name: name(p)?,
                        target: if p.is_variadic() { 0 } else { target(p) },
                        bit_offset: 0,
                        bitfield_size: 0,
                        value: 0,
                    });
                }
                entry(Kind::FuncProto, "".into(), 0, t.return_type_id())
            }
            Type::Func(t) => entry(Kind::Func, name(t)?, 0, target(t)),
            Type::Var(t) => entry(Kind::Var, name(t)?, 0, target(t)),
            Type::Datasec(t) => entry(Kind::Datasec, name(t)?, t.size() as u32, 0),
            Type::DeclTag(t) => entry(Kind::DeclTag, name(t)?, 0, target(t)),
            other => {
                return Err(Error::input(format!(
                    "invalid BTF: unsupported kind {}",
                    other.name()
                )));
            }
        };
        out.items = start..self.items.len() as u32;
        Ok(out)
    }

    /// Every referenced id must exist: later passes index without checking.
    fn check_references(&self) -> Result<()> {
        let max = self.types.len() as u32;
        let dangling = |id: u32| id >= max;
        for (id, ty) in self.types.iter().enumerate() {
            let bad_item = self.items(ty).iter().any(|item| dangling(item.target));
            if dangling(ty.target) || bad_item {
                return Err(Error::input(format!(
                    "invalid BTF: type [{id}] refers to a type id out of range ({} types)",
                    max - 1
                )));
            }
        }
        Ok(())
    }
}

fn enumerator(name: Box<str>, value: u64) -> Item {
    Item {
        name,
        target: 0,
        bit_offset: 0,
        bitfield_size: 0,
        value,
    }
}

fn target(item: &dyn BtfType) -> u32 {
    item.get_type_id().unwrap_or(0)
}

fn invalid(err: btf_rs::Error) -> Error {
    Error::input(format!("invalid BTF: {err}"))
}
