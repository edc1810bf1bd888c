//! The report as a Word document (docx-rs), A4 with 18 mm margins: a title
//! page, then the blocks. Headings use the built-in styles « heading 1 » to
//! « heading 3 » (ids Heading1..Heading3, with their outline level), so Word
//! and LibreOffice show the outline in their navigation pane; charts are
//! inline PNG pictures (`report::png`) with their caption under them.
//!
//! What docx-rs 0.4 cannot write, and this file therefore leaves out: the
//! header row repeated on each page (`w:tblHeader`), a picture's
//! description (its `wp:docPr` has only an id and a name: the chart's text
//! alternative is written as the caption paragraph instead, after the
//! caption), and the core properties' title (`dc:title`, no setter).

use docx_rs::{
    AbstractNumbering, AlignmentType, BreakType, Docx, IndentLevel, Level, LevelJc, LevelText,
    LineSpacing, NumberFormat, Numbering, NumberingId, PageMargin, Paragraph, Pic, Run, RunFonts,
    Shading, SpecialIndentType, Start, Style, StyleType, Table, TableCell, TableRow, WidthType,
};

use super::png::{png_size, svg_to_png};
use super::{field_parts, heading_level, table_grid, xml_safe, Block, Document, RenderError};
use crate::domain::dates::long_date;

/// A4 in twentieths of a point.
const A4: (u32, u32) = (11_906, 16_838);
/// 18 mm in twentieths of a point.
const MARGIN: i32 = 1_020;
/// The text's width in EMU: 210 − 2 × 18 mm.
const TEXT_WIDTH_EMU: u64 = 174 * 36_000;
/// EMU per CSS pixel (1/96 inch).
const EMU_PER_PX: u64 = 9_525;
/// Charts are drawn twice as fine as their SVG size, for print.
const CHART_SCALE: f32 = 2.0;
const BULLETS: usize = 1;
const BLUE: &str = "1D4F91";

fn styles(docx: Docx) -> Docx {
    let heading = |n: usize, size: usize| {
        Style::new(format!("Heading{n}"), StyleType::Paragraph)
            .name(format!("heading {n}"))
            .based_on("Normal")
            .next("Normal")
            .q_format(true)
            .ui_priority(9)
            .outline_lvl(n - 1)
            .size(size)
            .bold()
            .color(BLUE)
            .line_spacing(LineSpacing::new().before(360 - 60 * n as u32).after(120))
    };
    docx.add_style(
        Style::new("Title", StyleType::Paragraph)
            .name("Title")
            .based_on("Normal")
            .next("Normal")
            .q_format(true)
            .size(52)
            .bold()
            .color(BLUE)
            .line_spacing(LineSpacing::new().before(2_400).after(240)),
    )
    .add_style(
        Style::new("Subtitle", StyleType::Paragraph)
            .name("Subtitle")
            .based_on("Normal")
            .next("Normal")
            .q_format(true)
            .size(30)
            .line_spacing(LineSpacing::new().after(240)),
    )
    .add_style(heading(1, 32))
    .add_style(heading(2, 26))
    .add_style(heading(3, 23))
    .add_style(
        Style::new("Caption", StyleType::Paragraph)
            .name("caption")
            .based_on("Normal")
            .next("Normal")
            .q_format(true)
            .size(19)
            .italic()
            .line_spacing(LineSpacing::new().before(60).after(200)),
    )
    .add_style(
        Style::new("ListParagraph", StyleType::Paragraph)
            .name("List Paragraph")
            .based_on("Normal")
            .q_format(true),
    )
    .add_abstract_numbering(
        AbstractNumbering::new(BULLETS).add_level(
            Level::new(
                0,
                Start::new(1),
                NumberFormat::new("bullet"),
                LevelText::new("•"),
                LevelJc::new("left"),
            )
            .indent(Some(720), Some(SpecialIndentType::Hanging(360)), None, None),
        ),
    )
    .add_numbering(Numbering::new(BULLETS, BULLETS))
}

/// A run of text; line breaks in it are kept.
fn text_run(s: &str) -> Run {
    let s = xml_safe(s);
    let mut run = Run::new();
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            run = run.add_break(BreakType::TextWrapping);
        }
        run = run.add_text(line.trim_end_matches('\r'));
    }
    run
}

