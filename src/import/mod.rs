//! Importers of open data. Each reads a whole file, checks every line, and
//! writes nothing unless the whole file is good: a report names the line and
//! the reason of each refusal.

pub mod fields;
pub mod finess;
pub mod finess_plus;
pub mod geo;
pub mod geography;
pub mod population;
pub mod progress;
pub mod rpps;
pub mod synthetic;
pub mod travel_times;

use std::fmt;

/// One refused line (or the whole file when `line` is `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(n) => write!(f, "ligne {n} : {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Why an import was refused: at most [`MAX_REPORTED`] line errors are kept.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("fichier refusé, rien n'a été importé :\n{}", format_lines(.0))]
    Invalid(Vec<LineError>),
    #[error("lecture du fichier impossible : {0}")]
    Io(#[from] std::io::Error),
    #[error("enregistrement impossible : {0}")]
    Db(#[from] crate::storage::DbError),
    /// The file holds far fewer entries than the directory: most likely a
    /// partial extract (7 rows replaced 200,000 professionals once).
    #[error(
        "le fichier compte {after} fiches contre {before} dans l'annuaire ({} % de moins) : \
         il semble incomplet, rien n'a été importé. Pour l'importer quand même : --force en ligne \
         de commande, ou la case « Importer quand même » dans l'administration",
        (before - after) * 100 / (*before).max(1)
    )]
    Shrinks { before: i64, after: i64 },
}

/// A re-import may remove at most this share of the directory's entries
/// unless forced.
pub const MAX_SHRINK_PERCENT: i64 = 20;

/// Refuse a re-import that would shrink the data by more than
/// [`MAX_SHRINK_PERCENT`], unless `force`.
pub fn check_shrink(before: i64, after: i64, force: bool) -> Result<(), ImportError> {
    if !force && before > 0 && (before - after) * 100 > before * MAX_SHRINK_PERCENT {
        return Err(ImportError::Shrinks { before, after });
    }
    Ok(())
}

pub const MAX_REPORTED: usize = 50;

/// What an import did, as every importer reports it on the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// The date the file gives for its extraction, when it gives one.
    pub file_date: String,
    /// Entries in the file.
    pub total: i64,
    pub added: i64,
    /// Entries that differ from the stored ones (identical ones are not counted).
    pub changed: i64,
    pub removed: i64,
    /// Lines of the file left out (with a warning).
    pub skipped: i64,
}

impl Summary {
    /// The one wording of what an import did, on the command line and in
    /// the back office: `N entrées, A ajoutées, M modifiées, S supprimées,
    /// I lignes ignorées`.
    pub fn counts(&self) -> String {
        format!(
            "{} entrées, {} ajoutées, {} modifiées, {} supprimées, {} lignes ignorées",
            self.total, self.added, self.changed, self.removed, self.skipped
        )
    }
}

impl From<&crate::storage::directory::ImportSummary> for Summary {
    fn from(s: &crate::storage::directory::ImportSummary) -> Self {
        Summary {
            file_date: s.file_date.clone(),
            total: s.total,
            added: s.added,
            changed: s.changed,
            removed: s.removed,
            skipped: s.skipped,
        }
    }
}

/// `FILE (fichier du DATE) : N entrées, …, en X s.` (no parentheses for a
/// file without a date).
pub fn summary_line(file: &str, s: &Summary, took: std::time::Duration) -> String {
    let date = if s.file_date.trim().is_empty() {
        String::new()
    } else {
        format!(" (fichier du {})", s.file_date.trim())
    };
    format!(
        "{file}{date} : {}, en {:.1} s.",
        s.counts(),
        took.as_secs_f64()
    )
}

pub use crate::domain::directory::Progress;

/// For callers that do not follow progress.
pub fn quiet(_: &str, _: u64, _: u64) {}

/// Report « lecture du fichier » at entry (or line) `done` of `total`,
/// every `every` entries and at the last one.
pub fn reading(progress: Progress<'_>, done: usize, total: usize, every: usize) {
    if done.is_multiple_of(every.max(1)) || done == total {
        progress("lecture du fichier", done as u64, total as u64);
    }
}

