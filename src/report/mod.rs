//! Reports for the steering committee: the yearly review (« bilan
//! annuel ») and the end-of-contract evaluation. They are built from the
//! database as a format-free `Document`, then rendered to HTML (prints on
//! A4), DOCX, ODT or XLSX.

pub mod document;
pub mod docx;
pub mod html;
pub mod odt;
pub mod png;
pub mod review;
pub mod xlsx;

pub use document::{Block, Cell, Chart, Document, Table};

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Docx,
    Odt,
    Xlsx,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "html" => Some(Format::Html),
            "docx" => Some(Format::Docx),
            "odt" => Some(Format::Odt),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Docx => "docx",
            Format::Odt => "odt",
            Format::Xlsx => "xlsx",
        }
    }
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Html => "text/html; charset=utf-8",
            Format::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            Format::Odt => "application/vnd.oasis.opendocument.text",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// Why a report could not be rendered. Every format's failure is an
/// internal error for the web layer: the document itself is always valid.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("graphique SVG illisible : {0}")]
    Svg(String),
    #[error("graphique de taille impossible ({0} × {1} px)")]
    ImageSize(u32, u32),
    #[error("encodage PNG : {0}")]
    Png(String),
    #[error("page HTML : {0}")]
    Html(#[from] askama::Error),
    #[error("fichier DOCX : {0}")]
    Docx(String),
    #[error("archive ODT : {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("classeur XLSX : {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The document in the given format.
pub fn render(doc: &Document, format: Format) -> Result<Vec<u8>, RenderError> {
    match format {
        Format::Html => html::render(doc).map(String::into_bytes),
        Format::Docx => docx::render(doc),
        Format::Odt => odt::render(doc),
        Format::Xlsx => xlsx::render(doc),
    }
}

/// A table's rows cut or padded to its width (the header's, or the longest
/// row's when there is no header), so every format draws a rectangle.
pub(crate) fn table_grid(t: &Table) -> (usize, Vec<Vec<&Cell>>) {
    const EMPTY: &Cell = &Cell::Empty;
    let width = if t.header.is_empty() {
        t.rows.iter().map(Vec::len).max().unwrap_or(0)
    } else {
        t.header.len()
    };
    let rows = t
        .rows
        .iter()
        .map(|r| (0..width).map(|i| r.get(i).unwrap_or(EMPTY)).collect())
        .collect();
    (width, rows)
}

impl Cell {
    /// Numbers are right-aligned in tables.
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            Cell::Int(_) | Cell::Number(_) | Cell::Euros(_) | Cell::Percent(_)
        )
    }
}

/// A field's label without a trailing colon (the formats add « : »), and
/// its text or « non renseigné ».
pub(crate) fn field_parts<'a>(label: &'a str, text: &'a str) -> (&'a str, &'a str) {
    let label = label.trim_end().trim_end_matches(':').trim_end();
    let text = if text.trim().is_empty() {
        "non renseigné"
    } else {
        text
    };
    (label, text)
}

/// Heading levels outside 1..=3 are brought back into it.
pub(crate) fn heading_level(level: u8) -> u8 {
    level.clamp(1, 3)
}

/// Text without the control characters that XML 1.0 cannot carry (tabs
/// and line breaks are kept).
pub(crate) fn xml_safe(s: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| {
        (c < ' ' && c != '\t' && c != '\n' && c != '\r') || c == '\u{FFFE}' || c == '\u{FFFF}'
    };
    if s.contains(bad) {
        std::borrow::Cow::Owned(s.chars().filter(|c| !bad(*c)).collect())
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// The yearly review of `year` (or, with `None`, the end-of-contract
/// evaluation) of a contract, in `format`. A year outside the contract's
/// period is refused with a message saying which years exist.
pub async fn produce(
    db: &crate::storage::Db,
    contract: crate::storage::contract::Contract,
    year: Option<i32>,
    format: Format,
    today: chrono::NaiveDate,
) -> Result<Vec<u8>, review::ReportError> {
    let doc = build(db, contract, year, today).await?;
    Ok(render(&doc, format)?)
}

/// The report as a [`Document`] (see [`produce`]).
pub async fn build(
    db: &crate::storage::Db,
    contract: crate::storage::contract::Contract,
    year: Option<i32>,
    today: chrono::NaiveDate,
) -> Result<Document, review::ReportError> {
    match year {
        Some(y) => review::check_year(&contract, y, today)?,
        None => {
            review::contract_period(&contract)?;
        }
    }
    let data = review::ReviewData::load(db, contract, today).await?;
    match year {
        Some(y) => Ok(review::yearly(&data, y, today)),
        None => review::evaluation(&data, today),
    }
}
