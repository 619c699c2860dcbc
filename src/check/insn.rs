//! BPF instructions: decoding, and the arithmetic and jump conditions of the ISA on known
//! values.

use crate::object::ByteOrder;

/// One decoded instruction.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Insn {
    /// Opcode.
    pub(crate) code: u8,
    /// Destination register.
    pub(crate) dst: usize,
    /// Source register.
    pub(crate) src: usize,
    /// Offset.
    pub(crate) off: i16,
    /// Immediate.
    pub(crate) imm: i32,
}

/// Decodes the 8 bytes of one instruction.
pub(crate) fn decode(bytes: &[u8], order: ByteOrder) -> Insn {
    let b: [u8; 8] = bytes.try_into().expect("8-byte instruction");
    let (dst, src) = match order {
        ByteOrder::Little => (b[1] & 0xf, b[1] >> 4),
        ByteOrder::Big => (b[1] >> 4, b[1] & 0xf),
    };
    let (off, imm) = match order {
        ByteOrder::Little => (
            i16::from_le_bytes([b[2], b[3]]),
            i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        ),
        ByteOrder::Big => (
            i16::from_be_bytes([b[2], b[3]]),
            i32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        ),
    };
    Insn {
        code: b[0],
        dst: usize::from(dst.min(10)),
        src: usize::from(src.min(10)),
        off,
        imm,
    }
}

/// Instruction class `BPF_LD` (legacy packet loads, `ld_imm64`).
pub(crate) const LD: u8 = 0x00;
/// Instruction class `BPF_LDX` (loads).
pub(crate) const LDX: u8 = 0x01;
/// Instruction class `BPF_ST` (stores of an immediate).
pub(crate) const ST: u8 = 0x02;
/// Instruction class `BPF_STX` (stores of a register, atomics).
pub(crate) const STX: u8 = 0x03;
/// Instruction class `BPF_ALU` (32-bit arithmetic).
pub(crate) const ALU: u8 = 0x04;
/// Instruction class `BPF_JMP` (64-bit comparisons, calls, exit).
pub(crate) const JMP: u8 = 0x05;
/// Instruction class `BPF_JMP32` (32-bit comparisons).
pub(crate) const JMP32: u8 = 0x06;
/// Instruction class `BPF_ALU64` (64-bit arithmetic).
pub(crate) const ALU64: u8 = 0x07;
/// The opcode of `ld_imm64` (two instruction slots).
pub(crate) const LD_IMM64: u8 = 0x18;
/// Mode `BPF_MEM` of loads and stores.
pub(crate) const MEM: u8 = 0x60;
/// Jump operation `BPF_CALL`.
pub(crate) const CALL: u8 = 0x80;
/// Jump operation `BPF_EXIT`.
pub(crate) const EXIT: u8 = 0x90;
/// `src_reg` of a call to a sub-program (`BPF_PSEUDO_CALL`).
pub(crate) const PSEUDO_CALL: usize = 1;

/// Bytes a load or store moves.
pub(crate) fn mem_size(code: u8) -> i64 {
    match code & 0x18 {
        0x00 => 4,
        0x08 => 2,
        0x10 => 1,
        _ => 8,
    }
}

/// `a op b` as the BPF ISA defines it (division by zero gives 0, modulo by zero `a`).
pub(crate) fn arithmetic(op: u8, a: u64, b: u64, wide: bool) -> Option<u64> {
    let (a, b) = if wide {
        (a, b)
    } else {
        (a & 0xffff_ffff, b & 0xffff_ffff)
    };
    let bits = if wide { 64 } else { 32 };
    let shift = (b % bits) as u32;
    let value = match op {
        0x00 => a.wrapping_add(b),
        0x10 => a.wrapping_sub(b),
        0x20 => a.wrapping_mul(b),
        0x30 => a.checked_div(b).unwrap_or(0),
        0x40 => a | b,
        0x50 => a & b,
        0x60 => a << shift,
        0x70 => a >> shift,
        0x80 => a.wrapping_neg(),
        0x90 => a.checked_rem(b).unwrap_or(a),
        0xa0 => a ^ b,
        0xc0 if wide => ((a as i64) >> shift) as u64,
        0xc0 => ((a as u32 as i32) >> shift) as u32 as u64,
        _ => return None,
    };
    Some(if wide { value } else { value & 0xffff_ffff })
}

/// Whether a conditional jump of kind `op` is taken for `a` and `b`.
pub(crate) fn condition(op: u8, a: u64, b: u64, wide: bool) -> Option<bool> {
    let (a, b, sa, sb) = if wide {
        (a, b, a as i64, b as i64)
    } else {
        let (a, b) = (a & 0xffff_ffff, b & 0xffff_ffff);
        (a, b, i64::from(a as u32 as i32), i64::from(b as u32 as i32))
    };
    Some(match op {
        0x10 => a == b,
        0x20 => a > b,
        0x30 => a >= b,
        0x40 => a & b != 0,
        0x50 => a != b,
        0x60 => sa > sb,
        0x70 => sa >= sb,
        0xa0 => a < b,
        0xb0 => a <= b,
        0xc0 => sa < sb,
        0xd0 => sa <= sb,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_follows_the_isa() {
        assert_eq!(arithmetic(0x00, u64::MAX, 2, true), Some(1));
        assert_eq!(arithmetic(0x00, 0xffff_ffff, 2, false), Some(1));
        assert_eq!(arithmetic(0x30, 7, 0, true), Some(0));
        assert_eq!(arithmetic(0x90, 7, 0, true), Some(7));
        assert_eq!(
            arithmetic(0xc0, (-8i64) as u64, 1, true),
            Some((-4i64) as u64)
        );
    }

    #[test]
    fn conditions_compare_signed_and_unsigned() {
        assert_eq!(condition(0x10, 1, 1, true), Some(true));
        assert_eq!(condition(0x20, (-1i64) as u64, 1, true), Some(true));
        assert_eq!(condition(0x60, (-1i64) as u64, 1, true), Some(false));
        assert_eq!(condition(0x50, 0x1_0000_0000, 0, false), Some(false));
        assert_eq!(condition(0x90, 0, 0, true), None);
    }
}
