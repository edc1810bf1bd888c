//! Referrals to services (issue 16), seen from the web.
//!
//! - A partner or the coordination opens the form from a directory entry
//!   (`/admin/t/{territory}/orientations/nouvelle?fiche=etablissement:…`),
//!   types the person's name and contact, the reason, a word for the
//!   service and its e-mail, and ticks the person's consent. The service
//!   gets an e-mail with a personal link; the person is told by SMS (or
//!   e-mail); reminders are queued for the service, withdrawn when it
//!   answers.
//! - The service answers at `/t/{territory}/orientation/{token}` (no
//!   account): accept, or refuse with a reason. The person and the sender
//!   are told.
//! - Unanswered referrals expire (`expire_due`, run by the housekeeping).
//! - `/admin/t/{territory}/orientations`: the sender's own referrals with
//!   the people's details; the coordination also sees every referral of
//!   the territory without the people's details (unless it sent them) and
//!   the counts by service and outcome, and sets the delays. Regional
//!   staff see aggregates only (`/region/mediation`).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use crate::domain::agenda::activity::Theme;
use crate::domain::messages::Channel;
use crate::domain::referrals::{
    self as rules, texts, Answer, EntryKind, ReferralFields, ReferralInput, Status,
};
use crate::domain::roles::Role;
use crate::domain::{dates, phone};
use crate::storage::messages::NewMessage;
use crate::storage::referrals::{self as store, Closed, Created, Referral, Target};
use crate::storage::territories::Territory;
use crate::storage::DbError;
use crate::web::access::{Access, Routes, TerritoryCtx};
use crate::web::error::AppError;
use crate::web::flash;
use crate::web::pages::{render, Ctx, FormErrors, Layout};
use crate::web::public::load_public_territory;
use crate::web::AppState;

pub fn routes(r: Routes) -> Routes {
    // The people's names and contacts: never regional staff.
    let partner = Access::Personal(Role::Partner);
    let coordination = Access::Personal(Role::Coordinator);
    r.get("/admin/t/{territory}/orientations", partner, list)
        .get(
            "/admin/t/{territory}/orientations/nouvelle",
            partner,
            new_form,
        )
        .post(
            "/admin/t/{territory}/orientations/nouvelle",
            partner,
            create,
        )
        .post(
            "/admin/t/{territory}/orientations/reglages",
            coordination,
            save_settings,
        )
        .get(
            "/admin/t/{territory}/orientations/services.csv",
            coordination,
            counts_csv,
        )
        .post(
            "/admin/t/{territory}/orientations/{id}/annulation",
            partner,
            cancel,
        )
        .get(
            "/t/{territory}/orientation/{token}",
            Access::Public,
            answer_page,
        )
        .post("/t/{territory}/orientation/{token}", Access::Public, answer)
}

fn base(st: &AppState) -> String {
    st.config.public_url.trim_end_matches('/').to_owned()
}

fn list_path(slug: &str) -> String {
    format!("/admin/t/{slug}/orientations")
}

fn answer_link(st: &AppState, slug: &str, token: &str) -> String {
    format!("{}/t/{slug}/orientation/{token}", base(st))
}

/// The coordination (or an admin) of the territory.
fn is_coordination(tc: &TerritoryCtx) -> bool {
    tc.is_coordinator()
}

async fn find_target(
    st: &AppState,
    territory_id: i64,
    kind: EntryKind,
    id: &str,
) -> Result<Option<Target>, AppError> {
    Ok(store::target(&st.db, territory_id, kind, id).await?)
}

fn theme_of(code: &str) -> Theme {
    Theme::ALL
        .into_iter()
        .find(|t| t.code() == code)
        .unwrap_or(Theme::Other)
}

// ------------------------------------------------------------ the form

#[derive(Deserialize, Default)]
pub struct NewQuery {
    #[serde(default)]
    fiche: String,
}

#[derive(Deserialize, Default)]
pub struct ReferralForm {
    #[serde(default)]
    fiche: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    consent: Option<String>,
    #[serde(default)]
    theme: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    service_email: String,
    #[serde(default)]
    key: String,
}

#[derive(Template)]
#[template(path = "admin/referral_form.html")]
struct FormPage {
    l: Layout,
    slug: String,
    csrf: String,
    /// `None`: no entry chosen, or one the instance does not know.
    target: Option<Target>,
    kind_label: &'static str,
    unknown: bool,
    themes: Vec<(&'static str, &'static str, bool)>,
    form: ReferralForm,
    expiry_days: i64,
    errors: FormErrors,
}

