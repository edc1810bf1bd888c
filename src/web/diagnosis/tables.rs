//! The diagnosis' tables, built once and shown three ways: under the maps
//! (HTML), in the XLSX export (one sheet each) and, for some, in the API.

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use crate::diagnosis::{Diagnosis, ProfessionFacts};
use crate::domain::diagnosis::profession::Profession;
use crate::domain::indicator::format_number;
use crate::web::contract::charts::esc;

/// A number in French with three significant digits (`7,91`, `0,0312`,
/// `32 920`): scores per 10,000 inhabitants can be small on a territory
/// with few professionals, and two decimals would show them all as 0.
pub fn format_sig(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format_number(v);
    }
    let decimals = (2 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
    let text = format!("{:.*}", decimals, v.abs());
    let (int, frac) = text.split_once('.').unwrap_or((text.as_str(), ""));
    let int: f64 = int.parse().unwrap_or(0.0);
    let mut out = format_number(int);
    let frac = frac.trim_end_matches('0');
    if !frac.is_empty() {
        out.push(',');
        out.push_str(frac);
    }
    if v < 0.0 {
        out.insert(0, '-');
    }
    out
}

/// A cell: text, or a number shown in French (and kept a number in XLSX).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    /// No value, with a word or two why.
    Missing(String),
}

impl Cell {
    pub fn text(&self) -> String {
        match self {
            Cell::Text(s) | Cell::Missing(s) => s.clone(),
            Cell::Number(n) => format_sig(*n),
        }
    }

    pub fn is_number(&self) -> bool {
        matches!(self, Cell::Number(_))
    }

    fn opt(v: Option<f64>, missing: &str) -> Cell {
        match v {
            Some(v) => Cell::Number(v),
            None => Cell::Missing(missing.to_owned()),
        }
    }
}

/// A table with its caption; the first column names the row.
#[derive(Debug, Clone)]
pub struct Table {
    /// Sheet name in the XLSX export (31 characters at most).
    pub sheet: String,
    pub caption: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// The table as HTML (every text escaped): a caption, column headers,
    /// the first cell of each row as its header; on phones each row
    /// becomes a card whose cells carry their column's name.
    pub fn html(&self) -> String {
        use std::fmt::Write;
        let mut s =
            String::from("<div class=\"table-scroll\"><table class=\"responsive figures\">");
        let _ = write!(s, "<caption>{}</caption><thead><tr>", esc(&self.caption));
        for h in &self.headers {
            let _ = write!(s, "<th scope=\"col\">{}</th>", esc(h));
        }
        s.push_str("</tr></thead><tbody>");
        if self.rows.is_empty() {
            let _ = write!(
                s,
                "<tr><td colspan=\"{}\">Aucune ligne.</td></tr>",
                self.headers.len()
            );
        }
        for row in &self.rows {
            s.push_str("<tr>");
            for (i, cell) in row.iter().enumerate() {
                let label = esc(self.headers.get(i).map(String::as_str).unwrap_or(""));
                let class = if cell.is_number() {
                    " class=\"num\""
                } else {
                    ""
                };
                if i == 0 {
                    let _ = write!(s, "<th scope=\"row\">{}</th>", esc(&cell.text()));
                } else {
                    let _ = write!(
                        s,
                        "<td data-label=\"{label}\"{class}>{}</td>",
                        esc(&cell.text())
                    );
                }
            }
            s.push_str("</tr>");
        }
        s.push_str("</tbody></table></div>");
        s
    }
}

