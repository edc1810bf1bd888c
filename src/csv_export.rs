//! CSV files for spreadsheets: UTF-8 with a byte-order mark, and every cell
//! neutralised against formula injection. Every CSV export goes through
//! [`CsvExport`], so that a registrant named `=HYPERLINK(…)` or an answer
//! starting with `@` is shown as text, never run, when the file is opened.

use std::borrow::Cow;

/// A cell a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, or a
/// leading tab or carriage return, which some spreadsheets skip before
/// reading a formula) gets a leading apostrophe, as OWASP recommends.
/// Plain numbers (`-12`, `+3,5`) are left alone: they are not formulas.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    let risky = matches!(
        cell.chars().next(),
        Some('=' | '+' | '-' | '@' | '\t' | '\r')
    );
    if risky && !is_plain_number(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

fn is_plain_number(s: &str) -> bool {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (int, frac) = match digits.split_once(['.', ',']) {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// A CSV file being written in memory.
pub struct CsvExport {
    w: csv::Writer<Vec<u8>>,
}

impl CsvExport {
    /// `delimiter`: `b';'` for spreadsheets set to French, `b','` otherwise.
    pub fn new(delimiter: u8) -> CsvExport {
        CsvExport {
            w: csv::WriterBuilder::new()
                .delimiter(delimiter)
                .from_writer(b"\xEF\xBB\xBF".to_vec()),
        }
    }

    /// Write one row, each cell neutralised.
    pub fn row<I, T>(&mut self, cells: I) -> Result<(), csv::Error>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        let cells: Vec<String> = cells
            .into_iter()
            .map(|c| neutralise(c.as_ref()).into_owned())
            .collect();
        self.w.write_record(&cells)
    }

    /// The file's bytes.
    pub fn finish(self) -> Result<Vec<u8>, csv::Error> {
        self.w.into_inner().map_err(|e| e.into_error().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_become_text() {
        for (cell, out) in [
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "'=HYPERLINK(\"http://x\",\"y\")",
            ),
            ("+33 6 12 34 56 78", "'+33 6 12 34 56 78"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("Alice", "Alice"),
            ("", ""),
            ("-12", "-12"),
            ("+3,5", "+3,5"),
            ("-", "'-"),
            ("-1,", "'-1,"),
        ] {
            assert_eq!(neutralise(cell), out, "{cell:?}");
        }
    }

    #[test]
    fn a_file_reads_back() {
        let mut f = CsvExport::new(b';');
        f.row(["Nom", "Réponse"]).unwrap();
        f.row(["=1+1", "a;b"]).unwrap();
        let bytes = f.finish().unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let mut r = csv::ReaderBuilder::new()
            .delimiter(b';')
            .from_reader(&bytes[3..]);
        let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(&rows[0][0], "'=1+1");
        assert_eq!(&rows[0][1], "a;b");
    }
}
