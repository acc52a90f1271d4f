//! The right model for each block: [`compress_choosing`] tries several
//! codings ([`Candidate`]s: the text model mixed with the adaptive models,
//! a model of speech or of photos, the adaptive models alone) on each
//! block of an input that is neither text nor a PNM/WAV file, keeps the
//! shortest, and writes each run of blocks that chose the same one as a
//! stream of its own. Concatenated streams decode to the concatenation,
//! each with the model its header names ([`crate::Streams`]), so the
//! choice costs no new format: a 36-byte header per run, and decoders of
//! earlier builds read the output when they have the models.
//!
//! Text and media inputs are coded exactly as [`compress_with`] codes
//! them: one stream, the first candidate's coding. Which an input is, is
//! decided on its first batch (8 blocks, or 1 MiB of blocks if more): a
//! PNM or WAV header, or every block of it text.
//!
//! ```
//! use std::io::Cursor;
//! use coder_core::container::{Coding, Mode};
//! use lmc::choose::{compress_choosing, Candidate};
//! use lmc::{decode_stream, decompress_each, models::tiny_random_model, Int8Source, Settings};
//!
//! let bytes = tiny_random_model(1).unwrap();
//! let model = Int8Source::new(&bytes).unwrap();
//! let mixed = Coding { mode: Mode::Mixed, preset: 1, ..Coding::MODEL };
//! let adaptive = Coding { mode: Mode::Adaptive, preset: 1, ..Coding::MODEL };
//! let candidates = [
//!     Candidate { name: "text".into(), model: Some(&model), coding: mixed },
//!     Candidate { name: "adaptive".into(), model: None, coding: adaptive },
//! ];
//! // Binary data: each 4 KiB block is tried both ways.
//! let data: Vec<u8> = (0..20_000u32).map(|i| (i * i % 251) as u8).collect();
//! let mut out = Cursor::new(Vec::new());
//! let settings = Settings::new(4096);
//! let chosen = compress_choosing(&candidates, &data[..], &mut out, &settings, |_| {}).unwrap();
//! assert!(chosen.judged);
//! assert_eq!(chosen.blocks.iter().sum::<u64>(), 5);
//! // Each stream decodes with the model its header names.
//! let mut back = Vec::new();
//! decompress_each(&out.get_ref()[..], &mut back, |r, w| {
//!     let m = r.header().coding.mode.uses_model().then_some(&model);
//!     decode_stream(m, r, w, &|_| {})
//! })
//! .unwrap();
//! assert_eq!(back, data);
//! ```

use std::io::{self, Cursor, Read, Seek, Write};

use coder_core::container::{Coding, Header, Mode};
use coder_core::media::{sniff, Sniffed};
use coder_core::Crc32;
use rayon::prelude::*;

use crate::sink::{MEMBER_BYTES, MEMBER_CHUNKS};
use crate::stream::{
    compress_to_pipe, compress_with, read_up_to, LogLoss, Media, Settings, Summary,
};
use crate::{ChunkModel, Error};

/// A coding [`compress_choosing`] may pick for a block.
#[derive(Clone, Debug)]
pub struct Candidate<'m, M> {
    /// What to call it (for `lmc -v`).
    pub name: String,
    /// Its language model; `None` for the adaptive models alone.
    pub model: Option<&'m M>,
    /// How it codes (no media region, not chained).
    pub coding: Coding,
}

/// What `lmc` tries on each block by default: `text` mixed with the
/// adaptive models ([`MIXED_PRESET`](crate::coding::MIXED_PRESET); the
/// default, first), each of `data` (the shipped models of other data,
/// [`crate::load_data_models`]) mixed the same way, the adaptive models
/// alone ([`HOST_PRESET`](crate::coding::HOST_PRESET)). A model that
/// cannot code `block` bytes at once (its context is shorter and it
/// cannot stream) is left out.
pub fn shipped_candidates<'m, M: ChunkModel>(
    text: Option<&'m M>,
    data: &'m [(&'static str, M)],
    block: u32,
) -> Vec<Candidate<'m, M>> {
    let mixed = Coding {
        mode: Mode::Mixed,
        preset: crate::coding::MIXED_PRESET,
        chained: false,
        region: None,
    };
    let fits = |m: &M| m.max_chunk().is_none_or(|c| c >= block);
    let mut c = vec![Candidate {
        name: "text model".to_string(),
        model: text,
        coding: mixed,
    }];
    c.extend(
        data.iter()
            .filter(|(_, m)| fits(m))
            .map(|(name, m)| Candidate {
                name: name.to_string(),
                model: Some(m),
                coding: mixed,
            }),
    );
    c.push(Candidate {
        name: "adaptive".to_string(),
        model: None,
        coding: Coding {
            mode: Mode::Adaptive,
            preset: crate::coding::HOST_PRESET,
            ..mixed
        },
    });
    c
}

