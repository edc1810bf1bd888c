//! The public directory page's territory in one statement: the territory,
//! its communes and their reference points, the point of the commune the
//! search is centred on, the filters (facets) with the labels of those
//! asked for, the coordination's local services and marks, and the dates
//! of the latest imports for the sources note. The search's candidates are
//! the page's second statement (`storage::directory::candidates`).
//!
//! It replaces eight statements (`territories::get_by_slug` and
//! `communes`, `directory::commune_points` or `commune_point`, `facets`,
//! `facet_label`, `services::list`, `services::marks`, and
//! `directory::latest_import` twice).

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{commune, for_backend, list, one, territory_sql, timestamp, CommuneRow, Flag};
use crate::storage::communes::Commune;
use crate::storage::directory::{
    EstablishmentRow, Facets, Point, PracticePlaceRow, ProfessionalRow,
};
use crate::storage::services::{Mark, ServiceRow};
use crate::storage::territories::Territory;
use crate::storage::{Backend, Db, DbResult};

/// What the public directory page reads of its territory.
#[derive(Debug)]
pub struct DirectoryPage {
    pub territory: Territory,
    /// By name.
    pub communes: Vec<Commune>,
    /// The reference points of the communes that have one
    /// (`storage::directory::commune_points`).
    pub points: Vec<Point>,
    /// The reference point of the commune asked for (`commune_point`).
    pub chosen_point: Option<Point>,
    /// The categories and professions of the territory's communes, by
    /// label (as `storage::directory::facets`).
    pub facets: Facets,
    /// The labels of the profession and the category asked for, wherever
    /// they are present (`facet_label`).
    pub profession_label: Option<String>,
    pub category_label: Option<String>,
    /// The local services, by name.
    pub services: Vec<ServiceRow>,
    /// The territory's marks on entries.
    pub marks: Vec<Mark>,
    /// The latest FINESS import: the file's date and when it finished.
    pub finess_import: Option<(String, DateTime<Utc>)>,
    /// The latest RPPS import: the same.
    pub rpps_import: Option<(String, DateTime<Utc>)>,
}

/// A local service `v` as [`ServiceColumns`].
const SERVICE: &str = "json_array(
  json_array(v.id, v.name, v.kind, v.description, v.publics, v.fees, v.opening_hours, v.address,
    v.postal_code, v.insee_code),
  json_array(v.city, v.phone, v.email, v.website, v.area, v.accessibility,
    CASE WHEN v.msp THEN 1 ELSE 0 END, CASE WHEN v.cpts THEN 1 ELSE 0 END, v.version, v.updated_at))";

/// A mark `m` as [`MarkColumns`].
const MARK: &str = "json_array(m.entry_kind, m.entry_id, CASE WHEN m.msp THEN 1 ELSE 0 END,
  CASE WHEN m.cpts THEN 1 ELSE 0 END, CASE WHEN m.hidden THEN 1 ELSE 0 END, m.hidden_reason,
  m.accessibility)";

/// The columns `finess_import` and `rpps_import`: the latest import of
/// each source, its file's date and when it finished.
const LATEST_IMPORTS: &str =
    "(SELECT CAST(json_array(i.file_date, i.finished_at) AS TEXT) FROM directory_imports i
     WHERE i.source = 'finess' ORDER BY i.started_at DESC, i.id DESC LIMIT 1) AS finess_import,
  (SELECT CAST(json_array(i.file_date, i.finished_at) AS TEXT) FROM directory_imports i
     WHERE i.source = 'rpps' ORDER BY i.started_at DESC, i.id DESC LIMIT 1) AS rpps_import";

/// A page's template with the territory's and the directory's pieces in
/// place, for a backend.
fn directory_sql(template: &str, backend: Backend) -> String {
    let sql = territory_sql(template)
        .replace("{SERVICE}", SERVICE)
        .replace("{MARK}", MARK)
        .replace("{LATEST_IMPORTS}", LATEST_IMPORTS);
    for_backend(&sql, backend)
}

