//! The report's tables as a workbook (rust_xlsxwriter): a « Sommaire »
//! sheet (title, subtitle, date, the sheets with a link to each), then one
//! sheet per distinct `Table::sheet` in order of first appearance. Tables
//! sharing a sheet are stacked: the caption as a bold title row, the header
//! row in bold, the rows, a blank row.
//!
//! Cells keep their type: integers and measures are numbers, amounts are
//! euros (cents / 100) formatted `#,##0.00 €`, and percentages are stored
//! as fractions (12.5 % is 0.125) formatted `0.0 %`, so that they compute
//! as percentages in a formula; Excel and LibreOffice show them with the
//! reader's French separators (« 1 234,50 € », « 12,5 % »).

use rust_xlsxwriter::{DocProperties, Format, Url, Workbook, Worksheet};

use super::{table_grid, Cell, Document, RenderError, Table};
use crate::domain::dates::long_date;

const SUMMARY: &str = "Sommaire";
/// Excel's limits: a sheet name, a cell's text, the columns.
const MAX_NAME: usize = 31;
const MAX_TEXT: usize = 32_767;
const MAX_COLS: usize = 16_384;

/// A sheet name Excel accepts: no `[]:*?/\`, no apostrophe at either end,
/// at most 31 characters, never empty.
pub fn sheet_name(wanted: &str) -> String {
    let cleaned: String = wanted
        .chars()
        .map(|c| match c {
            '[' | ']' | ':' | '*' | '?' | '/' | '\\' => ' ',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    let cleaned = cleaned.trim_matches('\'').trim();
    let cut = truncate_utf16(cleaned, MAX_NAME).trim_end().to_owned();
    if cut.is_empty() {
        "Tableaux".to_owned()
    } else {
        cut
    }
}

/// At most `max` UTF-16 units (how Excel counts), cut on a character.
fn truncate_utf16(s: &str, max: usize) -> &str {
    let mut units = 0;
    for (i, c) in s.char_indices() {
        units += c.len_utf16();
        if units > max {
            return &s[..i];
        }
    }
    s
}

/// Sheet names for every wanted name, unique without regard to case
/// (« Budget », « Budget (2) », …), « Sommaire » and « History » (reserved
/// by Excel) being taken already.
fn unique_names(wanted: &[&str]) -> Vec<String> {
    let mut taken: Vec<String> = vec![SUMMARY.to_lowercase(), "history".to_owned()];
    let mut out = Vec::with_capacity(wanted.len());
    for w in wanted {
        let base = sheet_name(w);
        let mut name = base.clone();
        let mut n = 2;
        while taken.contains(&name.to_lowercase()) {
            let suffix = format!(" ({n})");
            let room = MAX_NAME - suffix.len();
            name = format!("{}{suffix}", truncate_utf16(&base, room).trim_end());
            n += 1;
        }
        taken.push(name.to_lowercase());
        out.push(name);
    }
    out
}

struct Formats {
    bold: Format,
    title: Format,
    caption: Format,
    money: Format,
    percent: Format,
    wrap: Format,
}

fn text(s: &str) -> &str {
    truncate_utf16(s, MAX_TEXT)
}

/// Write one table from `row`; returns the row after it and keeps each
/// column's widest text (in characters) in `widths`.
fn write_table(
    ws: &mut Worksheet,
    f: &Formats,
    t: &Table,
    mut row: u32,
    widths: &mut Vec<usize>,
) -> Result<u32, RenderError> {
    let (width, rows) = table_grid(t);
    let width = width.min(MAX_COLS);
    if widths.len() < width {
        widths.resize(width, 0);
    }
    let mut seen = |c: usize, s: &str| {
        let n = s.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        widths[c] = widths[c].max(n);
    };
    ws.write_string_with_format(row, 0, text(&t.caption), &f.caption)?;
    row += 1;
    if !t.header.is_empty() {
        for (c, h) in t.header.iter().take(width).enumerate() {
            ws.write_string_with_format(row, c as u16, text(h), &f.bold)?;
            seen(c, h);
        }
        row += 1;
    }
    for r in rows {
        for (c, cell) in r.iter().take(width).enumerate() {
            let col = c as u16;
            match cell {
                Cell::Empty => {}
                Cell::Text(s) if s.contains('\n') => {
                    ws.write_string_with_format(row, col, text(s), &f.wrap)?;
                }
                Cell::Text(s) => {
                    ws.write_string(row, col, text(s))?;
                }
                Cell::Int(n) => {
                    ws.write_number(row, col, *n as f64)?;
                }
                Cell::Number(x) if x.is_finite() => {
                    ws.write_number(row, col, *x)?;
                }
                Cell::Euros(cents) => {
                    ws.write_number_with_format(row, col, *cents as f64 / 100.0, &f.money)?;
                }
                Cell::Percent(p) if p.is_finite() => {
                    ws.write_number_with_format(row, col, *p / 100.0, &f.percent)?;
                }
                // Not a number (NaN, infinite): its text.
                Cell::Number(_) | Cell::Percent(_) => {
                    ws.write_string(row, col, cell.display())?;
                }
            }
            seen(c, &cell.display());
        }
        row += 1;
    }
    Ok(row)
}

/// The whole workbook.
pub fn render(doc: &Document) -> Result<Vec<u8>, RenderError> {
    let f = Formats {
        bold: Format::new().set_bold(),
        title: Format::new().set_bold().set_font_size(16),
        caption: Format::new().set_bold().set_font_size(12),
        money: Format::new().set_num_format("#,##0.00 €"),
        percent: Format::new().set_num_format("0.0 %"),
        wrap: Format::new().set_text_wrap(),
    };
    let mut wb = Workbook::new();
    wb.set_properties(
        &DocProperties::new()
            .set_title(text(&doc.title))
            .set_subject(text(&doc.subtitle))
            .set_author("Maillage"),
    );

    // The sheets, in order of first appearance, with their tables.
    let mut wanted: Vec<&str> = Vec::new();
    let mut tables: Vec<Vec<&Table>> = Vec::new();
    for t in doc.tables() {
        match wanted.iter().position(|w| *w == t.sheet) {
            Some(i) => tables[i].push(t),
            None => {
                wanted.push(&t.sheet);
                tables.push(vec![t]);
            }
        }
    }
    let names = unique_names(&wanted);

    let ws = wb.add_worksheet().set_name(SUMMARY)?;
    ws.write_string_with_format(0, 0, text(&doc.title), &f.title)?;
    ws.write_string(1, 0, text(&doc.subtitle))?;
    ws.write_string(2, 0, format!("Données au {}", long_date(doc.generated_on)))?;
    ws.write_string_with_format(4, 0, "Feuille", &f.bold)?;
    ws.write_string_with_format(4, 1, "Tableaux", &f.bold)?;
    let mut widest = 12;
    for (i, (name, ts)) in names.iter().zip(&tables).enumerate() {
        let r = 5 + i as u32;
        let target = format!("internal:'{}'!A1", name.replace('\'', "''"));
        ws.write_url_with_text(r, 0, Url::new(target), name)?;
        let captions: Vec<&str> = ts.iter().map(|t| t.caption.as_str()).collect();
        ws.write_string(r, 1, text(&captions.join(" ; ")))?;
        widest = widest.max(name.chars().count());
    }
    if names.is_empty() {
        ws.write_string(5, 0, "Aucun tableau")?;
    }
    ws.set_column_width(0, (widest + 2) as f64)?;
    ws.set_column_width(1, 80)?;

    for (name, ts) in names.iter().zip(&tables) {
        let ws = wb.add_worksheet().set_name(name)?;
        let mut row = 0;
        let mut widths = Vec::new();
        for (i, t) in ts.iter().enumerate() {
            if i > 0 {
                row += 1;
            }
            row = write_table(ws, &f, t, row, &mut widths)?;
        }
        for (c, w) in widths.iter().enumerate() {
            ws.set_column_width(c as u16, (*w as f64 * 1.1 + 2.0).clamp(8.0, 60.0))?;
        }
    }
    Ok(wb.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_are_cleaned_cut_and_unique() {
        assert_eq!(sheet_name("Budget [2026]: a/b"), "Budget 2026 a b");
        assert_eq!(sheet_name("  'x'  "), "x");
        assert_eq!(sheet_name("???"), "Tableaux");
        let long = "Indicateurs de l'axe prévention et promotion";
        assert_eq!(sheet_name(long).encode_utf16().count(), 31);
        let names = unique_names(&["Budget", "budget", "BUDGET", "Sommaire", long, long]);
        assert_eq!(names[0], "Budget");
        assert_eq!(names[1], "budget (2)");
        assert_eq!(names[2], "BUDGET (3)");
        assert_eq!(names[3], "Sommaire (2)");
        assert!(names[5].ends_with(" (2)"));
        assert!(names.iter().all(|n| n.encode_utf16().count() <= 31));
        assert_ne!(names[4], names[5]);
    }
}
