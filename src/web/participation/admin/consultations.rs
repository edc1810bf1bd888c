//! Questionnaires: settings, questions, invitation links, results and exports.

use super::*;

// ---------------------------------------------------------------- consultations

#[derive(Deserialize, Default, Clone)]
pub struct QuestionForm {
    #[serde(default)]
    pub(super) kind: String,
    #[serde(default)]
    pub(super) label: String,
    #[serde(default)]
    pub(super) help: String,
    #[serde(default)]
    pub(super) required: Option<String>,
    #[serde(default)]
    pub(super) options: String,
    #[serde(default)]
    pub(super) scale_min: String,
    #[serde(default)]
    pub(super) scale_max: String,
    /// `question_id:choice`, or empty.
    #[serde(default)]
    pub(super) condition: String,
}

impl QuestionForm {
    pub(super) fn parse(
        &self,
        earlier: &[Question],
    ) -> Result<QuestionInput, Vec<(&'static str, String)>> {
        QuestionInput::parse(
            &self.kind,
            &self.label,
            &self.help,
            self.required.is_some(),
            &self.options,
            &self.scale_min,
            &self.scale_max,
            &self.condition,
            earlier,
        )
    }
}

pub struct QuestionRow {
    pub q: Question,
    pub number: usize,
    pub kind_label: &'static str,
    pub condition: String,
}

#[derive(Template)]
#[template(path = "participation/admin_consultation.html")]
pub(super) struct ConsultationEditPage {
    pub(super) l: Layout,
    pub(super) slug: String,
    pub(super) csrf: String,
    pub(super) c: Consultation,
    pub(super) form: ConsultationForm,
    pub(super) conflict: Option<ConsultationForm>,
    pub(super) questions: Vec<QuestionRow>,
    /// Choices a new question may depend on: (`qid:n`, label).
    pub(super) conditions: Vec<(String, String)>,
    pub(super) kinds: Vec<(&'static str, &'static str)>,
    pub(super) question_form: QuestionForm,
    pub(super) errors: FormErrors,
    pub(super) tokens: Vec<String>,
    pub(super) token_counts: (i64, i64),
    pub(super) base: String,
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn consultation_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    c: Consultation,
    form: Option<ConsultationForm>,
    conflict: Option<ConsultationForm>,
    question_form: QuestionForm,
    tokens: Vec<String>,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let qs = store::questions(&st.db, c.id).await?;
    let numbers: std::collections::HashMap<i64, usize> =
        qs.iter().enumerate().map(|(i, q)| (q.id, i + 1)).collect();
    let mut conditions = Vec::new();
    for q in &qs {
        if q.kind().has_options() {
            for (i, o) in q.option_list().iter().enumerate() {
                conditions.push((
                    format!("{}:{}", q.id, i + 1),
                    format!("Question {} = « {} »", numbers[&q.id], o),
                ));
            }
        }
    }
    let questions = qs
        .iter()
        .enumerate()
        .map(|(i, q)| QuestionRow {
            number: i + 1,
            kind_label: q.kind().label(),
            condition: match (q.cond_question_id, q.cond_option) {
                (Some(cq), Some(co)) => {
                    let src = qs.iter().find(|x| x.id == cq);
                    format!(
                        "Affichée si question {} = « {} »",
                        numbers.get(&cq).copied().unwrap_or(0),
                        src.and_then(|s| s
                            .option_list()
                            .get((co - 1) as usize)
                            .map(|s| s.to_string()))
                            .unwrap_or_default()
                    )
                }
                _ => String::new(),
            },
            q: q.clone(),
        })
        .collect();
    let page = ConsultationEditPage {
        l: ctx.admin_layout(c.title.clone()),
        slug: tc.territory.slug.clone(),
        csrf: ctx.csrf(),
        form: form.unwrap_or_else(|| ConsultationForm::of(&c)),
        conflict,
        questions,
        conditions,
        kinds: QuestionKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        question_form,
        errors,
        tokens,
        token_counts: store::token_counts(&st.db, c.id).await?,
        base: st.config.public_url.trim_end_matches('/').to_owned(),
        c,
    };
    Ok((status, render(&page)).into_response())
}

pub(super) async fn load_consultation(
    st: &AppState,
    tc: &TerritoryCtx,
    id: &str,
) -> Result<Consultation, AppError> {
    Ok(store::get_consultation(&st.db, tc.territory.id, path_id(id)?).await?)
}

