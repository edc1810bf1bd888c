//! The candidates of a directory search, in one statement per batch of
//! communes: the establishments and the practice places whose words pass
//! the query, the best few of each kind, and, for a word not yet known to
//! be spelt as some row of the search spells it, the probe that tells a
//! typo.
//!
//! The search (`crate::directory::search`) used to run a probe per typed
//! word, then the establishments and the practice places as two statements
//! on two connections, per batch. The probe is a `MATERIALIZED` common
//! table expression here, read once by both lists; each list is a JSON
//! array in a column of the one row (as the public pages read theirs,
//! `storage::public_pages`), the rows in the order of their fields in
//! [`EstablishmentRow`] and [`ProfessionalPlaceRow`], which serde reads as
//! sequences.

use sqlx::Row;

use super::{EstablishmentRow, ProfessionalPlaceRow};
use crate::storage::public_pages::for_backend;
use crate::storage::{Db, DbError, DbResult};

/// One word of a query, as the database is asked to match it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordQuery {
    /// Its spellings and synonyms (`domain::search::like_patterns`): a row
    /// must have one of them…
    pub patterns: Vec<String>,
    /// …unless no row of the search's communes has any (a typo): then
    /// nothing is filtered, and the rows are ranked by how many of these
    /// (`domain::search::typo_patterns`) they have.
    pub typo_patterns: Vec<String>,
    pub spelt: Spelt,
}

/// Whether some row of the search's communes has one of a word's patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spelt {
    /// Yes, or the word is too short to be read as a typo.
    Yes,
    /// No: a typo.
    No,
    /// Not known yet: the statement probes the communes.
    Unknown,
}

/// What one statement reads.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    /// The communes whose rows are read.
    pub communes: &'a [String],
    /// Every commune of the search, which the probe reads.
    pub scope: &'a [String],
    /// Establishments of this FINESS category only.
    pub category: Option<&'a str>,
    /// Practice places of professionals of this RPPS profession only.
    pub profession: Option<&'a str>,
    /// Rows wanted of each kind, the best by likeness then name (none is
    /// read for 0).
    pub establishments: i64,
    pub professionals: i64,
}

#[derive(Debug, Default)]
pub struct Candidates {
    pub establishments: Vec<EstablishmentRow>,
    pub professionals: Vec<ProfessionalPlaceRow>,
    /// What the probe found for each word that was [`Spelt::Unknown`], in
    /// the order of the words.
    pub spelt: Vec<bool>,
}

enum Arg<'a> {
    Text(&'a str),
    Int(i64),
}

/// A statement being written, with its arguments in placeholder order.
#[derive(Default)]
struct Statement<'a> {
    args: Vec<Arg<'a>>,
}

