//! Small charts drawn on the server as SVG: an indicator's measurements over
//! time with its target as a dashed line. Every text is escaped; the chart
//! has a text alternative (`<title>`) and pages also show the values in a table.

use chrono::NaiveDate;

use crate::domain::indicator::format_number;

/// Escape text for SVG/HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One indicator's chart.
pub struct Sparkline<'a> {
    /// Unique within the page (for `aria-labelledby`).
    pub id: &'a str,
    pub label: &'a str,
    pub unit: &'a str,
    /// (date, value), in date order.
    pub points: &'a [(NaiveDate, f64)],
    pub target: Option<f64>,
    pub baseline: Option<f64>,
}

const W: f64 = 320.0;
const H: f64 = 90.0;
const PAD: f64 = 8.0;

impl Sparkline<'_> {
    /// The text alternative: every value with its date, and the target.
    pub fn alt(&self) -> String {
        let mut s = format!("{} : ", self.label);
        if self.points.is_empty() {
            s.push_str("pas encore de mesure");
        } else {
            let values: Vec<String> = self
                .points
                .iter()
                .map(|(d, v)| {
                    format!(
                        "{} {} au {}",
                        format_number(*v),
                        self.unit,
                        d.format("%d/%m/%Y")
                    )
                    .replace("  ", " ")
                })
                .collect();
            s.push_str(&values.join(", "));
        }
        if let Some(t) = self.target {
            s.push_str(&format!(" ; cible {} {}", format_number(t), self.unit));
        }
        s.trim_end().to_owned()
    }

    pub fn svg(&self) -> String {
        let alt = esc(&self.alt());
        let id = esc(self.id);
        let mut values: Vec<f64> = self.points.iter().map(|p| p.1).collect();
        values.extend(self.target);
        values.extend(self.baseline);
        let (mut lo, mut hi) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(*v), b.max(*v))
            });
        if !lo.is_finite() {
            lo = 0.0;
            hi = 1.0;
        }
        if lo > 0.0 {
            lo = 0.0;
        }
        if (hi - lo).abs() < f64::EPSILON {
            hi = lo + 1.0;
        }
        let y = |v: f64| PAD + (H - 2.0 * PAD) * (1.0 - (v - lo) / (hi - lo));
        let (first, last) = match (self.points.first(), self.points.last()) {
            (Some(f), Some(l)) => (f.0, l.0),
            _ => (NaiveDate::MIN, NaiveDate::MIN),
        };
        let span = (last - first).num_days().max(1) as f64;
        let x = |d: NaiveDate| {
            if self.points.len() < 2 {
                W / 2.0
            } else {
                PAD + (W - 2.0 * PAD) * ((d - first).num_days() as f64 / span)
            }
        };
        let mut out = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"sparkline\" viewBox=\"0 0 {W} {H}\" \
             width=\"{W}\" height=\"{H}\" role=\"img\" aria-labelledby=\"{id}-t\"><title id=\"{id}-t\">{alt}</title>\
             <rect x=\"0\" y=\"0\" width=\"{W}\" height=\"{H}\" fill=\"#fff\" stroke=\"#767676\"/>"
        );
        if let Some(t) = self.target {
            let ty = y(t);
            out.push_str(&format!(
                "<line x1=\"{PAD}\" x2=\"{}\" y1=\"{ty:.1}\" y2=\"{ty:.1}\" stroke=\"#b34700\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>\
                 <text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#8a3700\">cible {}</text>",
                W - PAD,
                W - PAD,
                (ty - 3.0).max(11.0),
                esc(&format_number(t))
            ));
        }
        if !self.points.is_empty() {
            let pts: Vec<String> = self
                .points
                .iter()
                .map(|(d, v)| format!("{:.1},{:.1}", x(*d), y(*v)))
                .collect();
            out.push_str(&format!(
                "<polyline fill=\"none\" stroke=\"#1d4f91\" stroke-width=\"2\" points=\"{}\"/>",
                pts.join(" ")
            ));
            for (d, v) in self.points {
                out.push_str(&format!(
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#1d4f91\"/>",
                    x(*d),
                    y(*v)
                ));
            }
        }
        out.push_str("</svg>");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_with_target_and_escaped_text() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        let pts = [(d(2024, 12, 31), 12.0), (d(2025, 12, 31), 40.0)];
        let s = Sparkline {
            id: "ind-1",
            label: "Ateliers <b>réalisés</b>",
            unit: "ateliers",
            points: &pts,
            target: Some(60.0),
            baseline: Some(0.0),
        };
        let svg = s.svg();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("stroke-dasharray"), "target line");
        assert!(svg.contains("<polyline"));
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(!svg.contains("<b>"));
        assert!(svg.contains("&lt;b&gt;"));
        assert!(s
            .alt()
            .contains("12 ateliers au 31/12/2024, 40 ateliers au 31/12/2025 ; cible 60 ateliers"));
        // The target is above every point: its line is the highest (smallest y).
        let empty = Sparkline { points: &[], ..s };
        assert!(empty.alt().contains("pas encore de mesure"));
        assert!(!empty.svg().contains("<polyline"));
    }
}
