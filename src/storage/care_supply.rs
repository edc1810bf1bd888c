//! Care supply per commune and profession (`commune_supply`), kept current:
//! the RPPS and FINESS imports recompute it in their own transaction
//! ([`refresh_in!`]), so that it never disagrees with the registers.
//!
//! The rule (`domain::diagnosis::profession`): a practice place counts for
//! a profession when its professional has the profession's RPPS code (with
//! a general-medicine savoir-faire for GPs), its sector is care outside
//! hospital, and its commune is known; a professional with n such places
//! counts 1/n at each. Pharmacies are FINESS establishments of category
//! 620, 1 each. The SQL is set-based (a window count per professional) and
//! the same text runs on both backends.

use std::collections::HashMap;

use super::{Db, DbResult};
use crate::db_run;
use crate::domain::diagnosis::profession::{
    Profession, Register, MODE_LIBERAL, OUTSIDE_HOSPITAL_SECTORS,
};

const BATCH: usize = 300;

fn quoted(codes: &[&str]) -> String {
    codes
        .iter()
        .map(|c| format!("'{}'", c.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The statements that recompute `commune_supply` for these professions:
/// one `DELETE`, then one `INSERT … SELECT` per FINESS profession and for
/// the RPPS professions either one each (`together` false) or one for all
/// of them (a single join of the places with their professionals; each
/// professional has one profession code, and the codes of the RPPS
/// professions differ, so a place counts for one profession at most and a
/// professional's places are counted within it). PostgreSQL runs them
/// together (3.0 s instead of 5.5 s after a national first import);
/// SQLite one by one (2.8 s instead of 3.5 s: through the profession
/// index, each profession's places are sorted for the window on their
/// own). Only constants of the domain are written into the text.
pub fn refresh_sql(professions: &[Profession], together: bool) -> Vec<String> {
    let mut out = vec![supply_delete_sql(professions)];
    let (rpps, finess): (Vec<Profession>, Vec<Profession>) = professions
        .iter()
        .partition(|p| matches!(p.register(), Register::Rpps { .. }));
    if together && !rpps.is_empty() {
        out.push(rpps_insert_sql(&rpps));
    } else {
        out.extend(rpps.iter().map(|p| rpps_insert_sql(&[*p])));
    }
    for p in finess {
        if let Register::Finess { category_code } = p.register() {
            out.push(format!(
                "INSERT INTO commune_supply (insee_code, profession, supply) \
                 SELECT insee_code, {slug}, CAST(COUNT(*) AS DOUBLE PRECISION) FROM establishments \
                 WHERE category_code = {cat} AND insee_code IS NOT NULL GROUP BY insee_code",
                slug = quoted(&[p.slug()]),
                cat = quoted(&[category_code])
            ));
        }
    }
    out
}

/// The `DELETE` of these professions' supply.
pub fn supply_delete_sql(professions: &[Profession]) -> String {
    let slugs: Vec<&str> = professions.iter().map(|p| p.slug()).collect();
    format!(
        "DELETE FROM commune_supply WHERE profession IN ({})",
        quoted(&slugs)
    )
}

/// The `INSERT … SELECT` of these RPPS professions' supply, each place
/// named after its professional's profession (see [`refresh_sql`]).
fn rpps_insert_sql(professions: &[Profession]) -> String {
    let mut cases = String::new();
    let mut filters = Vec::new();
    for p in professions {
        if let Register::Rpps {
            profession_code,
            specialty_codes,
        } = p.register()
        {
            let code = quoted(&[profession_code]);
            let specialty = if specialty_codes.is_empty() {
                String::new()
            } else {
                format!(" AND pl.specialty_code IN ({})", quoted(specialty_codes))
            };
            cases.push_str(&format!(" WHEN {code} THEN {}", quoted(&[p.slug()])));
            filters.push(format!("(p.profession_code = {code}{specialty})"));
        }
    }
    format!(
        "INSERT INTO commune_supply (insee_code, profession, supply) \
         SELECT e.insee_code, e.profession, CAST(SUM(CAST(1 AS DOUBLE PRECISION) / e.n) AS DOUBLE PRECISION) FROM ( \
           SELECT pl.insee_code, CASE p.profession_code{cases} END AS profession, \
           COUNT(*) OVER (PARTITION BY pl.rpps) AS n \
           FROM practice_places pl JOIN professionals p ON p.rpps = pl.rpps \
           WHERE pl.insee_code IS NOT NULL AND ({filters}) \
           AND (pl.sector_code IN ({sectors}) OR (pl.sector_code = '' AND pl.mode_code = {liberal})) \
         ) e GROUP BY e.insee_code, e.profession",
        filters = filters.join(" OR "),
        sectors = quoted(&OUTSIDE_HOSPITAL_SECTORS),
        liberal = quoted(&[MODE_LIBERAL]),
    )
}

/// The professions whose supply an import of this register changes.
pub fn professions_of(rpps: bool) -> Vec<Profession> {
    Profession::ALL
        .into_iter()
        .filter(|p| matches!(p.register(), Register::Rpps { .. }) == rpps)
        .collect()
}

/// Recompute the supply of these professions inside an open transaction
/// (`&mut *tx` of either backend): `refresh_in!(tx, &professions, together)`,
/// `together` as in [`refresh_sql`]. The imports call it just before they
/// commit.
macro_rules! refresh_in {
    ($tx:expr, $professions:expr, $together:expr) => {
        for sql in $crate::storage::care_supply::refresh_sql(&$professions, $together) {
            sqlx::query(&sql).execute(&mut *$tx).await?;
        }
    };
}
pub(crate) use refresh_in;

/// Recompute the whole table in one write transaction (the imports do it
/// themselves; this is for a database migrated after its imports, and for
/// the benchmark).
pub async fn refresh(db: &Db) -> DbResult<()> {
    let all = Profession::ALL;
    let together = matches!(db, Db::Postgres(_));
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        refresh_in!(tx, all, together);
        tx.commit().await?;
    });
    Ok(())
}

/// S_j of a profession for these communes (communes without supply are
/// left out of the map: their supply is 0).
pub async fn supply(
    db: &Db,
    profession: Profession,
    codes: &[String],
) -> DbResult<HashMap<String, f64>> {
    let mut out = HashMap::new();
    for chunk in codes.chunks(BATCH) {
        let marks: Vec<String> = (2..chunk.len() + 2).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT insee_code, supply FROM commune_supply WHERE profession = $1 AND insee_code IN ({})",
            marks.join(", ")
        );
        let rows: Vec<(String, f64)> = db_run!(db, pool => {
            let mut q = sqlx::query_as::<_, (String, f64)>(&sql).bind(profession.slug());
            for c in chunk {
                q = q.bind(c);
            }
            q.fetch_all(pool).await?
        });
        out.extend(rows);
    }
    Ok(out)
}

