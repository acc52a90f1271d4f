//! `--format`: raw pixels or samples named on the command line, for data
//! without a PNM or WAV header.

use coder_core::media::Layout;

/// Parses `gray:WIDTH`, `graya:WIDTH`, `rgb:WIDTH`, `rgba:WIDTH` (8-bit
/// pixels, rows of WIDTH) or `s16le:CHANNELS`, `u8:CHANNELS`
/// (interleaved PCM; `pcm16` and `pcm8` are the same) into a layout; the
/// error says what is accepted.
///
/// ```
/// use coder_core::media::Layout;
/// assert_eq!(lmc::parse_format("rgb:640"), Ok(Layout::Image { width: 640, channels: 3 }));
/// assert_eq!(lmc::parse_format("s16le:2"), Ok(Layout::Audio { channels: 2, bytes: 2 }));
/// assert!(lmc::parse_format("rgb").is_err());
/// ```
pub fn parse_format(s: &str) -> Result<Layout, String> {
    let help = || {
        format!(
            "{s:?} is not a format: give gray:WIDTH, graya:WIDTH, rgb:WIDTH, rgba:WIDTH \
             (8-bit pixels, rows of WIDTH) or s16le:CHANNELS, u8:CHANNELS (PCM samples)"
        )
    };
    let (kind, n) = s.split_once(':').ok_or_else(help)?;
    let n: u32 = n.trim().parse().map_err(|_| help())?;
    let layout = match kind.trim().to_ascii_lowercase().as_str() {
        "gray" | "grey" => Layout::Image {
            width: n,
            channels: 1,
        },
        "graya" | "greya" => Layout::Image {
            width: n,
            channels: 2,
        },
        "rgb" => Layout::Image {
            width: n,
            channels: 3,
        },
        "rgba" => Layout::Image {
            width: n,
            channels: 4,
        },
        "s16le" | "pcm16" => Layout::Audio {
            channels: n.min(255) as u8,
            bytes: 2,
        },
        "u8" | "pcm8" => Layout::Audio {
            channels: n.min(255) as u8,
            bytes: 1,
        },
        _ => return Err(help()),
    };
    if layout.is_valid() {
        Ok(layout)
    } else {
        Err(format!(
            "{s:?}: widths run from 1 to {}, channels from 1 to 8",
            coder_core::media::MAX_WIDTH
        ))
    }
}
