//! Photos and speech as `lmc` now sees them: each photo a PGM and a PPM,
//! each utterance a 16-bit mono WAV, coded whole by `lmc`'s image and audio
//! context models (the adaptive coding, no language model: what `lmc` does
//! by default on such files) beside the formats people use for them: PNG
//! (`optipng -o5`), lossless WebP and JPEG XL, FLAC, WavPack, and `xz -9e`.
//!
//! The peers run as the installed command-line tools, on temporary files,
//! so the figures are the ones a user gets; a missing tool is a row that
//! says so (unless `--require-peers`). Every output is decoded back and
//! compared: `lmc`'s through the library, the peers' through their own
//! decoders where installed (the JSON says which were).

use std::fmt::Write as _;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::Instant;

use coder_core::container::{Coding, Mode};
use indicatif::{ProgressBar, ProgressStyle};
use lmc::{Int8Source, Media, Settings};
use serde::Serialize;

use crate::data::{self, Sample};
use crate::meta::Machine;
use crate::Error;

/// `lmc`'s block: the whole of any ImageNet photo or LibriSpeech utterance
/// is one block, as the `lmc` command codes them (its default block size).
pub const BLOCK: u32 = 1 << 20;

/// A photo's top-left `width` x `height` pixels (for quick runs and tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Crop {
    /// Columns kept.
    pub width: u32,
    /// Rows kept.
    pub height: u32,
}

impl FromStr for Crop {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a crop: give WIDTHxHEIGHT, e.g. 128x96");
        let (w, h) = s.split_once(['x', 'X']).ok_or_else(bad)?;
        let (width, height) = (w.parse().map_err(|_| bad())?, h.parse().map_err(|_| bad())?);
        if width == 0 || height == 0 {
            return Err(bad());
        }
        Ok(Self { width, height })
    }
}

/// `host-bench media`: its options (a [`clap::Parser`] too, so that tests
/// build them from a command line with the real defaults).
#[derive(clap::Parser, Debug, Clone)]
#[command(name = "media")]
pub struct MediaArgs {
    /// Folder (tree) of JPEG photos.
    #[arg(long, default_value = "../shared/data/imagenet")]
    pub photos: PathBuf,
    /// Folder (tree) of FLAC utterances.
    #[arg(long, default_value = "../shared/data/librispeech/train-clean-100")]
    pub speech: PathBuf,
    /// Files of each kind, evenly spaced over the sorted list (0: all).
    #[arg(long, default_value_t = 6)]
    pub count: usize,
    /// Output folder (media.md, media.json).
    #[arg(long, default_value = "reports/media")]
    pub out: PathBuf,
    /// lmc worker threads (one block per file: 1 gives speeds per core).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Fail when a peer tool is not installed, instead of a row saying so.
    #[arg(long)]
    pub require_peers: bool,
    /// Keep only the top-left WIDTHxHEIGHT pixels of each photo.
    #[arg(long)]
    pub crop: Option<Crop>,
    /// Keep only the first N samples of each utterance.
    #[arg(long)]
    pub max_samples: Option<usize>,
}

/// What an input holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A photo as 8-bit grey (PGM).
    Grey,
    /// A photo as 8-bit RGB (PPM).
    Rgb,
    /// An utterance as 16-bit mono PCM (WAV).
    Speech,
}

impl Kind {
    /// All kinds, in report order.
    pub const ALL: [Kind; 3] = [Kind::Grey, Kind::Rgb, Kind::Speech];

    fn title(self) -> &'static str {
        match self {
            Kind::Grey => "Grey photos (PGM)",
            Kind::Rgb => "RGB photos (PPM)",
            Kind::Speech => "Speech (16-bit mono WAV)",
        }
    }

    fn ext(self) -> &'static str {
        match self {
            Kind::Grey => "pgm",
            Kind::Rgb => "ppm",
            Kind::Speech => "wav",
        }
    }
}

/// One input: a PNM or WAV file made from a data set's file.
#[derive(Clone, Debug)]
pub struct Input {
    /// The data set file it was made from.
    pub source: PathBuf,
    /// What it holds.
    pub kind: Kind,
    /// Pixels (width, height) or samples (len, 1).
    pub dims: (u32, u32),
    /// The PNM or WAV bytes, header included.
    pub bytes: Vec<u8>,
}

