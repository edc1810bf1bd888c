//! Yearly review entries (« bilans annuels ») in the back office: the
//! entry of an action for a year (the lead partner and the coordination
//! write it; the coordination validates, returns or reopens it), the
//! contract's overview for a year, and a partner's list of its entries.
//! The fiche shows the years in its « Bilan annuel » part.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::NaiveDate;
use serde::Deserialize;

use super::fiche::{self, Section};
use crate::domain::contract::ActionStatus;
use crate::domain::dates::paris_datetime;
use crate::domain::review::{
    self, check_year, parse_comment, state_label, state_tag, transition, Move, ReviewRaw,
    ReviewState, Writer,
};
use crate::domain::roles::Role;
use crate::storage::contract::{self as contracts, Action, Contract};
use crate::storage::reviews::{self, Review, ReviewError};
use crate::storage::{actions, DbError};
use crate::web::access::{Access, Routes, TerritoryCtx};
use crate::web::error::AppError;
use crate::web::pages::{render, Ctx, FormErrors, Layout};
use crate::web::session::SignedIn;
use crate::web::AppState;
use crate::web::{flash, form};

pub fn routes(r: Routes) -> Routes {
    let partner = Access::Territory(Role::Partner);
    let coord = Access::Territory(Role::Coordinator);
    r.get("/admin/t/{territory}/bilans", partner, mine)
        .get(
            "/admin/t/{territory}/actions/{id}/bilan/{year}",
            partner,
            entry,
        )
        .post(
            "/admin/t/{territory}/actions/{id}/bilan/{year}",
            partner,
            save,
        )
        .post(
            "/admin/t/{territory}/actions/{id}/bilan/{year}/valider",
            coord,
            validate,
        )
        .post(
            "/admin/t/{territory}/actions/{id}/bilan/{year}/renvoyer",
            coord,
            send_back,
        )
        .post(
            "/admin/t/{territory}/actions/{id}/bilan/{year}/rouvrir",
            coord,
            reopen,
        )
        .get(
            "/admin/t/{territory}/contrats/{contract}/bilans",
            coord,
            overview_now,
        )
        .get(
            "/admin/t/{territory}/contrats/{contract}/bilans/{year}",
            coord,
            overview,
        )
}

fn date(s: &Option<String>) -> Option<NaiveDate> {
    s.as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
}

/// The years of the contract's period (`None`: it has none).
fn contract_years(c: &Contract) -> Option<Vec<i32>> {
    review::years(date(&c.period_start), date(&c.period_end))
}

/// `year` if the contract's period holds it; otherwise a 400 that says why.
fn year_of(c: &Contract, year: i32) -> Result<i32, AppError> {
    check_year(year, date(&c.period_start), date(&c.period_end))
        .map_err(|e| AppError::BadRequest(e.0))
}

fn entry_url(slug: &str, action_id: i64, year: i32) -> String {
    format!("/admin/t/{slug}/actions/{action_id}/bilan/{year}")
}

fn overview_url(slug: &str, contract_id: i64, year: i32) -> String {
    format!("/admin/t/{slug}/contrats/{contract_id}/bilans/{year}")
}

/// Who is acting on the entries of an action.
async fn writer(st: &AppState, tc: &TerritoryCtx, action_id: i64) -> Result<Writer, AppError> {
    Ok(if tc.is_coordinator() {
        Writer::Coordinator
    } else if tc.role == Some(Role::Partner)
        && actions::leads(&st.db, tc.user.user.id, action_id).await?
    {
        Writer::Lead
    } else {
        Writer::Reader
    })
}

/// « soumis le 3 février 2026 à 10 h 05 », « validé le … par … ».
fn when(r: &Review) -> String {
    match (r.state(), r.decided_at, r.submitted_at) {
        (Some(ReviewState::Validated | ReviewState::Returned), Some(d), _) => {
            format!("le {} par {}", paris_datetime(d), r.decided_by)
        }
        (Some(ReviewState::Submitted), _, Some(s)) => format!("le {}", paris_datetime(s)),
        _ => format!("modifié le {}", paris_datetime(r.updated_at)),
    }
}

// ---------------------------------------------------------------- the fiche's part

