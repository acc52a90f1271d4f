//! Line charts written as PNG and SVG with `plotters`, in pure Rust.
//!
//! Text is drawn with `ab_glyph` from a 15 KB ASCII subset of DejaVu Sans
//! committed in `assets/` (licence beside it), so no system font is
//! needed. PNGs are encoded with the `png` crate from `plotters`' RGB
//! buffer.

use std::fs;
use std::ops::Range;
use std::path::Path;
use std::sync::Once;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::Error;

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans-subset.ttf");
static REGISTER: Once = Once::new();

/// Registers the committed font as `sans-serif` (once per process).
pub fn register_font() {
    REGISTER.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            // The font is a committed, valid TrueType file.
            let _ = plotters::style::register_font("sans-serif", style, FONT);
        }
    });
}

/// Ten well-separated colours (Tableau 10).
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// One curve.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// `(x, y)` points in order.
    pub points: Vec<(f64, f64)>,
    /// Index into [`PALETTE`].
    pub color: usize,
    /// Dashed rather than solid.
    pub dashed: bool,
    /// Mark every point with a dot.
    pub markers: bool,
}

/// A line chart.
#[derive(Clone, Debug)]
pub struct LineChart {
    /// Title above the plot.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// Log-scale x axis.
    pub log_x: bool,
    /// Visible x range.
    pub x_range: Range<f64>,
    /// Visible y range (points outside are clipped).
    pub y_range: Range<f64>,
    /// Format y tick labels as percentages of 1.
    pub y_percent: bool,
    /// The curves.
    pub series: Vec<Series>,
    /// Lines of small text under the plot (what is measured, what not).
    pub caption: Vec<String>,
    /// Size in pixels.
    pub size: (u32, u32),
    /// Draw the legend box.
    pub legend: bool,
    /// Put the legend in the upper left corner (else upper right).
    pub legend_left: bool,
}

fn perr(e: impl std::fmt::Display) -> Error {
    Error::Data(format!("plot: {e}"))
}

/// Writes `chart` as `<dir>/<stem>.png` and `<dir>/<stem>.svg`.
pub fn write_line_chart(chart: &LineChart, dir: &Path, stem: &str) -> Result<(), Error> {
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let (w, h) = chart.size;
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        draw_line_chart(&root, chart)?;
        root.present().map_err(perr)?;
    }
    write_png_rgb(&dir.join(format!("{stem}.png")), w, h, &rgb)?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        draw_line_chart(&root, chart)?;
        root.present().map_err(perr)?;
    }
    let p = dir.join(format!("{stem}.svg"));
    fs::write(&p, svg).map_err(|e| Error::io(&p, e))
}

/// Clears `root` to white, writes `caption` (one string a line) along its
/// bottom, and returns the area above it for the chart.
pub fn with_caption<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    caption: &[String],
) -> Result<DrawingArea<DB, Shift>, Error> {
    register_font();
    root.fill(&WHITE).map_err(perr)?;
    let caption_h = 16 * caption.len() as u32 + if caption.is_empty() { 0 } else { 8 };
    let (_, h) = root.dim_in_pixel();
    let (upper, lower) = root.split_vertically(h.saturating_sub(caption_h));
    for (i, line) in caption.iter().enumerate() {
        lower
            .draw_text(
                line,
                &("sans-serif", 12).into_font().color(&RGBColor(60, 60, 60)),
                (12, 4 + 16 * i as i32),
            )
            .map_err(perr)?;
    }
    Ok(upper)
}

/// Draws `chart` on any `plotters` drawing area.
pub fn draw_line_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &LineChart,
) -> Result<(), Error> {
    let upper = with_caption(root, &chart.caption)?;
    let x = chart.x_range.clone();
    let y = chart.y_range.clone();
    if chart.log_x {
        draw_axes(&upper, chart, x.log_scale(), y)
    } else {
        draw_axes(&upper, chart, x, y)
    }
}

