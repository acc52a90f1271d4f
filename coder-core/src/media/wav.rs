//! RIFF WAVE headers with PCM samples.

use super::{Layout, Region, Sniffed};

/// `WAVE_FORMAT_PCM` and `WAVE_FORMAT_EXTENSIBLE`.
const PCM: u16 = 1;
const EXTENSIBLE: u16 = 0xFFFE;

/// The region of a WAV file's `data` chunk (its `fmt ` chunk first).
pub(super) fn parse(b: &[u8]) -> Sniffed {
    if b.get(8..12) != Some(b"WAVE") {
        return Sniffed::Other;
    }
    let le16 = |i: usize| b.get(i..i + 2).map(|s| u16::from_le_bytes([s[0], s[1]]));
    let le32 = |i: usize| {
        b.get(i..i + 4)
            .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    };
    let mut at = 12usize;
    let mut fmt: Option<(u16, u16)> = None;
    // Chunks until `data`; a header cut short is not a WAV file to us.
    while let (Some(id), Some(size)) = (b.get(at..at + 4), le32(at + 4)) {
        let body = at + 8;
        match id {
            b"fmt " => {
                let (Some(mut tag), Some(ch), Some(align), Some(bits)) =
                    (le16(body), le16(body + 2), le16(body + 12), le16(body + 14))
                else {
                    return Sniffed::Other;
                };
                if tag == EXTENSIBLE && size >= 40 {
                    match le16(body + 24) {
                        Some(sub) => tag = sub,
                        None => return Sniffed::Other,
                    }
                }
                if tag != PCM {
                    return Sniffed::Unsupported(
                        "WAV with compressed or floating-point samples: coded as bytes, without the audio model",
                    );
                }
                if bits != 8 && bits != 16 {
                    return Sniffed::Unsupported(
                        "WAV with 24- or 32-bit samples: coded as bytes, without the audio model (it models 8- and 16-bit PCM)",
                    );
                }
                if !(1..=8).contains(&ch) || u32::from(align) != u32::from(ch) * u32::from(bits / 8)
                {
                    return Sniffed::Unsupported(
                        "WAV with more than 8 channels or an odd frame size: coded as bytes",
                    );
                }
                fmt = Some((ch, bits / 8));
            }
            b"data" => {
                let Some((ch, bytes)) = fmt else {
                    return Sniffed::Other;
                };
                // Streaming writers leave the size 0 or 2^32 - 1: the rest
                // of the file (`sniff` clamps it).
                let len = match size {
                    0 | u32::MAX => u64::MAX >> 1,
                    n => u64::from(n),
                };
                return Sniffed::Media(Region {
                    layout: Layout::Audio {
                        channels: ch as u8,
                        bytes: bytes as u8,
                    },
                    start: body as u64,
                    len,
                });
            }
            _ => {}
        }
        // Chunks are padded to an even length.
        at = match body.checked_add(size as usize + (size as usize & 1)) {
            Some(n) => n,
            None => return Sniffed::Other,
        };
    }
    Sniffed::Other
}
