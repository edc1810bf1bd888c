//! The report's four formats read back by independent readers
//! (tests/report_read.py: python-docx, odfpy, openpyxl, html.parser), and
//! the charts' PNG checked for drawn text.

use chrono::NaiveDate;
use maillage::report::png::{png_size, svg_to_png};
use maillage::report::{render, Block, Cell, Chart, Document, Format, Table};
use maillage::web::contract::charts::{Bars, Sparkline};
use serde_json::Value;

const NASTY: &str = "Lens <Liévin> & « Hénin » \"x\" <script>alert(1)</script>";

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn sparkline(id: &str, label: &str, points: &[(NaiveDate, f64)]) -> Chart {
    let s = Sparkline {
        id,
        label,
        unit: "ateliers",
        points,
        target: Some(60.0),
        baseline: Some(0.0),
    };
    Chart {
        svg: s.svg(),
        alt: s.alt(),
        caption: format!("Évolution : {label}"),
    }
}

fn sample() -> Document {
    let pts = [(d(2024, 12, 31), 12.0), (d(2025, 12, 31), 40.0)];
    let pts2 = [(d(2025, 6, 30), 3.0), (d(2026, 6, 30), 7.5)];
    let h = |level, text: &str| Block::Heading {
        level,
        text: text.to_owned(),
    };
    Document {
        title: "Bilan annuel 2026 — CLS Lens-Liévin".into(),
        subtitle: "Communauté d'agglomération de Lens-Liévin, du 1er janvier au 31 décembre 2026"
            .into(),
        generated_on: d(2026, 12, 2),
        blocks: vec![
            h(1, "Axe 1 Prévention et promotion de la santé"),
            h(2, "Action 1.1 Ateliers nutrition"),
            Block::Field {
                label: "Réalisé".into(),
                text: "12 ateliers dans 4 communes".into(),
            },
            Block::Field {
                label: "Difficultés".into(),
                text: String::new(),
            },
            Block::List(vec!["Ateliers en QPV".into(), NASTY.into()]),
            Block::Table(Table {
                caption: "Budget de l'action 1.1".into(),
                sheet: "Budget".into(),
                header: vec!["Financeur".into(), "Montant".into(), "Part".into()],
                rows: vec![
                    vec![Cell::text("ARS"), Cell::Euros(123_450), Cell::Percent(12.5)],
                    vec![Cell::text(NASTY), Cell::Euros(-5), Cell::Percent(87.5)],
                    // Too long: the extra cell is dropped.
                    vec![Cell::text("Ville"), Cell::Empty, Cell::Empty, Cell::Int(9)],
                ],
            }),
            Block::Chart(sparkline("i1", "Ateliers réalisés", &pts)),
            h(2, "Action 1.2 Dépistage"),
            Block::Paragraph("Une ligne.\nUne autre ligne.".into()),
            Block::Table(Table {
                caption: "Indicateurs de l'action 1.2".into(),
                sheet: "Indicateurs".into(),
                header: vec!["Indicateur".into(), "Valeur".into(), "Mesures".into()],
                rows: vec![
                    vec![
                        Cell::text("Personnes dépistées"),
                        Cell::Number(1234.5),
                        Cell::Int(42),
                    ],
                    // Too short: padded.
                    vec![Cell::text("Taux de participation")],
                ],
            }),
            h(1, "Axe 2 Accès aux soins"),
            h(2, "Action 2.1 Maison de santé"),
            Block::Chart(sparkline("i2", "Professionnels installés", &pts2)),
            Block::Table(Table {
                caption: "Budget de l'action 2.1".into(),
                sheet: "Budget".into(),
                header: vec!["Financeur".into(), "Montant".into(), "Part".into()],
                rows: vec![vec![
                    Cell::text("Région"),
                    Cell::Euros(1_000_000),
                    Cell::Percent(100.0),
                ]],
            }),
        ],
    }
}