/// A binary PGM (`P5`) or PPM (`P6`) of 8-bit samples.
pub fn pnm(magic: &str, width: u32, height: u32, samples: &[u8]) -> Vec<u8> {
    let mut v = format!("{magic}\n{width} {height}\n255\n").into_bytes();
    v.extend_from_slice(samples);
    v
}

/// The canonical 44-byte-header WAV of mono PCM: `data` holds the samples
/// of `bits` bits (8: unsigned; 16: signed little-endian).
pub fn wav_mono(rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
    let n = data.len() as u32;
    let align = bits / 8;
    let mut v = Vec::with_capacity(44 + data.len());
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + n).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    v.extend_from_slice(&1u16.to_le_bytes()); // PCM
    v.extend_from_slice(&1u16.to_le_bytes()); // mono
    v.extend_from_slice(&rate.to_le_bytes());
    v.extend_from_slice(&(rate * u32::from(align)).to_le_bytes()); // byte rate
    v.extend_from_slice(&align.to_le_bytes()); // block align
    v.extend_from_slice(&bits.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&n.to_le_bytes());
    v.extend_from_slice(data);
    v
}

/// The canonical 44-byte-header WAV of 16-bit little-endian mono PCM.
pub fn wav16_mono(rate: u32, samples: &[i16]) -> Vec<u8> {
    let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    wav_mono(rate, 16, &data)
}

/// The bytes of a WAV file's `data` chunk (to compare decoders' output,
/// whose headers may differ from ours).
fn wav_data(wav: &[u8]) -> Option<&[u8]> {
    let mut at = 12;
    while at + 8 <= wav.len() {
        let id = &wav[at..at + 4];
        let len = u32::from_le_bytes(wav[at + 4..at + 8].try_into().ok()?) as usize;
        let body = at + 8;
        if id == b"data" {
            return wav.get(body..body + len);
        }
        at = body + len + (len & 1);
    }
    None
}

/// A photo's grey and RGB inputs (the `image` crate's decoder and its luma
/// conversion), cropped to `crop`.
pub fn photo_inputs(path: &Path, crop: Option<Crop>) -> Result<[Input; 2], Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let mut img = image::load_from_memory(&bytes)
        .map_err(|e| Error::Data(format!("{}: {e}", path.display())))?;
    if let Some(c) = crop {
        img = img.crop_imm(0, 0, c.width.min(img.width()), c.height.min(img.height()));
    }
    let (w, h) = (img.width(), img.height());
    let grey = img.to_luma8();
    let rgb = img.to_rgb8();
    let input = |kind, magic, px: &[u8]| Input {
        source: path.to_path_buf(),
        kind,
        dims: (w, h),
        bytes: pnm(magic, w, h, px),
    };
    Ok([
        input(Kind::Grey, "P5", grey.as_raw()),
        input(Kind::Rgb, "P6", rgb.as_raw()),
    ])
}

/// An utterance as 16-bit mono WAV (channels averaged if several), its
/// first `max_samples` samples.
pub fn speech_input(path: &Path, max_samples: Option<usize>) -> Result<Input, Error> {
    let bad = |e: String| Error::Data(format!("{}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut r = claxon::FlacReader::new(file).map_err(|e| bad(e.to_string()))?;
    let info = r.streaminfo();
    if info.bits_per_sample != 16 {
        return Err(bad(format!(
            "{}-bit FLAC; 16-bit expected",
            info.bits_per_sample
        )));
    }
    let channels = info.channels as usize;
    let all = r
        .samples()
        .collect::<Result<Vec<i32>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    let mut pcm: Vec<i16> = all
        .chunks_exact(channels)
        .map(|f| (f.iter().sum::<i32>() / channels as i32) as i16)
        .collect();
    if let Some(n) = max_samples {
        pcm.truncate(n);
    }
    Ok(Input {
        source: path.to_path_buf(),
        kind: Kind::Speech,
        dims: (pcm.len() as u32, 1),
        bytes: wav16_mono(info.sample_rate, &pcm),
    })
}

/// `n` files of `files` evenly spaced (every k-th), all for 0.
fn spread(files: Vec<PathBuf>, n: usize) -> Vec<PathBuf> {
    if n == 0 {
        return files;
    }
    let keep = Sample::Even(n).indices(files.len());
    keep.into_iter().map(|i| files[i].clone()).collect()
}

/// `name` on `PATH`, as `which` finds it.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// How a peer's output is checked against its input.
#[derive(Clone, Copy, Debug)]
enum Check {
    /// The decoder writes the input file again.
    Same,
    /// The decoder writes an image (any format the `image` crate reads)
    /// whose pixels must equal the input's.
    Pixels,
    /// The decoder writes a WAV whose samples must equal the input's.
    Samples,
}

/// A peer compressor: an encoder command, and the decoder that checks it.
#[derive(Clone, Copy, Debug)]
struct Peer {
    /// Row label.
    label: &'static str,
    /// Encoder executable.
    tool: &'static str,
    /// Its arguments; `{in}`, `{png}` and `{out}` are the input, a PNG of
    /// its pixels (cwebp and cjxl read no PNM) and the output file.
    args: &'static [&'static str],
    /// Writes to standard output.
    to_stdout: bool,
    /// Output extension.
    ext: &'static str,
    /// Decoder and its arguments (`{out}` and `{dec}`), writing to `{dec}`
    /// or, with `dec_stdout`, to standard output.
    decoder: &'static str,
    dec_args: &'static [&'static str],
    dec_stdout: bool,
    dec_ext: &'static str,
    check: Check,
}