async fn form_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    form: ReferralForm,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let entry = rules::parse_entry(&form.fiche);
    let target = match &entry {
        Some((kind, id)) => find_target(st, t.id, *kind, id).await?,
        None => None,
    };
    let unknown = !form.fiche.trim().is_empty() && target.is_none();
    let form = ReferralForm {
        service_email: if form.service_email.is_empty() {
            target.as_ref().map(|t| t.email.clone()).unwrap_or_default()
        } else {
            form.service_email
        },
        key: if form.key.trim().is_empty() {
            crate::tokens::random_token()
        } else {
            form.key
        },
        ..form
    };
    let (expiry_days, _) = store::settings(&st.db, t.id).await?;
    let status = if unknown && status == StatusCode::OK {
        StatusCode::NOT_FOUND
    } else {
        status
    };
    let page = FormPage {
        l: ctx.admin_layout("Orienter une personne vers un service"),
        slug: t.slug.clone(),
        csrf: ctx.csrf(),
        kind_label: target.as_ref().map(|t| t.kind.label()).unwrap_or(""),
        target,
        unknown,
        themes: Theme::ALL
            .iter()
            .map(|th| (th.code(), th.label(), th.code() == form.theme))
            .collect(),
        form,
        expiry_days,
        errors,
    };
    Ok((status, render(&page)).into_response())
}

async fn new_form(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Query(q): Query<NewQuery>,
) -> Result<Response, AppError> {
    let form = ReferralForm {
        fiche: q.fiche,
        ..Default::default()
    };
    form_page(&st, &ctx, &tc, form, FormErrors::default(), StatusCode::OK).await
}

/// Whom a notice to the person is about: the referral and the person's
/// contact (a stored referral, or one being recorded).
struct Person<'a> {
    territory_id: i64,
    referral_id: i64,
    service_name: &'a str,
    phone: Option<&'a str>,
    email: Option<&'a str>,
}

