//! Running and writing the paper's Figures 3–5 (samples from compressors
//! and models, conditioned on real text, audio and image chunks; the
//! sampling itself is [`generate`](crate::generate)).
//!
//! Outputs: text as `.txt` beside the original continuation, audio as 8-bit
//! 16 kHz WAV plus a waveform plot (PNG, SVG), the image patch as one PNG
//! of the original and every sampler's result side by side (scaled up),
//! and `figure35.{json,csv}` with every byte and the run's metadata.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::Instant;

use plotters::prelude::*;
use serde::Serialize;

use crate::data::{PATCH_COLS, PATCH_ROWS};
use crate::generate::{generate, sampled_part, wav_u8, Given, Sampler};
use crate::meta::Meta;
use crate::plot::{self, LineChart, Series};
use crate::Error;

/// LibriSpeech's sample rate.
pub const AUDIO_RATE: u32 = 16_000;

/// The index of a chunk chosen by its byte variance: among `candidates`
/// evenly spaced chunks, the one at `quantile` (0 = flattest, 1 = most
/// varied) of their variances.
pub fn pick_by_variance(c: &crate::data::Chunks, candidates: usize, quantile: f64) -> usize {
    let idx = crate::data::Sample::Even(candidates).indices(c.len());
    let var = |i: usize| {
        let ch = &c.data[i * crate::data::CHUNK..(i + 1) * crate::data::CHUNK];
        let m = ch.iter().map(|&b| f64::from(b)).sum::<f64>() / ch.len() as f64;
        ch.iter().map(|&b| (f64::from(b) - m).powi(2)).sum::<f64>() / ch.len() as f64
    };
    let mut v: Vec<(f64, usize)> = idx.into_iter().map(|i| (var(i), i)).collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let k = ((v.len().saturating_sub(1)) as f64 * quantile.clamp(0.0, 1.0)).round() as usize;
    v.get(k).map_or(0, |x| x.1)
}

/// One conditioning task: a real chunk and which of its bytes are given.
#[derive(Clone, Debug, Serialize)]
pub struct Task {
    /// `text`, `audio` or `image`.
    pub modality: String,
    /// Where the chunk comes from.
    pub source: String,
    /// The real chunk.
    pub original: Vec<u8>,
    /// Which bytes are given.
    #[serde(skip)]
    pub given: Given,
    /// [`Given::describe`].
    pub given_rule: String,
}

impl Task {
    /// A task on `original`.
    pub fn new(modality: &str, source: String, original: Vec<u8>, given: Given) -> Self {
        Self {
            modality: modality.into(),
            source,
            given_rule: given.describe(original.len()),
            original,
            given,
        }
    }
}

