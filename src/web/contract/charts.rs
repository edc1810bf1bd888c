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
                        crate::domain::dates::short_date(*d)
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

/// Territories compared on one indicator: a horizontal bar per value.
pub struct Bars<'a> {
    pub id: &'a str,
    pub label: &'a str,
    pub unit: &'a str,
    /// (name, value), in the order shown.
    pub bars: &'a [(String, f64)],
}

impl Bars<'_> {
    /// The text alternative: every name with its value.
    pub fn alt(&self) -> String {
        if self.bars.is_empty() {
            return format!("{} : aucune mesure", self.label);
        }
        let values: Vec<String> = self
            .bars
            .iter()
            .map(|(n, v)| {
                format!("{n} {} {}", format_number(*v), self.unit)
                    .trim_end()
                    .to_owned()
            })
            .collect();
        format!("{} : {}", self.label, values.join(", "))
    }

    pub fn svg(&self) -> String {
        const BW: f64 = 640.0;
        const ROW: f64 = 28.0;
        const LABEL: f64 = 260.0;
        let h = (self.bars.len().max(1) as f64) * ROW + 2.0 * PAD;
        let hi = self
            .bars
            .iter()
            .map(|b| b.1)
            .fold(0.0_f64, f64::max)
            .max(f64::EPSILON);
        let lo = self.bars.iter().map(|b| b.1).fold(0.0_f64, f64::min);
        let span = (hi - lo).max(f64::EPSILON);
        let room = BW - LABEL - 2.0 * PAD - 90.0;
        let x = |v: f64| LABEL + room * ((v - lo) / span);
        let mut out = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"bars\" viewBox=\"0 0 {BW} {h}\" \
             role=\"img\" aria-labelledby=\"{id}-t\"><title id=\"{id}-t\">{alt}</title>\
             <rect x=\"0\" y=\"0\" width=\"{BW}\" height=\"{h}\" fill=\"#fff\" stroke=\"#767676\"/>",
            id = esc(self.id),
            alt = esc(&self.alt()),
        );
        for (i, (name, v)) in self.bars.iter().enumerate() {
            let top = PAD + i as f64 * ROW;
            let (x0, x1) = (x(0.0_f64.max(lo)), x(*v));
            let (left, width) = if x1 >= x0 {
                (x0, x1 - x0)
            } else {
                (x1, x0 - x1)
            };
            // About 7 px a character at 12 px: longer names are cut (the
            // table below and the title give them whole).
            let short: String = if name.chars().count() > 34 {
                name.chars().take(33).chain(['…']).collect()
            } else {
                name.clone()
            };
            out.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\" fill=\"#1e1e1e\">{}</text>\
                 <rect x=\"{left:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#1d4f91\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" fill=\"#1e1e1e\">{}</text>",
                LABEL - 6.0,
                top + ROW * 0.65,
                esc(&short),
                top + 5.0,
                width.max(1.0),
                ROW - 10.0,
                left + width + 6.0,
                top + ROW * 0.65,
                esc(format!("{} {}", format_number(*v), self.unit).trim_end()),
            ));
        }
        out.push_str("</svg>");
        out
    }
}

#[cfg(test)]
mod bars_tests {
    use super::*;

    #[test]
    fn bars_escape_names_and_say_every_value() {
        let bars = [
            ("Lens <Liévin>".to_owned(), 12.5),
            ("Arras".to_owned(), 3.0),
        ];
        let b = Bars {
            id: "cmp",
            label: "Ateliers",
            unit: "ateliers",
            bars: &bars,
        };
        let svg = b.svg();
        assert!(svg.contains("Lens &lt;Liévin&gt;"));
        assert!(!svg.contains("<Liévin>"));
        assert_eq!(
            b.alt(),
            "Ateliers : Lens <Liévin> 12,5 ateliers, Arras 3 ateliers"
        );
        assert_eq!(svg.matches("<rect").count(), 3);
    }
}
