//! A report as a plain document: headings, paragraphs, lists, tables and
//! charts, in order. The yearly review and the end-of-contract evaluation
//! are built as a `Document` (see `report::yearly`, `report::evaluation`);
//! each output format (`html`, `docx`, `odt`, `xlsx`) renders any document,
//! so the formats never disagree on a figure.

use chrono::NaiveDate;

/// A whole report.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The document's title (cover page, `<title>`, DOCX/ODT metadata).
    pub title: String,
    /// One line under the title on the cover, e.g. the territory and period.
    pub subtitle: String,
    /// When the figures were read.
    pub generated_on: NaiveDate,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A heading of level 1 (a chapter: « Synthèse », « Axe 1 … ») to 3.
    Heading {
        level: u8,
        text: String,
    },
    Paragraph(String),
    /// A labelled paragraph: « Réalisé : … ». Rendered as a bold label and
    /// its text; empty text renders « non renseigné ».
    Field {
        label: String,
        text: String,
    },
    List(Vec<String>),
    Table(Table),
    Chart(Chart),
}

/// A table. `sheet` names the XLSX sheet it goes to (at most 31
/// characters; tables sharing a sheet are stacked with their caption as a
/// title row).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub caption: String,
    pub sheet: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// A cell. Numbers stay numbers in XLSX; every other format shows
/// `Cell::display`.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Int(i64),
    /// A measured value, shown with French separators.
    Number(f64),
    /// Euro cents, shown as « 1 234,50 € ».
    Euros(i64),
    /// A percentage from 0 to 100.
    Percent(f64),
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// The cell as French text.
    pub fn display(&self) -> String {
        use crate::domain::indicator::format_number;
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => format_number(*n as f64),
            Cell::Number(x) => format_number(*x),
            Cell::Euros(c) => crate::domain::budget::format_euros(*c),
            Cell::Percent(p) => format!("{} %", format_number((*p * 10.0).round() / 10.0)),
        }
    }
}

/// A chart drawn as SVG (`web::contract::charts`), with its text
/// alternative. DOCX and ODT embed it as a PNG (`report::png`).
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub svg: String,
    pub alt: String,
    pub caption: String,
}

impl Document {
    /// Every table, in document order.
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.blocks.iter().filter_map(|b| match b {
            Block::Table(t) => Some(t),
            _ => None,
        })
    }
}
