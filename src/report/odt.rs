//! The report as an OpenDocument text (ODF 1.3), written by hand: no ODT
//! writer crate is kept up, and the package is small. `mimetype` comes
//! first and uncompressed (how readers recognise the format), then the
//! manifest, `content.xml`, `styles.xml` (A4, 18 mm margins, the
//! « Heading 1..3 » styles tied to the outline so the navigator lists them),
//! `meta.xml` and the charts as `Pictures/N.png` with their text
//! alternative in `svg:desc`.

use std::fmt::Write as _;
use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::png::{png_size, svg_to_png};
use super::{field_parts, heading_level, table_grid, xml_safe, Block, Cell, Document, RenderError};
use crate::domain::dates::long_date;

const CHART_SCALE: f32 = 2.0;
/// The text's width in cm: 21 − 2 × 1.8.
const TEXT_WIDTH_CM: f64 = 17.4;

const NS: &str = r#"xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" xmlns:loext="urn:org:documentfoundation:names:experimental:office:xmlns:loext:1.0" office:version="1.3""#;

/// Escape text for an XML attribute or element.
fn esc(s: &str) -> String {
    let s = xml_safe(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

/// Escape paragraph text: ODF collapses white space, so line breaks, tabs
/// and repeated spaces are written as elements.
fn text(s: &str) -> String {
    let s = xml_safe(s);
    let mut out = String::with_capacity(s.len());
    let mut spaces = 0usize;
    let flush = |out: &mut String, spaces: &mut usize| {
        match *spaces {
            0 => {}
            1 => out.push(' '),
            n => {
                out.push(' ');
                let _ = write!(out, "<text:s text:c=\"{}\"/>", n - 1);
            }
        }
        *spaces = 0;
    };
    for c in s.chars() {
        if c == ' ' {
            spaces += 1;
            continue;
        }
        flush(&mut out, &mut spaces);
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' => out.push_str("<text:line-break/>"),
            '\t' => out.push_str("<text:tab/>"),
            '\r' => {}
            c => out.push(c),
        }
    }
    flush(&mut out, &mut spaces);
    out
}

/// A table cell: numbers carry their value (and type) beside the text.
fn cell(out: &mut String, c: &Cell) {
    let value = |x: f64| x.is_finite().then(|| x.to_string());
    let (attrs, para) = match c {
        Cell::Int(n) => (
            format!(r#" office:value-type="float" office:value="{n}""#),
            "P_num",
        ),
        Cell::Number(x) => match value(*x) {
            Some(v) => (
                format!(r#" office:value-type="float" office:value="{v}""#),
                "P_num",
            ),
            None => (r#" office:value-type="string""#.to_owned(), "P_num"),
        },
        Cell::Euros(c) => (
            format!(
                r#" office:value-type="currency" office:currency="EUR" office:value="{}""#,
                *c as f64 / 100.0
            ),
            "P_num",
        ),
        Cell::Percent(p) => match value(*p / 100.0) {
            Some(v) => (
                format!(r#" office:value-type="percentage" office:value="{v}""#),
                "P_num",
            ),
            None => (r#" office:value-type="string""#.to_owned(), "P_num"),
        },
        Cell::Text(_) | Cell::Empty => (
            r#" office:value-type="string""#.to_owned(),
            "Table_20_Contents",
        ),
    };
    let _ = write!(
        out,
        r#"<table:table-cell table:style-name="Cell"{attrs}><text:p text:style-name="{para}">{}</text:p></table:table-cell>"#,
        text(&c.display())
    );
}

struct Content {
    body: String,
    pictures: Vec<Vec<u8>>,
    tables: usize,
}

impl Content {
    fn table(&mut self, t: &super::Table) {
        self.tables += 1;
        let (width, rows) = table_grid(t);
        let b = &mut self.body;
        let _ = write!(
            b,
            r#"<text:p text:style-name="Table_20_Caption">{}</text:p><table:table table:name="Tableau{}" table:style-name="Table">"#,
            text(&t.caption),
            self.tables
        );
        let _ = write!(
            b,
            r#"<table:table-column table:number-columns-repeated="{}"/>"#,
            width.max(1)
        );
        if !t.header.is_empty() {
            b.push_str("<table:table-header-rows><table:table-row>");
            for h in &t.header {
                let _ = write!(
                    b,
                    r#"<table:table-cell table:style-name="Cell" office:value-type="string"><text:p text:style-name="Table_20_Heading">{}</text:p></table:table-cell>"#,
                    text(h)
                );
            }
            b.push_str("</table:table-row></table:table-header-rows>");
        }
        for r in &rows {
            b.push_str("<table:table-row>");
            for c in r {
                cell(b, c);
            }
            b.push_str("</table:table-row>");
        }
        if rows.is_empty() {
            // A table needs a row.
            b.push_str("<table:table-row>");
            let _ = write!(
                b,
                r#"<table:table-cell table:style-name="Cell" office:value-type="string"><text:p text:style-name="Table_20_Contents">aucune ligne</text:p></table:table-cell>"#
            );
            if width > 1 {
                let _ = write!(
                    b,
                    r#"<table:table-cell table:style-name="Cell" table:number-columns-repeated="{}"/>"#,
                    width - 1
                );
            }
            b.push_str("</table:table-row>");
        }
        b.push_str("</table:table>");
    }

    fn chart(&mut self, c: &super::Chart) -> Result<(), RenderError> {
        let png = svg_to_png(&c.svg, CHART_SCALE)?;
        let (w, h) = png_size(&png).ok_or_else(|| RenderError::Png("taille illisible".into()))?;
        // The SVG's own size (96 px an inch), narrowed to the text's width.
        let mut wcm = f64::from(w) / f64::from(CHART_SCALE) * 2.54 / 96.0;
        let mut hcm = f64::from(h) / f64::from(CHART_SCALE) * 2.54 / 96.0;
        if wcm > TEXT_WIDTH_CM {
            hcm *= TEXT_WIDTH_CM / wcm;
            wcm = TEXT_WIDTH_CM;
        }
        self.pictures.push(png);
        let n = self.pictures.len();
        let _ = write!(
            self.body,
            r#"<text:p text:style-name="Figure"><draw:frame draw:style-name="Chart" draw:name="Graphique{n}" text:anchor-type="as-char" svg:width="{wcm:.3}cm" svg:height="{hcm:.3}cm" draw:z-index="0"><draw:image xlink:href="Pictures/{n}.png" xlink:type="simple" xlink:show="embed" xlink:actuate="onLoad" draw:mime-type="image/png"/><svg:title>{}</svg:title><svg:desc>{}</svg:desc></draw:frame></text:p>"#,
            esc(&c.caption),
            esc(&c.alt)
        );
        if !c.caption.trim().is_empty() {
            let _ = write!(
                self.body,
                r#"<text:p text:style-name="Figure_20_Caption">{}</text:p>"#,
                text(&c.caption)
            );
        }
        Ok(())
    }
}

const CONTENT_STYLES: &str = r#"<office:automatic-styles><style:style style:name="P_num" style:family="paragraph" style:parent-style-name="Table_20_Contents"><style:paragraph-properties fo:text-align="end"/></style:style><style:style style:name="P_cover_date" style:family="paragraph" style:parent-style-name="Standard"><style:paragraph-properties fo:break-after="page"/></style:style><style:style style:name="T_bold" style:family="text"><style:text-properties fo:font-weight="bold"/></style:style><style:style style:name="Table" style:family="table"><style:table-properties style:width="17.4cm" table:align="margins" fo:margin-bottom="0.3cm"/></style:style><style:style style:name="Cell" style:family="table-cell"><style:table-cell-properties fo:padding="0.08cm" fo:border="0.5pt solid #767676"/></style:style><style:style style:name="Chart" style:family="graphic" style:parent-style-name="Graphics"><style:graphic-properties style:vertical-pos="top" style:vertical-rel="baseline"/></style:style><text:list-style style:name="L_bullets"><text:list-level-style-bullet text:level="1" text:bullet-char="•"><style:list-level-properties text:list-level-position-and-space-mode="label-alignment"><style:list-level-label-alignment text:label-followed-by="listtab" text:list-tab-stop-position="0.635cm" fo:text-indent="-0.635cm" fo:margin-left="0.635cm"/></style:list-level-properties></text:list-level-style-bullet></text:list-style></office:automatic-styles>"#;

fn content(doc: &Document) -> Result<(String, Vec<Vec<u8>>), RenderError> {
    let mut c = Content {
        body: String::new(),
        pictures: Vec::new(),
        tables: 0,
    };
    let _ = write!(
        c.body,
        r#"<text:p text:style-name="Title">{}</text:p>"#,
        text(&doc.title)
    );
    if !doc.subtitle.trim().is_empty() {
        let _ = write!(
            c.body,
            r#"<text:p text:style-name="Subtitle">{}</text:p>"#,
            text(&doc.subtitle)
        );
    }
    let _ = write!(
        c.body,
        r#"<text:p text:style-name="P_cover_date">Données au {}</text:p>"#,
        long_date(doc.generated_on)
    );
    for b in &doc.blocks {
        match b {
            Block::Heading { level, text: t } => {
                let n = heading_level(*level);
                let _ = write!(
                    c.body,
                    r#"<text:h text:style-name="Heading_20_{n}" text:outline-level="{n}">{}</text:h>"#,
                    text(t)
                );
            }
            Block::Paragraph(t) => {
                let _ = write!(
                    c.body,
                    r#"<text:p text:style-name="Text_20_body">{}</text:p>"#,
                    text(t)
                );
            }
            Block::Field { label, text: t } => {
                let (label, t) = field_parts(label, t);
                let _ = write!(
                    c.body,
                    r#"<text:p text:style-name="Text_20_body"><text:span text:style-name="T_bold">{}&#160;:</text:span> {}</text:p>"#,
                    text(label),
                    text(t)
                );
            }
            Block::List(entries) => {
                if entries.is_empty() {
                    continue;
                }
                c.body
                    .push_str(r#"<text:list text:style-name="L_bullets">"#);
                for e in entries {
                    let _ = write!(
                        c.body,
                        r#"<text:list-item><text:p text:style-name="List_20_Contents">{}</text:p></text:list-item>"#,
                        text(e)
                    );
                }
                c.body.push_str("</text:list>");
            }
            Block::Table(t) => c.table(t),
            Block::Chart(ch) => c.chart(ch)?,
        }
    }
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content {NS}>{CONTENT_STYLES}<office:body><office:text>{}</office:text></office:body></office:document-content>"#,
        c.body
    );
    Ok((xml, c.pictures))
}

/// The named styles and the page: A4, 18 mm margins, DejaVu Sans 10.5 pt.
fn styles() -> String {
    let mut s = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-styles {NS}><office:font-face-decls><style:font-face style:name="DejaVu Sans" svg:font-family="'DejaVu Sans'" style:font-family-generic="swiss" style:font-pitch="variable"/></office:font-face-decls><office:styles>"#
    );
    s.push_str(r#"<style:default-style style:family="paragraph"><style:paragraph-properties fo:orphans="2" fo:widows="2"/><style:text-properties style:font-name="DejaVu Sans" fo:font-size="10.5pt" fo:language="fr" fo:country="FR"/></style:default-style>"#);
    s.push_str(r#"<style:default-style style:family="table-cell"><style:table-cell-properties style:vertical-align="top"/></style:default-style>"#);
    let para = |name: &str, display: &str, parent: &str, class: &str, props: &str| {
        format!(
            r#"<style:style style:name="{name}" style:display-name="{display}" style:family="paragraph"{}{} style:class="{class}">{props}</style:style>"#,
            if parent.is_empty() {
                String::new()
            } else {
                format!(r#" style:parent-style-name="{parent}""#)
            },
            if name == "Standard" {
                String::new()
            } else {
                r#" style:next-style-name="Text_20_body""#.to_owned()
            }
        )
    };
    s.push_str(&para("Standard", "Standard", "", "text", ""));
    s.push_str(&para(
        "Text_20_body",
        "Text body",
        "Standard",
        "text",
        r#"<style:paragraph-properties fo:margin-top="0cm" fo:margin-bottom="0.2cm" fo:line-height="125%"/>"#,
    ));
    s.push_str(&para(
        "Heading",
        "Heading",
        "Standard",
        "text",
        r##"<style:paragraph-properties fo:margin-top="0.42cm" fo:margin-bottom="0.21cm" fo:keep-with-next="always"/><style:text-properties fo:font-weight="bold" fo:color="#1d4f91"/>"##,
    ));
    for (n, size) in [(1, "16pt"), (2, "13pt"), (3, "11.5pt")] {
        s.push_str(&format!(
            r#"<style:style style:name="Heading_20_{n}" style:display-name="Heading {n}" style:family="paragraph" style:parent-style-name="Heading" style:next-style-name="Text_20_body" style:default-outline-level="{n}" style:class="text"><style:text-properties fo:font-size="{size}" fo:font-weight="bold"/></style:style>"#
        ));
    }
    s.push_str(&para(
        "Title",
        "Title",
        "Heading",
        "chapter",
        r#"<style:paragraph-properties fo:margin-top="4cm" fo:margin-bottom="0.4cm"/><style:text-properties fo:font-size="26pt"/>"#,
    ));
    s.push_str(&para(
        "Subtitle",
        "Subtitle",
        "Standard",
        "chapter",
        r#"<style:paragraph-properties fo:margin-bottom="0.4cm"/><style:text-properties fo:font-size="15pt"/>"#,
    ));
    s.push_str(&para(
        "List_20_Contents",
        "List Contents",
        "Text_20_body",
        "list",
        "",
    ));
    s.push_str(&para(
        "Table_20_Contents",
        "Table Contents",
        "Standard",
        "extra",
        r#"<style:text-properties fo:font-size="9.5pt"/>"#,
    ));
    s.push_str(&para(
        "Table_20_Heading",
        "Table Heading",
        "Table_20_Contents",
        "extra",
        r#"<style:paragraph-properties fo:keep-with-next="always"/><style:text-properties fo:font-weight="bold"/>"#,
    ));
    s.push_str(&para(
        "Caption",
        "Caption",
        "Standard",
        "extra",
        r#"<style:paragraph-properties fo:margin-top="0.2cm" fo:margin-bottom="0.2cm"/><style:text-properties fo:font-size="9.5pt" fo:font-style="italic"/>"#,
    ));
    s.push_str(&para(
        "Table_20_Caption",
        "Table Caption",
        "Caption",
        "extra",
        r#"<style:paragraph-properties fo:keep-with-next="always"/><style:text-properties fo:font-weight="bold" fo:font-style="normal"/>"#,
    ));
    s.push_str(&para(
        "Figure",
        "Figure",
        "Standard",
        "extra",
        r#"<style:paragraph-properties fo:keep-with-next="always" fo:margin-top="0.2cm"/>"#,
    ));
    s.push_str(&para(
        "Figure_20_Caption",
        "Figure Caption",
        "Caption",
        "extra",
        "",
    ));
    s.push_str(r#"<style:style style:name="Graphics" style:family="graphic"><style:graphic-properties text:anchor-type="as-char" svg:y="0cm" style:vertical-pos="top" style:vertical-rel="baseline"/></style:style>"#);
    // The outline: levels 1 to 3 are the three heading styles, unnumbered.
    s.push_str(r#"<text:outline-style style:name="Outline">"#);
    for n in 1..=10 {
        s.push_str(&format!(
            r#"<text:outline-level-style text:level="{n}" style:num-format=""><style:list-level-properties text:list-level-position-and-space-mode="label-alignment"><style:list-level-label-alignment text:label-followed-by="listtab"/></style:list-level-properties></text:outline-level-style>"#
        ));
    }
    s.push_str("</text:outline-style>");
    s.push_str(r#"</office:styles><office:automatic-styles><style:page-layout style:name="A4"><style:page-layout-properties fo:page-width="21cm" fo:page-height="29.7cm" style:print-orientation="portrait" fo:margin-top="1.8cm" fo:margin-bottom="1.8cm" fo:margin-left="1.8cm" fo:margin-right="1.8cm"/></style:page-layout></office:automatic-styles><office:master-styles><style:master-page style:name="Standard" style:page-layout-name="A4"/></office:master-styles></office:document-styles>"#);
    s
}

fn meta(doc: &Document) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-meta {NS}><office:meta><meta:generator>Maillage</meta:generator><dc:title>{}</dc:title><dc:subject>{}</dc:subject><dc:language>fr-FR</dc:language><meta:creation-date>{}T00:00:00</meta:creation-date><dc:date>{}T00:00:00</dc:date></office:meta></office:document-meta>"#,
        esc(&doc.title),
        esc(&doc.subtitle),
        doc.generated_on.format("%Y-%m-%d"),
        doc.generated_on.format("%Y-%m-%d"),
    )
}

fn manifest(pictures: usize) -> String {
    let mut m = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3"><manifest:file-entry manifest:full-path="/" manifest:version="1.3" manifest:media-type="application/vnd.oasis.opendocument.text"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/><manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/><manifest:file-entry manifest:full-path="meta.xml" manifest:media-type="text/xml"/>"#,
    );
    for n in 1..=pictures {
        let _ = write!(
            m,
            r#"<manifest:file-entry manifest:full-path="Pictures/{n}.png" manifest:media-type="image/png"/>"#
        );
    }
    m.push_str("</manifest:manifest>");
    m
}

/// The whole package.
pub fn render(doc: &Document) -> Result<Vec<u8>, RenderError> {
    let (content, pictures) = content(doc)?;
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    zip.start_file("mimetype", stored)?;
    zip.write_all(super::Format::Odt.media_type().as_bytes())?;
    zip.start_file("META-INF/manifest.xml", deflated)?;
    zip.write_all(manifest(pictures.len()).as_bytes())?;
    zip.start_file("content.xml", deflated)?;
    zip.write_all(content.as_bytes())?;
    zip.start_file("styles.xml", deflated)?;
    zip.write_all(styles().as_bytes())?;
    zip.start_file("meta.xml", deflated)?;
    zip.write_all(meta(doc).as_bytes())?;
    for (i, png) in pictures.iter().enumerate() {
        // PNG is compressed already.
        zip.start_file(format!("Pictures/{}.png", i + 1), stored)?;
        zip.write_all(png)?;
    }
    Ok(zip.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraph_text_keeps_spaces_breaks_and_escapes() {
        assert_eq!(text("a  b"), "a <text:s text:c=\"1\"/>b");
        assert_eq!(text("x\ny\tz"), "x<text:line-break/>y<text:tab/>z");
        assert_eq!(text("<&>\u{1}\"é"), "&lt;&amp;&gt;\"é");
        assert_eq!(esc("\"'<\u{0}"), "&quot;&apos;&lt;");
    }
}
