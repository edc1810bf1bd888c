//! Public participation pages: `participer`, a body's page and its join
//! form, the members' space, the questionnaire and its public results, the
//! idea box and the contact form.

use std::collections::HashMap;
use std::net::SocketAddr;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

use super::antispam::{self, Verdict};
use super::{commune_choices, path_id, spawn_mail};
use crate::domain::dates;
use crate::domain::participation::{
    self as dom, body_kind_label, idea_kind_label, ContactInput, IdeaInput, JoinRequestInput,
    Question, QuestionKind, QuestionResult,
};
use crate::domain::roles::Role;
use crate::storage::participation::{self as store, Body, Consultation, JoinError, SubmitError};
use crate::storage::territories::Territory;
use crate::web::error::AppError;
use crate::web::pages::{paragraphs, render, Ctx, FormErrors, Layout};
use crate::web::public::load_public_territory;
use crate::web::session::CurrentUser;
use crate::web::AppState;

mod ideas;
mod questionnaire;
pub use ideas::*;
pub use questionnaire::*;

pub fn paris_date_label(iso: &str) -> String {
    chrono::NaiveDate::parse_from_str(iso, "%Y-%m-%d")
        .map(dates::long_date)
        .unwrap_or_else(|_| iso.to_owned())
}

// ---------------------------------------------------------------- participer

pub struct BodyView {
    pub id: i64,
    pub kind_label: &'static str,
    pub name: String,
    pub theme: String,
    pub seats: String,
    pub status: String,
    pub joinable: bool,
    pub working_group: bool,
}

pub fn body_view(b: &Body) -> BodyView {
    let seats = match b.capacity {
        Some(c) => format!(
            "{} membre{} pour {c} place{}",
            b.member_count,
            if b.member_count > 1 { "s" } else { "" },
            if c > 1 { "s" } else { "" }
        ),
        None => format!(
            "{} membre{}",
            b.member_count,
            if b.member_count > 1 { "s" } else { "" }
        ),
    };
    let status = if b.kind != "working_group" {
        String::new()
    } else if !b.open {
        "Fermé aux nouveaux membres".into()
    } else if b.full() {
        "Complet".into()
    } else {
        "Ouvert : vous pouvez demander à le rejoindre".into()
    };
    BodyView {
        id: b.id,
        kind_label: body_kind_label(&b.kind),
        name: b.name.clone(),
        theme: b.theme.clone(),
        seats,
        status,
        joinable: b.joinable(),
        working_group: b.kind == "working_group",
    }
}

pub struct MeetingView {
    pub title: String,
    pub body_name: String,
    pub when: String,
    pub iso: String,
    pub place: String,
    pub online_link: String,
}

pub struct IdeaView {
    pub id: i64,
    pub kind_label: &'static str,
    pub text: Vec<String>,
    pub theme: String,
    pub commune: String,
    pub answer: Vec<String>,
    pub action_code: String,
    pub date: String,
}

fn idea_view(i: &store::Idea, communes: &[(String, String)]) -> IdeaView {
    IdeaView {
        id: i.id,
        kind_label: idea_kind_label(&i.kind),
        text: paragraphs(&i.text),
        theme: i.theme.clone(),
        commune: communes
            .iter()
            .find(|(c, _)| *c == i.insee_code)
            .map(|(_, n)| n.clone())
            .unwrap_or_default(),
        answer: paragraphs(&i.answer),
        action_code: i.action_code.clone().unwrap_or_default(),
        date: dates::paris_date(i.created_at),
    }
}

pub struct ConsultationItem {
    pub id: i64,
    pub title: String,
    pub closes: String,
}

#[derive(Template)]
#[template(path = "participation/participer.html")]
struct ParticiperPage {
    l: Layout,
    slug: String,
    open: Vec<ConsultationItem>,
    with_results: Vec<ConsultationItem>,
    groups: Vec<BodyView>,
    committees: Vec<BodyView>,
    meetings: Vec<MeetingView>,
    ideas: Vec<IdeaView>,
    /// The signed-in person's own groups here (their spaces).
    mine: Vec<(i64, String)>,
}