/// One sampler's result on one task.
#[derive(Clone, Debug, Serialize)]
pub struct Sample {
    /// Sampler label.
    pub sampler: String,
    /// File-name part.
    pub slug: String,
    /// The whole sequence (given bytes and samples).
    #[serde(skip)]
    pub sequence: Vec<u8>,
    /// The sampled bytes only, in order.
    pub sampled: Vec<u8>,
    /// Sampled text, lossy UTF-8 (text only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sampled_text: Option<String>,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// One task's results.
#[derive(Clone, Debug, Serialize)]
pub struct TaskResult {
    /// The task.
    pub task: Task,
    /// The original bytes at the sampled positions.
    pub original_sampled: Vec<u8>,
    /// One per sampler.
    pub samples: Vec<Sample>,
}

/// Everything one run produced.
#[derive(Clone, Debug, Serialize)]
pub struct Figure35 {
    /// Run metadata (command, data, machine, date).
    pub meta: Meta,
    /// The command line.
    pub command: String,
    /// The sampling seed (each sampler on each task starts from it).
    pub seed: u64,
    /// How the distributions are defined.
    pub method: Vec<String>,
    /// One per task.
    pub tasks: Vec<TaskResult>,
}

/// Progress of a run: called with a label and the bytes to sample; the
/// callback it returns is called with 1 per sampled byte.
pub type Progress<'p> = dyn Fn(&str, u64) -> Box<dyn Fn(u64)> + 'p;

/// Runs every sampler on `task` with `seed`.
pub fn run_task(
    task: &Task,
    samplers: &mut [(String, Box<dyn Sampler + '_>)],
    seed: u64,
    progress: &Progress<'_>,
) -> Result<TaskResult, Error> {
    let to_sample = task
        .original
        .iter()
        .enumerate()
        .filter(|(i, _)| !task.given.is_given(*i))
        .count() as u64;
    let mut samples = Vec::new();
    for (slug, s) in samplers.iter_mut() {
        let t0 = Instant::now();
        let done = progress(&format!("{} / {}", task.modality, s.name()), to_sample);
        let seq = generate(s.as_mut(), &task.original, task.given, seed, &*done)?;
        let sampled = sampled_part(&seq, task.given);
        samples.push(Sample {
            sampler: s.name(),
            slug: slug.clone(),
            sampled_text: (task.modality == "text")
                .then(|| String::from_utf8_lossy(&sampled).into_owned()),
            sampled,
            sequence: seq,
            seconds: t0.elapsed().as_secs_f64(),
        });
    }
    Ok(TaskResult {
        original_sampled: sampled_part(&task.original, task.given),
        task: task.clone(),
        samples,
    })
}

/// All sampled positions as CSV: modality, position, original, one column
/// per sampler.
pub fn csv(f: &Figure35) -> String {
    let mut s = String::from("modality,position,original");
    if let Some(t) = f.tasks.first() {
        for x in &t.samples {
            let _ = write!(s, ",{}", x.slug);
        }
    }
    s.push('\n');
    for t in &f.tasks {
        for (i, &o) in t.task.original.iter().enumerate() {
            if t.task.given.is_given(i) {
                continue;
            }
            let _ = write!(s, "{},{i},{o}", t.task.modality);
            for x in &t.samples {
                let _ = write!(s, ",{}", x.sequence[i]);
            }
            s.push('\n');
        }
    }
    s
}

fn write_file(dir: &Path, name: &str, body: &[u8]) -> Result<(), Error> {
    let p = dir.join(name);
    fs::write(&p, body).map_err(|e| Error::io(&p, e))
}

/// Writes every output into `dir`.
pub fn write_all(f: &Figure35, dir: &Path) -> Result<(), Error> {
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let json = serde_json::to_string(f).map_err(|e| Error::Data(e.to_string()))?;
    write_file(dir, "figure35.json", json.as_bytes())?;
    write_file(dir, "figure35.csv", csv(f).as_bytes())?;
    for t in &f.tasks {
        match t.task.modality.as_str() {
            "text" => write_text(t, dir)?,
            "audio" => write_audio(t, dir, f)?,
            "image" => write_image(t, dir)?,
            _ => {}
        }
    }
    Ok(())
}

fn write_text(t: &TaskResult, dir: &Path) -> Result<(), Error> {
    let n = t
        .task
        .original
        .iter()
        .enumerate()
        .take_while(|(i, _)| t.task.given.is_given(*i))
        .count();
    write_file(dir, "text-context.txt", &t.task.original[..n])?;
    write_file(dir, "text-original.txt", &t.original_sampled)?;
    for s in &t.samples {
        write_file(dir, &format!("text-{}.txt", s.slug), &s.sampled)?;
    }
    Ok(())
}

fn write_audio(t: &TaskResult, dir: &Path, f: &Figure35) -> Result<(), Error> {
    write_file(
        dir,
        "audio-original.wav",
        &wav_u8(&t.task.original, AUDIO_RATE),
    )?;
    for s in &t.samples {
        write_file(
            dir,
            &format!("audio-{}.wav", s.slug),
            &wav_u8(&s.sequence, AUDIO_RATE),
        )?;
    }
    let start = (0..t.task.original.len())
        .find(|&i| !t.task.given.is_given(i))
        .unwrap_or(0);
    let wave = |name: &str, seq: &[u8], color: usize| -> LineChart {
        let pts = seq
            .iter()
            .enumerate()
            .map(|(i, &b)| (i as f64, f64::from(b)))
            .collect();
        LineChart {
            title: name.into(),
            x_label: String::new(),
            y_label: String::new(),
            log_x: false,
            x_range: 0.0..seq.len() as f64,
            y_range: 0.0..256.0,
            y_percent: false,
            series: vec![
                Series {
                    name: name.into(),
                    points: pts,
                    color,
                    dashed: false,
                    markers: false,
                },
                Series {
                    name: "sampling starts".into(),
                    points: vec![(start as f64, 0.0), (start as f64, 255.0)],
                    color: 7,
                    dashed: true,
                    markers: false,
                },
            ],
            caption: Vec::new(),
            size: (900, 150),
            legend: false,
            legend_left: false,
        }
    };
    let mut panels = vec![wave("original (LibriSpeech, 8-bit)", &t.task.original, 0)];
    for (i, s) in t.samples.iter().enumerate() {
        panels.push(wave(&s.sampler, &s.sequence, i + 1));
    }
    let caption = vec![
        format!("{}: {}.", t.task.source, t.task.given_rule),
        "x: sample index at 16 kHz; y: 8-bit sample value; grey dashed line: sampling starts."
            .into(),
        format!("seed {}; {}, {}.", f.seed, f.meta.tool, f.meta.started_utc),
    ];
    write_panels(&panels, &caption, dir, "audio-waveforms")
}

/// Stacks `charts` vertically (each at its own height) with a caption
/// under them, as `<stem>.png` and `<stem>.svg`.
pub fn write_panels(
    charts: &[LineChart],
    caption: &[String],
    dir: &Path,
    stem: &str,
) -> Result<(), Error> {
    let w = charts.iter().map(|c| c.size.0).max().unwrap_or(900);
    let cap_h = 16 * caption.len() as u32 + 8;
    let h: u32 = charts.iter().map(|c| c.size.1).sum::<u32>() + cap_h;
    fn draw<DB: DrawingBackend>(
        root: DrawingArea<DB, plotters::coord::Shift>,
        charts: &[LineChart],
        caption: &[String],
        cap_h: u32,
    ) -> Result<(), Error> {
        let perr = |e: DrawingAreaErrorKind<DB::ErrorType>| Error::Data(format!("plot: {e}"));
        plot::register_font();
        root.fill(&WHITE).map_err(perr)?;
        let (_, h) = root.dim_in_pixel();
        let (body, cap) = root.split_vertically(h - cap_h);
        let mut rest = body;
        for c in charts {
            let (top, bottom) = rest.split_vertically(c.size.1);
            plot::draw_line_chart(&top, c)?;
            rest = bottom;
        }
        for (i, line) in caption.iter().enumerate() {
            cap.draw_text(
                line,
                &("sans-serif", 12).into_font().color(&RGBColor(60, 60, 60)),
                (12, 4 + 16 * i as i32),
            )
            .map_err(perr)?;
        }
        root.present().map_err(perr)
    }
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    draw(
        BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area(),
        charts,
        caption,
        cap_h,
    )?;
    plot::write_png_rgb(&dir.join(format!("{stem}.png")), w, h, &rgb)?;
    let mut svg = String::new();
    draw(
        SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area(),
        charts,
        caption,
        cap_h,
    )?;
    write_file(dir, &format!("{stem}.svg"), svg.as_bytes())
}

/// Pixels per patch pixel in the image figure.
const SCALE: usize = 4;

fn write_image(t: &TaskResult, dir: &Path) -> Result<(), Error> {
    let mut tiles: Vec<(&str, &[u8])> = vec![("original", &t.task.original)];
    for s in &t.samples {
        tiles.push((&s.sampler, &s.sequence));
    }
    let (tw, th) = (PATCH_COLS * SCALE, PATCH_ROWS * SCALE);
    let (pad, label_h, cap_h) = (12usize, 22usize, 40usize);
    let cols = 3usize.min(tiles.len());
    let rows = tiles.len().div_ceil(cols);
    let w = pad + cols * (tw + pad);
    let h = rows * (label_h + th + pad) + pad + cap_h;
    let mut rgb = vec![255u8; w * h * 3];
    let origin = |k: usize| {
        let (r, c) = (k / cols, k % cols);
        (
            pad + c * (tw + pad),
            pad + r * (label_h + th + pad) + label_h,
        )
    };
    for (k, (_, px)) in tiles.iter().enumerate() {
        let (x0, y0) = origin(k);
        for y in 0..th {
            for x in 0..tw {
                let v = px[(y / SCALE) * PATCH_COLS + x / SCALE];
                let o = ((y0 + y) * w + x0 + x) * 3;
                rgb[o..o + 3].copy_from_slice(&[v, v, v]);
            }
        }
    }
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w as u32, h as u32)).into_drawing_area();
        let perr = |e: DrawingAreaErrorKind<_>| Error::Data(format!("plot: {e}"));
        plot::register_font();
        let red = RGBColor(214, 39, 40);
        for (k, (name, _)) in tiles.iter().enumerate() {
            let (x0, y0) = origin(k);
            let mut label: String = (*name).to_string();
            label.truncate(40);
            root.draw_text(
                &label,
                &("sans-serif", 13).into_font().color(&BLACK),
                (x0 as i32, (y0 - label_h + 4) as i32),
            )
            .map_err(perr)?;
            // Where sampling starts in every row: a tick above and below.
            let xm = (x0 + tw / 2) as i32;
            let (yt, yb) = (y0 as i32, (y0 + th) as i32);
            root.draw(&PathElement::new(
                vec![(xm, yt - 5), (xm, yt - 1)],
                red.stroke_width(2),
            ))
            .map_err(perr)?;
            root.draw(&PathElement::new(
                vec![(xm, yb), (xm, yb + 4)],
                red.stroke_width(2),
            ))
            .map_err(perr)?;
        }
        let cap = [
            format!("{}: {}.", t.task.source, t.task.given_rule),
            "Left half of every row real, right half sampled (red ticks); 32x64 patch, 4x scaled."
                .to_string(),
        ];
        for (i, line) in cap.iter().enumerate() {
            root.draw_text(
                line,
                &("sans-serif", 12).into_font().color(&RGBColor(60, 60, 60)),
                (pad as i32, (h - cap_h + 2 + 16 * i) as i32),
            )
            .map_err(perr)?;
        }
        root.present().map_err(perr)?;
    }
    plot::write_png_rgb(&dir.join("image-samples.png"), w as u32, h as u32, &rgb)
}
