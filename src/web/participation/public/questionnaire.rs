//! A questionnaire: answering it (open or by panel link) and its public results.

use super::*;

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
pub(super) struct ConsultationPage {
    pub(super) l: Layout,
    pub(super) slug: String,
    pub(super) c: Consultation,
    pub(super) intro: Vec<String>,
    pub(super) closes: String,
    /// Why the form is not shown (closed, not yet open, invitation needed).
    pub(super) blocked: String,
    pub(super) questions: Vec<QView>,
    pub(super) errors: FormErrors,
    pub(super) summary: Vec<(String, String)>,
    pub(super) csrf: String,
    pub(super) stamp: String,
    pub(super) key: String,
    pub(super) token: String,
}

#[derive(Deserialize, Default)]
pub struct TokenQuery {
    pub(super) jeton: Option<String>,
}

pub(super) async fn load_consultation(
    st: &AppState,
    t: &Territory,
    id: &str,
) -> Result<Consultation, AppError> {
    Ok(store::get_consultation(&st.db, t.id, path_id(id)?).await?)
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn consultation_response(
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

pub(super) fn first(m: &HashMap<String, Vec<String>>, k: &str) -> String {
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