/// Write the rendering to a temporary file and read it back with Python.
fn read_back(doc: &Document, format: Format) -> Value {
    let bytes = render(doc, format).unwrap_or_else(|e| panic!("{format:?}: {e}"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("rapport.{}", format.extension()));
    std::fs::write(&path, &bytes).unwrap();
    // MAILLAGE_REPORT_KEEP=/some/dir keeps the sample's files to look at.
    if let Some(keep) = std::env::var_os("MAILLAGE_REPORT_KEEP") {
        if doc.title.starts_with("Bilan") {
            let _ = std::fs::write(
                std::path::Path::new(&keep).join(format!("rapport.{}", format.extension())),
                &bytes,
            );
        }
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/report_read.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(format.extension())
        .arg(&path)
        .output()
        .expect("python3 (see scripts/test.sh)");
    assert!(
        out.status.success(),
        "python ({format:?}): {} (pip install python-docx odfpy openpyxl, see scripts/test.sh)",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap_or_default().to_owned())
        .collect()
}

const HEADINGS: [(u8, &str); 6] = [
    (1, "Axe 1 Prévention et promotion de la santé"),
    (2, "Action 1.1 Ateliers nutrition"),
    (2, "Action 1.2 Dépistage"),
    (1, "Axe 2 Accès aux soins"),
    (2, "Action 2.1 Maison de santé"),
    (0, ""),
];

#[test]
fn report_docx_read_by_python_docx() {
    let doc = sample();
    let v = read_back(&doc, Format::Docx);
    let paragraphs: Vec<(String, String)> = v["paragraphs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (strs(p)[0].clone(), strs(p)[1].clone()))
        .collect();
    let headings: Vec<(String, String)> = paragraphs
        .iter()
        .filter(|p| p.0.starts_with("Heading"))
        .cloned()
        .collect();
    let expected: Vec<(String, String)> = HEADINGS[..5]
        .iter()
        .map(|(l, t)| (format!("Heading {l}"), t.to_string()))
        .collect();
    assert_eq!(headings, expected);
    assert_eq!(paragraphs[0], ("Title".into(), doc.title.clone()));
    assert_eq!(paragraphs[1], ("Subtitle".into(), doc.subtitle.clone()));
    assert!(paragraphs[2].1.starts_with("Données au 2 décembre 2026"));
    // The outline: each heading style carries its level.
    assert_eq!(v["heading_outline"]["Heading 1"], 0);
    assert_eq!(v["heading_outline"]["Heading 3"], 2);
    // Fields: bold label and text, « non renseigné » when empty.
    assert!(paragraphs
        .iter()
        .any(|p| p.1 == "Réalisé\u{a0}: 12 ateliers dans 4 communes"));
    assert!(paragraphs
        .iter()
        .any(|p| p.1 == "Difficultés\u{a0}: non renseigné"));
    assert!(paragraphs
        .iter()
        .any(|p| p.0 == "List Paragraph" && p.1 == NASTY));
    assert!(paragraphs
        .iter()
        .any(|p| p.0 == "Caption" && p.1 == "Évolution : Ateliers réalisés"));
    assert!(paragraphs
        .iter()
        .any(|p| p.1 == "Une ligne.\nUne autre ligne."));

    let tables = v["tables"].as_array().unwrap();
    assert_eq!(tables.len(), 3);
    let rows = &tables[0]["rows"];
    assert_eq!(strs(&rows[0]), ["Financeur", "Montant", "Part"]);
    let first: Vec<String> = (0..3).map(|c| doc_cell(&doc, 0, 0, c)).collect();
    assert_eq!(strs(&rows[1]), first);
    assert_eq!(rows[2][0], NASTY);
    assert_eq!(strs(&rows[3]), ["Ville", "", ""]);
    assert_eq!(tables[0]["header_bold"], true);
    assert_eq!(
        tables[0]["right"][1],
        serde_json::json!([false, true, true])
    );
    assert_eq!(
        strs(&tables[1]["rows"][2]),
        ["Taux de participation", "", ""]
    );
    assert_eq!(v["inline_shapes"], 2);
    assert_eq!(v["section"]["width_mm"], 210);
    assert_eq!(v["section"]["height_mm"], 297);
    assert_eq!(v["section"]["left_mm"], 18);
}

/// The text the model gives a table's cell (table `t`, row `r`, column `c`).
fn doc_cell(doc: &Document, t: usize, r: usize, c: usize) -> String {
    doc.tables().nth(t).unwrap().rows[r][c].display()
}

#[test]
fn report_odt_read_by_odfpy() {
    let doc = sample();
    let v = read_back(&doc, Format::Odt);
    let headings: Vec<(String, String, String)> = v["headings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let h = strs(h);
            (h[0].clone(), h[1].clone(), h[2].clone())
        })
        .collect();
    let expected: Vec<(String, String, String)> = HEADINGS[..5]
        .iter()
        .map(|(l, t)| (l.to_string(), format!("Heading_20_{l}"), t.to_string()))
        .collect();
    assert_eq!(headings, expected);
    for n in 1..=3 {
        assert_eq!(
            v["outline_levels"][format!("Heading_20_{n}")],
            n.to_string()
        );
    }
    assert_eq!(v["title"][0], doc.title);
    let paragraphs = v["paragraphs"].as_array().unwrap();
    assert_eq!(strs(&paragraphs[0]), ["Title", &doc.title]);
    assert!(paragraphs
        .iter()
        .any(|p| strs(p)[1] == "Difficultés\u{a0}: non renseigné"));
    assert!(paragraphs.iter().any(|p| strs(p)[1] == NASTY));

    let tables = v["tables"].as_array().unwrap();
    assert_eq!(tables.len(), 3);
    assert_eq!(tables[0]["header_rows"], 1);
    assert_eq!(
        strs(&tables[0]["rows"][0]),
        ["Financeur", "Montant", "Part"]
    );
    assert_eq!(tables[0]["rows"][1][1], doc_cell(&doc, 0, 0, 1));
    assert_eq!(tables[0]["rows"][2][0], NASTY);
    assert_eq!(tables[0]["rows"][3].as_array().unwrap().len(), 3);
    // Numbers keep their value beside their text.
    assert_eq!(
        tables[0]["values"][1][1],
        serde_json::json!(["currency", "1234.5"])
    );
    assert_eq!(
        tables[0]["values"][1][2],
        serde_json::json!(["percentage", "0.125"])
    );
    assert_eq!(
        tables[1]["values"][1][2],
        serde_json::json!(["float", "42"])
    );

    // The package: mimetype first and stored, then the pictures.
    assert_eq!(v["mimetype"], "application/vnd.oasis.opendocument.text");
    assert_eq!(v["zip"][0], serde_json::json!(["mimetype", 0]));
    assert_eq!(strs(&v["images"]), ["Pictures/1.png", "Pictures/2.png"]);
    assert_eq!(v["pictures"]["Pictures/1.png"], "89504e470d0a1a0a");
    assert_eq!(v["pictures"]["Pictures/2.png"], "89504e470d0a1a0a");
    let descs = strs(&v["descs"]);
    assert_eq!(descs.len(), 2);
    assert!(descs[0].starts_with("Ateliers réalisés : 12 ateliers au 31/12/2024"));
    for s in [
        "Heading_20_1",
        "Heading_20_2",
        "Heading_20_3",
        "Title",
        "Caption",
    ] {
        assert!(strs(&v["styles"]).iter().any(|x| x == s), "{s}");
    }
}

#[test]
fn report_xlsx_read_by_openpyxl() {
    let doc = sample();
    let v = read_back(&doc, Format::Xlsx);
    assert_eq!(
        strs(&v["sheetnames"]),
        ["Sommaire", "Budget", "Indicateurs"]
    );
    assert_eq!(v["title"], doc.title);
    let summary = &v["sheets"]["Sommaire"]["values"];
    assert_eq!(summary[0][0], doc.title);
    assert_eq!(summary[1][0], doc.subtitle);
    assert_eq!(summary[2][0], "Données au 2 décembre 2026");
    assert_eq!(summary[5][0], "Budget");
    assert_eq!(
        summary[5][1],
        "Budget de l'action 1.1 ; Budget de l'action 2.1"
    );
    assert_eq!(summary[6][0], "Indicateurs");

    let budget = &v["sheets"]["Budget"];
    let rows = &budget["values"];
    assert_eq!(rows[0][0], "Budget de l'action 1.1");
    assert_eq!(budget["bold"][0][0], true);
    assert_eq!(strs(&rows[1]), ["Financeur", "Montant", "Part"]);
    assert_eq!(budget["bold"][1][2], true);
    assert_eq!(rows[2][0], "ARS");
    assert_eq!(rows[2][1].as_f64(), Some(1234.5));
    assert_eq!(budget["formats"][2][1], "#,##0.00 €");
    assert_eq!(rows[2][2].as_f64(), Some(0.125));
    assert_eq!(budget["formats"][2][2], "0.0 %");
    assert_eq!(rows[3][0], NASTY);
    assert_eq!(rows[3][1].as_f64(), Some(-0.05));
    // The row longer than the header lost its extra cell.
    assert_eq!(rows[4].as_array().unwrap().len(), 3);
    // A blank row, then the second table on the same sheet.
    assert!(rows[5].as_array().unwrap().iter().all(Value::is_null));
    assert_eq!(rows[6][0], "Budget de l'action 2.1");
    assert_eq!(rows[8][1].as_f64(), Some(10_000.0));

    let ind = &v["sheets"]["Indicateurs"]["values"];
    assert_eq!(ind[2][1].as_f64(), Some(1234.5));
    assert_eq!(ind[2][2].as_i64(), Some(42));
    assert_eq!(ind[3][0], "Taux de participation");
}

#[test]
fn report_html_parsed() {
    let doc = sample();
    let v = read_back(&doc, Format::Html);
    assert_eq!(v["lang"], "fr");
    let headings: Vec<Vec<String>> = v["headings"].as_array().unwrap().iter().map(strs).collect();
    let mut expected = vec![vec!["h1".to_owned(), doc.title.clone()]];
    expected.extend(
        HEADINGS[..5]
            .iter()
            .map(|(l, t)| vec![format!("h{}", l + 1), t.to_string()]),
    );
    assert_eq!(headings, expected);
    assert_eq!(
        strs(&v["captions"]),
        [
            "Budget de l'action 1.1",
            "Indicateurs de l'action 1.2",
            "Budget de l'action 2.1"
        ]
    );
    assert_eq!(
        strs(&v["figcaptions"]),
        [
            "Évolution : Ateliers réalisés",
            "Évolution : Professionnels installés"
        ]
    );
    assert_eq!(v["tags"]["table"], 3);
    assert_eq!(v["tags"]["thead"], 3);
    assert_eq!(v["tags"]["svg"], 2);
    assert_eq!(v["tags"]["figure"], 2);
    // The text with markup in it stayed text: no script element.
    assert!(v["tags"].get("script").is_none());
    assert!(v["text"].as_str().unwrap().contains(NASTY));
    assert!(strs(&v["th_scopes"]).iter().all(|s| s == "col"));
    assert_eq!(v["th_scopes"].as_array().unwrap().len(), 9);
    let cells = v["cells"].as_array().unwrap();
    assert!(cells
        .iter()
        .any(|c| c[0] == "td" && c[1] == "num" && c[2] == doc_cell(&doc, 0, 0, 1)));
    assert!(v["text"]
        .as_str()
        .unwrap()
        .contains("Difficultés\u{a0}: non renseigné"));
}

#[test]
fn report_empty_document_in_every_format() {
    let doc = Document {
        title: String::new(),
        subtitle: String::new(),
        generated_on: d(2026, 1, 1),
        blocks: vec![
            Block::Table(Table {
                caption: String::new(),
                sheet: String::new(),
                header: vec![],
                rows: vec![],
            }),
            Block::Table(Table {
                caption: "En-tête seul".into(),
                sheet: "[?]".into(),
                header: vec!["A".into()],
                rows: vec![vec![], vec![Cell::Number(f64::NAN)]],
            }),
            Block::List(vec![]),
            Block::Heading {
                level: 0,
                text: String::new(),
            },
        ],
    };
    for f in [Format::Html, Format::Docx, Format::Odt, Format::Xlsx] {
        read_back(&doc, f);
    }
    let v = read_back(&doc, Format::Xlsx);
    assert_eq!(
        strs(&v["sheetnames"]),
        ["Sommaire", "Tableaux", "Tableaux (2)"]
    );
    let nothing = Document {
        blocks: vec![],
        ..doc
    };
    for f in [Format::Html, Format::Docx, Format::Odt, Format::Xlsx] {
        read_back(&nothing, f);
    }
}

/// The charts' PNG: its signature and size, and text actually drawn (the
/// same chart without its text elements gives another image).
#[test]
fn report_png_draws_the_text() {
    let pts = [(d(2024, 12, 31), 12.0), (d(2025, 12, 31), 40.0)];
    let s = Sparkline {
        id: "i",
        label: "Ateliers",
        unit: "ateliers",
        points: &pts,
        target: Some(60.0),
        baseline: None,
    };
    let svg = s.svg();
    assert!(svg.contains("<text"));
    let png = svg_to_png(&svg, 2.0).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert_eq!(png_size(&png), Some((640, 180)));
    // The same chart without its text element: the PNGs differ only if
    // the text was drawn (no font, no glyph, same pixels).
    let start = svg.find("<text").unwrap();
    let end = svg[start..].find("</text>").unwrap() + start + "</text>".len();
    let bare = format!("{}{}", &svg[..start], &svg[end..]);
    let png_bare = svg_to_png(&bare, 2.0).unwrap();
    assert!(png != png_bare, "the label « cible 60 » left no pixel");

    let bars = [("Lens-Liévin".to_owned(), 12.0), ("Arras".to_owned(), 3.0)];
    let b = Bars {
        id: "b",
        label: "Ateliers",
        unit: "ateliers",
        bars: &bars,
    };
    let svg = b.svg();
    let png = svg_to_png(&svg, 1.0).unwrap();
    assert_eq!(png_size(&png), Some((640, 72)));
    let no_text = svg
        .split("<text")
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part.to_owned()
            } else {
                part[part.find("</text>").unwrap() + 7..].to_owned()
            }
        })
        .collect::<String>();
    assert!(!no_text.contains("<text"));
    assert!(
        png != svg_to_png(&no_text, 1.0).unwrap(),
        "the bars' labels left no pixel"
    );
}