fn format_lines(errors: &[LineError]) -> String {
    errors
        .iter()
        .map(|e| format!("  - {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl ImportError {
    pub fn whole_file(message: impl Into<String>) -> Self {
        ImportError::Invalid(vec![LineError {
            line: None,
            message: message.into(),
        }])
    }

    pub fn lines(&self) -> &[LineError] {
        match self {
            ImportError::Invalid(v) => v,
            _ => &[],
        }
    }
}

/// The number of lines of a text (a last line without its newline counts).
pub fn line_count(text: &str) -> usize {
    let newlines = text.bytes().filter(|&b| b == b'\n').count();
    newlines + usize::from(!text.is_empty() && !text.ends_with('\n'))
}

/// Line numbers of byte offsets of one text, asked in increasing order:
/// each call counts the newlines since the previous offset only, so that
/// numbering every entry of a file costs one pass over it. (Counting from
/// the start for each entry made the national `communes.json`, 37,006
/// entries, take 74 s.)
pub struct LineCounter<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    pub fn new(text: &'a str) -> Self {
        LineCounter {
            bytes: text.as_bytes(),
            offset: 0,
            line: 1,
        }
    }

    /// The line (from 1) of the byte at `offset`. An offset before the
    /// previous one is counted again from the start: right, only slower.
    pub fn line_at(&mut self, offset: usize) -> usize {
        let offset = offset.min(self.bytes.len());
        if offset < self.offset {
            (self.offset, self.line) = (0, 1);
        }
        self.line += self.bytes[self.offset..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.offset = offset;
        self.line
    }
}

/// Decode a file that must be UTF-8 (a BOM is allowed); on a bad byte, say
/// on which line it is.
pub fn utf8(bytes: &[u8]) -> Result<&str, ImportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        ImportError::Invalid(vec![LineError {
            line: Some(line),
            message:
                "le fichier n'est pas encodé en UTF-8 (enregistrez-le en UTF-8 et recommencez)"
                    .into(),
        }])
    })
}

/// The warnings of an import as the history keeps them, and how many lines
/// were skipped (the others only lost a detail, such as coordinates).
pub fn warnings_report(warnings: &[LineError]) -> (String, i64) {
    let report = warnings
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    let skipped = warnings
        .iter()
        .filter(|w| w.message.contains("ignorée"))
        .count() as i64;
    (report, skipped)
}

/// A decimal number as French files write it: `1234.5`, `1234,5`, `1 234,5`.
pub fn decimal(raw: &str) -> Option<f64> {
    let s: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// The field delimiter of a CSV file, from its header line: `;` (French
/// exports) unless the header has none and has commas.
pub fn delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or("");
    if !header.contains(';') && header.contains(',') {
        b','
    } else {
        b';'
    }
}

/// A CSV file with a header row, read with the line number of each row.
pub struct CsvFile<'a> {
    reader: csv::Reader<&'a [u8]>,
    headers: csv::StringRecord,
}

impl<'a> CsvFile<'a> {
    /// `;`-separated, or `,` when the header has no `;` ([`delimiter`]).
    pub fn open(text: &'a str) -> Result<CsvFile<'a>, ImportError> {
        Self::with_delimiter(text, delimiter(text))
    }

    pub fn with_delimiter(text: &'a str, delimiter: u8) -> Result<CsvFile<'a>, ImportError> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| ImportError::whole_file(format!("en-tête illisible : {e}")))?
            .clone();
        Ok(CsvFile { reader, headers })
    }

    /// A column's index by name (trimmed, case-insensitive).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    }

    pub fn headers(&self) -> &csv::StringRecord {
        &self.headers
    }

    /// Every row that is not blank, with its line number; an unreadable row
    /// is `Err((line, message))`.
    pub fn rows(
        self,
    ) -> impl Iterator<Item = Result<(usize, csv::StringRecord), (usize, String)>> + 'a {
        self.reader
            .into_records()
            .filter_map(|record| match record {
                Ok(r) => {
                    let line = r.position().map(|p| p.line() as usize).unwrap_or(0);
                    (!r.iter().all(|f| f.trim().is_empty())).then_some(Ok((line, r)))
                }
                Err(e) => {
                    let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
                    Some(Err((line, format!("ligne illisible : {e}"))))
                }
            })
    }
}

/// Collects line errors up to a cap, then stops the import.
#[derive(Default)]
pub struct Report {
    errors: Vec<LineError>,
}

impl Report {
    pub fn push(&mut self, line: usize, message: impl Into<String>) {
        if self.errors.len() < MAX_REPORTED {
            self.errors.push(LineError {
                line: Some(line),
                message: message.into(),
            });
        }
    }

    /// An error about the `n`-th feature of a GeoJSON file (« entité 12 : … »),
    /// which has no useful line number (such files are often one line).
    pub fn push_entity(&mut self, n: usize, message: impl Into<String>) {
        if self.errors.len() < MAX_REPORTED {
            self.errors.push(LineError {
                line: None,
                message: format!("entité {n} : {}", message.into()),
            });
        }
    }

    pub fn finish(self) -> Result<(), ImportError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ImportError::Invalid(self.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_numbers_are_counted_from_the_previous_offset() {
        let text = "[\n{a},\n\n{b},\n{c}\n]";
        let mut lines = LineCounter::new(text);
        let at = |c: char| text.find(c).unwrap();
        assert_eq!(lines.line_at(at('a')), 2);
        assert_eq!(lines.line_at(at('a')), 2, "the same offset twice");
        assert_eq!(lines.line_at(at('b')), 4);
        assert_eq!(lines.line_at(at('c')), 5);
        assert_eq!(lines.line_at(at(']')), 6);
        assert_eq!(lines.line_at(at('b')), 4, "backwards: counted again");
        assert_eq!(
            lines.line_at(text.len() + 10),
            6,
            "past the end: the last line"
        );
    }
}