fn draw_axes<DB, X>(
    area: &DrawingArea<DB, Shift>,
    chart: &LineChart,
    x: X,
    y: Range<f64>,
) -> Result<(), Error>
where
    DB: DrawingBackend,
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
{
    let (y_lo, y_hi) = (y.start, y.end);
    let mut c = ChartBuilder::on(area)
        .caption(&chart.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(x, y)
        .map_err(perr)?;
    let pct = chart.y_percent;
    let fmt_y = move |v: &f64| {
        if pct {
            format!("{:.0}%", 100.0 * v)
        } else {
            format!("{v:.0}")
        }
    };
    let fmt_x = |v: &f64| {
        if *v >= 1e6 {
            format!("{:.1}M", v / 1e6)
        } else if *v >= 1e4 {
            format!("{:.0}K", v / 1e3)
        } else {
            format!("{v:.0}")
        }
    };
    c.configure_mesh()
        .x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .x_label_formatter(&fmt_x)
        .y_label_formatter(&fmt_y)
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 14))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(perr)?;
    for s in &chart.series {
        let color = PALETTE[s.color % PALETTE.len()];
        // Thick polylines get miter spikes at sharp reversals: dense,
        // jagged series (waveforms) are drawn one pixel wide.
        let width = if s.points.len() > 1000 { 1 } else { 2 };
        let style = ShapeStyle::from(&color).stroke_width(width);
        let pts = clip_y(&s.points, y_lo, y_hi);
        let anno = if s.dashed {
            c.draw_series(DashedLineSeries::new(pts.clone(), 6, 4, style))
                .map_err(perr)?
        } else {
            c.draw_series(LineSeries::new(pts.clone(), style))
                .map_err(perr)?
        };
        let dashed = s.dashed;
        anno.label(s.name.as_str()).legend(move |(lx, ly)| {
            if dashed {
                PathElement::new(vec![(lx, ly), (lx + 8, ly)], style)
            } else {
                PathElement::new(vec![(lx, ly), (lx + 18, ly)], style)
            }
        });
        if s.markers {
            c.draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .map_err(perr)?;
        }
    }
    if !chart.legend {
        return Ok(());
    }
    c.configure_series_labels()
        .position(if chart.legend_left {
            SeriesLabelPosition::UpperLeft
        } else {
            SeriesLabelPosition::UpperRight
        })
        .label_font(("sans-serif", 12))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .draw()
        .map_err(perr)?;
    Ok(())
}

/// Writes an 8-bit RGB buffer as PNG.
pub fn write_png_rgb(path: &Path, w: u32, h: u32, rgb: &[u8]) -> Result<(), Error> {
    write_png(path, w, h, png::ColorType::Rgb, rgb)
}

/// Writes an 8-bit grey buffer as PNG.
pub fn write_png_gray(path: &Path, w: u32, h: u32, grey: &[u8]) -> Result<(), Error> {
    write_png(path, w, h, png::ColorType::Grayscale, grey)
}

fn write_png(path: &Path, w: u32, h: u32, color: png::ColorType, px: &[u8]) -> Result<(), Error> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(color);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Best);
        let mut wr = enc.write_header().map_err(perr)?;
        wr.write_image_data(px).map_err(perr)?;
    }
    if let Some(d) = path.parent() {
        fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    }
    fs::write(path, out).map_err(|e| Error::io(path, e))
}

/// Thins a dense curve for drawing on a log-x axis: every point up to
/// `dense`, then points at least 1% apart in x, always keeping the last.
pub fn thin_log(points: &[(f64, f64)], dense: f64) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    for (i, &p) in points.iter().enumerate() {
        let last = i + 1 == points.len();
        let keep = match out.last() {
            None => true,
            Some(&(lx, _)) => p.0 <= dense || p.0 >= lx * 1.01 || last,
        };
        if keep {
            out.push(p);
        }
    }
    out
}

/// The points inside `[lo, hi]` in y, plus each outside neighbour of an
/// inside point clamped to the edge (so a curve enters and leaves the plot
/// at its border instead of running along it).
pub fn clip_y(points: &[(f64, f64)], lo: f64, hi: f64) -> Vec<(f64, f64)> {
    let inside = |p: &(f64, f64)| p.1 >= lo && p.1 <= hi;
    points
        .iter()
        .enumerate()
        .filter(|&(i, p)| {
            inside(p) || (i > 0 && inside(&points[i - 1])) || points.get(i + 1).is_some_and(inside)
        })
        .map(|(_, &(x, y))| (x, y.clamp(lo, hi)))
        .collect()
}