/// Bytes of a block each candidate codes to be judged: the whole block
/// up to this; beyond, [`PROBE_PIECES`] pieces spread evenly over it,
/// one after the other (a sixteenth of a default block).
pub const PROBE_BYTES: usize = 64 << 10;

/// Pieces of a probe: enough that a block half of one kind and half of
/// another is judged on both halves.
pub const PROBE_PIECES: usize = 4;

/// What a block is judged on: itself up to [`PROBE_BYTES`], else
/// [`PROBE_PIECES`] equal pieces from its start, its end and evenly
/// between.
pub fn probe(block: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if block.len() <= PROBE_BYTES {
        return block.into();
    }
    let piece = PROBE_BYTES / PROBE_PIECES;
    let step = (block.len() - piece) / (PROBE_PIECES - 1);
    (0..PROBE_PIECES)
        .flat_map(|k| &block[k * step..k * step + piece])
        .copied()
        .collect::<Vec<u8>>()
        .into()
}

/// What [`compress_choosing`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct Chosen {
    /// All the output, as [`compress_to_pipe`] describes several streams:
    /// the header is the first candidate's with the length and CRC-32 of
    /// all the input.
    pub summary: Summary,
    /// Blocks each candidate coded, in the candidates' order (all on the
    /// first when the input was text or media, coded as one stream).
    pub blocks: Vec<u64>,
    /// Whether the blocks were judged (the input was neither text nor a
    /// PNM/WAV file).
    pub judged: bool,
}

