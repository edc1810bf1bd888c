//! The report as one standalone HTML5 page (`templates/report/document.html`):
//! its own small stylesheet, charts inlined as SVG, printable on A4 (the
//! cover on its own page, table headers repeated on every page, no row cut
//! in two, no heading left alone at the bottom of a page).
//!
//! The cover's title is the page's `<h1>`; the document's headings of level
//! 1, 2 and 3 are `<h2>`, `<h3>` and `<h4>`.

use askama::Template;

use super::{field_parts, heading_level, table_grid, Block, Document, RenderError};
use crate::domain::dates::long_date;

#[derive(Template)]
#[template(path = "report/document.html")]
struct Page<'a> {
    title: &'a str,
    subtitle: &'a str,
    date: String,
    items: Vec<Item<'a>>,
}

enum Item<'a> {
    Heading {
        tag: &'static str,
        text: &'a str,
    },
    /// Lines: a line break in the text is kept.
    Paragraph(Vec<&'a str>),
    Field {
        label: &'a str,
        text: Vec<&'a str>,
    },
    List(&'a [String]),
    Table(TableView<'a>),
    Chart {
        svg: &'a str,
        caption: &'a str,
    },
}

struct TableView<'a> {
    caption: &'a str,
    /// (text, right-aligned)
    header: Vec<(&'a str, bool)>,
    rows: Vec<Vec<(String, bool)>>,
}

fn lines(s: &str) -> Vec<&str> {
    s.split('\n').map(|l| l.trim_end_matches('\r')).collect()
}

fn item(b: &Block) -> Item<'_> {
    match b {
        Block::Heading { level, text } => Item::Heading {
            tag: ["h2", "h3", "h4"][usize::from(heading_level(*level)) - 1],
            text,
        },
        Block::Paragraph(t) => Item::Paragraph(lines(t)),
        Block::Field { label, text } => {
            let (label, text) = field_parts(label, text);
            Item::Field {
                label,
                text: lines(text),
            }
        }
        Block::List(entries) => Item::List(entries),
        Block::Table(t) => {
            let (width, rows) = table_grid(t);
            // A column is right-aligned, header included, when every
            // filled cell in it is a number.
            let numeric: Vec<bool> = (0..width)
                .map(|c| {
                    let mut filled = rows
                        .iter()
                        .map(|r| r[c])
                        .filter(|x| **x != super::Cell::Empty);
                    let first = filled.next();
                    first.is_some_and(|f| f.is_numeric()) && filled.all(|x| x.is_numeric())
                })
                .collect();
            Item::Table(TableView {
                caption: &t.caption,
                header: t
                    .header
                    .iter()
                    .zip(&numeric)
                    .map(|(h, n)| (h.as_str(), *n))
                    .collect(),
                rows: rows
                    .iter()
                    .map(|r| r.iter().map(|c| (c.display(), c.is_numeric())).collect())
                    .collect(),
            })
        }
        Block::Chart(c) => Item::Chart {
            svg: &c.svg,
            caption: &c.caption,
        },
    }
}

/// The whole page.
pub fn render(doc: &Document) -> Result<String, RenderError> {
    Ok(Page {
        title: &doc.title,
        subtitle: &doc.subtitle,
        date: long_date(doc.generated_on),
        items: doc.blocks.iter().map(item).collect(),
    }
    .render()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Cell, Chart, Table};
    use chrono::NaiveDate;

    fn doc(blocks: Vec<Block>) -> Document {
        Document {
            title: "Bilan <2026>".into(),
            subtitle: String::new(),
            generated_on: NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
            blocks,
        }
    }

    #[test]
    fn empty_document_is_a_whole_page() {
        let html = render(&doc(vec![])).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<html lang=\"fr\">"));
        assert!(
            html.contains("<title>Bilan &#60;2026&#62;</title>")
                || html.contains("<title>Bilan &lt;2026&gt;</title>")
        );
        assert!(html.contains("Données au 2 décembre 2026"));
        assert!(html.contains("@page { size: A4; margin: 18mm; }"));
        assert!(!html.contains("class=\"subtitle\""));
        assert!(html.ends_with("</html>\n") || html.ends_with("</html>"));
    }

    #[test]
    fn headings_fields_tables_and_charts() {
        let html = render(&doc(vec![
            Block::Heading {
                level: 1,
                text: "Axe 1".into(),
            },
            Block::Heading {
                level: 9,
                text: "Trop profond".into(),
            },
            Block::Field {
                label: "Réalisé :".into(),
                text: " ".into(),
            },
            Block::Paragraph("un\ndeux".into()),
            Block::Table(Table {
                caption: "Budget".into(),
                sheet: "Budget".into(),
                header: vec!["Financeur".into(), "Montant".into()],
                rows: vec![
                    vec![Cell::text("ARS"), Cell::Euros(123_450), Cell::Int(3)],
                    vec![Cell::text("<script>alert(1)</script>")],
                ],
            }),
            Block::Table(Table {
                caption: "Vide".into(),
                sheet: "Vide".into(),
                header: vec![],
                rows: vec![],
            }),
            Block::Chart(Chart {
                svg: "<svg xmlns=\"http://www.w3.org/2000/svg\"><title>t</title></svg>".into(),
                alt: "t".into(),
                caption: "Évolution".into(),
            }),
        ]))
        .unwrap();
        assert!(html.contains("<h2>Axe 1</h2>"));
        assert!(html.contains("<h4>Trop profond</h4>"));
        assert!(html.contains("<span class=\"field-label\">Réalisé&nbsp;:</span> non renseigné"));
        assert!(html.contains("<p>un<br>deux</p>"));
        assert!(html.contains("<caption>Budget</caption>"));
        assert!(html.contains("<th scope=\"col\" class=\"num\">Montant</th>"));
        // The row longer than the header is cut, the shorter one padded.
        assert!(!html.contains(">3</td>"));
        assert!(!html.contains("<script>"));
        assert_eq!(html.matches("<td").count(), 4);
        assert!(html.contains("<figure>\n<svg xmlns"));
        assert!(html.contains("<figcaption>Évolution</figcaption>"));
    }
}
