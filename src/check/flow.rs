//! Which instructions the verifier walks on a target kernel: constant propagation over the
//! instructions as libbpf patches them, pruning the branches it decides, like the verifier's
//! dead-code pruning.
//!
//! CO-RE existence checks, type sizes and enumerator values resolve to constants per kernel,
//! so a branch on them goes one way only. Values read from `.rodata` or `.kconfig` (user
//! space's `const volatile` settings, `LINUX_KERNEL_VERSION`, `CONFIG_*`) are constants the
//! verifier knows but bpfgen does not: code behind a branch on them is [`Reach::Conditional`].
//! Everything else (context, maps, helpers' results) is unknown, and both ways are walked.

use super::insn::*;
use crate::object::{BpfObject, CodeRelocation, ExternKind, MapKind, SectionKind};
use std::collections::{BTreeMap, HashMap};

/// How surely the verifier reaches an instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Reach {
    /// Never: every path to it branches away on a constant.
    Dead,
    /// Only if values bpfgen cannot know offline (`.rodata`, `.kconfig`, a program's
    /// autoload) say so.
    Conditional,
    /// On some path whatever user space does.
    Live,
}

/// What libbpf writes into one relocated instruction.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Patch {
    /// The relocation's value (an immediate for `mov`/`ld_imm64`, an offset for memory ops).
    Value(u64),
    /// The instruction is replaced by a call the verifier rejects.
    Poisoned,
}

/// An abstract register or stack-slot value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Val {
    /// Known to bpfgen.
    Known(u64),
    /// Known to the verifier (read from a frozen map), not to bpfgen.
    Frozen,
    /// An address inside a frozen map (`.rodata`, `.kconfig`).
    FrozenPtr,
    /// The frame pointer plus this offset.
    Stack(i64),
    /// Anything.
    Unknown,
}

impl Val {
    fn join(self, other: Val) -> Val {
        match (self, other) {
            (a, b) if a == b => a,
            (Val::Unknown, _) | (_, Val::Unknown) => Val::Unknown,
            (Val::Stack(_) | Val::FrozenPtr, _) | (_, Val::Stack(_) | Val::FrozenPtr) => {
                Val::Unknown
            }
            (Val::Known(_), Val::Known(_)) => Val::Unknown,
            _ => Val::Frozen,
        }
    }
}

/// The abstract machine state before an instruction.
#[derive(Debug, Clone, PartialEq)]
struct State {
    regs: [Val; 11],
    /// 8-byte stack slots written with a register, by offset from the frame pointer.
    stack: BTreeMap<i64, Val>,
    reach: Reach,
}

impl State {
    fn entry(reach: Reach) -> State {
        let mut regs = [Val::Unknown; 11];
        regs[10] = Val::Stack(0);
        State {
            regs,
            stack: BTreeMap::new(),
            reach,
        }
    }

    /// Joins `other` into `self`; whether anything changed.
    fn join(&mut self, other: &State) -> bool {
        let before = self.clone();
        for (mine, theirs) in self.regs.iter_mut().zip(other.regs) {
            *mine = mine.join(theirs);
        }
        self.stack.retain(|off, v| match other.stack.get(off) {
            Some(o) => {
                *v = v.join(*o);
                true
            }
            None => false,
        });
        self.reach = self.reach.max(other.reach);
        *self != before
    }

    /// Forgets stack slots overlapping `[off, off + len)`.
    fn clobber_stack(&mut self, off: i64, len: i64) {
        self.stack
            .retain(|&slot, _| slot + 8 <= off || slot >= off + len);
    }

    /// A helper, kfunc or sub-program call: r0-r5 are clobbered, and a stack pointer passed
    /// along may be written through.
    fn call(&mut self) {
        if self.regs[1..=5].iter().any(|v| matches!(v, Val::Stack(_))) {
            self.stack.clear();
        }
        for reg in &mut self.regs[..=5] {
            *reg = Val::Unknown;
        }
    }
}

/// A call from one function's instruction to another function.
struct CallSite {
    caller: usize,
    reach: Reach,
    callee: usize,
}

/// One function's instructions and what its analysis found.
struct Function<'a> {
    section_index: usize,
    offset: u64,
    bytes: &'a [u8],
    /// Each instruction's reach, with the function entered `Live`.
    reach: Vec<Reach>,
}

/// The reach of every instruction of an object's functions on one target.
pub(crate) struct Reachability {
    /// By (section index, byte offset).
    reach: HashMap<(usize, u64), Reach>,
}

impl Reachability {
    /// How surely the verifier reaches the instruction at byte `offset` of section
    /// `section_index`; `Live` for instructions outside any function.
    pub(crate) fn at(&self, section_index: usize, offset: u64) -> Reach {
        self.reach
            .get(&(section_index, offset))
            .copied()
            .unwrap_or(Reach::Live)
    }
}