/// S_j of a profession for every commune that has some (national runs).
pub async fn supply_all(db: &Db, profession: Profession) -> DbResult<HashMap<String, f64>> {
    let rows: Vec<(String, f64)> = db_run!(db, pool => sqlx::query_as::<_, (String, f64)>(
        "SELECT insee_code, supply FROM commune_supply WHERE profession = $1",
    )
    .bind(profession.slug())
    .fetch_all(pool)
    .await?);
    Ok(rows.into_iter().collect())
}

/// Supply and population of an area, for a density per 10,000.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Total {
    pub supply: f64,
    /// Inhabitants of the area's current communes (`communes.population`).
    pub population: i64,
}

impl Total {
    /// Supply per 10,000 inhabitants.
    pub fn density(&self) -> Option<f64> {
        crate::domain::diagnosis::density_per_10000(self.supply, self.population as f64)
    }
}

/// A profession's totals by département, by région and for France.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    pub departements: HashMap<String, Total>,
    pub regions: HashMap<String, Total>,
    pub france: Total,
}

/// Sums for densities. Supply is placed by the commune of each practice
/// place (an arrondissement or a delegated commune counts in its
/// département and région); population is that of current communes only
/// (arrondissements and delegated communes would count people twice).
/// France's supply is every row, communes unknown to the communes table
/// included.
pub async fn totals_by(db: &Db, profession: Profession) -> DbResult<Totals> {
    type Row = (Option<String>, Option<String>, f64);
    let supply: Vec<Row> = db_run!(db, pool => sqlx::query_as::<_, Row>(
        "SELECT c.departement, c.region, CAST(SUM(s.supply) AS DOUBLE PRECISION) FROM commune_supply s \
         LEFT JOIN communes c ON c.insee_code = s.insee_code WHERE s.profession = $1 \
         GROUP BY c.departement, c.region",
    )
    .bind(profession.slug())
    .fetch_all(pool)
    .await?);
    type PopRow = (Option<String>, Option<String>, Option<i64>);
    let population: Vec<PopRow> = db_run!(db, pool => sqlx::query_as::<_, PopRow>(
        "SELECT departement, region, CAST(SUM(population) AS BIGINT) FROM communes \
         WHERE kind = 'commune-actuelle' GROUP BY departement, region",
    )
    .fetch_all(pool)
    .await?);
    let mut t = Totals::default();
    for (dep, reg, s) in supply {
        t.france.supply += s;
        if let Some(d) = dep {
            t.departements.entry(d).or_default().supply += s;
        }
        if let Some(r) = reg {
            t.regions.entry(r).or_default().supply += s;
        }
    }
    for (dep, reg, p) in population {
        let p = p.unwrap_or(0);
        t.france.population += p;
        if let Some(d) = dep {
            t.departements.entry(d).or_default().population += p;
        }
        if let Some(r) = reg {
            t.regions.entry(r).or_default().population += p;
        }
    }
    Ok(t)
}