/// `$1` the territory's slug, `$2` the commune asked for, `$3` the
/// profession, `$4` the category ('' for none). The rows of the
/// territory's communes are read from `territory_communes` outwards
/// (`CROSS JOIN` fixes that order on SQLite, whose planner otherwise scans
/// the country's facet counts and commune points in index order). A label
/// is looked up only for a filter asked for, as the first row of its code
/// in commune order: one probe of the index `(kind, code, insee_code)`
/// (migration 0029). Without the order PostgreSQL's generic plan of
/// `… code = $3 LIMIT 1` scanned the table until a row matched, the whole
/// of it (50 ms at national size) for a code present nowhere, or ''.
const DIRECTORY_PAGE: &str = "
WITH t AS (
  {TERRITORY_ROW}
)
SELECT
  {TERRITORY_COLUMNS},
  {COMMUNES} AS communes,
  (SELECT CAST(json_group_array(json_array(x.longitude, x.latitude)) AS TEXT)
     FROM (SELECT g.longitude, g.latitude FROM territory_communes tc CROSS JOIN commune_geo g
           WHERE tc.territory_id = t.id AND g.insee_code = tc.insee_code
           UNION ALL
           SELECT p.longitude, p.latitude FROM territory_communes tc CROSS JOIN commune_points p
           WHERE tc.territory_id = t.id AND p.insee_code = tc.insee_code
             AND NOT EXISTS (SELECT 1 FROM commune_geo g WHERE g.insee_code = p.insee_code)) x) AS points,
  (SELECT CAST(json_array(x.longitude, x.latitude) AS TEXT)
     FROM (SELECT longitude, latitude, 0 AS k FROM commune_geo WHERE insee_code = $2
           UNION ALL
           SELECT longitude, latitude, 1 AS k FROM commune_points WHERE insee_code = $2
           ORDER BY 3 LIMIT 1) x) AS chosen_point,
  (SELECT CAST(json_group_array(json_array(f.kind, f.code, f.label)) AS TEXT)
     FROM (SELECT d.kind, d.code, MAX(d.label) AS label
           FROM territory_communes tc CROSS JOIN directory_facet_counts d
           WHERE tc.territory_id = t.id AND d.insee_code = tc.insee_code
           GROUP BY d.kind, d.code) f) AS facets,
  CASE WHEN $3 = '' THEN NULL
    ELSE (SELECT label FROM directory_facet_counts WHERE kind = 'profession' AND code = $3
          ORDER BY insee_code LIMIT 1)
  END AS profession_label,
  CASE WHEN $4 = '' THEN NULL
    ELSE (SELECT label FROM directory_facet_counts WHERE kind = 'category' AND code = $4
          ORDER BY insee_code LIMIT 1)
  END AS category_label,
  (SELECT CAST(json_group_array({SERVICE}
          ORDER BY v.name_search) AS TEXT)
     FROM local_services v WHERE v.territory_id = t.id) AS services,
  (SELECT CAST(json_group_array({MARK} ORDER BY m.entry_kind, m.entry_id) AS TEXT)
     FROM directory_marks m WHERE m.territory_id = t.id) AS marks,
  {LATEST_IMPORTS}
FROM t
";

static DIRECTORY_PAGE_SQLITE: LazyLock<String> =
    LazyLock::new(|| directory_page_sql(Backend::Sqlite));
static DIRECTORY_PAGE_POSTGRES: LazyLock<String> =
    LazyLock::new(|| directory_page_sql(Backend::Postgres));

fn directory_page_sql(backend: Backend) -> String {
    directory_sql(DIRECTORY_PAGE, backend)
}

/// A local service as [`DIRECTORY_PAGE`] lists it, in two arrays (serde
/// reads tuples of sixteen at most).
type ServiceColumns = (
    (
        i64,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        Option<String>,
    ),
    (
        String,
        String,
        String,
        String,
        String,
        String,
        Flag,
        Flag,
        i64,
        String,
    ),
);

type MarkColumns = (String, String, Flag, Flag, Flag, String, String);

fn service(
    (
        (
            id,
            name,
            kind,
            description,
            publics,
            fees,
            opening_hours,
            address,
            postal_code,
            insee_code,
        ),
        (city, phone, email, website, area, accessibility, msp, cpts, version, updated_at),
    ): ServiceColumns,
) -> DbResult<ServiceRow> {
    Ok(ServiceRow {
        id,
        name,
        kind,
        description,
        publics,
        fees,
        opening_hours,
        address,
        postal_code,
        insee_code,
        city,
        phone,
        email,
        website,
        area,
        accessibility,
        msp: msp != 0,
        cpts: cpts != 0,
        version,
        updated_at: timestamp(&updated_at)?,
    })
}