/// A year of an action's entries, as the fiche and the lists show it.
pub struct YearRow {
    pub year: i32,
    pub state: &'static str,
    pub tag: &'static str,
    pub when: String,
    pub comment: String,
    pub url: String,
    pub exists: bool,
    pub writable: bool,
    pub returned: bool,
}

/// The « Bilan annuel » part of a fiche.
#[derive(Default)]
pub struct ActionYears {
    pub rows: Vec<YearRow>,
    /// Why there are no years (the contract has no period).
    pub no_period: Option<String>,
}

fn year_row(slug: &str, action_id: i64, year: i32, r: Option<&Review>, who: Writer) -> YearRow {
    let state = r.and_then(Review::state);
    YearRow {
        year,
        state: state_label(state),
        tag: state_tag(state),
        when: r.map(when).unwrap_or_default(),
        comment: r.map(|r| r.review_comment.clone()).unwrap_or_default(),
        url: entry_url(slug, action_id, year),
        exists: r.is_some(),
        writable: review::may_write(state, who),
        returned: state == Some(ReviewState::Returned) && who != Writer::Reader,
    }
}

pub(super) async fn action_years(
    st: &AppState,
    tc: &TerritoryCtx,
    c: &Contract,
    a: &Action,
) -> Result<ActionYears, AppError> {
    let Some(years) = contract_years(c) else {
        let msg = check_year(0, None, None).err().map(|e| e.0);
        return Ok(ActionYears {
            rows: Vec::new(),
            no_period: msg,
        });
    };
    let who = writer(st, tc, a.id).await?;
    let stored = reviews::for_action(&st.db, a.id).await?;
    let rows = years
        .into_iter()
        .map(|y| {
            let r = stored.iter().find(|r| r.year == i64::from(y));
            year_row(&tc.territory.slug, a.id, y, r, who)
        })
        .collect();
    Ok(ActionYears {
        rows,
        no_period: None,
    })
}

// ---------------------------------------------------------------- an entry

#[derive(Template)]
#[template(path = "contract/review.html")]
struct EntryPage {
    l: Layout,
    slug: String,
    csrf: String,
    c: Contract,
    a: Action,
    year: i32,
    /// The other years of the contract, with their address.
    years: Vec<(i32, String, bool)>,
    /// The stored entry, if any.
    stored: Option<Review>,
    state: &'static str,
    tag: &'static str,
    when: String,
    /// The form (what was typed, or the stored texts).
    form: ReviewRaw,
    version: i64,
    errors: FormErrors,
    /// The stored version, shown beside what was typed after a conflict.
    conflict: Option<Review>,
    /// A message about a refused decision or write (409).
    notice: String,
    /// Who may write the texts now; otherwise why not.
    can_write: bool,
    read_only_why: String,
    coordinator: bool,
    can_validate: bool,
    can_return: bool,
    can_reopen: bool,
    /// The coordination's comment as typed in a refused decision.
    comment: String,
    statuses: Vec<(&'static str, &'static str)>,
    year_end_label: String,
    overview: String,
    fiche: String,
}

/// How to show an entry page besides the stored entry.
#[derive(Default)]
struct Shown {
    form: Option<ReviewRaw>,
    version: Option<i64>,
    errors: FormErrors,
    conflict: bool,
    notice: String,
    comment: String,
}

