//! The validation curve as a PNG (bits per byte against tokens seen).

use std::fs;
use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::metrics::Curves;

/// Fonts tried for labels; without one the plot is drawn unlabelled.
const FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

pub(crate) fn font_loaded() -> bool {
    static LOADED: OnceLock<bool> = OnceLock::new();
    *LOADED.get_or_init(|| {
        for path in FONTS {
            if let Ok(bytes) = fs::read(path) {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return true;
                }
            }
        }
        false
    })
}

/// Reads `metrics.csv` and draws train bits per byte and one validation
/// curve per validation source (`val_bpb`, then each `val_NAME` column).
pub fn plot_metrics(csv: &Path, png: &Path) -> Result<()> {
    let curves = Curves::read(csv)?;
    let plot_err = |e: &dyn std::fmt::Display| Error::Plot(format!("{}: {e}", png.display()));
    let millions = |c: &[(u64, f64)]| -> Vec<(f64, f64)> {
        c.iter().map(|&(t, y)| (t as f64 / 1e6, y)).collect()
    };
    let train = millions(&curves.train);
    let vals: Vec<Vec<(f64, f64)>> = curves.val.iter().map(|v| millions(v)).collect();
    let val: Vec<(f64, f64)> = vals.iter().flatten().copied().collect();
    if train.is_empty() && val.is_empty() {
        return Ok(());
    }
    let all = train.iter().chain(val.iter());
    let xmax = all.clone().map(|p| p.0).fold(1e-3, f64::max);
    let ymax = all.clone().map(|p| p.1).fold(0.0, f64::max).min(8.5) + 0.1;
    let ymin = all.map(|p| p.1).fold(f64::INFINITY, f64::min).max(0.0) - 0.1;
    let labels = font_loaded();
    let root = canvas(png)?;
    let caption = "bits per byte vs training tokens (M)";
    let mut chart = chart(&root, caption, 0.0..xmax * 1.02, ymin.max(0.0)..ymax, png)?;
    let mut mesh = chart.configure_mesh();
    if labels {
        mesh.x_desc("tokens (millions)").y_desc("bits/byte");
    } else {
        mesh.disable_x_axis().disable_y_axis();
    }
    mesh.draw().map_err(|e| plot_err(&e))?;
    let label = |text: String| labels.then_some(text);
    draw_line(
        &mut chart,
        train,
        BLUE.into(),
        label("train (recent steps)".into()),
        png,
    )?;
    let colours = [RED, GREEN, MAGENTA, CYAN, BLACK];
    for (k, (name, v)) in curves.val_names.iter().zip(vals).enumerate() {
        let name = name.as_deref().unwrap_or("first source (headline)");
        let c = colours[k % colours.len()];
        let text = format!("validation: {name}, 2048-byte chunks");
        draw_line(&mut chart, v, c.stroke_width(2), label(text), png)?;
    }
    if labels {
        draw_legend(&mut chart, png)?;
    }
    root.present().map_err(|e| plot_err(&e))
}

/// A white 900 x 560 PNG canvas.
pub(crate) fn canvas(png: &Path) -> Result<DrawingArea<BitMapBackend<'_>, Shift>> {
    let root = BitMapBackend::new(png, (900, 560)).into_drawing_area();
    root.fill(&WHITE)
        .map_err(|e| Error::Plot(format!("{}: {e}", png.display())))?;
    Ok(root)
}

/// A chart over `x` by `y` on `root`, captioned (and room left for axis
/// labels) when a font is available.
pub(crate) fn chart<'a, 'b>(
    root: &'a DrawingArea<BitMapBackend<'b>, Shift>,
    caption: &str,
    x: Range<f64>,
    y: Range<f64>,
    png: &Path,
) -> Result<Chart<'a, 'b>> {
    let mut builder = ChartBuilder::on(root);
    builder.margin(20);
    if font_loaded() {
        builder
            .caption(caption, ("sans-serif", caption_size(caption)))
            .x_label_area_size(40)
            .y_label_area_size(60);
    }
    builder
        .build_cartesian_2d(x, y)
        .map_err(|e| Error::Plot(format!("{}: {e}", png.display())))
}

/// Font size that fits `caption` on one 900-pixel line (18 at most).
fn caption_size(caption: &str) -> u32 {
    (1500 / caption.chars().count().max(1) as u32).clamp(9, 18)
}

/// A chart of `f64` against `f64` on a PNG.
pub(crate) type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Draws `points` as a line with a dot at each point (so a one-point
/// curve still shows), with a legend entry when `label` is given.
pub(crate) fn draw_line(
    chart: &mut Chart,
    points: Vec<(f64, f64)>,
    style: ShapeStyle,
    label: Option<String>,
    png: &Path,
) -> Result<()> {
    let s = chart
        .draw_series(LineSeries::new(points, style).point_size(3))
        .map_err(|e| Error::Plot(format!("{}: {e}", png.display())))?;
    if let Some(text) = label {
        s.label(text)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    }
    Ok(())
}

/// Draws the legend box of the labelled lines.
pub(crate) fn draw_legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, png: &Path) -> Result<()> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| Error::Plot(format!("{}: {e}", png.display())))
}
