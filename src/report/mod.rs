//! Reports for the steering committee: the yearly review (« bilan
//! annuel ») and the end-of-contract evaluation. They are built from the
//! database as a format-free `Document`, then rendered to HTML (prints on
//! A4), DOCX, ODT or XLSX.

pub mod document;
pub mod review;

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
