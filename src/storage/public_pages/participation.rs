//! The public « Participer » page of a territory in one statement: the
//! territory, its communes, its consultations, its bodies with their
//! members counted, its bodies' coming public meetings and its latest
//! published ideas; and the idea box's page, its communes and published
//! ideas, in another.
//!
//! The first replaces six statements (`territories::get_by_slug` and `communes`,
//! `participation::list_consultations`, `list_bodies`,
//! `upcoming_public_meetings` and `list_ideas`). The ideas come without the
//! personal data the coordination keeps with them (contact, moderation
//! reason): the public page shows none of it.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{
    commune, for_backend, list, public_meeting, territory_sql, timestamp, CommuneRow, Flag,
    MeetingRow, PUBLIC_MEETINGS,
};
use crate::storage::communes::Commune;
use crate::storage::participation::{Body, Consultation, Idea, Meeting};
use crate::storage::territories::Territory;
use crate::storage::{Backend, Db, DbResult};

/// How many published ideas the page shows, newest first.
pub const PARTICIPER_IDEAS: i64 = 5;

/// What the « Participer » page reads.
#[derive(Debug)]
pub struct ParticiperPage {
    pub territory: Territory,
    /// By name.
    pub communes: Vec<Commune>,
    /// As `participation::list_consultations`: latest closing first.
    pub consultations: Vec<Consultation>,
    /// As `participation::list_bodies`: committees first, then by name;
    /// members counted on the day given.
    pub bodies: Vec<Body>,
    /// As `participation::upcoming_public_meetings`, with the body's name.
    pub meetings: Vec<(Meeting, String)>,
    /// The latest [`PARTICIPER_IDEAS`] published ideas, newest first, their
    /// contact and moderation reason left empty.
    pub ideas: Vec<Idea>,
}

/// The published ideas of the territory `t`, newest first, as [`IdeaRow`]s
/// (`participation::list_ideas`, without their personal data); `{LIMIT}`
/// a `LIMIT` clause or nothing.
const PUBLISHED_IDEAS: &str = "(SELECT CAST(json_group_array(json_array(x.id, x.territory_id, x.kind, x.text,
            x.theme, x.insee_code, x.status, x.merged_into, x.answer, x.action_id, x.action_code, x.version,
            x.created_at) ORDER BY x.created_at DESC, x.id DESC) AS TEXT)
     FROM (SELECT i.id, i.territory_id, i.kind, i.text, i.theme, i.insee_code, i.status, i.merged_into,
             i.answer, i.action_id, a.code AS action_code, i.version, i.created_at
           FROM ideas i LEFT JOIN actions a ON a.id = i.action_id
           WHERE i.territory_id = t.id AND i.status = 'published'
           ORDER BY i.created_at DESC, i.id DESC{LIMIT}) x)";

/// `$1` the territory's slug, `$2` the moment meetings are shown from, `$3`
/// the day members are counted on (`YYYY-MM-DD`, Europe/Paris).
const PARTICIPER: &str = "
WITH t AS (
  {TERRITORY_ROW}
)
SELECT
  {TERRITORY_COLUMNS},
  {COMMUNES} AS communes,
  (SELECT CAST(json_group_array({CONSULTATION} ORDER BY c.closes_on DESC, c.id DESC) AS TEXT)
     FROM consultations c WHERE c.territory_id = t.id) AS consultations,
  (SELECT CAST(json_group_array(json_array(b.id, b.territory_id, b.kind, b.name, b.theme, b.purpose, b.capacity,
            CASE WHEN b.open THEN 1 ELSE 0 END, b.version,
            (SELECT COUNT(*) FROM body_members m WHERE m.body_id = b.id
               AND (m.mandate_end IS NULL OR m.mandate_end >= $3)
               AND (m.mandate_start IS NULL OR m.mandate_start <= $3)))
          ORDER BY CASE b.kind WHEN 'steering_committee' THEN 0 WHEN 'technical_committee' THEN 1 ELSE 2 END,
            b.name) AS TEXT)
     FROM bodies b WHERE b.territory_id = t.id) AS bodies,
  {PUBLIC_MEETINGS} AS meetings,
  {PUBLISHED_IDEAS} AS ideas
FROM t
";

/// A consultation `c` as a [`ConsultationRow`], its answers counted
/// (`participation::list_consultations`' columns).
pub(super) const CONSULTATION: &str =
    "json_array(c.id, c.territory_id, c.title, c.intro, c.opens_on, c.closes_on,
            CASE WHEN c.panel_only THEN 1 ELSE 0 END, CASE WHEN c.results_published THEN 1 ELSE 0 END,
            c.version, (SELECT COUNT(*) FROM responses r WHERE r.consultation_id = c.id))";

static PARTICIPER_SQLITE: LazyLock<String> = LazyLock::new(|| participer_sql(Backend::Sqlite));
static PARTICIPER_POSTGRES: LazyLock<String> = LazyLock::new(|| participer_sql(Backend::Postgres));

fn participer_sql(backend: Backend) -> String {
    let sql = territory_sql(PARTICIPER)
        .replace("{CONSULTATION}", CONSULTATION)
        .replace("{PUBLIC_MEETINGS}", PUBLIC_MEETINGS)
        .replace("{PUBLISHED_IDEAS}", PUBLISHED_IDEAS)
        .replace("{LIMIT}", &format!(" LIMIT {PARTICIPER_IDEAS}"));
    for_backend(&sql, backend)
}