/// One statement (`public_pages::participer_page`), one more for a
/// signed-in person's own groups.
pub async fn participer(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let page = crate::storage::public_pages::participer_page(
        &st.db,
        &slug,
        chrono::Utc::now(),
        &store::today(),
    )
    .await?
    .ok_or(AppError::NotFound)?;
    let t = page.territory;
    let today = store::today();
    let item = |c: &Consultation| ConsultationItem {
        id: c.id,
        title: c.title.clone(),
        closes: paris_date_label(&c.closes_on),
    };
    let open = page
        .consultations
        .iter()
        .filter(|c| c.is_open(&today) && !c.panel_only)
        .map(item)
        .collect();
    let with_results = page
        .consultations
        .iter()
        .filter(|c| c.results_published)
        .map(item)
        .collect();
    let (groups, committees): (Vec<_>, Vec<_>) = page
        .bodies
        .iter()
        .map(body_view)
        .partition(|b| b.working_group);
    let meetings = page
        .meetings
        .into_iter()
        .map(|(m, body)| meeting_view(&m, body))
        .collect();
    let communes: Vec<(String, String)> = page
        .communes
        .into_iter()
        .map(|c| (c.insee_code, c.name))
        .collect();
    let ideas = page.ideas.iter().map(|i| idea_view(i, &communes)).collect();
    let mine = match &ctx.user {
        Some(u) => store::bodies_of_user(&st.db, u.user.id)
            .await?
            .into_iter()
            .filter(|(_, _, slug)| *slug == t.slug)
            .map(|(id, name, _)| (id, name))
            .collect(),
        None => Vec::new(),
    };
    Ok(render(&ParticiperPage {
        mine,
        l: ctx.public_layout("Participer", &t.slug, &t.name),
        slug: t.slug.clone(),
        open,
        with_results,
        groups,
        committees,
        meetings,
        ideas,
    }))
}

fn meeting_view(m: &store::Meeting, body_name: String) -> MeetingView {
    MeetingView {
        title: m.title.clone(),
        body_name,
        when: dates::paris_datetime(m.starts_at),
        iso: dates::paris_iso(m.starts_at),
        place: m.place.clone(),
        online_link: m.online_link.clone(),
    }
}

// ---------------------------------------------------------------- a body, joining

#[derive(Deserialize, Default, Clone)]
pub struct JoinForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub organisation: String,
    #[serde(default)]
    pub profile: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub consent: Option<String>,
    #[serde(default)]
    pub site_web: String,
    #[serde(default, rename = "_t")]
    pub t: String,
}

#[derive(Template)]
#[template(path = "participation/body.html")]
struct BodyPage {
    l: Layout,
    slug: String,
    b: BodyView,
    purpose: Vec<String>,
    organisations: Vec<String>,
    inhabitants: i64,
    meetings: Vec<MeetingView>,
    csrf: String,
    stamp: String,
    form: JoinForm,
    errors: FormErrors,
}

async fn load_body(st: &AppState, t: &Territory, id: &str) -> Result<Body, AppError> {
    Ok(store::get_body(&st.db, t.id, path_id(id)?).await?)
}

async fn body_response(
    st: &AppState,
    ctx: &Ctx,
    t: &Territory,
    b: Body,
    form: JoinForm,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let today = store::today();
    let members: Vec<store::Member> = store::members(&st.db, b.id)
        .await?
        .into_iter()
        .filter(|m| m.current(&today))
        .collect();
    let mut organisations: Vec<String> = members
        .iter()
        .filter(|m| !m.inhabitant && !m.organisation.is_empty())
        .map(|m| m.organisation.clone())
        .collect();
    organisations.sort();
    organisations.dedup();
    let inhabitants = members.iter().filter(|m| m.inhabitant).count() as i64;
    let now = chrono::Utc::now();
    let meetings = store::meetings(&st.db, b.id)
        .await?
        .into_iter()
        .filter(|m| m.public && m.starts_at >= now)
        .map(|m| meeting_view(&m, b.name.clone()))
        .collect();
    let page = BodyPage {
        l: ctx.public_layout(b.name.clone(), &t.slug, &t.name),
        slug: t.slug.clone(),
        purpose: paragraphs(&b.purpose),
        b: body_view(&b),
        organisations,
        inhabitants,
        meetings,
        csrf: ctx.csrf(),
        stamp: antispam::stamp(st),
        form,
        errors,
    };
    Ok((status, render(&page)).into_response())
}