/// Supply and population of a list of communes (a territory).
pub async fn totals_for(db: &Db, profession: Profession, codes: &[String]) -> DbResult<Total> {
    let mut t = Total {
        supply: supply(db, profession, codes).await?.values().sum(),
        population: 0,
    };
    for chunk in codes.chunks(BATCH) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT CAST(SUM(population) AS BIGINT) FROM communes WHERE insee_code IN ({})",
            marks.join(", ")
        );
        let p: Option<i64> = db_run!(db, pool => {
            let mut q = sqlx::query_scalar::<_, Option<i64>>(&sql);
            for c in chunk {
                q = q.bind(c);
            }
            q.fetch_one(pool).await?
        });
        t.population += p.unwrap_or(0);
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `refresh_sql` counts every RPPS profession in one statement, which
    /// holds only while their profession codes differ.
    #[test]
    fn rpps_professions_have_distinct_codes() {
        let mut codes: Vec<&str> = Profession::ALL
            .into_iter()
            .filter_map(|p| match p.register() {
                Register::Rpps {
                    profession_code, ..
                } => Some(profession_code),
                Register::Finess { .. } => None,
            })
            .collect();
        let n = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), n);
        assert!(n >= 2);
    }

    #[test]
    fn one_delete_then_the_rpps_professions_then_finess() {
        let all = refresh_sql(&Profession::ALL, true);
        assert_eq!(all.len(), 3, "{all:#?}");
        assert!(
            all[0].starts_with("DELETE FROM commune_supply WHERE profession IN ('generalistes'")
        );
        assert!(all[1].contains("WHEN '60' THEN 'infirmiers'"));
        assert!(all[2].contains("FROM establishments"));
        assert_eq!(refresh_sql(&professions_of(false), true).len(), 2);
        assert_eq!(refresh_sql(&professions_of(true), true).len(), 2);
        let apart = refresh_sql(&Profession::ALL, false);
        assert_eq!(apart.len(), 7, "{apart:#?}");
        assert!(apart[1].contains("WHEN '10' THEN 'generalistes' END"));
        assert!(apart[6].contains("FROM establishments"));
    }
}