const XZ: Peer = Peer {
    label: "xz -9e",
    tool: "xz",
    args: &["-9e", "-c", "{in}"],
    to_stdout: true,
    ext: "xz",
    decoder: "xz",
    dec_args: &["-dc", "{out}"],
    dec_stdout: true,
    dec_ext: "raw",
    check: Check::Same,
};

/// The photo peers, the reference (PNG) first.
const PHOTO_PEERS: &[Peer] = &[
    Peer {
        label: "PNG (optipng -o5)",
        tool: "optipng",
        args: &["-quiet", "-o5", "-out", "{out}", "{in}"],
        to_stdout: false,
        ext: "png",
        decoder: "",
        dec_args: &[],
        dec_stdout: false,
        dec_ext: "",
        check: Check::Pixels,
    },
    Peer {
        label: "WebP lossless (cwebp -z 9)",
        tool: "cwebp",
        args: &["-quiet", "-lossless", "-z", "9", "{png}", "-o", "{out}"],
        to_stdout: false,
        ext: "webp",
        decoder: "dwebp",
        dec_args: &["-quiet", "{out}", "-o", "{dec}"],
        dec_stdout: false,
        dec_ext: "png",
        check: Check::Pixels,
    },
    Peer {
        label: "JPEG XL lossless (cjxl -d 0 -e 7)",
        tool: "cjxl",
        args: &["{png}", "{out}", "-d", "0", "-e", "7"],
        to_stdout: false,
        ext: "jxl",
        decoder: "djxl",
        dec_args: &["{out}", "{dec}"],
        dec_stdout: false,
        dec_ext: "png",
        check: Check::Pixels,
    },
    XZ,
];

/// The speech peers, the reference (FLAC) first.
const SPEECH_PEERS: &[Peer] = &[
    Peer {
        label: "FLAC (flac -8)",
        tool: "flac",
        args: &["-s", "-8", "-o", "{out}", "{in}"],
        to_stdout: false,
        ext: "flac",
        decoder: "flac",
        dec_args: &["-d", "-s", "-c", "{out}"],
        dec_stdout: true,
        dec_ext: "wav",
        check: Check::Samples,
    },
    Peer {
        label: "WavPack (wavpack -hh)",
        tool: "wavpack",
        args: &["-q", "-hh", "{in}", "-o", "{out}"],
        to_stdout: false,
        ext: "wv",
        decoder: "wvunpack",
        dec_args: &["-q", "{out}", "-o", "{dec}"],
        dec_stdout: false,
        dec_ext: "wav",
        check: Check::Samples,
    },
    XZ,
];

fn peers(kind: Kind) -> &'static [Peer] {
    match kind {
        Kind::Grey | Kind::Rgb => PHOTO_PEERS,
        Kind::Speech => SPEECH_PEERS,
    }
}

/// The label of the `lmc` rows.
pub const LMC: &str = "lmc (adaptive, media models)";

/// One compressor on one input.
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    /// Compressor and setting.
    pub compressor: String,
    /// Compressed bytes; `None` when the tool is not installed.
    pub bytes: Option<u64>,
    /// Compression wall time, seconds.
    pub compress_s: f64,
    /// Decompression wall time, seconds (`None`: not decoded back, its
    /// decoder not installed).
    pub decompress_s: Option<f64>,
    /// Decoded back and compared equal to the input.
    pub verified: bool,
    /// `lmc` only: whether it found the image or sound (the header's
    /// region), else coded the file as plain bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_media: Option<bool>,
}