impl<'a> Person<'a> {
    fn of(r: &'a Referral) -> Person<'a> {
        Person {
            territory_id: r.territory_id,
            referral_id: r.id,
            service_name: &r.service_name,
            phone: r.person_phone.as_deref(),
            email: r.person_email.as_deref(),
        }
    }

    /// SMS to a mobile when SMS are on, else e-mail when the site sends
    /// e-mail; `None` when neither can reach them.
    fn channel(&self, st: &AppState) -> Option<(Channel, String)> {
        if st.outbox.sms_enabled() {
            if let Some(p) = self.phone.filter(|p| phone::is_mobile(p)) {
                return Some((Channel::Sms, p.to_owned()));
            }
        }
        match (self.email, &st.mailer) {
            (Some(e), Some(_)) => Some((Channel::Email, e.to_owned())),
            _ => None,
        }
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "the fields of one outbox message, named at each call"
)]
fn message(
    territory_id: i64,
    channel: Channel,
    to: &str,
    subject: String,
    body: String,
    purpose: &str,
    key: String,
    not_before: DateTime<Utc>,
) -> NewMessage {
    NewMessage {
        territory_id: Some(territory_id),
        channel,
        recipient: to.to_owned(),
        subject,
        body,
        purpose: purpose.to_owned(),
        dedupe_key: key,
        not_before,
    }
}

/// A notice to the person (SMS, or e-mail with a subject).
fn person_notice(st: &AppState, p: &Person, event: &str, text: String) -> Option<NewMessage> {
    let (channel, to) = p.channel(st)?;
    let subject = if channel == Channel::Email {
        format!("Votre orientation vers {}", p.service_name)
    } else {
        String::new()
    };
    Some(message(
        p.territory_id,
        channel,
        &to,
        subject,
        text,
        "referral",
        format!(
            "referral:{}:person:{event}:{}",
            p.referral_id,
            channel.as_str()
        ),
        Utc::now(),
    ))
}

async fn create(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(form): Form<ReferralForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let mut errors = FormErrors::default();
    let target = match rules::parse_entry(&form.fiche) {
        Some((kind, id)) => find_target(&st, t.id, kind, &id).await?,
        None => None,
    };
    if target.is_none() {
        errors.push(
            "fiche",
            "Ce service n’est pas dans l’annuaire : choisissez sa fiche dans l’annuaire du territoire.",
        );
    }
    let input = ReferralInput::parse(&ReferralFields {
        name: &form.name,
        phone: &form.phone,
        email: &form.email,
        consent: form.consent.is_some(),
        theme: &form.theme,
        note: &form.note,
        service_email: &form.service_email,
    });
    let input = match input {
        Ok(i) => Some(i),
        Err(list) => {
            for (f, m) in list {
                errors.push(f, m);
            }
            None
        }
    };
    let (Some(target), Some(input), true) = (target, input, errors.is_empty()) else {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return form_page(&st, &ctx, &tc, form, errors, status).await;
    };
    let now = Utc::now();
    let (expiry_days, reminder_days) = store::settings(&st.db, t.id).await?;
    let expires_at = now + Duration::days(expiry_days);
    let token = crate::tokens::random_token();
    let link = answer_link(&st, &t.slug, &token);
    let theme = input.theme;
    let expires = dates::paris_date(expires_at);
    let c = texts::Context {
        territory: &t.name,
        service: &target.name,
        theme,
        link: &link,
        expires: &expires,
    };
    let mail_on = st.mailer.is_some();
    let reminders = rules::reminder_times(now, reminder_days, expires_at);
    // Built once the id is known, inside the referral's transaction.
    let notices = |id: i64| {
        let mut out = Vec::new();
        if mail_on {
            let (subject, body) = texts::to_service(&c, &input.note, false);
            out.push(message(
                t.id,
                Channel::Email,
                &input.service_email,
                subject,
                body,
                "referral",
                format!("referral:{id}:service"),
                now,
            ));
            for (n, at) in reminders.iter().enumerate() {
                let (subject, body) = texts::to_service(&c, &input.note, true);
                out.push(message(
                    t.id,
                    Channel::Email,
                    &input.service_email,
                    subject,
                    body,
                    "referral-reminder",
                    format!("{}{}", store::reminder_prefix(id), n + 1),
                    *at,
                ));
            }
        }
        let person = Person {
            territory_id: t.id,
            referral_id: id,
            service_name: &target.name,
            phone: input.person.phone.as_deref(),
            email: input.person.email.as_deref(),
        };
        out.extend(person_notice(
            &st,
            &person,
            "sent",
            texts::to_person_sent(&c),
        ));
        out
    };
    let created = store::create(
        &st.db,
        &store::NewReferral {
            territory_id: t.id,
            target: &target,
            input: &input,
            created_by: Some(tc.user.user.id),
            token_hash: crate::tokens::token_hash(&token),
            submission_key: Some(form.key.trim().to_owned()).filter(|k| !k.is_empty()),
            now,
            expires_at,
        },
        notices,
    )
    .await?;
    st.outbox.wake();
    let mut paragraphs = Vec::new();
    let link_shown = match created {
        Created::Again(_) => {
            paragraphs.push(
                "Ce formulaire avait déjà été envoyé : l’orientation n’a été enregistrée qu’une fois."
                    .to_owned(),
            );
            None
        }
        Created::New(_) => {
            paragraphs.push(format!(
                "Orientation envoyée vers « {} » pour {} ({}).",
                target.name,
                input.person.name,
                theme.label()
            ));
            if mail_on {
                paragraphs.push(format!(
                    "Le service reçoit un courriel à l’adresse {} avec un lien pour accepter ou refuser. Sans réponse, il est relancé{} ; l’orientation expire le {expires}.",
                    input.service_email,
                    match reminders.first() {
                        Some(at) => format!(" le {}", dates::paris_date(*at)),
                        None => String::new(),
                    }
                ));
            } else {
                paragraphs.push(format!(
                    "Ce site n’envoie pas de courriel pour le moment : transmettez vous-même au service le lien ci-dessous (par courriel ou de vive voix). Sans réponse, l’orientation expire le {expires}."
                ));
            }
            paragraphs.push(
                "Le lien du service, à ne donner qu’à lui (il montre le nom et les coordonnées de la personne) :"
                    .to_owned(),
            );
            Some(link)
        }
    };
    Ok(render(&DonePage {
        l: ctx.admin_layout("Orientation envoyée"),
        heading: "Orientation envoyée".into(),
        paragraphs,
        link: link_shown,
        back: (list_path(&t.slug), "Voir mes orientations".into()),
    }))
}

#[derive(Template)]
#[template(path = "admin/referral_done.html")]
struct DonePage {
    l: Layout,
    heading: String,
    paragraphs: Vec<String>,
    link: Option<String>,
    back: (String, String),
}

// ------------------------------------------------------------ the list

pub struct Row {
    pub id: i64,
    pub created: String,
    pub service: String,
    pub kind: &'static str,
    pub theme: &'static str,
    pub status: &'static str,
    pub status_code: &'static str,
    /// « expire le … », « répondu le … ».
    pub when: String,
    pub answer: String,
    /// Name and contact: only for whoever sent it.
    pub person: Option<String>,
    pub can_cancel: bool,
}

pub struct CountRow {
    pub service: String,
    pub kind: &'static str,
    /// In the order of [`Status::ALL`].
    pub by_status: Vec<i64>,
    pub total: i64,
    pub accepted_share: String,
}

#[derive(Template)]
#[template(path = "admin/referrals.html")]
struct ListPage {
    l: Layout,
    slug: String,
    csrf: String,
    coordination: bool,
    year: i32,
    statuses: Vec<&'static str>,
    counts: Vec<CountRow>,
    rows: Vec<Row>,
    expiry_days: String,
    reminder_days: String,
    errors: FormErrors,
}

#[derive(Deserialize, Default)]
pub struct YearQuery {
    #[serde(default)]
    annee: Option<String>,
}

fn year_of(q: &YearQuery) -> i32 {
    dates::chosen_year(q.annee.as_deref())
}

fn start_of_year(year: i32) -> Result<DateTime<Utc>, AppError> {
    dates::paris_year_start(year).ok_or(AppError::NotFound)
}

/// Counts by service for the year: one row per service, outcomes in the
/// order of [`Status::ALL`].
async fn count_rows(
    st: &AppState,
    territory_id: i64,
    year: i32,
) -> Result<Vec<CountRow>, AppError> {
    let (from, to) = (start_of_year(year)?, start_of_year(year + 1)?);
    let mut out: Vec<(String, String, CountRow)> = Vec::new();
    for c in store::counts_by_service(&st.db, territory_id, from, to).await? {
        let key = (c.entry_kind.clone(), c.entry_id.clone());
        let i = match out.iter().position(|(k, i, _)| (k, i) == (&key.0, &key.1)) {
            Some(i) => i,
            None => {
                out.push((
                    key.0.clone(),
                    key.1.clone(),
                    CountRow {
                        service: c.service_name.clone(),
                        kind: EntryKind::parse(&c.entry_kind)
                            .map(EntryKind::label)
                            .unwrap_or(""),
                        by_status: vec![0; Status::ALL.len()],
                        total: 0,
                        accepted_share: String::new(),
                    },
                ));
                out.len() - 1
            }
        };
        let row = &mut out[i].2;
        if let Some(j) = Status::ALL.iter().position(|s| s.as_str() == c.status) {
            row.by_status[j] += c.n;
        }
        row.total += c.n;
    }
    Ok(out
        .into_iter()
        .map(|(_, _, mut r)| {
            let mut outcomes: rules::Outcomes = [0; 5];
            outcomes.copy_from_slice(&r.by_status);
            r.accepted_share = rules::accepted_share(&outcomes);
            r
        })
        .collect())
}

fn person_line(r: &Referral) -> String {
    let mut s = r.person_name.clone().unwrap_or_default();
    let contact: Vec<String> = [
        r.person_phone.as_deref().map(phone::display),
        r.person_email.clone(),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !contact.is_empty() {
        s.push_str(&format!(" ({})", contact.join(", ")));
    }
    if s.is_empty() {
        "coordonnées effacées (durée de conservation)".into()
    } else {
        s
    }
}

async fn list_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    year: i32,
    settings_form: Option<(String, String, FormErrors)>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let coordination = is_coordination(tc);
    let me = tc.user.user.id;
    let referrals = store::list(&st.db, t.id, (!coordination).then_some(me), 500).await?;
    let rows = referrals
        .iter()
        .map(|r| {
            let mine = r.created_by == Some(me);
            let status = r.status();
            Row {
                id: r.id,
                created: dates::paris_date(r.created_at),
                service: r.service_name.clone(),
                kind: r.kind().map(EntryKind::label).unwrap_or(""),
                theme: theme_of(&r.theme).label(),
                status: status.label(),
                status_code: status.as_str(),
                when: match (status, r.closed_at) {
                    (Status::Sent, _) => format!("expire le {}", dates::paris_date(r.expires_at)),
                    (_, Some(at)) => format!("le {}", dates::paris_date(at)),
                    _ => String::new(),
                },
                answer: r.answer.clone(),
                person: mine.then(|| person_line(r)),
                can_cancel: status.is_open() && (mine || coordination),
            }
        })
        .collect();
    let counts = if coordination {
        count_rows(st, t.id, year).await?
    } else {
        Vec::new()
    };
    let (settings, status) = match settings_form {
        Some((e, r, errors)) => ((e, r, errors), StatusCode::UNPROCESSABLE_ENTITY),
        None => {
            let (e, r) = store::settings(&st.db, t.id).await?;
            (
                (e.to_string(), r.to_string(), FormErrors::default()),
                StatusCode::OK,
            )
        }
    };
    let page = ListPage {
        l: ctx.admin_layout("Orientations vers les services"),
        slug: t.slug.clone(),
        csrf: ctx.csrf(),
        coordination,
        year,
        statuses: Status::ALL.iter().map(|s| s.label()).collect(),
        counts,
        rows,
        expiry_days: settings.0,
        reminder_days: settings.1,
        errors: settings.2,
    };
    Ok((status, render(&page)).into_response())
}

async fn list(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Query(q): Query<YearQuery>,
) -> Result<Response, AppError> {
    list_page(&st, &ctx, &tc, year_of(&q), None).await
}

#[derive(Deserialize, Default)]
pub struct SettingsForm {
    #[serde(default)]
    expiry_days: String,
    #[serde(default)]
    reminder_days: String,
}

async fn save_settings(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(f): Form<SettingsForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    match rules::parse_settings(&f.expiry_days, &f.reminder_days) {
        Ok((e, r)) => {
            store::save_settings(&st.db, t.id, e, r).await?;
            Ok(flash::see_other(
                &list_path(&t.slug),
                &format!("Délais enregistrés : relance après {r} jours, expiration après {e} jours (pour les prochaines orientations)."),
            ))
        }
        Err(list) => {
            let mut errors = FormErrors::default();
            for (field, m) in list {
                errors.push(field, m);
            }
            let year = year_of(&YearQuery::default());
            list_page(
                &st,
                &ctx,
                &tc,
                year,
                Some((f.expiry_days, f.reminder_days, errors)),
            )
            .await
        }
    }
}

async fn counts_csv(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    Query(q): Query<YearQuery>,
) -> Result<Response, AppError> {
    let year = year_of(&q);
    let rows = count_rows(&st, tc.territory.id, year).await?;
    let mut w = crate::csv_export::CsvExport::new(b';');
    let io = |e: csv::Error| AppError::Internal(anyhow::anyhow!(e));
    let mut header = vec!["service".to_owned(), "type".to_owned()];
    header.extend(Status::ALL.iter().map(|s| s.label().to_owned()));
    header.extend(["total".to_owned(), "part acceptée".to_owned()]);
    w.row(&header).map_err(io)?;
    for r in rows {
        let mut cells = vec![r.service, r.kind.to_owned()];
        cells.extend(r.by_status.iter().map(i64::to_string));
        cells.extend([r.total.to_string(), r.accepted_share]);
        w.row(&cells).map_err(io)?;
    }
    let body = w.finish().map_err(io)?;
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"orientations-{year}.csv\""),
            ),
        ],
        body,
    )
        .into_response())
}