async fn entry_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    (c, a): (Contract, Action),
    year: i32,
    shown: Shown,
) -> Result<Response, AppError> {
    let slug = tc.territory.slug.clone();
    let stored = reviews::get(&st.db, a.id, year).await?;
    let state = stored.as_ref().and_then(Review::state);
    let who = writer(st, tc, a.id).await?;
    let status = if shown.conflict || !shown.notice.is_empty() {
        StatusCode::CONFLICT
    } else if shown.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let stored_raw = |r: &Review| ReviewRaw {
        version: r.version.to_string(),
        done: r.done.clone(),
        difficulties: r.difficulties.clone(),
        next_year: r.next_year.clone(),
        year_end_status: r.year_end_status.clone(),
        envoi: String::new(),
    };
    let form = match shown.form {
        Some(f) => f,
        None => match &stored {
            Some(r) => stored_raw(r),
            None => ReviewRaw {
                year_end_status: a.status.clone(),
                ..Default::default()
            },
        },
    };
    let version = shown
        .version
        .unwrap_or_else(|| stored.as_ref().map(|r| r.version).unwrap_or(0));
    let may = |mv| transition(state, who, mv).is_ok();
    let read_only_why = match transition(state, who, Move::SaveDraft) {
        Ok(_) => String::new(),
        Err(e) => e.0,
    };
    let years = contract_years(&c)
        .unwrap_or_default()
        .into_iter()
        .map(|y| (y, entry_url(&slug, a.id, y), y == year))
        .collect();
    let conflict = if shown.conflict { stored.clone() } else { None };
    Ok((
        status,
        render(&EntryPage {
            l: ctx.admin_layout(format!(
                "Bilan annuel {year} : action {} {}",
                a.code, a.title
            )),
            csrf: ctx.csrf(),
            year,
            years,
            state: state_label(state),
            tag: state_tag(state),
            when: stored.as_ref().map(when).unwrap_or_default(),
            year_end_label: stored
                .as_ref()
                .map(|r| ActionStatus::label_of(&r.year_end_status).to_owned())
                .unwrap_or_default(),
            stored,
            form,
            version,
            errors: shown.errors,
            conflict,
            notice: shown.notice,
            can_write: may(Move::SaveDraft),
            read_only_why,
            coordinator: who == Writer::Coordinator,
            can_validate: may(Move::Validate),
            can_return: may(Move::Return),
            can_reopen: may(Move::Reopen),
            comment: shown.comment,
            statuses: ActionStatus::ALL
                .iter()
                .map(|s| (s.as_str(), s.label()))
                .collect(),
            overview: overview_url(&slug, c.id, year),
            fiche: Section::Bilan.url(&slug, a.id),
            slug,
            c,
            a,
        }),
    )
        .into_response())
}

async fn entry(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Path((_, id, year)): Path<(String, i64, i32)>,
) -> Result<Response, AppError> {
    let (c, a) = fiche::load(&st, &tc, id, false).await?;
    let year = year_of(&c, year)?;
    entry_page(&st, &ctx, &tc, (c, a), year, Shown::default()).await
}

async fn save(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id, year)): Path<(String, i64, i32)>,
    Form(raw): Form<ReviewRaw>,
) -> Result<Response, AppError> {
    let (c, a) = fiche::load(&st, &tc, id, true).await?;
    let year = year_of(&c, year)?;
    let who = writer(&st, &tc, id).await?;
    let version = form::version(&raw.version);
    let slug = tc.territory.slug.clone();
    form::submit(
        raw,
        |r| r.parse().map_err(FormErrors),
        async |input| match reviews::write(
            &st.db,
            &user.actor(),
            &c,
            id,
            year,
            version,
            who,
            &input,
        )
        .await
        {
            Ok(r) => Ok(r),
            Err(ReviewError::State(m)) => Err(form::Failed::Refused(
                StatusCode::CONFLICT,
                FormErrors(vec![("done", m)]),
            )),
            Err(ReviewError::Db(e)) => Err(e.into()),
        },
        // The page says it: « Quelqu'un a enregistré une autre version ».
        form::UNVERSIONED,
        |r| {
            let submitted = r.state() == Some(ReviewState::Submitted);
            if submitted {
                notify_coordination(&st, &tc, &a, year, &user.user.display_name);
            }
            flash::see_other(
                &entry_url(&slug, id, year),
                if submitted {
                    "Bilan soumis à la coordination : vous verrez ici sa décision."
                } else {
                    "Bilan enregistré en brouillon."
                },
            )
        },
        async |again| {
            let shown = if again.stale {
                // Keep what was typed; the next save starts from the stored version.
                Shown {
                    form: Some(again.typed),
                    conflict: true,
                    ..Default::default()
                }
            } else if again.status == StatusCode::CONFLICT {
                Shown {
                    form: Some(again.typed),
                    version: Some(version),
                    notice: again
                        .errors
                        .all()
                        .first()
                        .map(|(_, m)| m.clone())
                        .unwrap_or_default(),
                    ..Default::default()
                }
            } else {
                Shown {
                    form: Some(again.typed),
                    version: Some(version),
                    errors: again.errors,
                    ..Default::default()
                }
            };
            entry_page(&st, &ctx, &tc, (c.clone(), a.clone()), year, shown).await
        },
    )
    .await
}