/// Analyses every function of `object` with libbpf's `patches` (by section index and byte
/// offset) applied. Programs are entered `Live` (`Conditional` for `SEC("?...")`, which user
/// space must enable), sub-programs as surely as their callers reach them.
pub(crate) fn analyze(object: &BpfObject, patches: &HashMap<(usize, u64), Patch>) -> Reachability {
    let analyzer = Analyzer { object, patches };
    let mut functions: Vec<Function> = Vec::new();
    for function in &object.functions {
        let Some(code) = object
            .code
            .iter()
            .find(|c| c.section_index == function.section_index)
        else {
            continue;
        };
        let end = function.offset.checked_add(function.size);
        let range = end.and_then(|end| {
            Some(usize::try_from(function.offset).ok()?..usize::try_from(end).ok()?)
        });
        let Some(bytes) = range.and_then(|range| code.bytes.get(range)) else {
            continue;
        };
        functions.push(Function {
            section_index: function.section_index,
            offset: function.offset,
            bytes,
            reach: Vec::new(),
        });
    }
    let mut calls = Vec::new();
    for index in 0..functions.len() {
        let (reach, sites) = analyzer.function(&functions, index);
        functions[index].reach = reach;
        calls.extend(sites);
    }
    let mut entry: Vec<Reach> = functions
        .iter()
        .map(|f| {
            let section = object.section(f.section_index);
            match section {
                Some(s) if s.kind == SectionKind::Program && s.name.starts_with('?') => {
                    Reach::Conditional
                }
                Some(s) if s.kind == SectionKind::Program => Reach::Live,
                _ => Reach::Dead,
            }
        })
        .collect();
    // Sub-programs: as surely as the surest call reaches them, to a fixed point.
    loop {
        let mut changed = false;
        for call in &calls {
            let reach = call.reach.min(entry[call.caller]);
            if reach > entry[call.callee] {
                entry[call.callee] = reach;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let mut reach = HashMap::new();
    for (function, entry) in functions.iter().zip(entry) {
        for (i, level) in function.reach.iter().enumerate() {
            let key = (function.section_index, function.offset + i as u64 * 8);
            reach.insert(key, (*level).min(entry));
        }
    }
    Reachability { reach }
}

struct Analyzer<'a> {
    object: &'a BpfObject,
    patches: &'a HashMap<(usize, u64), Patch>,
}

impl<'a> Analyzer<'a> {
    /// Each instruction's reach in function `index` (entered `Live`), and its calls.
    fn function(&self, functions: &[Function], index: usize) -> (Vec<Reach>, Vec<CallSite>) {
        let function = &functions[index];
        let count = function.bytes.len() / 8;
        let mut states: Vec<Option<State>> = vec![None; count];
        let mut calls = Vec::new();
        if count == 0 {
            return (Vec::new(), calls);
        }
        states[0] = Some(State::entry(Reach::Live));
        let mut work = vec![0usize];
        // Every join only loses precision, so this ends; the bound is a safety net.
        let mut budget = count * 64 + 1024;
        while let Some(pc) = work.pop() {
            if budget == 0 {
                // Gave up: everything bpfgen saw reachable may or may not be.
                return (vec![Reach::Conditional; count], calls);
            }
            budget -= 1;
            let Some(state) = states[pc].clone() else {
                continue;
            };
            for (next, out) in self.step(functions, index, pc, state, &mut calls) {
                if next >= count {
                    continue;
                }
                let changed = match &mut states[next] {
                    Some(existing) => existing.join(&out),
                    slot => {
                        *slot = Some(out);
                        true
                    }
                };
                if changed && !work.contains(&next) {
                    work.push(next);
                }
            }
        }
        let reach = states
            .iter()
            .map(|s| s.as_ref().map_or(Reach::Dead, |s| s.reach))
            .collect();
        (reach, calls)
    }

    /// The successors of instruction `pc` and the state each gets.
    fn step(
        &self,
        functions: &[Function],
        index: usize,
        pc: usize,
        mut state: State,
        calls: &mut Vec<CallSite>,
    ) -> Vec<(usize, State)> {
        let function = &functions[index];
        let order = self.object.byte_order;
        let offset = function.offset + pc as u64 * 8;
        let mut insn = decode(&function.bytes[pc * 8..pc * 8 + 8], order);
        let patch = self.patches.get(&(function.section_index, offset)).copied();
        if let Some(Patch::Poisoned) = patch {
            // The verifier stops here; what follows is judged as if it went on.
            if matches!(insn.code & 7, LDX | ALU | ALU64) || insn.code == LD_IMM64 {
                state.regs[insn.dst] = Val::Unknown;
            }
            let width = if insn.code == LD_IMM64 { 2 } else { 1 };
            return vec![(pc + width, state)];
        }
        let patched = match patch {
            Some(Patch::Value(v)) => Some(v),
            _ => None,
        };
        if insn.code == LD_IMM64 {
            let high = function
                .bytes
                .get(pc * 8 + 8..pc * 8 + 16)
                .map_or(0, |b| decode(b, order).imm as u32);
            let value = patched.unwrap_or(u64::from(high) << 32 | u64::from(insn.imm as u32));
            state.regs[insn.dst] = self.address_or_constant(function, offset, value, insn.src);
            if let Some(callee) = self.callee(functions, function, offset, pc, insn) {
                calls.push(CallSite {
                    caller: index,
                    reach: state.reach,
                    callee,
                });
            }
            return vec![(pc + 2, state)];
        }
        if let Some(v) = patched
            && matches!(insn.code & 7, ALU | ALU64)
            && insn.code & 0x08 == 0
        {
            insn.imm = v as i32;
        }
        let class = insn.code & 7;
        match class {
            ALU | ALU64 => {
                state.regs[insn.dst] = alu(&state, insn, class == ALU64);
                vec![(pc + 1, state)]
            }
            LDX => {
                let size = mem_size(insn.code);
                state.regs[insn.dst] = match (insn.code & 0xe0, state.regs[insn.src]) {
                    (MEM, Val::FrozenPtr) => Val::Frozen,
                    (MEM, Val::Stack(base)) if size == 8 => state
                        .stack
                        .get(&(base + i64::from(insn.off)))
                        .copied()
                        .unwrap_or(Val::Unknown),
                    _ => Val::Unknown,
                };
                vec![(pc + 1, state)]
            }
            ST | STX => {
                if insn.code & 0xe0 == 0xc0 {
                    // Atomics may write r0 and the source register.
                    state.regs[0] = Val::Unknown;
                    state.regs[insn.src] = Val::Unknown;
                }
                if let Val::Stack(base) = state.regs[insn.dst] {
                    let at = base + i64::from(insn.off);
                    let size = mem_size(insn.code);
                    state.clobber_stack(at, size);
                    if class == STX && insn.code & 0xe0 == MEM && size == 8 {
                        let value = state.regs[insn.src];
                        state.stack.insert(at, value);
                    }
                }
                vec![(pc + 1, state)]
            }
            LD => {
                // Legacy packet loads: r0 and the argument registers.
                state.call();
                vec![(pc + 1, state)]
            }
            JMP | JMP32 => self.jump(functions, index, pc, state, insn, calls),
            _ => vec![(pc + 1, state)],
        }
    }

    /// A jump, call or exit.
    fn jump(
        &self,
        functions: &[Function],
        index: usize,
        pc: usize,
        mut state: State,
        insn: Insn,
        calls: &mut Vec<CallSite>,
    ) -> Vec<(usize, State)> {
        let function = &functions[index];
        let op = insn.code & 0xf0;
        let target = |off: i64| usize::try_from(pc as i64 + 1 + off).unwrap_or(usize::MAX);
        match op {
            EXIT => Vec::new(),
            CALL => {
                let offset = function.offset + pc as u64 * 8;
                if insn.src == PSEUDO_CALL
                    && let Some(callee) = self.callee(functions, function, offset, pc, insn)
                {
                    calls.push(CallSite {
                        caller: index,
                        reach: state.reach,
                        callee,
                    });
                }
                state.call();
                vec![(pc + 1, state)]
            }
            0x00 => {
                let off = if insn.code & 7 == JMP32 {
                    i64::from(insn.imm)
                } else {
                    i64::from(insn.off)
                };
                vec![(target(off), state)]
            }
            _ => {
                let left = state.regs[insn.dst];
                let right = if insn.code & 0x08 != 0 {
                    state.regs[insn.src]
                } else {
                    Val::Known(i64::from(insn.imm) as u64)
                };
                let taken = target(i64::from(insn.off));
                match (left, right) {
                    (Val::Known(a), Val::Known(b)) => {
                        let wide = insn.code & 7 == JMP;
                        match condition(op, a, b, wide) {
                            Some(true) => vec![(taken, state)],
                            Some(false) => vec![(pc + 1, state)],
                            None => vec![(taken, state.clone()), (pc + 1, state)],
                        }
                    }
                    (Val::Unknown | Val::Stack(_), _) | (_, Val::Unknown | Val::Stack(_)) => {
                        vec![(taken, state.clone()), (pc + 1, state)]
                    }
                    _ => {
                        state.reach = state.reach.min(Reach::Conditional);
                        vec![(taken, state.clone()), (pc + 1, state)]
                    }
                }
            }
        }
    }

    /// The function a `call` (or a callback's `ld_imm64`) at instruction `pc` enters: through
    /// its ELF relocation, or relative to `pc` within the section.
    fn callee(
        &self,
        functions: &[Function],
        function: &Function,
        offset: u64,
        pc: usize,
        insn: Insn,
    ) -> Option<usize> {
        let relocation = self.relocation_at(function, offset);
        let is_call = insn.code & 0xf0 == CALL;
        let (section_index, target) = match relocation {
            Some(relocation) => {
                let named = self
                    .object
                    .functions
                    .iter()
                    .find(|f| f.name == relocation.symbol);
                let (section_index, base) = match named {
                    Some(f) => (f.section_index, f.offset as i64),
                    // A section symbol: libbpf's sub-programs live in `.text`.
                    None => (
                        self.object
                            .sections
                            .iter()
                            .find(|s| {
                                s.kind == SectionKind::Text
                                    && (relocation.symbol.is_empty() || s.name == relocation.symbol)
                            })?
                            .index,
                        0,
                    ),
                };
                let target = if is_call {
                    base + (i64::from(insn.imm) + 1) * 8
                } else {
                    base + i64::from(insn.imm)
                };
                (section_index, target)
            }
            None if is_call => (
                function.section_index,
                function.offset as i64 + (pc as i64 + 1 + i64::from(insn.imm)) * 8,
            ),
            None => return None,
        };
        functions
            .iter()
            .position(|f| f.section_index == section_index && f.offset as i64 == target)
    }

    /// The relocation on the instruction at byte `offset` of `function`'s section, if any.
    fn relocation_at(&self, function: &Function, offset: u64) -> Option<&'a CodeRelocation> {
        self.object
            .code
            .iter()
            .find(|c| c.section_index == function.section_index)
            .and_then(|c| c.relocations.iter().find(|r| r.offset == offset))
    }

    /// What an `ld_imm64` loads: the address of a frozen map's data, a constant, or an
    /// unknown address (maps, writable globals, ksyms).
    fn address_or_constant(&self, function: &Function, offset: u64, value: u64, src: usize) -> Val {
        let relocation = self.relocation_at(function, offset);
        match relocation {
            None if src == 0 => Val::Known(value),
            None => Val::Unknown,
            Some(r) if self.is_frozen(&r.symbol) => Val::FrozenPtr,
            Some(_) => Val::Unknown,
        }
    }

    /// Whether symbol `name` lives in memory the verifier knows (`.rodata*`, `.kconfig`).
    fn is_frozen(&self, name: &str) -> bool {
        let kconfig = self
            .object
            .externs
            .iter()
            .any(|e| e.kind == ExternKind::Kconfig && e.name == name);
        let rodata = self.object.maps.iter().any(|m| match &m.kind {
            MapKind::Data { section, vars, .. } => {
                section.starts_with(".rodata")
                    && (section == name || vars.iter().any(|v| v.name == name))
            }
            _ => false,
        });
        kconfig || rodata
    }
}

/// An ALU instruction's result.
fn alu(state: &State, insn: Insn, wide: bool) -> Val {
    let op = insn.code & 0xf0;
    let dst = state.regs[insn.dst];
    let src = if insn.code & 0x08 != 0 {
        state.regs[insn.src]
    } else {
        Val::Known(i64::from(insn.imm) as u64)
    };
    const MOV: u8 = 0xb0;
    const ADD: u8 = 0x00;
    const SUB: u8 = 0x10;
    if op == MOV && insn.off == 0 {
        return match src {
            Val::Known(v) if !wide => Val::Known(v & 0xffff_ffff),
            v if wide => v,
            Val::Frozen => Val::Frozen,
            _ => Val::Unknown,
        };
    }
    match (dst, src) {
        (Val::Stack(base), Val::Known(v)) if wide && op == ADD => Val::Stack(base + v as i64),
        (Val::Stack(base), Val::Known(v)) if wide && op == SUB => Val::Stack(base - v as i64),
        (Val::Known(a), Val::Known(b)) => {
            arithmetic(op, a, b, wide).map_or(Val::Unknown, Val::Known)
        }
        (Val::Known(_) | Val::Frozen, Val::Known(_) | Val::Frozen) => Val::Frozen,
        _ => Val::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_lose_precision_only() {
        assert_eq!(Val::Known(1).join(Val::Known(1)), Val::Known(1));
        assert_eq!(Val::Known(1).join(Val::Known(2)), Val::Unknown);
        assert_eq!(Val::Known(1).join(Val::Frozen), Val::Frozen);
        assert_eq!(Val::Frozen.join(Val::Unknown), Val::Unknown);
    }
}