fn mark(
    (entry_kind, entry_id, msp, cpts, hidden, hidden_reason, accessibility): MarkColumns,
) -> Mark {
    Mark {
        entry_kind,
        entry_id,
        msp: msp != 0,
        cpts: cpts != 0,
        hidden: hidden != 0,
        hidden_reason,
        accessibility,
    }
}

fn import(text: Option<String>) -> DbResult<Option<(String, DateTime<Utc>)>> {
    one::<(String, String)>(text)?
        .map(|(file_date, finished)| Ok((file_date, timestamp(&finished)?)))
        .transpose()
}

/// The directory page of the territory `slug` (never the regional owner),
/// centred on the commune `commune` when it is not empty, with the labels
/// of `profession` and `category` (see [`DIRECTORY_PAGE`]).
pub async fn directory_page(
    db: &Db,
    slug: &str,
    commune_code: &str,
    profession: &str,
    category: &str,
) -> DbResult<Option<DirectoryPage>> {
    let read = territory_page!(
        db,
        DIRECTORY_PAGE_SQLITE,
        DIRECTORY_PAGE_POSTGRES,
        [slug, commune_code, profession, category],
        [
            "communes",
            "points",
            "chosen_point",
            "facets",
            "profession_label",
            "category_label",
            "services",
            "marks",
            "finess_import",
            "rpps_import",
        ]
    );
    let Some((territory, cols)) = read else {
        return Ok(None);
    };
    let [communes, points, chosen_point, facets, profession_label, category_label, services, marks, finess_import, rpps_import] =
        cols;
    let communes: Vec<CommuneRow> = list(communes)?;
    let point = |(longitude, latitude): (f64, f64)| Point {
        longitude,
        latitude,
    };
    let mut out = Facets::default();
    for (kind, code, label) in list::<(String, String, String)>(facets)? {
        match kind.as_str() {
            "category" => out.categories.push((code, label)),
            "profession" => out.professions.push((code, label)),
            _ => {}
        }
    }
    for facet in [&mut out.categories, &mut out.professions] {
        facet.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    }
    let services: Vec<ServiceColumns> = list(services)?;
    let marks: Vec<MarkColumns> = list(marks)?;
    Ok(Some(DirectoryPage {
        territory,
        communes: communes.into_iter().map(commune).collect(),
        points: list::<(f64, f64)>(points)?.into_iter().map(point).collect(),
        chosen_point: one::<(f64, f64)>(chosen_point)?.map(point),
        facets: out,
        profession_label,
        category_label,
        services: services.into_iter().map(service).collect::<DbResult<_>>()?,
        marks: marks.into_iter().map(mark).collect(),
        finess_import: import(finess_import)?,
        rpps_import: import(rpps_import)?,
    }))
}

/// An entry of the public directory, by its key.
#[derive(Debug, Clone, Copy)]
pub enum EntryKey<'a> {
    /// FINESS number.
    Establishment(&'a str),
    /// RPPS identifier.
    Professional(&'a str),
    /// A local service of the territory.
    Service(i64),
}

/// An entry as stored.
#[derive(Debug)]
pub enum Entry {
    Establishment(EstablishmentRow),
    /// With the practice places, in order.
    Professional(ProfessionalRow, Vec<PracticePlaceRow>),
    Service(ServiceRow),
}

/// What the page of a directory entry reads.
#[derive(Debug)]
pub struct EntryPage {
    pub territory: Territory,
    /// None when the entry is unknown (or a service of another territory).
    pub entry: Option<Entry>,
    /// The territory's marks on the entry, if any.
    pub mark: Option<Mark>,
    /// As [`DirectoryPage::finess_import`] and `rpps_import`.
    pub finess_import: Option<(String, DateTime<Utc>)>,
    pub rpps_import: Option<(String, DateTime<Utc>)>,
}

/// `$1` the territory's slug, `$2` the entry's identifier (as text);
/// `{KIND}` the entry's kind in `directory_marks`, `{ENTRY}` the columns
/// `entry` and `places`.
const ENTRY_PAGE: &str = "
WITH t AS (
  {TERRITORY_ROW}
)
SELECT
  {TERRITORY_COLUMNS},
  (SELECT CAST({MARK} AS TEXT)
     FROM directory_marks m WHERE m.territory_id = t.id AND m.entry_kind = '{KIND}' AND m.entry_id = $2) AS mark,
  {LATEST_IMPORTS},
  {ENTRY}
FROM t
";

/// The entry columns of an establishment, in [`EstablishmentRow`]'s order.
const ESTABLISHMENT_ENTRY: &str =
    "(SELECT CAST(json_array(e.finess, e.name, e.long_name, e.address,
       e.postal_code, e.city, e.insee_code, e.phone, e.category_code, e.category_label, e.longitude,
       e.latitude) AS TEXT) FROM establishments e WHERE e.finess = $2) AS entry,
  CAST(NULL AS TEXT) AS places";