fn context_for<'a>(t: &'a Territory, r: &'a Referral, link: &'a str) -> texts::Context<'a> {
    texts::Context {
        territory: &t.name,
        service: &r.service_name,
        theme: theme_of(&r.theme),
        link,
        expires: "",
    }
}

/// The e-mail to whoever sent a referral, when it is closed.
async fn sender_notice(
    st: &AppState,
    t: &Territory,
    r: &Referral,
    status: Status,
    text: &str,
) -> Result<Option<NewMessage>, AppError> {
    let (Some(uid), Some(_)) = (r.created_by, &st.mailer) else {
        return Ok(None);
    };
    let user = match crate::storage::users::get(&st.db, uid).await {
        Ok(u) => u,
        Err(DbError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let page = format!("{}{}", base(st), list_path(&t.slug));
    let (subject, body) = texts::to_sender(&context_for(t, r, ""), status, text, &page);
    Ok(Some(message(
        t.id,
        Channel::Email,
        &user.email,
        subject,
        body,
        "referral",
        format!("referral:{}:sender:{}", r.id, status.as_str()),
        Utc::now(),
    )))
}

/// The notices of a referral closed as `status`: the person, the sender.
async fn closing_notices(
    st: &AppState,
    t: &Territory,
    r: &Referral,
    status: Status,
    text: &str,
) -> Result<Vec<NewMessage>, AppError> {
    let c = context_for(t, r, "");
    let service_phone = crate::web::directory::phone_display(&r.service_phone);
    let mut out: Vec<NewMessage> = person_notice(
        st,
        &Person::of(r),
        status.as_str(),
        texts::to_person_outcome(&c, status, text, &service_phone),
    )
    .into_iter()
    .collect();
    out.extend(sender_notice(st, t, r, status, text).await?);
    Ok(out)
}

async fn cancel(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let r = match store::get(&st.db, t.id, id).await {
        Ok(r) => r,
        Err(DbError::NotFound) => return Err(AppError::NotFound),
        Err(e) => return Err(e.into()),
    };
    if r.created_by != Some(tc.user.user.id) && !is_coordination(&tc) {
        return Err(AppError::Forbidden);
    }
    let c = context_for(t, &r, "");
    let mut notices = Vec::new();
    if st.mailer.is_some() {
        let (subject, body) = texts::to_service_cancelled(&c);
        notices.push(message(
            t.id,
            Channel::Email,
            &r.service_email,
            subject,
            body,
            "referral",
            format!("referral:{}:service:cancelled", r.id),
            Utc::now(),
        ));
    }
    notices.extend(person_notice(
        &st,
        &Person::of(&r),
        "cancelled",
        texts::to_person_outcome(&c, Status::Cancelled, "", ""),
    ));
    let msg = match store::close(&st.db, r.id, Status::Cancelled, "", Utc::now(), &notices).await? {
        Ok(()) => {
            st.outbox.wake();
            format!(
                "Orientation vers « {} » annulée ; le service est prévenu.",
                r.service_name
            )
        }
        Err(Closed::Already(s)) => format!(
            "Cette orientation n’est plus en attente ({}) : rien n’a changé.",
            s.label()
        ),
    };
    Ok(flash::see_other(&list_path(&t.slug), &msg))
}

// ------------------------------------------------- the service's answer

#[derive(Template)]
#[template(path = "public/referral_answer.html")]
struct AnswerPage {
    l: Layout,
    path: String,
    csrf: String,
    territory: String,
    service: String,
    theme: &'static str,
    note: String,
    person: String,
    phone: Option<(String, String)>,
    email: String,
    open: bool,
    outcome: String,
    expires: String,
    decision: String,
    text: String,
    errors: FormErrors,
}

#[derive(Deserialize, Default)]
pub struct AnswerForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    text: String,
}

async fn by_token(
    st: &AppState,
    slug: &str,
    token: &str,
) -> Result<(Territory, Referral), AppError> {
    let t = load_public_territory(st, slug).await?;
    let r = match store::by_token(&st.db, token).await {
        Ok(r) if r.territory_id == t.id => r,
        Ok(_) | Err(DbError::NotFound) => return Err(AppError::NotFound),
        Err(e) => return Err(e.into()),
    };
    Ok((t, r))
}

fn answer_response(
    ctx: &Ctx,
    t: &Territory,
    r: &Referral,
    token: &str,
    form: AnswerForm,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    let s = r.status();
    let outcome = match s {
        Status::Sent => String::new(),
        Status::Accepted | Status::Refused => format!(
            "Vous avez répondu le {} : orientation {}.{}",
            r.closed_at.map(dates::paris_date).unwrap_or_default(),
            s.label(),
            if r.answer.is_empty() {
                String::new()
            } else {
                format!(" Votre message : « {} ».", r.answer)
            }
        ),
        Status::Expired => "Cette orientation a expiré sans réponse : l’équipe de médiation a repris contact avec la personne.".into(),
        Status::Cancelled => "L’équipe de médiation a annulé cette orientation : vous n’avez rien à faire.".into(),
    };
    // The person's details stay readable after an acceptance (the service
    // calls them), not after a refusal, an expiry or a cancellation.
    let shows_person = matches!(s, Status::Sent | Status::Accepted);
    let page = AnswerPage {
        l: ctx.public_layout("Répondre à une orientation", &t.slug, &t.name),
        path: format!("/t/{}/orientation/{token}", t.slug),
        csrf: ctx.csrf(),
        territory: t.name.clone(),
        service: r.service_name.clone(),
        theme: theme_of(&r.theme).label(),
        note: if shows_person {
            r.note.clone()
        } else {
            String::new()
        },
        person: if shows_person {
            r.person_name.clone().unwrap_or_default()
        } else {
            String::new()
        },
        phone: r
            .person_phone
            .as_deref()
            .filter(|_| shows_person)
            .map(|p| (p.to_owned(), phone::display(p))),
        email: r
            .person_email
            .clone()
            .filter(|_| shows_person)
            .unwrap_or_default(),
        open: s.is_open(),
        outcome,
        expires: dates::paris_date(r.expires_at),
        decision: form.decision,
        text: form.text,
        errors,
    };
    personal((status, render(&page)).into_response())
}

/// A page reached by a personal link and showing a person's details: kept
/// out of the micro-cache, of browsers' and proxies' caches, and of
/// search engines.
pub fn personal(mut resp: Response) -> Response {
    resp.extensions_mut()
        .insert(crate::web::microcache::Private);
    let h = resp.headers_mut();
    h.insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    h.insert(
        "x-robots-tag",
        axum::http::HeaderValue::from_static("noindex, nofollow"),
    );
    resp
}

async fn answer_page(
    State(st): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let (t, r) = by_token(&st, &slug, &token).await?;
    Ok(answer_response(
        &ctx,
        &t,
        &r,
        &token,
        AnswerForm::default(),
        FormErrors::default(),
        StatusCode::OK,
    ))
}

async fn answer(
    State(st): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    ctx: Ctx,
    Form(form): Form<AnswerForm>,
) -> Result<Response, AppError> {
    let (t, r) = by_token(&st, &slug, &token).await?;
    if !r.status().is_open() {
        return Ok(answer_response(
            &ctx,
            &t,
            &r,
            &token,
            AnswerForm::default(),
            FormErrors::default(),
            StatusCode::CONFLICT,
        ));
    }
    let a = match Answer::parse(&form.decision, &form.text) {
        Ok(a) => a,
        Err((field, m)) => {
            let mut errors = FormErrors::default();
            errors.push(field, m);
            return Ok(answer_response(
                &ctx,
                &t,
                &r,
                &token,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
    };
    let notices = closing_notices(&st, &t, &r, a.status(), a.text()).await?;
    let closed = store::close(&st.db, r.id, a.status(), a.text(), Utc::now(), &notices).await?;
    st.outbox.wake();
    let r = store::by_token(&st.db, &token).await?;
    let status = match closed {
        Ok(()) => StatusCode::OK,
        Err(Closed::Already(_)) => StatusCode::CONFLICT,
    };
    let mut resp = answer_response(
        &ctx,
        &t,
        &r,
        &token,
        AnswerForm::default(),
        FormErrors::default(),
        status,
    );
    if status == StatusCode::OK {
        resp = flash::with_message(
            resp,
            "Merci : votre réponse est transmise à la personne et à l’équipe de médiation.",
        );
    }
    Ok(resp)
}

// ---------------------------------------------------------- housekeeping

/// Close the referrals nobody answered in time and tell the person and the
/// sender. Safe with several processes: each one is closed by a
/// conditional update, and its notices have fixed keys. Returns how many
/// expired.
pub async fn expire_due(st: &AppState, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let mut expired = 0;
    let mut territories: Vec<Territory> = Vec::new();
    for r in store::due_to_expire(&st.db, now, 500).await? {
        let t = match territories.iter().find(|t| t.id == r.territory_id) {
            Some(t) => t.clone(),
            None => {
                let t = match crate::storage::territories::get(&st.db, r.territory_id).await {
                    Ok(t) => t,
                    Err(DbError::NotFound) => continue,
                    Err(e) => return Err(e.into()),
                };
                territories.push(t.clone());
                t
            }
        };
        let notices = closing_notices(st, &t, &r, Status::Expired, "")
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        if store::close(&st.db, r.id, Status::Expired, "", now, &notices)
            .await?
            .is_ok()
        {
            expired += 1;
        }
    }
    if expired > 0 {
        st.outbox.wake();
    }
    Ok(expired)
}