/// Tell the coordination (the territory's contact address, when a mail
/// server is configured) that an entry waits for its decision.
fn notify_coordination(st: &AppState, tc: &TerritoryCtx, a: &Action, year: i32, author: &str) {
    let t = &tc.territory;
    if t.contact_email.is_empty() {
        return;
    }
    crate::web::participation::spawn_mail(
        st,
        t.id,
        "review",
        t.contact_email.clone(),
        format!("Bilan annuel {year} soumis : action {}", a.code),
        format!(
            "{author} a soumis le bilan annuel {year} de l'action {} {}.\n\nÀ valider ou renvoyer dans l'espace professionnel : {}{}\n",
            a.code,
            a.title,
            st.config.public_url.trim_end_matches('/'),
            entry_url(&t.slug, a.id, year)
        ),
    );
}

#[derive(Deserialize)]
struct DecisionForm {
    #[serde(default)]
    version: String,
    #[serde(default)]
    comment: String,
    /// « bilans »: back to the contract's overview; else the entry.
    #[serde(default)]
    retour: String,
}

async fn decide(
    st: AppState,
    ctx: Ctx,
    tc: TerritoryCtx,
    user: std::sync::Arc<crate::web::session::CurrentUser>,
    (id, year): (i64, i32),
    f: DecisionForm,
    mv: Move,
) -> Result<Response, AppError> {
    let (c, a) = fiche::load(&st, &tc, id, true).await?;
    let year = year_of(&c, year)?;
    let comment = match parse_comment(&f.comment, mv) {
        Ok(c) => c,
        Err(e) => {
            let mut errors = FormErrors::default();
            errors.push("comment", e.0);
            let shown = Shown {
                errors,
                comment: f.comment.clone(),
                ..Default::default()
            };
            return entry_page(&st, &ctx, &tc, (c, a), year, shown).await;
        }
    };
    let version = form::version(&f.version);
    match reviews::decide(&st.db, &user.actor(), &c, id, year, version, mv, &comment).await {
        Ok(_) => {
            let slug = &tc.territory.slug;
            let to = if f.retour == "bilans" {
                overview_url(slug, c.id, year)
            } else {
                entry_url(slug, id, year)
            };
            let what = match mv {
                Move::Validate => "validé",
                Move::Return => "renvoyé à la personne pilote avec votre commentaire",
                _ => "rouvert et renvoyé à la personne pilote",
            };
            Ok(flash::see_other(
                &to,
                &format!("Bilan {year} de l'action {} {what}.", a.code),
            ))
        }
        Err(e) => {
            let notice = match e {
                ReviewError::State(m) => m,
                ReviewError::Db(DbError::Stale) => "Ce bilan a changé depuis l'affichage de la page : voici la version à jour. Relisez-la avant de décider.".to_owned(),
                ReviewError::Db(e) => return Err(e.into()),
            };
            let shown = Shown {
                notice,
                comment: f.comment.clone(),
                ..Default::default()
            };
            entry_page(&st, &ctx, &tc, (c, a), year, shown).await
        }
    }
}

async fn validate(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id, year)): Path<(String, i64, i32)>,
    Form(f): Form<DecisionForm>,
) -> Result<Response, AppError> {
    decide(st, ctx, tc, user, (id, year), f, Move::Validate).await
}

async fn send_back(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id, year)): Path<(String, i64, i32)>,
    Form(f): Form<DecisionForm>,
) -> Result<Response, AppError> {
    decide(st, ctx, tc, user, (id, year), f, Move::Return).await
}

async fn reopen(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id, year)): Path<(String, i64, i32)>,
    Form(f): Form<DecisionForm>,
) -> Result<Response, AppError> {
    decide(st, ctx, tc, user, (id, year), f, Move::Reopen).await
}

// ---------------------------------------------------------------- a contract's year

/// An action's line in the contract's overview.
struct OverviewRow {
    id: i64,
    code: String,
    title: String,
    lead: String,
    row: YearRow,
    state: Option<ReviewState>,
    version: i64,
}

