//! The idea box and the contact form.

use super::*;

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
pub(super) struct IdeasPage {
    pub(super) l: Layout,
    pub(super) slug: String,
    pub(super) ideas: Vec<IdeaView>,
    pub(super) communes: Vec<(String, String)>,
    pub(super) themes: Vec<&'static str>,
    pub(super) csrf: String,
    pub(super) stamp: String,
    pub(super) form: IdeaForm,
    pub(super) errors: FormErrors,
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

/// The page re-rendered after a refused idea: its communes and published
/// ideas read again.
async fn ideas_again(
    st: &AppState,
    ctx: &Ctx,
    t: &Territory,
    form: IdeaForm,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let communes = commune_choices(st, t).await?;
    let ideas = store::list_ideas(&st.db, t.id, true).await?;
    ideas_response(st, ctx, t, communes, &ideas, form, errors, status)
}

#[allow(clippy::too_many_arguments)]
fn ideas_response(
    st: &AppState,
    ctx: &Ctx,
    t: &Territory,
    communes: Vec<(String, String)>,
    ideas: &[store::Idea],
    form: IdeaForm,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let ideas = ideas.iter().map(|i| idea_view(i, &communes)).collect();
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

/// One statement (`public_pages::ideas_page`).
pub async fn ideas(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let page = crate::storage::public_pages::ideas_page(&st.db, &slug)
        .await?
        .ok_or(AppError::NotFound)?;
    let communes = page
        .communes
        .into_iter()
        .map(|c| (c.insee_code, c.name))
        .collect();
    ideas_response(
        &st,
        &ctx,
        &page.territory,
        communes,
        &page.ideas,
        IdeaForm::default(),
        FormErrors::default(),
        StatusCode::OK,
    )
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
            return ideas_again(
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
        return ideas_again(&st, &ctx, &t, form, errors, status).await;
    }
    store::create_idea(&st.db, t.id, &input).await?;
    if !t.contact_email.is_empty() {
        spawn_mail(
            &st,
            t.id,
            "idea",
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
pub(super) struct ContactPage {
    pub(super) l: Layout,
    pub(super) slug: String,
    pub(super) csrf: String,
    pub(super) stamp: String,
    pub(super) form: ContactForm,
    pub(super) errors: FormErrors,
}

pub(super) fn contact_response(
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
            t.id,
            "contact",
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