/// Every compressor on one input.
#[derive(Clone, Debug, Serialize)]
pub struct FileResult {
    /// The data set file.
    pub source: String,
    /// What was coded.
    pub kind: Kind,
    /// Width and height, or samples and 1.
    pub dims: (u32, u32),
    /// Bytes of the PNM or WAV (header included).
    pub bytes: u64,
    /// The results, in the order run.
    pub entries: Vec<Entry>,
}

impl FileResult {
    /// `lmc`'s entry.
    pub fn lmc(&self) -> Option<&Entry> {
        self.entries.iter().find(|e| e.compressor == LMC)
    }

    /// `lmc`'s rate (bytes / input bytes).
    pub fn lmc_rate(&self) -> Option<f64> {
        Some(self.lmc()?.bytes? as f64 / self.bytes.max(1) as f64)
    }
}

/// One compressor over all inputs of a kind.
#[derive(Clone, Debug, Serialize)]
pub struct Total {
    /// Compressor and setting.
    pub compressor: String,
    /// Compressed bytes of all inputs; `None` if not installed.
    pub bytes: Option<u64>,
    /// `bytes / input bytes`.
    pub rate: Option<f64>,
    /// `bytes` over the reference's (PNG, FLAC).
    pub vs_reference: Option<f64>,
    /// Compression seconds, all inputs.
    pub compress_s: f64,
    /// Decompression seconds, all inputs (of those decoded back).
    pub decompress_s: Option<f64>,
    /// Every input decoded back and compared.
    pub verified: bool,
}

/// The totals of one kind.
#[derive(Clone, Debug, Serialize)]
pub struct KindTotals {
    /// Which kind.
    pub kind: Kind,
    /// Inputs.
    pub files: usize,
    /// Their bytes.
    pub input_bytes: u64,
    /// The reference compressor (the ratio column's denominator).
    pub reference: String,
    /// One row per compressor.
    pub rows: Vec<Total>,
}

/// A data set as read.
#[derive(Clone, Debug, Serialize)]
pub struct Source {
    /// Folder.
    pub dir: String,
    /// Files measured.
    pub files: usize,
    /// Files in the folder.
    pub available: usize,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// `host-bench` and its version.
    pub tool: String,
    /// The command line.
    pub command: String,
    /// When it started (UTC).
    pub date: String,
    /// Wall time of the run, seconds.
    pub seconds: f64,
    /// Where.
    pub machine: Machine,
    /// `lmc` worker threads.
    pub threads: usize,
    /// The photos.
    pub photos: Source,
    /// The utterances.
    pub speech: Source,
    /// Settings and caveats.
    pub notes: Vec<String>,
    /// Per kind, one row per compressor.
    pub totals: Vec<KindTotals>,
    /// One result per input.
    pub files: Vec<FileResult>,
}

/// `lmc` on `data` as the `lmc` command codes a file (adaptive coding,
/// media detected, block fitted), decoded back and compared.
pub fn measure_lmc(data: &[u8]) -> Result<Entry, Error> {
    let coding = Coding {
        mode: Mode::Adaptive,
        preset: lmc::coding::HOST_PRESET,
        chained: false,
        region: None,
    };
    let settings = Settings::new(BLOCK)
        .coding(coding)
        .fit_block(true)
        .media(Media::Adaptive);
    let model = None::<&Int8Source<'_>>;
    let mut packed = Cursor::new(Vec::new());
    let t = Instant::now();
    let summary = lmc::compress_with(model, data, &mut packed, &settings, |_| {})?;
    let compress_s = t.elapsed().as_secs_f64();
    let packed = packed.into_inner();
    let mut back = Vec::with_capacity(data.len());
    let t = Instant::now();
    lmc::decompress_with(model, &packed[..], &mut back, |_| {})?;
    let decompress_s = t.elapsed().as_secs_f64();
    if back != data {
        return Err(Error::codec(LMC, "round trip failed"));
    }
    Ok(Entry {
        compressor: LMC.into(),
        bytes: Some(packed.len() as u64),
        compress_s,
        decompress_s: Some(decompress_s),
        verified: true,
        as_media: Some(summary.header.coding.region.is_some()),
    })
}

