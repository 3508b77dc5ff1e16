//! Just enough ELF to tell which machine a binary is for and whether it is static, without
//! trusting `file`'s wording.

use std::path::Path;

/// `e_machine` of an x86-64 binary.
pub const X86_64: u16 = 62;
/// `e_machine` of an AArch64 binary.
pub const AARCH64: u16 = 183;

/// What the ELF header and program headers of a 64-bit little-endian binary say.
#[derive(Debug, PartialEq, Eq)]
pub struct Elf {
    /// `e_machine`.
    pub machine: u16,
    /// No `PT_INTERP` program header: the kernel starts it without a dynamic loader.
    pub is_static: bool,
}

/// Reads the headers of `path`; fails the test when it is not a 64-bit little-endian ELF file.
pub fn read(path: &Path) -> Elf {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.len() > 64 && bytes[..4] == *b"\x7fELF" && bytes[4] == 2 && bytes[5] == 1,
        "{} is not a 64-bit little-endian ELF file",
        path.display()
    );
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    let (phoff, phentsize, phnum) = (u64_at(32) as usize, u16_at(54) as usize, u16_at(56));
    const PT_INTERP: u32 = 3;
    let has_interp = (0..phnum as usize).any(|i| {
        let at = phoff + i * phentsize;
        u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) == PT_INTERP
    });
    Elf {
        machine: u16_at(18),
        is_static: !has_interp,
    }
}