pub async fn body_page(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    let b = load_body(&st, &t, &id).await?;
    body_response(
        &st,
        &ctx,
        &t,
        b,
        JoinForm::default(),
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

#[derive(Template)]
#[template(path = "participation/message.html")]
pub struct MessagePage {
    pub l: Layout,
    pub heading: String,
    pub paragraphs: Vec<String>,
    pub back: (String, String),
}

fn verdict_status(v: &Verdict) -> StatusCode {
    match v {
        Verdict::TooMany => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

pub async fn join(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ctx: Ctx,
    Form(form): Form<JoinForm>,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    let b = load_body(&st, &t, &id).await?;
    let mut errors = FormErrors::default();
    let v = antispam::check(
        &st,
        peer,
        &headers,
        &form.site_web,
        &form.t,
        "participation_form",
        antispam::FORM_LIMIT,
    )
    .await?;
    if v != Verdict::Ok {
        errors.push("name", v.message());
        let status = verdict_status(&v);
        return body_response(&st, &ctx, &t, b, form, errors, status).await;
    }
    let parsed = JoinRequestInput::parse(
        &form.name,
        &form.email,
        &form.phone,
        &form.organisation,
        &form.profile,
        &form.message,
        form.consent.is_some(),
    );
    let input = match parsed {
        Ok(i) => i,
        Err(list) => {
            for (f, m) in list {
                errors.push(f, m);
            }
            return body_response(
                &st,
                &ctx,
                &t,
                b,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    match store::create_join_request(&st.db, t.id, b.id, &input).await {
        Ok(_) => {
            st.cache.clear();
            if !t.contact_email.is_empty() {
                spawn_mail(
                    &st,
                    t.id,
                    "join-request",
                    t.contact_email.clone(),
                    format!("Nouvelle demande pour « {} »", b.name),
                    format!(
                        "Une personne demande à rejoindre « {} ».\n\nÀ traiter dans l’espace professionnel : {}/admin/t/{}/participation\n",
                        b.name,
                        st.config.public_url.trim_end_matches('/'),
                        t.slug
                    ),
                );
            }
            Ok(render(&MessagePage {
                l: ctx.public_layout("Demande envoyée", &t.slug, &t.name),
                heading: "Votre demande est envoyée".into(),
                paragraphs: vec![
                    format!("Merci. La coordination étudie votre demande pour rejoindre « {} » et vous répondra par e-mail.", b.name),
                    "Vos coordonnées servent seulement à traiter cette demande ; la coordination les supprime une fois la demande traitée, et elles sont effacées automatiquement au plus tard un an après.".into(),
                ],
                back: (format!("/t/{}/participer", t.slug), "Retour à « Participer »".into()),
            }))
        }
        Err(JoinError::Db(e)) => Err(e.into()),
        Err(other) => {
            errors.push("name", other.to_string());
            body_response(
                &st,
                &ctx,
                &t,
                b,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

// ---------------------------------------------------------------- members' space

pub struct MeetingFull {
    pub title: String,
    pub when: String,
    pub place: String,
    pub online_link: String,
    pub agenda: Vec<String>,
    pub minutes: Vec<String>,
    pub present: Vec<String>,
    pub absent: Vec<String>,
    pub decisions: Vec<store::Decision>,
}

#[derive(Template)]
#[template(path = "participation/space.html")]
struct SpacePage {
    l: Layout,
    slug: String,
    b: BodyView,
    members: Vec<store::Member>,
    meetings: Vec<MeetingFull>,
    documents: Vec<store::Document>,
}

pub async fn meetings_full(st: &AppState, body_id: i64) -> Result<Vec<MeetingFull>, AppError> {
    let mut out = Vec::new();
    for m in store::meetings(&st.db, body_id).await? {
        let att = store::attendance(&st.db, m.id).await?;
        out.push(MeetingFull {
            title: m.title.clone(),
            when: dates::paris_datetime(m.starts_at),
            place: m.place.clone(),
            online_link: m.online_link.clone(),
            agenda: paragraphs(&m.agenda),
            minutes: paragraphs(&m.minutes),
            present: att
                .iter()
                .filter(|a| a.present)
                .map(|a| a.name.clone())
                .collect(),
            absent: att
                .iter()
                .filter(|a| a.invited && !a.present)
                .map(|a| a.name.clone())
                .collect(),
            decisions: store::decisions(&st.db, m.id).await?,
        });
    }
    Ok(out)
}

/// Who opens a body's space: its current members (by their account), the
/// territory's coordinators, admins. Everyone else gets a 404, so the page
/// does not even reveal that the space exists.
pub async fn may_see_space(
    st: &AppState,
    user: &CurrentUser,
    t: &Territory,
    body_id: i64,
) -> Result<bool, AppError> {
    Ok(user.is_admin()
        || user.role_in(t.id) == Some(Role::Coordinator)
        || store::is_member(&st.db, body_id, user.user.id).await?)
}

pub async fn space(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    let b = load_body(&st, &t, &id).await?;
    let Some(user) = ctx.user.clone() else {
        return Err(AppError::Unauthenticated);
    };
    if !may_see_space(&st, &user, &t, b.id).await? {
        return Err(AppError::NotFound);
    }
    let today = store::today();
    let members = store::members(&st.db, b.id)
        .await?
        .into_iter()
        .filter(|m| m.current(&today))
        .collect();
    Ok(render(&SpacePage {
        l: ctx.public_layout(format!("Espace : {}", b.name), &t.slug, &t.name),
        slug: t.slug.clone(),
        members,
        meetings: meetings_full(&st, b.id).await?,
        documents: store::documents(&st.db, b.id).await?,
        b: body_view(&b),
    }))
}

/// A file of a body's members' space, for those who may see the space.
pub async fn space_document(
    State(st): State<AppState>,
    Path((slug, id, doc)): Path<(String, String, String)>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    let b = load_body(&st, &t, &id).await?;
    let Some(user) = ctx.user.clone() else {
        return Err(AppError::Unauthenticated);
    };
    if !may_see_space(&st, &user, &t, b.id).await? {
        return Err(AppError::NotFound);
    }
    let d = store::get_document(&st.db, t.id, b.id, path_id(&doc)?).await?;
    let bytes = store::document_content(&st.db, &st.config.document_store(), &d).await?;
    Ok(crate::web::contract::documents::attachment(
        d.media_type.as_deref().unwrap_or(""),
        d.file_name.as_deref().unwrap_or("document"),
        bytes,
    ))
}