#[derive(Template)]
#[template(path = "contract/reviews_overview.html")]
struct OverviewPage {
    l: Layout,
    slug: String,
    csrf: String,
    c: Contract,
    year: i32,
    years: Vec<(i32, String, bool)>,
    rows: Vec<OverviewRow>,
    /// (state label, count)
    counts: Vec<(&'static str, usize)>,
    coordinator: bool,
}

async fn load_contract(st: &AppState, tc: &TerritoryCtx, id: i64) -> Result<Contract, AppError> {
    contracts::get(&st.db, tc.territory.id, id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn overview_now(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let c = load_contract(&st, &tc, id).await?;
    let years = contract_years(&c).ok_or_else(|| {
        AppError::BadRequest(
            check_year(0, None, None)
                .err()
                .map(|e| e.0)
                .unwrap_or_default(),
        )
    })?;
    let year = review::default_year(&years, super::list::today()).unwrap_or(years[0]);
    Ok(Redirect::to(&overview_url(&tc.territory.slug, c.id, year)).into_response())
}

async fn overview(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Path((_, id, year)): Path<(String, i64, i32)>,
) -> Result<Response, AppError> {
    let c = load_contract(&st, &tc, id).await?;
    let year = year_of(&c, year)?;
    let slug = tc.territory.slug.clone();
    let stored = reviews::for_contract_year(&st.db, c.id, year).await?;
    let coordinator = tc.is_coordinator();
    let who = if coordinator {
        Writer::Coordinator
    } else {
        Writer::Reader
    };
    let rows: Vec<OverviewRow> = contracts::plan(&st.db, c.id)
        .await?
        .actions
        .into_iter()
        .map(|a| {
            let r = stored.get(&a.id);
            OverviewRow {
                row: year_row(&slug, a.id, year, r, who),
                state: r.and_then(Review::state),
                version: r.map(|r| r.version).unwrap_or(0),
                id: a.id,
                code: a.code,
                title: a.title,
                lead: a.lead_org,
            }
        })
        .collect();
    let mut counts: Vec<(&'static str, usize)> = Vec::new();
    for s in [None]
        .into_iter()
        .chain(ReviewState::ALL.iter().copied().map(Some))
    {
        let n = rows.iter().filter(|r| r.state == s).count();
        counts.push((state_label(s), n));
    }
    let years = contract_years(&c)
        .unwrap_or_default()
        .into_iter()
        .map(|y| (y, overview_url(&slug, c.id, y), y == year))
        .collect();
    Ok(render(&OverviewPage {
        l: ctx.admin_layout(format!("Bilans annuels {year}")),
        csrf: ctx.csrf(),
        slug,
        c,
        year,
        years,
        rows,
        counts,
        coordinator,
    })
    .into_response())
}

// ---------------------------------------------------------------- a partner's entries

struct MineRow {
    code: String,
    title: String,
    fiche: String,
    rows: Vec<YearRow>,
    no_period: Option<String>,
}

#[derive(Template)]
#[template(path = "contract/reviews_mine.html")]
struct MinePage {
    l: Layout,
    actions: Vec<MineRow>,
    /// Contracts whose overview the account may read: (title, address).
    contracts: Vec<(String, String)>,
}

async fn mine(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let slug = tc.territory.slug.clone();
    let mut out = Vec::new();
    for id in actions::led_by(&st.db, tc.territory.id, tc.user.user.id).await? {
        let Some((c, a)) = actions::get(&st.db, tc.territory.id, id).await? else {
            continue;
        };
        let years = action_years(&st, &tc, &c, &a).await?;
        out.push(MineRow {
            code: a.code.clone(),
            title: a.title.clone(),
            fiche: Section::Bilan.url(&slug, a.id),
            rows: years.rows,
            no_period: years.no_period,
        });
    }
    out.sort_by_key(|m| crate::domain::contract::code_sort_key(&m.code));
    let contracts = if tc.is_coordinator() || tc.user.reads_everything() {
        contracts::list(&st.db, tc.territory.id)
            .await?
            .into_iter()
            .map(|c| {
                let to = format!("/admin/t/{slug}/contrats/{}/bilans", c.id);
                (c.title, to)
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(render(&MinePage {
        l: ctx.admin_layout("Bilans annuels de vos actions"),
        actions: out,
        contracts,
    })
    .into_response())
}