/// Population and territory: one row per commune.
pub fn population(d: &Diagnosis) -> Table {
    let with_ages = d.communes.iter().any(|c| c.ages.is_some());
    let mut headers = vec!["Commune".to_owned(), "Population municipale".to_owned()];
    if with_ages {
        for h in [
            "0-14 ans",
            "15-29 ans",
            "30-44 ans",
            "45-59 ans",
            "60-74 ans",
            "75 ans et plus",
        ] {
            headers.push(format!("{h} (%)"));
        }
    }
    headers.push("Quartiers prioritaires (QPV)".into());
    let rows = d
        .communes
        .iter()
        .map(|c| {
            let mut row = vec![
                Cell::Text(c.name.clone()),
                Cell::opt(c.population.map(|p| p as f64), "inconnue"),
            ];
            if with_ages {
                match c.ages {
                    Some(a) => {
                        let total: f64 = a.iter().sum();
                        for v in a {
                            row.push(if total > 0.0 {
                                Cell::Number((v * 1000.0 / total).round() / 10.0)
                            } else {
                                Cell::Missing("—".into())
                            });
                        }
                    }
                    None => row.extend((0..6).map(|_| Cell::Missing("—".into()))),
                }
            }
            row.push(Cell::Text(c.qpvs.join(", ")));
            row
        })
        .collect();
    Table {
        sheet: "Population".into(),
        caption: "Population par commune".into(),
        headers,
        rows,
    }
}

/// Care supply per commune and profession.
pub fn supply(d: &Diagnosis) -> Table {
    let mut headers = vec!["Commune".to_owned()];
    headers.extend(
        d.professions
            .iter()
            .map(|p| p.profession.label().to_owned()),
    );
    let rows = d
        .communes
        .iter()
        .map(|c| {
            let mut row = vec![Cell::Text(c.name.clone())];
            row.extend(
                d.professions
                    .iter()
                    .map(|p| Cell::Number(p.row(&c.code).map(|r| r.supply).unwrap_or(0.0))),
            );
            row
        })
        .collect();
    Table {
        sheet: "Offre de soins".into(),
        caption: "Offre de soins de premier recours par commune (professionnels libéraux ; un professionnel exerçant en n lieux compte 1/n dans chacun)".into(),
        headers,
        rows,
    }
}

/// Densities per 10 000 inhabitants compared with the wider areas.
pub fn densities(d: &Diagnosis) -> Table {
    let mut headers = vec!["Profession".to_owned(), "Territoire".to_owned()];
    headers.push(match &d.departement {
        Some((code, name)) => format!("{name} ({code})"),
        None => "Département".into(),
    });
    headers.push(match &d.region {
        Some((_, name)) => name.clone(),
        None => "Région".into(),
    });
    headers.push("France".into());
    let rows = d
        .professions
        .iter()
        .map(|p| {
            let x = &p.densities;
            vec![
                Cell::Text(p.profession.label().to_owned()),
                Cell::opt(x.territory, "—"),
                Cell::opt(x.departement, "—"),
                Cell::opt(x.region, "—"),
                Cell::opt(x.france, "—"),
            ]
        })
        .collect();
    Table {
        sheet: "Densités".into(),
        caption: "Densité pour 10 000 habitants".into(),
        headers,
        rows,
    }
}

/// One profession's accessibility per commune.
pub fn accessibility(d: &Diagnosis, p: &ProfessionFacts) -> Table {
    let rows = d
        .communes
        .iter()
        .map(|c| {
            let r = p.row(&c.code);
            let score = r.and_then(|r| r.score);
            let why = r.map(|r| r.no_score.clone()).unwrap_or_default();
            let below = match (score, p.threshold) {
                (Some(s), Some(t)) if s < t => "oui",
                (Some(_), Some(_)) => "non",
                _ => "—",
            };
            vec![
                Cell::Text(c.name.clone()),
                Cell::opt(r.and_then(|r| r.population), "inconnue"),
                Cell::Number(r.map(|r| r.supply).unwrap_or(0.0)),
                Cell::opt(score, if why.is_empty() { "pas de score" } else { &why }),
                Cell::Text(below.into()),
            ]
        })
        .collect();
    Table {
        sheet: format!("Accès {}", short(p.profession)),
        caption: format!(
            "Accessibilité potentielle localisée : {} pour 10 000 habitants",
            p.profession.label().to_lowercase()
        ),
        headers: vec![
            "Commune".into(),
            if d.standardised() {
                "Population standardisée".into()
            } else {
                "Population".into()
            },
            "Offre dans la commune".into(),
            "Accessibilité pour 10 000 habitants".into(),
            "Sous le seuil".into(),
        ],
        rows,
    }
}