fn table(t: &super::Table) -> Table {
    let (width, rows) = table_grid(t);
    let cell = |p: Paragraph| TableCell::new().add_paragraph(p);
    let mut out = Vec::with_capacity(rows.len() + 1);
    if !t.header.is_empty() {
        out.push(
            TableRow::new(
                t.header
                    .iter()
                    .map(|h| {
                        cell(Paragraph::new().add_run(text_run(h).bold()).keep_next(true))
                            .shading(Shading::new().fill("E8EEF6"))
                    })
                    .collect(),
            )
            .cant_split(),
        );
    }
    for r in rows {
        out.push(
            TableRow::new(
                r.iter()
                    .map(|c| {
                        let p = Paragraph::new().add_run(text_run(&c.display()));
                        cell(if c.is_numeric() {
                            p.align(AlignmentType::Right)
                        } else {
                            p
                        })
                    })
                    .collect(),
            )
            .cant_split(),
        );
    }
    if width == 0 {
        // A table needs a cell: an empty one says « aucune ligne ».
        out.push(TableRow::new(vec![cell(
            Paragraph::new().add_run(Run::new().add_text("aucune ligne").italic()),
        )]));
    } else if out.len() == usize::from(!t.header.is_empty()) {
        out.push(TableRow::new(
            (0..width)
                .map(|i| {
                    let text = if i == 0 { "aucune ligne" } else { "" };
                    cell(Paragraph::new().add_run(Run::new().add_text(text).italic()))
                })
                .collect(),
        ));
    }
    Table::new(out).width(5_000, WidthType::Pct)
}

fn chart(c: &super::Chart) -> Result<Paragraph, RenderError> {
    let png = svg_to_png(&c.svg, CHART_SCALE)?;
    let (w, h) = png_size(&png).ok_or_else(|| RenderError::Png("taille illisible".into()))?;
    // Shown at the SVG's own size, narrowed to the text's width.
    let mut cx = u64::from(w) * EMU_PER_PX / CHART_SCALE as u64;
    let mut cy = u64::from(h) * EMU_PER_PX / CHART_SCALE as u64;
    if cx > TEXT_WIDTH_EMU {
        cy = cy * TEXT_WIDTH_EMU / cx;
        cx = TEXT_WIDTH_EMU;
    }
    let pic = Pic::new_with_dimensions(png, w, h).size(
        u32::try_from(cx).unwrap_or(u32::MAX),
        u32::try_from(cy).unwrap_or(u32::MAX),
    );
    Ok(Paragraph::new()
        .add_run(Run::new().add_image(pic))
        .keep_next(true))
}

/// The whole document.
pub fn render(doc: &Document) -> Result<Vec<u8>, RenderError> {
    let mut docx = styles(Docx::new())
        .page_size(A4.0, A4.1)
        .page_margin(
            PageMargin::new()
                .top(MARGIN)
                .bottom(MARGIN)
                .left(MARGIN)
                .right(MARGIN)
                .header(500)
                .footer(500),
        )
        .default_fonts(
            RunFonts::new()
                .ascii("DejaVu Sans")
                .hi_ansi("DejaVu Sans")
                .cs("DejaVu Sans"),
        )
        .default_size(21)
        .add_paragraph(
            Paragraph::new()
                .style("Title")
                .add_run(text_run(&doc.title)),
        );
    if !doc.subtitle.trim().is_empty() {
        docx = docx.add_paragraph(
            Paragraph::new()
                .style("Subtitle")
                .add_run(text_run(&doc.subtitle)),
        );
    }
    docx = docx.add_paragraph(
        Paragraph::new()
            .add_run(Run::new().add_text(format!("Données au {}", long_date(doc.generated_on))))
            .add_run(Run::new().add_break(BreakType::Page)),
    );

    for b in &doc.blocks {
        docx = match b {
            Block::Heading { level, text } => {
                let n = heading_level(*level);
                docx.add_paragraph(
                    Paragraph::new()
                        .style(&format!("Heading{n}"))
                        .keep_next(true)
                        .add_run(text_run(text)),
                )
            }
            Block::Paragraph(t) => docx.add_paragraph(Paragraph::new().add_run(text_run(t))),
            Block::Field { label, text } => {
                let (label, text) = field_parts(label, text);
                docx.add_paragraph(
                    Paragraph::new()
                        .add_run(text_run(&format!("{label}\u{a0}: ")).bold())
                        .add_run(text_run(text)),
                )
            }
            Block::List(entries) => entries.iter().fold(docx, |d, e| {
                d.add_paragraph(
                    Paragraph::new()
                        .style("ListParagraph")
                        .numbering(NumberingId::new(BULLETS), IndentLevel::new(0))
                        .add_run(text_run(e)),
                )
            }),
            Block::Table(t) => docx
                .add_paragraph(
                    Paragraph::new()
                        .style("Caption")
                        .keep_next(true)
                        .add_run(text_run(&t.caption).bold()),
                )
                .add_table(table(t)),
            Block::Chart(c) => {
                let d = docx.add_paragraph(chart(c)?);
                let d = if c.caption.trim().is_empty() {
                    d
                } else {
                    d.add_paragraph(
                        Paragraph::new()
                            .style("Caption")
                            .add_run(text_run(&c.caption)),
                    )
                };
                if c.alt.trim().is_empty() {
                    d
                } else {
                    d.add_paragraph(
                        Paragraph::new()
                            .style("Caption")
                            .add_run(text_run(&format!("Description : {}", c.alt))),
                    )
                }
            }
        };
    }
    let mut out = std::io::Cursor::new(Vec::new());
    docx.build()
        .pack(&mut out)
        .map_err(|e| RenderError::Docx(e.to_string()))?;
    Ok(out.into_inner())
}