impl<'a> Statement<'a> {
    fn arg(&mut self, a: Arg<'a>) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }

    fn texts(&mut self, items: &'a [String]) -> String {
        items
            .iter()
            .map(|s| self.arg(Arg::Text(s)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `words LIKE $a OR words LIKE $b…` of column `col`.
    fn any_like(&mut self, col: &str, patterns: &'a [String]) -> String {
        patterns
            .iter()
            .map(|p| format!("{col} LIKE {}", self.arg(Arg::Text(p))))
            .collect::<Vec<_>>()
            .join(" OR ")
    }
}

/// The `WHERE` conditions and the likeness rank of the words, for rows of
/// `directory_search s`; an unknown word reads its probe as `w.f<i>`.
fn word_terms<'a>(st: &mut Statement<'a>, words: &'a [WordQuery]) -> (String, String) {
    let mut conds = String::new();
    let mut rank: Vec<String> = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let likeness = |st: &mut Statement<'a>| {
            let terms: Vec<String> = w
                .typo_patterns
                .iter()
                .map(|p| {
                    format!(
                        "CASE WHEN s.words LIKE {} THEN 1 ELSE 0 END",
                        st.arg(Arg::Text(p))
                    )
                })
                .collect();
            if terms.is_empty() {
                "0".to_owned()
            } else {
                terms.join(" + ")
            }
        };
        match w.spelt {
            Spelt::Yes => {
                conds.push_str(&format!(" AND ({})", st.any_like("s.words", &w.patterns)));
            }
            Spelt::No => rank.push(format!("({})", likeness(st))),
            Spelt::Unknown => {
                conds.push_str(&format!(
                    " AND (NOT w.f{i} OR {})",
                    st.any_like("s.words", &w.patterns)
                ));
                rank.push(format!(
                    "(CASE WHEN w.f{i} THEN 0 ELSE {} END)",
                    likeness(st)
                ));
            }
        }
    }
    let rank = if rank.is_empty() {
        "0".to_owned()
    } else {
        rank.join(" + ")
    };
    (conds, rank)
}

/// The statement's text (SQLite's JSON names) and arguments.
fn statement<'a>(batch: &Batch<'a>, words: &'a [WordQuery]) -> (String, Statement<'a>) {
    let mut st = Statement::default();
    let unknown: Vec<usize> = (0..words.len())
        .filter(|&i| words[i].spelt == Spelt::Unknown)
        .collect();
    let mut with = String::new();
    if !unknown.is_empty() {
        let scope = st.texts(batch.scope);
        let probes: Vec<String> = unknown
            .iter()
            .map(|&i| {
                format!(
                    "EXISTS (SELECT 1 FROM directory_search WHERE insee_code IN ({scope}) AND ({})) AS f{i}",
                    st.any_like("words", &words[i].patterns)
                )
            })
            .collect();
        with = format!("WITH w AS MATERIALIZED (SELECT {})\n", probes.join(", "));
    }
    let communes = st.texts(batch.communes);
    let establishments = if batch.establishments > 0 {
        let code = match batch.category {
            Some(c) => format!(" AND s.code = {}", st.arg(Arg::Text(c))),
            None => String::new(),
        };
        let (conds, rank) = word_terms(&mut st, words);
        let limit = st.arg(Arg::Int(batch.establishments));
        format!(
            "(SELECT CAST(json_group_array(json_array(e.finess, e.name, e.long_name, e.address, e.postal_code,
                  e.city, e.insee_code, e.phone, e.category_code, e.category_label, e.longitude, e.latitude)
                ORDER BY c.r DESC, c.name, c.id) AS TEXT)
              FROM (SELECT s.id, s.name, {rank} AS r FROM directory_search s
                    WHERE s.insee_code IN ({communes}) AND s.kind = 'establishment'{code}{conds}
                    ORDER BY r DESC, s.name, s.id LIMIT {limit}) c
              JOIN establishments e ON e.finess = c.id)"
        )
    } else {
        "CAST(NULL AS TEXT)".to_owned()
    };
    let professionals = if batch.professionals > 0 {
        let code = match batch.profession {
            Some(c) => format!(" AND s.code = {}", st.arg(Arg::Text(c))),
            None => String::new(),
        };
        let (conds, rank) = word_terms(&mut st, words);
        let limit = st.arg(Arg::Int(batch.professionals));
        format!(
            "(SELECT CAST(json_group_array(json_array(p.rpps, p.last_name, p.first_name, p.profession_label,
                  pl.specialty_label, pl.address, pl.postal_code, pl.city, pl.insee_code, pl.phone)
                ORDER BY c.r DESC, c.name, c.id, c.position) AS TEXT)
              FROM (SELECT s.id, s.position, s.name, {rank} AS r FROM directory_search s
                    WHERE s.insee_code IN ({communes}) AND s.kind = 'professional'{code}{conds}
                    ORDER BY r DESC, s.name, s.id, s.position LIMIT {limit}) c
              JOIN practice_places pl ON pl.rpps = c.id AND pl.position = c.position
              JOIN professionals p ON p.rpps = c.id)"
        )
    } else {
        "CAST(NULL AS TEXT)".to_owned()
    };
    let (spelt, from) = if unknown.is_empty() {
        ("CAST(NULL AS TEXT)".to_owned(), "")
    } else {
        let flags: Vec<String> = unknown
            .iter()
            .map(|i| format!("CASE WHEN w.f{i} THEN 1 ELSE 0 END"))
            .collect();
        (
            format!("CAST(json_array({}) AS TEXT)", flags.join(", ")),
            "\nFROM w",
        )
    };
    (
        format!(
            "{with}SELECT {spelt} AS spelt,\n  {establishments} AS establishments,\n  {professionals} AS professionals{from}"
        ),
        st,
    )
}

