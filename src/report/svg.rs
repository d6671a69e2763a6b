//! Charts as inline SVG strings: a horizontal bar chart and a multi-series line chart. Pure.
//!
//! Hides the geometry (scales, ticks, palette). Amounts arrive as exact decimals and are turned
//! into `f64` only for drawing: a pixel position, never a figure anybody reads. Every label is
//! escaped here, so callers pass raw data.

use std::fmt::Write;

use html_escape::encode_text;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// Series colours, distinguishable in print and for common colour-vision deficiencies
/// (Okabe–Ito), grey last for "others".
pub const PALETTE: [&str; 9] =
    ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000", "#999999"];

/// One bar: its label, its length and the text printed after it.
pub struct Bar<'a> {
    pub label: &'a str,
    pub value: Decimal,
    pub text: String,
}

/// A horizontal bar chart, one row per bar, largest scale = the largest value.
pub fn bar_chart(title: &str, bars: &[Bar<'_>]) -> String {
    const ROW: f64 = 22.0;
    const LABEL: f64 = 220.0;
    const PLOT: f64 = 420.0;
    const WIDTH: f64 = LABEL + PLOT + 140.0;
    let max = bars.iter().map(|b| float(b.value)).fold(0.0, f64::max);
    let height = ROW * bars.len() as f64 + 10.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart bar" role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        encode_text(title)
    );
    for (i, bar) in bars.iter().enumerate() {
        let y = 5.0 + ROW * i as f64;
        let width = if max > 0.0 { (float(bar.value) / max * PLOT).max(0.0) } else { 0.0 };
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text><rect x="{LABEL}" y="{}" width="{width:.1}" height="{}" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            LABEL - 6.0,
            y + 15.0,
            encode_text(&shorten(bar.label, 32)),
            y + 3.0,
            ROW - 6.0,
            PALETTE[0],
            LABEL + width + 6.0,
            y + 15.0,
            encode_text(&bar.text),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One line of a line chart: a name and one value per x position.
pub struct Series {
    pub name: String,
    pub values: Vec<Decimal>,
}

/// A line chart of `series` over `x_labels` (days), with a y axis in `unit` and a legend.
pub fn line_chart(title: &str, unit: &str, x_labels: &[String], series: &[Series]) -> String {
    const LEFT: f64 = 70.0;
    const TOP: f64 = 10.0;
    const PLOT_W: f64 = 620.0;
    const PLOT_H: f64 = 220.0;
    const WIDTH: f64 = LEFT + PLOT_W + 20.0;
    let legend_rows = series.len().div_ceil(3) as f64;
    let height = TOP + PLOT_H + 40.0 + 18.0 * legend_rows;
    let max = series.iter().flat_map(|s| s.values.iter()).map(|v| float(*v)).fold(0.0, f64::max);
    let max = if max > 0.0 { max } else { 1.0 };
    let n = x_labels.len().max(1);
    let x = |i: usize| if n == 1 { LEFT + PLOT_W / 2.0 } else { LEFT + PLOT_W * i as f64 / (n - 1) as f64 };
    let y = |v: f64| TOP + PLOT_H - v / max * PLOT_H;

    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart line" role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        encode_text(title)
    );
    // Axes and four horizontal grid lines with their values.
    for k in 0..=4 {
        let v = max * k as f64 / 4.0;
        let yy = y(v);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{}" y2="{yy:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end" class="tick">{}</text>"##,
            LEFT + PLOT_W,
            LEFT - 4.0,
            yy + 4.0,
            encode_text(&tick(v)),
        );
    }
    let _ = write!(svg, r#"<text x="4" y="{}" class="tick">{}</text>"#, TOP + 8.0, encode_text(unit));
    // About eight x labels at most, first and last always.
    let step = n.div_ceil(8).max(1);
    for (i, label) in x_labels.iter().enumerate() {
        if i % step == 0 || i + 1 == n {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{}" text-anchor="middle" class="tick">{}</text>"#,
                x(i),
                TOP + PLOT_H + 16.0,
                encode_text(label)
            );
        }
    }
    for (s, line) in series.iter().enumerate() {
        let colour = PALETTE[s.min(PALETTE.len() - 1)];
        let mut d = String::new();
        for (i, v) in line.values.iter().enumerate() {
            let _ = write!(d, "{}{:.1},{:.1}", if i == 0 { "M" } else { " L" }, x(i), y(float(*v)));
        }
        if line.values.len() == 1 {
            // A single day: a dot, since a one-point path draws nothing.
            let _ = write!(d, " h0.1");
        }
        let _ = write!(svg, r#"<path d="{d}" fill="none" stroke="{colour}" stroke-width="2"/>"#);
        let lx = LEFT + (s % 3) as f64 * PLOT_W / 3.0;
        let ly = TOP + PLOT_H + 36.0 + 18.0 * (s / 3) as f64;
        let _ = write!(
            svg,
            r#"<rect x="{lx:.1}" y="{}" width="12" height="12" fill="{colour}"/><text x="{:.1}" y="{ly:.1}">{}</text>"#,
            ly - 10.0,
            lx + 16.0,
            encode_text(&shorten(&line.name, 28))
        );
    }
    svg.push_str("</svg>");
    svg
}

fn float(v: Decimal) -> f64 {
    v.to_f64().unwrap_or(0.0)
}

/// A compact axis value: 1234 → "1.2k", 0.5 → "0.50".
fn tick(v: f64) -> String {
    match v {
        v if v >= 1e6 => format!("{:.1}M", v / 1e6),
        v if v >= 1e3 => format!("{:.1}k", v / 1e3),
        v if v >= 10.0 => format!("{v:.0}"),
        v => format!("{v:.2}"),
    }
}

/// Long labels cut with an ellipsis (the full text is in the tables).
fn shorten(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_owned()
    } else {
        let mut s: String = label.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_labels_are_escaped() {
        let bars = [
            Bar { label: "<script>alert(1)</script>", value: Decimal::from(2), text: "2.00".into() },
            Bar { label: "b", value: Decimal::from(1), text: "1.00".into() },
        ];
        let svg = bar_chart("cost", &bars);
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains(r#"width="420.0""#) && svg.contains(r#"width="210.0""#), "{svg}");
        assert_eq!(svg.matches("<rect").count(), 2);
    }

    #[test]
    fn one_path_per_series_within_the_plot() {
        let days: Vec<String> = (1..=3).map(|d| format!("10-0{d}")).collect();
        let series = vec![
            Series { name: "a".into(), values: vec![Decimal::ZERO, Decimal::from(4), Decimal::from(2)] },
            Series { name: "others".into(), values: vec![Decimal::ONE; 3] },
        ];
        let svg = line_chart("trend", "USD", &days, &series);
        assert_eq!(svg.matches("<path").count(), 2);
        // The peak (4) touches the top of the plot, zero its bottom.
        assert!(svg.contains("M70.0,230.0 L380.0,10.0 L690.0,120.0"), "{svg}");
    }
}
