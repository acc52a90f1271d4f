//! Stack high-water mark: `cortex-m-rt`'s `paint-stack` fills the stack
//! with a pattern at reset; the deepest overwritten word is the peak use.

extern "C" {
    static _stack_start: u32;
    static _stack_end: u32;
}

const PAINT: u32 = 0xcccc_cccc;

/// `(peak bytes used, bytes available)` of the stack so far.
pub fn usage() -> (usize, usize) {
    let top = core::ptr::addr_of!(_stack_start) as usize;
    let bottom = core::ptr::addr_of!(_stack_end) as usize;
    let mut p = bottom;
    // Safety: [bottom, top) is the stack region, word-aligned RAM.
    while p < top && unsafe { core::ptr::read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    (top - p, top - bottom)
}