impl Chosen {
    /// What the blocks chose, in words (`lmc -v`, `host-bench choice`):
    /// `3 text model, 1 200K speech`, the candidates that coded none
    /// left out.
    pub fn words<M>(&self, candidates: &[Candidate<'_, M>]) -> String {
        let parts: Vec<String> = candidates
            .iter()
            .zip(&self.blocks)
            .filter(|(_, &n)| n > 0)
            .map(|(c, n)| format!("{n} {}", c.name))
            .collect();
        parts.join(", ")
    }
}

/// Whether `bytes` read as text: valid UTF-8 (a character cut at either
/// end aside) with at most one byte in a hundred outside it or a control
/// character other than tab, line feed, form feed and carriage return.
/// Raw samples near 0x80, pixels and machine code fail; prose, markup and
/// source code in any script pass.
pub fn looks_like_text(bytes: &[u8]) -> bool {
    let mut odd = 0usize;
    for chunk in bytes.utf8_chunks() {
        odd += chunk.invalid().len();
        odd += chunk
            .valid()
            .bytes()
            .filter(|&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r')) || b == 0x7f)
            .count();
    }
    // A character cut by the block's edges is at most 3 bytes each side.
    odd.saturating_sub(6) * 100 <= bytes.len()
}

/// Compresses `input` to `out`, a file, choosing per block of
/// `settings.chunk_size` bytes among `candidates` (at least one; the
/// first is the default) as the module says. `settings`' coding is
/// ignored (each candidate brings its own); its chunk size, log-loss,
/// media and `fit_block` apply. An input whose first batch is all text,
/// or a PNM or WAV file, is written exactly as [`compress_with`] writes it
/// with the first candidate. Calls `progress` with the input bytes of every
/// block coded (judging not counted).
pub fn compress_choosing<M: ChunkModel, R: Read, W: Write + Seek>(
    candidates: &[Candidate<'_, M>],
    input: R,
    out: &mut W,
    settings: &Settings,
    progress: impl Fn(u64) + Sync,
) -> Result<Chosen, Error> {
    choose_into(
        candidates,
        input,
        out,
        settings,
        progress,
        |m, i, o, s, p| compress_with(m, i, o, s, p),
    )
}

/// [`compress_choosing`] to an output that cannot seek (a pipe): text and
/// media inputs as [`compress_to_pipe`] writes them.
pub fn compress_choosing_to_pipe<M: ChunkModel, R: Read, W: Write>(
    candidates: &[Candidate<'_, M>],
    input: R,
    out: &mut W,
    settings: &Settings,
    progress: impl Fn(u64) + Sync,
) -> Result<Chosen, Error> {
    choose_into(
        candidates,
        input,
        out,
        settings,
        progress,
        |m, i, o, s, p| compress_to_pipe(m, i, o, s, p),
    )
}

/// How an input not judged is written: [`compress_with`] or
/// [`compress_to_pipe`].
type Plain<M, R, W> = fn(
    Option<&M>,
    io::Chain<Cursor<Vec<u8>>, R>,
    &mut W,
    &Settings,
    &(dyn Fn(u64) + Sync),
) -> Result<Summary, Error>;

fn choose_into<M: ChunkModel, R: Read, W: Write>(
    candidates: &[Candidate<'_, M>],
    mut input: R,
    out: &mut W,
    settings: &Settings,
    progress: impl Fn(u64) + Sync,
    plain: Plain<M, R, W>,
) -> Result<Chosen, Error> {
    let first = candidates.first().ok_or(Error::ModelNeeded)?;
    let mut fingerprint = 0;
    for (i, c) in candidates.iter().enumerate() {
        let fp = crate::check_settings(c.model, &settings.coding(c.coding))?;
        if i == 0 {
            fingerprint = fp;
        }
    }
    let block = settings.chunk_size as usize;
    let batch = block * (MEMBER_BYTES / block as u64).max(MEMBER_CHUNKS) as usize;
    let mut buf = Vec::new();
    let mut n = read_up_to(&mut input, batch, &mut buf)?;
    let mut blocks = vec![0u64; candidates.len()];
    let text = buf[..n].chunks(block).all(looks_like_text);
    if text || !matches!(sniff(&buf[..n], u64::MAX), Sniffed::Other) {
        let input = Cursor::new(buf).chain(input);
        let summary = plain(
            first.model,
            input,
            out,
            &settings.coding(first.coding),
            &progress,
        )?;
        blocks[0] = summary.header.original_len.div_ceil(block as u64);
        return Ok(Chosen {
            summary,
            blocks,
            judged: false,
        });
    }
    // A block is coded as plain bytes, whatever it starts with.
    let settings = &settings.media(Media::Off);
    let (mut crc, mut len, mut written) = (Crc32::new(), 0u64, 0u64);
    let (mut coded, mut stored, mut bits) = (0u64, 0u64, 0.0);
    while n > 0 {
        let data = &buf[..n];
        let picks = judge(candidates, data, block, settings)?;
        // A run of blocks that chose the same candidate is one stream (a
        // batch is at most one member of a piped output); the runs of a
        // batch code at once, each in memory, and are written in order.
        let mut runs = Vec::new();
        let mut at = 0;
        for run in picks.chunk_by(|a, b| a == b) {
            let end = (at + run.len() * block).min(n);
            runs.push((run[0], run.len(), at..end));
            at = end;
        }
        let coded_runs: Vec<Result<(Vec<u8>, Summary), Error>> = runs
            .par_iter()
            .map(|(c, _, range)| {
                let c = &candidates[*c];
                let mut code = Vec::new();
                let s = compress_to_pipe(
                    c.model,
                    &data[range.clone()],
                    &mut code,
                    &settings.coding(c.coding),
                    &progress,
                )?;
                Ok((code, s))
            })
            .collect();
        for ((c, count, _), r) in runs.iter().zip(coded_runs) {
            let (code, s) = r?;
            out.write_all(&code)?;
            blocks[*c] += *count as u64;
            written += s.compressed_len;
            coded += s.coded;
            stored += s.stored;
            bits += s.ideal_bits.unwrap_or(0.0);
        }
        out.flush()?;
        crc.update(data);
        len += n as u64;
        buf.clear();
        n = read_up_to(&mut input, batch, &mut buf)?;
    }
    let header = Header::new(fingerprint, settings.chunk_size, len, crc.finish())
        .and_then(|h| h.with_coding(first.coding))
        .map_err(Error::Coder)?;
    Ok(Chosen {
        summary: Summary {
            header,
            compressed_len: written,
            coded,
            stored,
            ideal_bits: (settings.log_loss == LogLoss::Measure).then_some(bits),
            media_note: None,
        },
        blocks,
        judged: true,
    })
}

/// The candidate each block of `data` keeps: text blocks the first; any
/// other the one whose code of its [`probe`] is shortest (the
/// first of equals).
fn judge<M: ChunkModel>(
    candidates: &[Candidate<'_, M>],
    data: &[u8],
    block: usize,
    settings: &Settings,
) -> Result<Vec<usize>, Error> {
    let probes: Vec<(usize, usize)> = data
        .chunks(block)
        .enumerate()
        .filter(|(_, b)| !looks_like_text(b))
        .flat_map(|(i, _)| (0..candidates.len()).map(move |c| (i, c)))
        .collect();
    let sizes: Vec<u64> = probes
        .par_iter()
        .map(|&(i, c)| {
            let b = &data[i * block..((i + 1) * block).min(data.len())];
            let probe = probe(b);
            let probe = &probe[..];
            let cand = &candidates[c];
            let s = settings
                .coding(cand.coding)
                .log_loss(LogLoss::Skip)
                .fit_block(true);
            let s = Settings {
                chunk_size: s.chunk_size.min(probe.len().max(1) as u32),
                ..s
            };
            let mut sink = Cursor::new(Vec::new());
            compress_with(cand.model, probe, &mut sink, &s, |_| {}).map(|s| s.compressed_len)
        })
        .collect::<Result<_, _>>()?;
    let mut picks = vec![0; data.len().div_ceil(block)];
    for (group, sizes) in probes
        .chunks(candidates.len())
        .zip(sizes.chunks(candidates.len()))
    {
        let best = (0..sizes.len()).min_by_key(|&c| (sizes[c], c)).unwrap_or(0);
        picks[group[0].0] = best;
    }
    Ok(picks)
}

#[cfg(test)]
mod tests {
    use super::looks_like_text;

    #[test]
    fn a_long_block_is_probed_at_its_start_its_end_and_between() {
        use super::{probe, PROBE_BYTES, PROBE_PIECES};
        let short: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        assert_eq!(&probe(&short)[..], &short[..]);
        let block: Vec<u32> = (0..(1u32 << 20)).collect();
        let bytes: Vec<u8> = block.iter().flat_map(|i| i.to_le_bytes()).collect();
        let p = probe(&bytes);
        let piece = PROBE_BYTES / PROBE_PIECES;
        assert_eq!(p.len(), PROBE_BYTES);
        assert_eq!(&p[..piece], &bytes[..piece]);
        assert_eq!(&p[PROBE_BYTES - piece..], &bytes[bytes.len() - piece..]);
    }

    #[test]
    fn text_is_told_from_samples_and_pixels() {
        assert!(looks_like_text(b"plain ASCII prose,\n\twith tabs\r\n"));
        assert!(looks_like_text("Größe, 大小, размер".as_bytes()));
        assert!(looks_like_text(b""));
        // A character cut at the start and at the end.
        assert!(looks_like_text(&"ééé, text".as_bytes()[1..]));
        let samples: Vec<u8> = (0..4096u32).map(|i| 0x7c + (i % 9) as u8).collect();
        assert!(!looks_like_text(&samples));
        let pixels: Vec<u8> = (0..4096u32).map(|i| (i * 37 % 256) as u8).collect();
        assert!(!looks_like_text(&pixels));
        let mut nearly = b"text ".repeat(200);
        nearly[..30].fill(0);
        assert!(!looks_like_text(&nearly));
    }
}