/// Communes below the threshold, every profession.
pub fn flagged(d: &Diagnosis) -> Table {
    let mut rows = Vec::new();
    for p in &d.professions {
        for r in p.flagged() {
            let c = d.communes.iter().find(|c| c.code == r.insee_code);
            rows.push(vec![
                Cell::Text(p.profession.label().to_owned()),
                Cell::Text(d.commune_name(&r.insee_code).to_owned()),
                Cell::opt(r.score, "—"),
                Cell::opt(p.threshold, "—"),
                Cell::opt(c.and_then(|c| c.population).map(|p| p as f64), "inconnue"),
                Cell::Text(c.map(|c| c.qpvs.join(", ")).unwrap_or_default()),
                Cell::opt(
                    c.and_then(|c| c.share_75())
                        .map(|v| (v * 10.0).round() / 10.0),
                    "âge inconnu",
                ),
            ]);
        }
    }
    Table {
        sheet: "Communes sous le seuil".into(),
        caption: "Communes dont l'accessibilité est sous le seuil".into(),
        headers: vec![
            "Profession".into(),
            "Commune".into(),
            "Accessibilité pour 10 000 habitants".into(),
            "Seuil".into(),
            "Population".into(),
            "Quartiers prioritaires (QPV)".into(),
            "Part des 75 ans et plus (%)".into(),
        ],
        rows,
    }
}

fn short(p: Profession) -> &'static str {
    match p {
        Profession::Generalistes => "généralistes",
        Profession::Infirmiers => "infirmiers",
        Profession::Kinesitherapeutes => "kinés",
        Profession::Dentistes => "dentistes",
        Profession::SagesFemmes => "sages-femmes",
        Profession::Pharmacies => "pharmacies",
    }
}

/// Every table of the diagnosis, in page order.
pub fn all(d: &Diagnosis) -> Vec<Table> {
    let mut v = vec![population(d), supply(d), densities(d)];
    v.extend(d.professions.iter().map(|p| accessibility(d, p)));
    v.push(flagged(d));
    v
}

/// One sheet per table, headers frozen, numbers as numbers.
pub fn to_xlsx(tables: &[Table], sources: &[(String, String)]) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    for t in tables {
        let ws = wb.add_worksheet().set_name(&t.sheet)?;
        ws.write_string_with_format(0, 0, &t.caption, &bold)?;
        for (c, h) in t.headers.iter().enumerate() {
            ws.write_string_with_format(1, c as u16, h, &bold)?;
        }
        for (r, row) in t.rows.iter().enumerate() {
            let r = r as u32 + 2;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Number(n) => ws.write_number(r, c, *n)?,
                    other => ws.write_string(r, c, other.text())?,
                };
            }
        }
        ws.set_freeze_panes(2, 1)?;
        ws.set_column_width(0, 28)?;
    }
    let ws = wb.add_worksheet().set_name("Sources")?;
    ws.write_string_with_format(0, 0, "Donnée", &bold)?;
    ws.write_string_with_format(0, 1, "Source et date", &bold)?;
    for (r, (label, detail)) in sources.iter().enumerate() {
        ws.write_string(r as u32 + 1, 0, label)?;
        ws.write_string(r as u32 + 1, 1, detail)?;
    }
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::format_sig;

    #[test]
    fn three_significant_digits() {
        assert_eq!(format_sig(7.9134), "7,91");
        assert_eq!(format_sig(0.031234), "0,0312");
        assert_eq!(format_sig(0.5), "0,5");
        assert_eq!(format_sig(32920.0), "32\u{202f}920");
        assert_eq!(format_sig(1994.0), "1\u{202f}994");
        assert_eq!(format_sig(0.0), "0");
        assert_eq!(format_sig(-1.25), "-1,25");
    }
}