fn decode<T: serde::de::DeserializeOwned>(text: Option<String>) -> DbResult<Vec<T>> {
    match text {
        None => Ok(Vec::new()),
        Some(t) => serde_json::from_str(&t)
            .map_err(|e| DbError::Other(anyhow::anyhow!("directory candidates: {e}"))),
    }
}

/// The candidates of one batch (see the module's documentation).
pub async fn candidates(db: &Db, batch: &Batch<'_>, words: &[WordQuery]) -> DbResult<Candidates> {
    let (sql, st) = statement(batch, words);
    let sql = for_backend(&sql, db.backend());
    macro_rules! run {
        ($pool:expr) => {{
            let mut q = sqlx::query(&sql);
            for a in &st.args {
                q = match a {
                    Arg::Text(s) => q.bind(*s),
                    Arg::Int(n) => q.bind(*n),
                };
            }
            let row = q.fetch_one($pool).await?;
            [
                row.try_get::<Option<String>, _>("spelt")?,
                row.try_get::<Option<String>, _>("establishments")?,
                row.try_get::<Option<String>, _>("professionals")?,
            ]
        }};
    }
    let [spelt, establishments, professionals] = match db {
        Db::Sqlite(pool) => run!(pool),
        Db::Postgres(pool) => run!(pool),
    };
    let spelt: Vec<i64> = decode(spelt)?;
    Ok(Candidates {
        establishments: decode(establishments)?,
        professionals: decode(professionals)?,
        spelt: spelt.into_iter().map(|f| f != 0).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(spelt: Spelt) -> WordQuery {
        WordQuery {
            patterns: vec!["%medecin%".into(), "% generaliste%".into()],
            typo_patterns: vec!["%me%".into(), "%ed%".into()],
            spelt,
        }
    }

    /// A known word filters or ranks as it did before the probe moved in;
    /// an unknown one reads the probe, bound once for both kinds.
    #[test]
    fn words_filter_rank_or_probe() {
        let communes = ["62498".to_owned(), "62510".to_owned()];
        let scope = ["62498".to_owned(), "62510".to_owned(), "62413".to_owned()];
        let batch = Batch {
            communes: &communes,
            scope: &scope,
            category: None,
            profession: Some("10"),
            establishments: 0,
            professionals: 200,
        };
        let known = [word(Spelt::Yes), word(Spelt::No)];
        let (sql, st) = statement(&batch, &known);
        assert!(!sql.contains("WITH w"), "{sql}");
        assert!(sql.contains("CAST(NULL AS TEXT) AS spelt"), "{sql}");
        assert!(
            sql.contains("CAST(NULL AS TEXT) AS establishments"),
            "{sql}"
        );
        assert!(sql.contains("s.code = $3"), "{sql}");
        assert!(
            sql.contains("AND (s.words LIKE $4 OR s.words LIKE $5)"),
            "{sql}"
        );
        assert!(
            sql.contains("(CASE WHEN s.words LIKE $6 THEN 1 ELSE 0 END + CASE WHEN s.words LIKE $7 THEN 1 ELSE 0 END) AS r"),
            "{sql}"
        );
        assert!(sql.contains("LIMIT $8"), "{sql}");
        assert_eq!(st.args.len(), 8);

        let unknown = [word(Spelt::Unknown)];
        let both = Batch {
            establishments: 50,
            profession: None,
            ..batch
        };
        let (sql, st) = statement(&both, &unknown);
        assert!(sql.starts_with("WITH w AS MATERIALIZED (SELECT EXISTS (SELECT 1 FROM directory_search WHERE insee_code IN ($1, $2, $3) AND (words LIKE $4 OR words LIKE $5)) AS f0)"), "{sql}");
        assert!(sql.contains("AND (NOT w.f0 OR s.words LIKE"), "{sql}");
        assert!(sql.contains("(CASE WHEN w.f0 THEN 0 ELSE "), "{sql}");
        assert!(sql.ends_with("FROM w"), "{sql}");
        assert!(sql.contains("json_array(CASE WHEN w.f0 THEN 1 ELSE 0 END)"));
        // Scope (3), probe (2), communes (2), then per kind: patterns (2),
        // typo patterns (2), limit (1).
        assert_eq!(st.args.len(), 3 + 2 + 2 + 5 + 5);
    }
}
