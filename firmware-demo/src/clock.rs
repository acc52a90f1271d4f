//! A 64-bit cycle clock from SysTick plus an overflow count.
//!
//! Under QEMU `-icount shift=0` every instruction advances virtual time by
//! 1 ns and SysTick counts the mps2 board's 25 MHz clock, so one tick is
//! exactly 40 instructions and every reading is deterministic.

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::{syst::SystClkSource, SCB, SYST};
use cortex_m_rt::exception;

const RELOAD: u32 = 0x00ff_ffff;

/// Units of [`UNIT`] per SysTick tick: under QEMU `-icount shift=0`, 40
/// instructions (1 GHz virtual instruction rate / 25 MHz SysTick clock); on
/// a real chip (`rtt`), SysTick runs on the core clock: 1 cycle.
#[cfg(not(feature = "rtt"))]
pub const PER_TICK: u64 = 40;
/// What [`PER_TICK`] counts.
#[cfg(not(feature = "rtt"))]
pub const UNIT: &str = "insns";
#[cfg(feature = "rtt")]
pub const PER_TICK: u64 = 1;
#[cfg(feature = "rtt")]
pub const UNIT: &str = "cycles";

static WRAPS: AtomicU32 = AtomicU32::new(0);

/// Starts SysTick from the processor clock, free-running with its
/// wrap-around interrupt.
pub fn start(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// SysTick ticks since [`start`].
pub fn ticks() -> u64 {
    cortex_m::interrupt::free(|_| {
        let mut wraps = WRAPS.load(Ordering::Relaxed);
        let mut v = SYST::get_current();
        if SCB::is_pendst_pending() {
            // Wrapped, interrupt not taken yet: count it and re-read.
            wraps += 1;
            v = SYST::get_current();
        }
        (u64::from(wraps) << 24) | u64::from(RELOAD - v)
    })
}

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::Relaxed);
}