/// Runs `tool` with `args`, its standard output to `stdout` if given.
fn run_tool(tool: &Path, args: &[String], stdout: Option<&Path>) -> Result<(), Error> {
    let name = tool.display().to_string();
    let mut cmd = Command::new(tool);
    cmd.args(args).stdin(Stdio::null()).stderr(Stdio::piped());
    match stdout {
        Some(p) => {
            cmd.stdout(std::fs::File::create(p).map_err(|e| Error::io(p, e))?);
        }
        None => {
            cmd.stdout(Stdio::null());
        }
    }
    let out = cmd
        .output()
        .map_err(|e| Error::codec(&name, format!("could not run: {e}")))?;
    if !out.status.success() {
        return Err(Error::codec(
            &name,
            format!(
                "{} {}: {}: {}",
                name,
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    Ok(())
}

/// The raw pixels of an input's PNM (after its three header lines).
fn pnm_pixels(pnm: &[u8]) -> &[u8] {
    let mut lines = 0;
    for (i, &b) in pnm.iter().enumerate() {
        if b == b'\n' {
            lines += 1;
            if lines == 3 {
                return &pnm[i + 1..];
            }
        }
    }
    &[]
}

/// Temporary files of one input: the input, its PNG, the peers' outputs.
struct Scratch {
    dir: PathBuf,
    input: PathBuf,
    png: Option<PathBuf>,
}

impl Scratch {
    fn new(dir: &Path, input: &Input) -> Result<Self, Error> {
        let path = dir.join(format!("in.{}", input.kind.ext()));
        std::fs::write(&path, &input.bytes).map_err(|e| Error::io(&path, e))?;
        let png = if input.kind == Kind::Speech {
            None
        } else {
            // Fast default PNG: only what cwebp and cjxl read, not a result.
            let p = dir.join("in.png");
            let (w, h) = input.dims;
            let px = pnm_pixels(&input.bytes).to_vec();
            let saved = if input.kind == Kind::Grey {
                image::GrayImage::from_raw(w, h, px).map(|i| i.save(&p))
            } else {
                image::RgbImage::from_raw(w, h, px).map(|i| i.save(&p))
            };
            match saved {
                Some(Ok(())) => {}
                Some(Err(e)) => return Err(Error::Data(format!("{}: {e}", p.display()))),
                None => return Err(Error::Data("PNM size does not match its header".into())),
            }
            Some(p)
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            input: path,
            png,
        })
    }

    fn fill(&self, args: &[&str], out: &Path, dec: &Path) -> Vec<String> {
        let png = self.png.as_deref().unwrap_or(&self.input);
        args.iter()
            .map(|a| match *a {
                "{in}" => self.input.display().to_string(),
                "{png}" => png.display().to_string(),
                "{out}" => out.display().to_string(),
                "{dec}" => dec.display().to_string(),
                a => a.to_string(),
            })
            .collect()
    }
}

/// Whether `decoded` (a file `check` describes) holds `input`'s content.
fn same_content(check: Check, input: &Input, decoded: &Path) -> Result<bool, Error> {
    Ok(match check {
        Check::Same => std::fs::read(decoded).map_err(|e| Error::io(decoded, e))? == input.bytes,
        Check::Samples => {
            let d = std::fs::read(decoded).map_err(|e| Error::io(decoded, e))?;
            wav_data(&d).is_some() && wav_data(&d) == wav_data(&input.bytes)
        }
        Check::Pixels => {
            let img = image::open(decoded)
                .map_err(|e| Error::Data(format!("{}: {e}", decoded.display())))?;
            let want = pnm_pixels(&input.bytes);
            (img.width(), img.height()) == input.dims
                && match input.kind {
                    Kind::Grey => img.to_luma8().as_raw() == want,
                    _ => img.to_rgb8().as_raw() == want,
                }
        }
    })
}

/// `peer` on one input: its output size and time, decoded back and
/// compared when its decoder is installed; `None` bytes when the encoder
/// is not installed.
fn measure_peer(peer: &Peer, input: &Input, scratch: &Scratch) -> Result<Entry, Error> {
    let mut entry = Entry {
        compressor: peer.label.into(),
        bytes: None,
        compress_s: 0.0,
        decompress_s: None,
        verified: false,
        as_media: None,
    };
    let Some(tool) = find_tool(peer.tool) else {
        return Ok(entry);
    };
    let out = scratch.dir.join(format!("out.{}", peer.ext));
    let dec = scratch.dir.join(format!("dec.{}", peer.dec_ext));
    for p in [&out, &dec] {
        let _ = std::fs::remove_file(p);
    }
    let t = Instant::now();
    run_tool(
        &tool,
        &scratch.fill(peer.args, &out, &dec),
        peer.to_stdout.then_some(out.as_path()),
    )?;
    entry.compress_s = t.elapsed().as_secs_f64();
    entry.bytes = Some(
        std::fs::metadata(&out)
            .map_err(|e| Error::io(&out, e))?
            .len(),
    );
    // optipng writes a PNG, which the `image` crate decodes itself.
    let decoded = if peer.decoder.is_empty() {
        let t = Instant::now();
        let ok = same_content(peer.check, input, &out)?;
        Some((ok, t.elapsed().as_secs_f64()))
    } else if let Some(d) = find_tool(peer.decoder) {
        let t = Instant::now();
        run_tool(
            &d,
            &scratch.fill(peer.dec_args, &out, &dec),
            peer.dec_stdout.then_some(dec.as_path()),
        )?;
        let s = t.elapsed().as_secs_f64();
        Some((same_content(peer.check, input, &dec)?, s))
    } else {
        None
    };
    if let Some((ok, s)) = decoded {
        if !ok {
            return Err(Error::codec(
                peer.label,
                format!("{}: decoded output differs", input.source.display()),
            ));
        }
        entry.verified = true;
        entry.decompress_s = Some(s);
    }
    Ok(entry)
}

/// Every compressor of its kind on `input`, in `dir` (a scratch folder).
pub fn measure_input(
    input: &Input,
    dir: &Path,
    pool: &rayon::ThreadPool,
) -> Result<FileResult, Error> {
    let scratch = Scratch::new(dir, input)?;
    let mut entries = Vec::new();
    for p in peers(input.kind) {
        entries.push(measure_peer(p, input, &scratch)?);
    }
    entries.push(pool.install(|| measure_lmc(&input.bytes))?);
    Ok(FileResult {
        source: input.source.display().to_string(),
        kind: input.kind,
        dims: input.dims,
        bytes: input.bytes.len() as u64,
        entries,
    })
}

/// The per-kind totals of `files`.
pub fn totals(files: &[FileResult]) -> Vec<KindTotals> {
    let mut out = Vec::new();
    for kind in Kind::ALL {
        let of: Vec<&FileResult> = files.iter().filter(|f| f.kind == kind).collect();
        if of.is_empty() {
            continue;
        }
        let input_bytes: u64 = of.iter().map(|f| f.bytes).sum();
        let mut names: Vec<&str> = Vec::new();
        for f in &of {
            for e in &f.entries {
                if !names.contains(&e.compressor.as_str()) {
                    names.push(&e.compressor);
                }
            }
        }
        let mut rows: Vec<Total> = names
            .iter()
            .map(|&n| {
                let es: Vec<&Entry> = of
                    .iter()
                    .filter_map(|f| f.entries.iter().find(|e| e.compressor == n))
                    .collect();
                let complete = es.len() == of.len();
                let bytes = es
                    .iter()
                    .map(|e| e.bytes)
                    .sum::<Option<u64>>()
                    .filter(|_| complete);
                let verified = complete && es.iter().all(|e| e.verified);
                Total {
                    compressor: n.to_string(),
                    bytes,
                    rate: bytes.map(|b| b as f64 / input_bytes.max(1) as f64),
                    vs_reference: None,
                    compress_s: es.iter().map(|e| e.compress_s).sum(),
                    decompress_s: es.iter().map(|e| e.decompress_s).sum(),
                    verified,
                }
            })
            .collect();
        let reference = peers(kind)[0].label.to_string();
        let ref_bytes = rows
            .iter()
            .find(|r| r.compressor == reference)
            .and_then(|r| r.bytes);
        for r in &mut rows {
            r.vs_reference = match (r.bytes, ref_bytes) {
                (Some(b), Some(rb)) if rb > 0 => Some(b as f64 / rb as f64),
                _ => None,
            };
        }
        out.push(KindTotals {
            kind,
            files: of.len(),
            input_bytes,
            reference,
            rows,
        });
    }
    out
}

/// The report as Markdown: how it was made, then per kind a table with
/// one row per compressor.
pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Photos and speech: lmc's media models beside PNG, WebP, JPEG XL, FLAC, WavPack\n"
    );
    let _ = writeln!(
        s,
        "`{}`: {} on {} ({} cores, {:.0} GiB, {}), started {}, {:.1} s; lmc on {} thread(s).\n",
        r.command,
        r.tool,
        r.machine.cpu,
        r.machine.cores,
        r.machine.memory_gib,
        r.machine.os,
        r.date,
        r.seconds,
        r.threads
    );
    let _ = writeln!(
        s,
        "Photos: {} of {} JPEGs in `{}`, each decoded and coded as a PGM (grey) and a PPM (RGB). \
         Speech: {} of {} FLAC utterances in `{}`, each as a 16-bit mono WAV.\n",
        r.photos.files,
        r.photos.available,
        r.photos.dir,
        r.speech.files,
        r.speech.available,
        r.speech.dir
    );
    for n in &r.notes {
        let _ = writeln!(s, "- {n}");
    }
    for t in &r.totals {
        let _ = writeln!(
            s,
            "\n### {}: {} files, {} bytes\n\n| compressor | bytes | rate | vs {} | compress s | decompress s |\n|---|---:|---:|---:|---:|---:|",
            t.kind.title(),
            t.files,
            t.input_bytes,
            t.reference
        );
        for row in &t.rows {
            let secs = |v: Option<f64>| v.map_or("–".into(), |v| format!("{v:.2}"));
            match row.bytes {
                None => {
                    let _ = writeln!(s, "| {} | not installed | – | – | – | – |", row.compressor);
                }
                Some(b) => {
                    let mark = if row.verified {
                        ""
                    } else {
                        " (not decoded back)"
                    };
                    let _ = writeln!(
                        s,
                        "| {}{mark} | {b} | {:.2}% | {} | {:.2} | {} |",
                        row.compressor,
                        100.0 * row.rate.unwrap_or(0.0),
                        row.vs_reference.map_or("–".into(), |v| format!("{v:.3}")),
                        row.compress_s,
                        secs(row.decompress_s),
                    );
                }
            }
        }
    }
    s
}

/// Writes `media.md` and `media.json` into `dir`.
pub fn write_all(r: &Report, dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let md = dir.join("media.md");
    std::fs::write(&md, markdown(r)).map_err(|e| Error::io(&md, e))?;
    let js = dir.join("media.json");
    let json = serde_json::to_string_pretty(r).map_err(|e| Error::Data(format!("json: {e}")))?;
    std::fs::write(&js, json).map_err(|e| Error::io(&js, e))
}

/// A scratch folder, removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `host-bench media`: the chosen photos and utterances through every
/// compressor of their kind, the report written to `args.out` and returned.
pub fn run(args: &MediaArgs, command: String) -> Result<Report, Error> {
    let t0 = Instant::now();
    let date = crate::meta::utc_now();
    let mut missing = Vec::new();
    for p in PHOTO_PEERS.iter().chain(SPEECH_PEERS) {
        for t in [p.tool, p.decoder] {
            if !t.is_empty() && find_tool(t).is_none() && !missing.contains(&t) {
                missing.push(t);
            }
        }
    }
    let missing_encoders: Vec<&str> = missing
        .iter()
        .copied()
        .filter(|t| PHOTO_PEERS.iter().chain(SPEECH_PEERS).any(|p| p.tool == *t))
        .collect();
    if args.require_peers && !missing_encoders.is_empty() {
        return Err(Error::Data(format!(
            "--require-peers: not installed: {}",
            missing_encoders.join(", ")
        )));
    }
    let all_photos = data::list_files(&args.photos, &["jpeg", "jpg"])?;
    let all_speech = data::list_files(&args.speech, &["flac"])?;
    let photos_available = all_photos.len();
    let speech_available = all_speech.len();
    let photos = spread(all_photos, args.count);
    let speech = spread(all_speech, args.count);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.max(1))
        .build()
        .map_err(|e| Error::Data(format!("threads: {e}")))?;
    let scratch =
        TempDir(std::env::temp_dir().join(format!("host-bench-media-{}", std::process::id())));
    std::fs::create_dir_all(&scratch.0).map_err(|e| Error::io(&scratch.0, e))?;

    let pb = ProgressBar::new((2 * photos.len() + speech.len()) as u64);
    pb.set_style(
        ProgressStyle::with_template("{msg:40} [{bar:30}] {pos}/{len} inputs eta {eta}")
            .expect("static template")
            .progress_chars("=> "),
    );
    let mut files = Vec::new();
    let mut one = |input: &Input| -> Result<(), Error> {
        let name = input
            .source
            .file_name()
            .unwrap_or_default()
            .to_string_lossy();
        pb.set_message(format!("{} {}", input.kind.ext(), name));
        let r = measure_input(input, &scratch.0, &pool)?;
        if let Some(rate) = r.lmc_rate() {
            pb.println(format!(
                "{} ({}): lmc {:.2}%",
                name,
                input.kind.ext(),
                100.0 * rate
            ));
        }
        files.push(r);
        pb.inc(1);
        Ok(())
    };
    for p in &photos {
        for input in photo_inputs(p, args.crop)? {
            one(&input)?;
        }
    }
    for p in &speech {
        one(&speech_input(p, args.max_samples)?)?;
    }
    pb.finish_and_clear();

    let mut notes = vec![
        format!(
            "lmc: the library's compress_with, adaptive coding (preset {}), media models (Media::Adaptive), {} KiB blocks fitted to the file: each file one block, as the `lmc` command codes it; decoded back with decompress_with and compared",
            lmc::coding::HOST_PRESET,
            BLOCK / 1024
        ),
        "peers: the installed tools on temporary files, outputs decoded back by their own decoders (optipng's PNG by the `image` crate) and compared; cwebp and cjxl read a PNG of the same pixels".into(),
        "grey: the `image` crate's luma (Rec. 709 weights), not Table 1's mean of R, G, B".into(),
    ];
    if let Some(c) = args.crop {
        notes.push(format!(
            "photos cropped to their top-left {}x{} pixels",
            c.width, c.height
        ));
    }
    if let Some(n) = args.max_samples {
        notes.push(format!("utterances cut to their first {n} samples"));
    }
    if !missing.is_empty() {
        notes.push(format!("not installed: {}", missing.join(", ")));
    }
    let not_media = files
        .iter()
        .filter(|f| f.lmc().and_then(|e| e.as_media) == Some(false))
        .count();
    if not_media > 0 {
        notes.push(format!(
            "{not_media} input(s) were not recognized by lmc as an image or sound and were coded as plain bytes"
        ));
    }
    let report = Report {
        tool: format!("host-bench {}", env!("CARGO_PKG_VERSION")),
        command,
        date,
        seconds: t0.elapsed().as_secs_f64(),
        machine: Machine::detect(),
        threads: args.threads.max(1),
        photos: Source {
            dir: args.photos.display().to_string(),
            files: photos.len(),
            available: photos_available,
        },
        speech: Source {
            dir: args.speech.display().to_string(),
            files: speech.len(),
            available: speech_available,
        },
        notes,
        totals: totals(&files),
        files,
    };
    write_all(&report, &args.out)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_parses_and_refuses_nonsense() {
        assert_eq!(
            "128x96".parse::<Crop>(),
            Ok(Crop {
                width: 128,
                height: 96
            })
        );
        assert!("128".parse::<Crop>().is_err());
        assert!("0x5".parse::<Crop>().is_err());
    }

    #[test]
    fn wav_header_is_canonical_and_its_data_found() {
        let w = wav16_mono(16_000, &[1, -2, 300]);
        assert_eq!(w.len(), 44 + 6);
        assert_eq!(&w[..4], b"RIFF");
        assert_eq!(u32::from_le_bytes(w[4..8].try_into().unwrap()), 36 + 6);
        assert_eq!(wav_data(&w), Some(&[1, 0, 0xfe, 0xff, 44, 1][..]));
    }

    #[test]
    fn pnm_pixels_skip_the_header() {
        let p = pnm("P5", 2, 1, &[7, 10]);
        assert_eq!(&p[..9], b"P5\n2 1\n25");
        assert_eq!(pnm_pixels(&p), &[7, 10]);
    }

    #[test]
    fn spread_takes_every_kth_and_zero_all() {
        let f: Vec<PathBuf> = (0..10).map(|i| PathBuf::from(i.to_string())).collect();
        let s = spread(f.clone(), 3);
        assert_eq!(s, [PathBuf::from("0"), "3".into(), "6".into()]);
        assert_eq!(spread(f, 0).len(), 10);
    }
}
