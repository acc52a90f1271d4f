//! Progress bars on stderr: on a terminal for large inputs, or always
//! with `--progress` (one plain line a second when stderr is not a
//! terminal).

use std::io::{self, IsTerminal, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle, TermLike};

/// Inputs at least this large get a progress bar on a terminal.
const PROGRESS_MIN_BYTES: u64 = 1 << 20;

/// `progress`'s callback for the library: advances the bar.
pub fn tick(pb: &ProgressBar) -> impl Fn(u64) + Sync + '_ {
    move |n| pb.inc(n)
}

/// A stderr "terminal" for when a progress bar is asked for but stderr is
/// not a terminal: one plain line per redraw.
#[derive(Debug)]
struct PlainStderr;

impl TermLike for PlainStderr {
    fn width(&self) -> u16 {
        100
    }
    fn move_cursor_up(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_down(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_right(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_left(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn write_line(&self, s: &str) -> io::Result<()> {
        writeln!(io::stderr(), "{s}")
    }
    fn write_str(&self, s: &str) -> io::Result<()> {
        if s.trim().is_empty() {
            return Ok(());
        }
        writeln!(io::stderr(), "{}", s.trim_end())
    }
    fn clear_line(&self) -> io::Result<()> {
        Ok(())
    }
    fn flush(&self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// Whether and how to show bars: `--progress`, `--no-progress`, `-q`.
#[derive(Clone, Copy, Debug)]
pub struct Bars {
    /// `--progress`: even when stderr is not a terminal.
    pub forced: bool,
    /// `--no-progress` or `-q`.
    pub never: bool,
}

/// A bar for `len` bytes (unknown: a counter) named `what`, hidden unless
/// asked for or on a terminal for at least [`PROGRESS_MIN_BYTES`].
pub fn progress_bar(bars: Bars, len: Option<u64>, what: &str) -> ProgressBar {
    let tty = io::stderr().is_terminal();
    let large = len.is_none_or(|n| n >= PROGRESS_MIN_BYTES);
    let show = bars.forced || (!bars.never && tty && large);
    if !show {
        return ProgressBar::hidden();
    }
    let target = if tty {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::term_like_with_hz(Box::new(PlainStderr), 1)
    };
    let pb = ProgressBar::with_draw_target(len, target).with_finish(ProgressFinish::AndClear);
    let style = match len {
        Some(_) => ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
        ),
        None => ProgressStyle::with_template("{msg} {bytes} {binary_bytes_per_sec} {elapsed}"),
    };
    if let Ok(s) = style {
        pb.set_style(s.progress_chars("=> "));
    }
    pb.set_message(what.to_string());
    pb
}