pub async fn consultation_edit(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let c = load_consultation(&st, &tc, &id).await?;
    let qf = QuestionForm {
        kind: "single".into(),
        scale_min: "1".into(),
        scale_max: "5".into(),
        ..Default::default()
    };
    consultation_page(
        &st,
        &ctx,
        &tc,
        c,
        None,
        None,
        qf,
        Vec::new(),
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn consultation_update(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    ctx: Ctx,
    Form(f): Form<ConsultationForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let c = load_consultation(&st, &tc, &id).await?;
    let (cid, version) = (c.id, form::version(&f.version));
    form::submit(
        f,
        |f| f.parse().map_err(FormErrors),
        async |input| {
            let actor = tc.user.actor();
            Ok(store::update_consultation(&st.db, &actor, t.id, cid, version, &input).await?)
        },
        ("title", "Quelqu’un a modifié cette consultation entre-temps. Voici la version enregistrée ; votre saisie est affichée à côté."),
        |c| {
            st.cache.clear();
            let to = format!("/admin/t/{}/consultations/{}", t.slug, c.id);
            flash::see_other(&to, "Consultation enregistrée.")
        },
        async |again| {
            // After a stale save: the stored version in the form, the typed one beside.
            let (c, form, conflict) = if again.stale {
                (load_consultation(&st, &tc, &id).await?, None, Some(again.typed))
            } else {
                (c, Some(again.typed), None)
            };
            let (q, tokens) = (QuestionForm::default(), Vec::new());
            consultation_page(&st, &ctx, &tc, c, form, conflict, q, tokens, again.errors, again.status)
                .await
        },
    )
    .await
}

pub(super) fn question_field(k: &str) -> &'static str {
    match k {
        "kind" => "q_kind",
        "label" => "q_label",
        "help" => "q_help",
        "options" => "q_options",
        "scale_min" => "q_scale_min",
        "condition" => "q_condition",
        _ => "q_label",
    }
}

pub async fn question_add(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    ctx: Ctx,
    Form(f): Form<QuestionForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let c = load_consultation(&st, &tc, &id).await?;
    let cid = c.id;
    let earlier = store::questions(&st.db, c.id).await?;
    form::submit(
        f,
        |f| {
            f.parse(&earlier).map_err(|list| {
                FormErrors(
                    list.into_iter()
                        .map(|(k, v)| (question_field(k), v))
                        .collect(),
                )
            })
        },
        async |q| {
            store::add_question(&st.db, &tc.user.actor(), t.id, cid, &q)
                .await
                .map_err(|e| question_refused(e, "q_label"))
        },
        form::UNVERSIONED,
        |_| {
            st.cache.clear();
            let to = format!("/admin/t/{}/consultations/{cid}#questions", t.slug);
            flash::see_other(&to, "Question ajoutée.")
        },
        async |again| {
            let (q, tokens) = (again.typed, Vec::new());
            consultation_page(
                &st,
                &ctx,
                &tc,
                c,
                None,
                None,
                q,
                tokens,
                again.errors,
                again.status,
            )
            .await
        },
    )
    .await
}

/// A question change refused because answers exist: 409 with the message.
pub(super) fn question_refused(e: QuestionError, field: &'static str) -> form::Failed {
    match e {
        QuestionError::HasAnswers => {
            let mut errors = FormErrors::default();
            errors.push(field, QuestionError::HasAnswers.to_string());
            form::Failed::Refused(StatusCode::CONFLICT, errors)
        }
        QuestionError::Db(e) => e.into(),
    }
}

pub async fn question_update(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    ctx: Ctx,
    Form(f): Form<QuestionForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let q = store::get_question(&st.db, t.id, path_id(&id)?).await?;
    let c = store::get_consultation(&st.db, t.id, q.consultation_id).await?;
    let cid = c.id;
    let all = store::questions(&st.db, c.id).await?;
    let earlier: Vec<Question> = all.iter().take_while(|x| x.id != q.id).cloned().collect();
    form::submit(
        f,
        |f| {
            f.parse(&earlier).map_err(|list| {
                let m = |v| ("questions", format!("Question {} : {v}", q.position));
                FormErrors(list.into_iter().map(|(_, v)| m(v)).collect())
            })
        },
        async |input| {
            store::update_question(&st.db, &tc.user.actor(), t.id, q.id, &input)
                .await
                .map_err(|e| question_refused(e, "questions"))
        },
        form::UNVERSIONED,
        |()| {
            st.cache.clear();
            let to = format!("/admin/t/{}/consultations/{cid}#questions", t.slug);
            flash::see_other(&to, "Question enregistrée.")
        },
        async |again| {
            // The questions are edited in place: the list shows the stored ones.
            let (qf, tokens) = (QuestionForm::default(), Vec::new());
            consultation_page(
                &st,
                &ctx,
                &tc,
                c,
                None,
                None,
                qf,
                tokens,
                again.errors,
                again.status,
            )
            .await
        },
    )
    .await
}

pub async fn question_delete(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let q = store::get_question(&st.db, tc.territory.id, path_id(&id)?).await?;
    let c = store::get_consultation(&st.db, tc.territory.id, q.consultation_id).await?;
    match store::delete_question(&st.db, &tc.user.actor(), tc.territory.id, q.id).await {
        Ok(()) => Ok(see_other(format!(
            "/admin/t/{}/consultations/{}#questions",
            tc.territory.slug, c.id
        ))),
        Err(QuestionError::HasAnswers) => {
            let mut errors = FormErrors::default();
            errors.push("questions", QuestionError::HasAnswers.to_string());
            consultation_page(
                &st,
                &ctx,
                &tc,
                c,
                None,
                None,
                QuestionForm::default(),
                Vec::new(),
                errors,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(QuestionError::Db(e)) => Err(e.into()),
    }
}

pub async fn consultation_duplicate(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let c = load_consultation(&st, &tc, &id).await?;
    let copy =
        store::duplicate_consultation(&st.db, &tc.user.actor(), tc.territory.id, c.id).await?;
    Ok(see_other(format!(
        "/admin/t/{}/consultations/{}",
        tc.territory.slug, copy.id
    )))
}

#[derive(Deserialize, Default)]
pub struct TokensForm {
    #[serde(default)]
    pub(super) count: String,
}

pub async fn tokens_create(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    ctx: Ctx,
    Form(f): Form<TokensForm>,
) -> Result<Response, AppError> {
    let c = load_consultation(&st, &tc, &id).await?;
    let n: usize = match f.count.trim().parse() {
        Ok(n) if (1..=500).contains(&n) => n,
        _ => {
            let mut errors = FormErrors::default();
            errors.push("count", "Nombre d’invitations : entre 1 et 500.");
            return consultation_page(
                &st,
                &ctx,
                &tc,
                c,
                None,
                None,
                QuestionForm::default(),
                Vec::new(),
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let tokens = store::create_tokens(&st.db, &tc.user.actor(), tc.territory.id, c.id, n).await?;
    consultation_page(
        &st,
        &ctx,
        &tc,
        c,
        None,
        None,
        QuestionForm::default(),
        tokens,
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn results(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let c = load_consultation(&st, &tc, &id).await?;
    let (responses, results) = result_views(&st, &tc.territory, &c, true).await?;
    Ok(render(&ResultsPage {
        l: ctx.admin_layout(format!("Résultats : {}", c.title)),
        slug: tc.territory.slug.clone(),
        c,
        responses,
        results,
        coordinator: true,
    }))
}

/// Header and rows of the raw answers: one row per response, one column per
/// question (choices by their label, several joined with « ; »).
pub(super) async fn export_table(
    st: &AppState,
    tc: &TerritoryCtx,
    c: &Consultation,
) -> Result<(Vec<String>, Vec<Vec<String>>), AppError> {
    let qs = store::questions(&st.db, c.id).await?;
    let communes = commune_choices(st, &tc.territory).await?;
    let mut header = vec!["Réponse".to_owned(), "Date".to_owned()];
    header.extend(
        qs.iter()
            .enumerate()
            .map(|(i, q)| format!("Q{} {}", i + 1, q.label)),
    );
    let mut rows = Vec::new();
    for (n, (_, at, answers)) in store::all_responses(&st.db, c.id)
        .await?
        .into_iter()
        .enumerate()
    {
        let mut row = vec![(n + 1).to_string(), dates::paris_iso(at)];
        for q in &qs {
            let vals: Vec<String> = answers
                .iter()
                .filter(|(qid, _)| *qid == q.id)
                .map(|(_, v)| q.value_label(v, &communes))
                .collect();
            row.push(vals.join(" ; "));
        }
        rows.push(row);
    }
    Ok((header, rows))
}

pub async fn export_csv(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let c = load_consultation(&st, &tc, &id).await?;
    let (header, rows) = export_table(&st, &tc, &c).await?;
    let mut w = crate::csv_export::CsvExport::new(b',');
    let x = |e: csv::Error| AppError::Internal(anyhow::anyhow!(e.to_string()));
    w.row(&header).map_err(x)?;
    for r in &rows {
        w.row(r).map_err(x)?;
    }
    let body = w.finish().map_err(x)?;
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"consultation-{}.csv\"", c.id),
            ),
        ],
        body,
    )
        .into_response())
}

pub async fn export_xlsx(
    State(st): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let c = load_consultation(&st, &tc, &id).await?;
    let (header, rows) = export_table(&st, &tc, &c).await?;
    let x = |e: rust_xlsxwriter::XlsxError| AppError::Internal(anyhow::anyhow!(e.to_string()));
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Réponses").map_err(x)?;
    for (col, h) in header.iter().enumerate() {
        sheet.write_string(0, col as u16, h).map_err(x)?;
    }
    for (i, r) in rows.iter().enumerate() {
        for (col, v) in r.iter().enumerate() {
            if col == 0 {
                sheet
                    .write_number(1 + i as u32, 0, v.parse::<f64>().unwrap_or(0.0))
                    .map_err(x)?;
            } else {
                sheet.write_string(1 + i as u32, col as u16, v).map_err(x)?;
            }
        }
    }
    let body = book.save_to_buffer().map_err(x)?;
    Ok((
        [
            (
                CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"consultation-{}.xlsx\"", c.id),
            ),
        ],
        body,
    )
        .into_response())
}