pub(super) type ConsultationRow = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    Flag,
    Flag,
    i64,
    i64,
);

type BodyRow = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    Option<i64>,
    Flag,
    i64,
    i64,
);

type IdeaRow = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    Option<i64>,
    String,
    Option<i64>,
    Option<String>,
    i64,
    String,
);

pub(super) fn consultation(c: ConsultationRow) -> Consultation {
    Consultation {
        id: c.0,
        territory_id: c.1,
        title: c.2,
        intro: c.3,
        opens_on: c.4,
        closes_on: c.5,
        panel_only: c.6 != 0,
        results_published: c.7 != 0,
        version: c.8,
        response_count: c.9,
    }
}

fn idea(
    (
        id,
        territory_id,
        kind,
        text,
        theme,
        insee_code,
        status,
        merged_into,
        answer,
        action_id,
        action_code,
        version,
        created_at,
    ): IdeaRow,
) -> DbResult<Idea> {
    Ok(Idea {
        id,
        territory_id,
        kind,
        text,
        theme,
        insee_code,
        contact_name: String::new(),
        contact_email: String::new(),
        status,
        reason: String::new(),
        merged_into,
        answer,
        action_id,
        action_code,
        version,
        created_at: timestamp(&created_at)?,
    })
}

/// The « Participer » page of the territory `slug` (never the regional
/// owner): meetings from `from`, members counted on `today` (see
/// [`PARTICIPER`]).
pub async fn participer_page(
    db: &Db,
    slug: &str,
    from: DateTime<Utc>,
    today: &str,
) -> DbResult<Option<ParticiperPage>> {
    let read = territory_page!(
        db,
        PARTICIPER_SQLITE,
        PARTICIPER_POSTGRES,
        [slug, from, today],
        ["communes", "consultations", "bodies", "meetings", "ideas"]
    );
    let Some((territory, [communes, consultations, bodies, meetings, ideas])) = read else {
        return Ok(None);
    };
    let communes: Vec<CommuneRow> = list(communes)?;
    let consultations: Vec<ConsultationRow> = list(consultations)?;
    let bodies: Vec<BodyRow> = list(bodies)?;
    let meetings: Vec<MeetingRow> = list(meetings)?;
    let ideas: Vec<IdeaRow> = list(ideas)?;
    Ok(Some(ParticiperPage {
        territory,
        communes: communes.into_iter().map(commune).collect(),
        consultations: consultations.into_iter().map(consultation).collect(),
        bodies: bodies
            .into_iter()
            .map(|b| Body {
                id: b.0,
                territory_id: b.1,
                kind: b.2,
                name: b.3,
                theme: b.4,
                purpose: b.5,
                capacity: b.6,
                open: b.7 != 0,
                version: b.8,
                member_count: b.9,
            })
            .collect(),
        meetings: meetings
            .into_iter()
            .map(public_meeting)
            .collect::<DbResult<_>>()?,
        ideas: ideas.into_iter().map(idea).collect::<DbResult<_>>()?,
    }))
}

/// What the idea box's page reads.
#[derive(Debug)]
pub struct IdeasPage {
    pub territory: Territory,
    /// By name.
    pub communes: Vec<Commune>,
    /// Every published idea, newest first, without its personal data.
    pub ideas: Vec<Idea>,
}

/// `$1` the territory's slug.
const IDEAS_PAGE: &str = "
WITH t AS (
  {TERRITORY_ROW}
)
SELECT
  {TERRITORY_COLUMNS},
  {COMMUNES} AS communes,
  {PUBLISHED_IDEAS} AS ideas
FROM t
";

static IDEAS_PAGE_SQLITE: LazyLock<String> = LazyLock::new(|| ideas_page_sql(Backend::Sqlite));
static IDEAS_PAGE_POSTGRES: LazyLock<String> = LazyLock::new(|| ideas_page_sql(Backend::Postgres));

fn ideas_page_sql(backend: Backend) -> String {
    let sql = territory_sql(IDEAS_PAGE)
        .replace("{PUBLISHED_IDEAS}", PUBLISHED_IDEAS)
        .replace("{LIMIT}", "");
    for_backend(&sql, backend)
}

/// The idea box's page of the territory `slug` (never the regional owner)
/// in one statement (see [`IDEAS_PAGE`]).
pub async fn ideas_page(db: &Db, slug: &str) -> DbResult<Option<IdeasPage>> {
    let read = territory_page!(
        db,
        IDEAS_PAGE_SQLITE,
        IDEAS_PAGE_POSTGRES,
        [slug],
        ["communes", "ideas"]
    );
    let Some((territory, [communes, ideas])) = read else {
        return Ok(None);
    };
    let communes: Vec<CommuneRow> = list(communes)?;
    let ideas: Vec<IdeaRow> = list(ideas)?;
    Ok(Some(IdeasPage {
        territory,
        communes: communes.into_iter().map(commune).collect(),
        ideas: ideas.into_iter().map(idea).collect::<DbResult<_>>()?,
    }))
}