/// Of a professional, in [`ProfessionalRow`]'s and [`PracticePlaceRow`]'s
/// orders.
const PROFESSIONAL_ENTRY: &str = "(SELECT CAST(json_array(p.rpps, p.last_name, p.first_name,
       p.profession_code, p.profession_label) AS TEXT) FROM professionals p WHERE p.rpps = $2) AS entry,
  (SELECT CAST(json_group_array(json_array(pl.specialty_label, pl.mode_code, pl.sector_code,
       pl.finess_site, pl.siret_site, pl.site_name, pl.address, pl.postal_code, pl.insee_code, pl.city,
       pl.phone) ORDER BY pl.position) AS TEXT) FROM practice_places pl WHERE pl.rpps = $2) AS places";

/// Of a local service of the territory, as [`ServiceColumns`].
const SERVICE_ENTRY: &str = "(SELECT CAST({SERVICE}
       AS TEXT) FROM local_services v WHERE v.id = CAST($2 AS BIGINT) AND v.territory_id = t.id) AS entry,
  CAST(NULL AS TEXT) AS places";

fn entry_page_sql(kind: &str, entry: &str, backend: Backend) -> String {
    directory_sql(
        &ENTRY_PAGE.replace("{KIND}", kind).replace("{ENTRY}", entry),
        backend,
    )
}

/// The statements of the three kinds of entry, for SQLite then PostgreSQL.
static ENTRY_PAGES: LazyLock<[[String; 2]; 3]> = LazyLock::new(|| {
    [
        ("establishment", ESTABLISHMENT_ENTRY),
        ("professional", PROFESSIONAL_ENTRY),
        ("service", SERVICE_ENTRY),
    ]
    .map(|(kind, entry)| {
        [
            entry_page_sql(kind, entry, Backend::Sqlite),
            entry_page_sql(kind, entry, Backend::Postgres),
        ]
    })
});

/// The page of a directory entry of the territory `slug` (never the
/// regional owner), in one statement (see [`ENTRY_PAGE`]).
pub async fn entry_page(db: &Db, slug: &str, key: EntryKey<'_>) -> DbResult<Option<EntryPage>> {
    let (which, id) = match key {
        EntryKey::Establishment(f) => (0, f.to_owned()),
        EntryKey::Professional(r) => (1, r.to_owned()),
        EntryKey::Service(n) => (2, n.to_string()),
    };
    let [sqlite, postgres] = &ENTRY_PAGES[which];
    let read = territory_page!(
        db,
        sqlite.as_str(),
        postgres.as_str(),
        [slug, &id],
        ["mark", "finess_import", "rpps_import", "entry", "places"]
    );
    let Some((territory, [mark_col, finess_import, rpps_import, entry, places])) = read else {
        return Ok(None);
    };
    let entry = match key {
        EntryKey::Establishment(_) => one::<EstablishmentRow>(entry)?.map(Entry::Establishment),
        EntryKey::Professional(_) => match one::<ProfessionalRow>(entry)? {
            Some(p) => Some(Entry::Professional(p, list(places)?)),
            None => None,
        },
        EntryKey::Service(_) => one::<ServiceColumns>(entry)?
            .map(service)
            .transpose()?
            .map(Entry::Service),
    };
    Ok(Some(EntryPage {
        territory,
        entry,
        mark: one::<MarkColumns>(mark_col)?.map(mark),
        finess_import: import(finess_import)?,
        rpps_import: import(rpps_import)?,
    }))
}
