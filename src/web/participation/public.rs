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

pub async fn participer(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    let today = store::today();
    let consultations = store::list_consultations(&st.db, t.id).await?;
    let item = |c: &Consultation| ConsultationItem {
        id: c.id,
        title: c.title.clone(),
        closes: paris_date_label(&c.closes_on),
    };
    let open = consultations
        .iter()
        .filter(|c| c.is_open(&today) && !c.panel_only)
        .map(item)
        .collect();
    let with_results = consultations
        .iter()
        .filter(|c| c.results_published)
        .map(item)
        .collect();
    let bodies = store::list_bodies(&st.db, t.id).await?;
    let (groups, committees): (Vec<_>, Vec<_>) =
        bodies.iter().map(body_view).partition(|b| b.working_group);
    let meetings = store::upcoming_public_meetings(&st.db, t.id, chrono::Utc::now())
        .await?
        .into_iter()
        .map(|(m, body)| meeting_view(&m, body))
        .collect();
    let communes = commune_choices(&st, &t).await?;
    let ideas = store::list_ideas(&st.db, t.id, true)
        .await?
        .iter()
        .take(5)
        .map(|i| idea_view(i, &communes))
        .collect();
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

// ---------------------------------------------------------------- questionnaire

pub struct ChoiceView {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

pub struct QView {
    pub number: usize,
    pub field: String,
    pub kind: &'static str,
    pub label: String,
    pub help: String,
    pub required: bool,
    pub choices: Vec<ChoiceView>,
    pub text: String,
    pub cond_field: String,
    pub cond_value: String,
    pub cond_note: String,
    pub scale_note: String,
    pub error: String,
}

impl QView {
    pub fn described_by(&self) -> String {
        let mut v = Vec::new();
        if !self.help.is_empty() {
            v.push(format!("{}-aide", self.field));
        }
        if !self.cond_note.is_empty() {
            v.push(format!("{}-condition", self.field));
        }
        if !self.error.is_empty() {
            v.push(format!("{}-error", self.field));
        }
        v.join(" ")
    }
}

pub fn question_views(
    questions: &[Question],
    values: &HashMap<String, Vec<String>>,
    errors: &[(String, String)],
    communes: &[(String, String)],
) -> Vec<QView> {
    let numbers: HashMap<i64, usize> = questions
        .iter()
        .enumerate()
        .map(|(i, q)| (q.id, i + 1))
        .collect();
    questions
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let vals = values.get(&q.field()).cloned().unwrap_or_default();
            let choices = q
                .choices(communes)
                .into_iter()
                .map(|(v, l)| ChoiceView {
                    checked: vals.contains(&v),
                    value: v,
                    label: l,
                })
                .collect();
            let (cond_field, cond_value, cond_note) = match (q.cond_question_id, q.cond_option) {
                (Some(cq), Some(co)) => {
                    let src = questions.iter().find(|x| x.id == cq);
                    let label = src
                        .and_then(|s| {
                            s.option_list()
                                .get((co - 1) as usize)
                                .map(|s| s.to_string())
                        })
                        .unwrap_or_default();
                    (
                        format!("q{cq}"),
                        co.to_string(),
                        format!(
                            "Répondez seulement si vous avez répondu « {label} » à la question {}.",
                            numbers.get(&cq).copied().unwrap_or(0)
                        ),
                    )
                }
                _ => (String::new(), String::new(), String::new()),
            };
            QView {
                number: i + 1,
                field: q.field(),
                kind: q.kind().as_str(),
                label: q.label.clone(),
                help: q.help.clone(),
                required: q.required,
                choices,
                text: if q.kind().is_counted() {
                    String::new()
                } else {
                    vals.join("\n")
                },
                cond_field,
                cond_value,
                cond_note,
                scale_note: if q.kind() == QuestionKind::Scale {
                    format!(
                        "{} = pas du tout, {} = tout à fait.",
                        q.scale_min, q.scale_max
                    )
                } else {
                    String::new()
                },
                error: errors
                    .iter()
                    .find(|(f, _)| *f == q.field())
                    .map(|(_, m)| m.clone())
                    .unwrap_or_default(),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "participation/consultation.html")]
struct ConsultationPage {
    l: Layout,
    slug: String,
    c: Consultation,
    intro: Vec<String>,
    closes: String,
    /// Why the form is not shown (closed, not yet open, invitation needed).
    blocked: String,
    questions: Vec<QView>,
    errors: FormErrors,
    summary: Vec<(String, String)>,
    csrf: String,
    stamp: String,
    key: String,
    token: String,
}

#[derive(Deserialize, Default)]
pub struct TokenQuery {
    jeton: Option<String>,
}

async fn load_consultation(
    st: &AppState,
    t: &Territory,
    id: &str,
) -> Result<Consultation, AppError> {
    Ok(store::get_consultation(&st.db, t.id, path_id(id)?).await?)
}

#[allow(clippy::too_many_arguments)]
async fn consultation_response(
    st: &AppState,
    ctx: &Ctx,
    t: &Territory,
    c: Consultation,
    values: HashMap<String, Vec<String>>,
    field_errors: Vec<(String, String)>,
    general: Option<String>,
    token: String,
    key: String,
    status: StatusCode,
) -> Result<Response, AppError> {
    let today = store::today();
    let questions = store::questions(&st.db, c.id).await?;
    let communes = commune_choices(st, t).await?;
    let blocked = if c.opens_on.as_str() > today.as_str() {
        format!(
            "Cette consultation ouvrira le {}.",
            paris_date_label(&c.opens_on)
        )
    } else if c.closes_on.as_str() < today.as_str() && general.is_none() {
        format!(
            "Cette consultation est close depuis le {}. Merci à toutes celles et ceux qui ont répondu.",
            paris_date_label(&c.closes_on)
        )
    } else if c.panel_only && token.is_empty() {
        "Cette consultation est réservée aux personnes invitées : utilisez le lien personnel reçu avec l’invitation.".into()
    } else {
        String::new()
    };
    let mut errors = FormErrors::default();
    if let Some(g) = general {
        errors.push("questionnaire", g);
    }
    let qviews = question_views(&questions, &values, &field_errors, &communes);
    let summary = field_errors;
    let page = ConsultationPage {
        l: ctx.public_layout(c.title.clone(), &t.slug, &t.name),
        slug: t.slug.clone(),
        intro: paragraphs(&c.intro),
        closes: paris_date_label(&c.closes_on),
        blocked,
        questions: qviews,
        errors,
        summary,
        csrf: ctx.csrf(),
        stamp: antispam::stamp(st),
        key: if key.is_empty() {
            crate::accounts::random_token()
        } else {
            key
        },
        token,
        c,
    };
    Ok((status, render(&page)).into_response())
}

pub async fn consultation_form(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    Query(q): Query<TokenQuery>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    let c = load_consultation(&st, &t, &id).await?;
    let token = q.jeton.unwrap_or_default();
    let mut general = None;
    let mut token_ok = token.clone();
    if !token.is_empty() && !store::token_usable(&st.db, c.id, &token).await? {
        general = Some(SubmitError::BadToken.to_string());
        token_ok = String::new();
    }
    let status = if general.is_some() {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    consultation_response(
        &st,
        &ctx,
        &t,
        c,
        HashMap::new(),
        Vec::new(),
        general,
        token_ok,
        String::new(),
        status,
    )
    .await
}

/// The form's values: several per name for multiple choice.
pub fn form_values(body: &[u8]) -> HashMap<String, Vec<String>> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    let mut m: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in pairs {
        m.entry(k).or_default().push(v);
    }
    m
}

fn first(m: &HashMap<String, Vec<String>>, k: &str) -> String {
    m.get(k)
        .and_then(|v| v.first())
        .cloned()
        .unwrap_or_default()
}

pub async fn consultation_submit(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ctx: Ctx,
    body: Bytes,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    let c = load_consultation(&st, &t, &id).await?;
    let values = form_values(&body);
    let token = first(&values, "jeton");
    let key = first(&values, "key");
    let today = store::today();
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    if !c.is_open(&today) {
        let msg = if c.closes_on.as_str() < today.as_str() {
            format!("La consultation est close depuis le {} : votre réponse n’a pas pu être enregistrée. Vos réponses restent affichées ci-dessous si vous souhaitez les copier.", paris_date_label(&c.closes_on))
        } else {
            format!(
                "La consultation n’ouvre que le {}.",
                paris_date_label(&c.opens_on)
            )
        };
        return consultation_response(
            &st,
            &ctx,
            &t,
            c,
            values,
            Vec::new(),
            Some(msg),
            token,
            key,
            unprocessable,
        )
        .await;
    }
    if c.panel_only && token.is_empty() {
        return consultation_response(
            &st,
            &ctx,
            &t,
            c,
            values,
            Vec::new(),
            Some(SubmitError::BadToken.to_string()),
            token,
            key,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    let v = antispam::check(
        &st,
        peer,
        &headers,
        &first(&values, antispam::HONEYPOT),
        &first(&values, antispam::STAMP),
        "participation_answer",
        antispam::ANSWER_LIMIT,
    )
    .await?;
    if v != Verdict::Ok {
        let status = verdict_status(&v);
        return consultation_response(
            &st,
            &ctx,
            &t,
            c,
            values,
            Vec::new(),
            Some(v.message().into()),
            token,
            key,
            status,
        )
        .await;
    }
    let questions = store::questions(&st.db, c.id).await?;
    let communes = commune_choices(&st, &t).await?;
    let answers = match dom::validate_answers(&questions, &values, &communes) {
        Ok(a) => a,
        Err(errs) => {
            return consultation_response(
                &st,
                &ctx,
                &t,
                c,
                values,
                errs,
                None,
                token,
                key,
                unprocessable,
            )
            .await;
        }
    };
    if key.trim().is_empty() || key.len() > 100 {
        return consultation_response(
            &st,
            &ctx,
            &t,
            c,
            values,
            Vec::new(),
            Some("Formulaire incomplet : rechargez la page.".into()),
            token,
            String::new(),
            unprocessable,
        )
        .await;
    }
    let token_opt = (!token.is_empty()).then_some(token.as_str());
    match store::submit_response(&st.db, c.id, &key, token_opt, &answers).await {
        Ok(first_time) => {
            st.cache.clear();
            let mut paragraphs = vec![if first_time {
                "Votre réponse est enregistrée, de façon anonyme. Merci de votre participation !"
                    .to_owned()
            } else {
                "Ce formulaire avait déjà été envoyé : votre réponse n’a été enregistrée qu’une fois.".to_owned()
            }];
            if c.results_published {
                paragraphs.push(format!(
                    "Les résultats sont publiés : /t/{}/consultations/{}/resultats",
                    t.slug, c.id
                ));
            }
            Ok(render(&MessagePage {
                l: ctx.public_layout("Réponse enregistrée", &t.slug, &t.name),
                heading: "Merci pour votre réponse".into(),
                paragraphs,
                back: (
                    format!("/t/{}/participer", t.slug),
                    "Retour à « Participer »".into(),
                ),
            }))
        }
        Err(SubmitError::BadToken) => {
            consultation_response(
                &st,
                &ctx,
                &t,
                c,
                values,
                Vec::new(),
                Some(SubmitError::BadToken.to_string()),
                String::new(),
                key,
                StatusCode::FORBIDDEN,
            )
            .await
        }
        Err(SubmitError::Db(e)) => Err(e.into()),
    }
}

// ---------------------------------------------------------------- results

pub struct ResultView {
    pub r: QuestionResult,
    pub number: usize,
    pub counted: bool,
    pub svg: String,
    pub mean: String,
    pub texts: Vec<String>,
}

pub async fn result_views(
    st: &AppState,
    t: &Territory,
    c: &Consultation,
    with_texts: bool,
) -> Result<(i64, Vec<ResultView>), AppError> {
    let questions = store::questions(&st.db, c.id).await?;
    let communes = commune_choices(st, t).await?;
    let raw = store::raw_results(&st.db, c.id).await?;
    let results = dom::compute_results(&questions, &raw.counts, &raw.respondents, &communes);
    let mut texts: HashMap<i64, Vec<String>> = HashMap::new();
    if with_texts {
        for (q, v) in store::text_answers(&st.db, c.id, 5000).await? {
            texts.entry(q).or_default().push(v);
        }
    }
    let views = results
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let counted = QuestionKind::parse(&r.kind).is_some_and(|k| k.is_counted());
            ResultView {
                number: i + 1,
                counted,
                svg: if counted {
                    dom::bar_chart_svg(&r)
                } else {
                    String::new()
                },
                mean: r
                    .mean
                    .map(|m| format!("{m:.2}").replace('.', ","))
                    .unwrap_or_default(),
                texts: texts.remove(&r.question_id).unwrap_or_default(),
                r,
            }
        })
        .collect();
    Ok((raw.responses, views))
}

#[derive(Template)]
#[template(path = "participation/results.html")]
pub struct ResultsPage {
    pub l: Layout,
    pub slug: String,
    pub c: Consultation,
    pub responses: i64,
    pub results: Vec<ResultView>,
    pub coordinator: bool,
}

pub async fn results_public(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    let c = load_consultation(&st, &t, &id).await?;
    if !c.results_published {
        return Err(AppError::NotFound);
    }
    let (responses, results) = result_views(&st, &t, &c, false).await?;
    Ok(render(&ResultsPage {
        l: ctx.public_layout(format!("Résultats : {}", c.title), &t.slug, &t.name),
        slug: t.slug.clone(),
        c,
        responses,
        results,
        coordinator: false,
    }))
}

// ---------------------------------------------------------------- ideas

#[derive(Deserialize, Default, Clone)]
pub struct IdeaForm {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub theme: String,
    #[serde(default)]
    pub insee_code: String,
    #[serde(default)]
    pub contact_name: String,
    #[serde(default)]
    pub contact_email: String,
    #[serde(default)]
    pub consent: Option<String>,
    #[serde(default)]
    pub site_web: String,
    #[serde(default, rename = "_t")]
    pub t: String,
}

#[derive(Template)]
#[template(path = "participation/ideas.html")]
struct IdeasPage {
    l: Layout,
    slug: String,
    ideas: Vec<IdeaView>,
    communes: Vec<(String, String)>,
    themes: Vec<&'static str>,
    csrf: String,
    stamp: String,
    form: IdeaForm,
    errors: FormErrors,
}

pub const THEMES: [&str; 8] = [
    "Accès aux soins",
    "Prévention",
    "Santé mentale",
    "Personnes âgées",
    "Jeunesse",
    "Environnement",
    "Mobilité",
    "Autre",
];

async fn ideas_response(
    st: &AppState,
    ctx: &Ctx,
    t: &Territory,
    form: IdeaForm,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let communes = commune_choices(st, t).await?;
    let ideas = store::list_ideas(&st.db, t.id, true)
        .await?
        .iter()
        .map(|i| idea_view(i, &communes))
        .collect();
    let form = if form.kind.is_empty() {
        IdeaForm {
            kind: "idea".into(),
            ..form
        }
    } else {
        form
    };
    let page = IdeasPage {
        l: ctx.public_layout("Boîte à idées", &t.slug, &t.name),
        slug: t.slug.clone(),
        ideas,
        communes,
        themes: THEMES.to_vec(),
        csrf: ctx.csrf(),
        stamp: antispam::stamp(st),
        form,
        errors,
    };
    Ok((status, render(&page)).into_response())
}

pub async fn ideas(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    ideas_response(
        &st,
        &ctx,
        &t,
        IdeaForm::default(),
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn idea_submit(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ctx: Ctx,
    Form(form): Form<IdeaForm>,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    let mut errors = FormErrors::default();
    let communes = commune_choices(&st, &t).await?;
    let parsed = IdeaInput::parse(
        &form.kind,
        &form.text,
        &form.theme,
        &form.insee_code,
        &communes,
        &form.contact_name,
        &form.contact_email,
        form.consent.is_some(),
    );
    let input = match parsed {
        Ok(i) => i,
        Err(list) => {
            for (f, m) in list {
                errors.push(f, m);
            }
            return ideas_response(
                &st,
                &ctx,
                &t,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
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
        errors.push("text", v.message());
        let status = verdict_status(&v);
        return ideas_response(&st, &ctx, &t, form, errors, status).await;
    }
    store::create_idea(&st.db, t.id, &input).await?;
    if !t.contact_email.is_empty() {
        spawn_mail(
            &st,
            t.contact_email.clone(),
            "Boîte à idées : une nouvelle proposition à modérer".into(),
            format!(
                "Une nouvelle proposition attend votre relecture : {}/admin/t/{}/participation\n",
                st.config.public_url.trim_end_matches('/'),
                t.slug
            ),
        );
    }
    Ok(render(&MessagePage {
        l: ctx.public_layout("Proposition envoyée", &t.slug, &t.name),
        heading: "Merci pour votre proposition".into(),
        paragraphs: vec![
            "Elle sera publiée dans la boîte à idées après relecture par la coordination, qui pourra y répondre publiquement.".into(),
            "Si vous avez laissé vos coordonnées, elles ne sont jamais publiées ; elles sont supprimées au plus tard un an après.".into(),
        ],
        back: (format!("/t/{}/idees", t.slug), "Retour à la boîte à idées".into()),
    }))
}

// ---------------------------------------------------------------- contact

#[derive(Deserialize, Default, Clone)]
pub struct ContactForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub subject: String,
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
#[template(path = "participation/contact.html")]
struct ContactPage {
    l: Layout,
    slug: String,
    csrf: String,
    stamp: String,
    form: ContactForm,
    errors: FormErrors,
}

fn contact_response(
    st: &AppState,
    ctx: &Ctx,
    t: &Territory,
    form: ContactForm,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    let page = ContactPage {
        l: ctx.public_layout("Contacter la coordination", &t.slug, &t.name),
        slug: t.slug.clone(),
        csrf: ctx.csrf(),
        stamp: antispam::stamp(st),
        form,
        errors,
    };
    (status, render(&page)).into_response()
}

pub async fn contact_form(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    Ok(contact_response(
        &st,
        &ctx,
        &t,
        ContactForm::default(),
        FormErrors::default(),
        StatusCode::OK,
    ))
}

pub async fn contact_submit(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ctx: Ctx,
    Form(form): Form<ContactForm>,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    let mut errors = FormErrors::default();
    let input = match ContactInput::parse(
        &form.name,
        &form.email,
        &form.subject,
        &form.message,
        form.consent.is_some(),
    ) {
        Ok(i) => i,
        Err(list) => {
            for (f, m) in list {
                errors.push(f, m);
            }
            return Ok(contact_response(
                &st,
                &ctx,
                &t,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
    };
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
        errors.push("message", v.message());
        let status = verdict_status(&v);
        return Ok(contact_response(&st, &ctx, &t, form, errors, status));
    }
    store::create_contact_message(&st.db, t.id, &input).await?;
    if !t.contact_email.is_empty() {
        spawn_mail(
            &st,
            t.contact_email.clone(),
            format!("Contact : {}", input.subject),
            format!(
                "Message reçu par le formulaire de contact.\n\nDe : {} <{}>\nObjet : {}\n\n{}\n",
                input.name, input.email, input.subject, input.message
            ),
        );
    }
    Ok(render(&MessagePage {
        l: ctx.public_layout("Message envoyé", &t.slug, &t.name),
        heading: "Votre message est envoyé".into(),
        paragraphs: vec![
            "Merci. La coordination vous répondra à l’adresse indiquée.".into(),
            "Votre message est conservé le temps de vous répondre, puis supprimé (au plus tard un an après).".into(),
        ],
        back: (format!("/t/{}/", t.slug), "Retour à l’accueil du territoire".into()),
    }))
}
