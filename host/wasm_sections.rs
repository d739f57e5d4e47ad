//! The sections of a WebAssembly binary, a component's or a core module's: read by
//! `host/wasm_opt.rs` (the build script) and `tests/footprint.rs`.

use std::ops::Range;

/// A component's section id for an embedded core module.
pub const CORE_MODULE: u8 = 1;

/// One section: its id, where its header starts, and where its contents are.
pub struct Section {
    pub id: u8,
    pub header: usize,
    pub body: Range<usize>,
}

/// Each section of `binary`, in order; `None` if a length runs past the end.
pub fn sections(binary: &[u8]) -> Option<Vec<Section>> {
    // The preamble: `\0asm` and the version (with the layer, for a component).
    let mut at = 8;
    let mut out = Vec::new();
    while at < binary.len() {
        let id = binary[at];
        let (len, body) = read_leb128(binary, at + 1)?;
        let end = body.checked_add(usize::try_from(len).ok()?)?;
        if end > binary.len() {
            return None;
        }
        out.push(Section {
            id,
            header: at,
            body: body..end,
        });
        at = end;
    }
    Some(out)
}

/// The unsigned LEB128 number at `at`, and where the bytes after it start.
pub fn read_leb128(bytes: &[u8], mut at: usize) -> Option<(u64, usize)> {
    let (mut value, mut shift) = (0u64, 0);
    loop {
        let b = *bytes.get(at)?;
        at += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some((value, at));
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}
