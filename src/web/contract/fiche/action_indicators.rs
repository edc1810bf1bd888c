//! An action's indicators (views, definitions, measurements) and the follow-ups of bodies' decisions.

use super::*;

pub struct IndicatorView {
    pub id: i64,
    /// The definition as a form shows it.
    pub raw: IndicatorRaw,
    pub kind: &'static str,
    pub label: String,
    pub unit: String,
    pub baseline: String,
    pub target: String,
    pub target_on: String,
    pub chart: String,
    /// (id, date, value, source, comment)
    pub measurements: Vec<(i64, String, String, String, String)>,
    /// Computed by Maillage: no measurement is typed.
    pub computed: bool,
    /// « Saisie » or what Maillage counts.
    pub source_label: &'static str,
}

/// The metrics an indicator may be computed from, for a form's select
/// (the first choice is « Saisie »).
pub fn source_choices() -> Choices {
    std::iter::once(("manual".to_owned(), "Saisie des mesures".to_owned()))
        .chain(
            crate::domain::evaluation::Metric::ALL
                .iter()
                .map(|m| (m.code().to_owned(), format!("Calculé : {}", m.label()))),
        )
        .collect()
}

/// Typing a value into a computed indicator is refused (422).
pub fn computed_refusal(field: &'static str) -> form::Failed {
    form::Failed::Refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        FormErrors(vec![(
            field,
            "Cet indicateur est calculé par Maillage à partir de ce qui a été enregistré : \
             ses valeurs ne se saisissent pas."
                .into(),
        )]),
    )
}

/// A source of another territory (a forged form) is refused on its field.
pub fn source_refusal(e: DbError, field: &'static str) -> form::Failed {
    match e {
        DbError::Conflict(c) if c == "source_ref" => form::Failed::Refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            FormErrors(vec![(
                field,
                "Ce qui est compté : choisissez-le dans la liste du territoire".into(),
            )]),
        ),
        e => e.into(),
    }
}

pub fn indicator_view(i: &Indicator, ms: &[Measurement]) -> IndicatorView {
    let points: Vec<(NaiveDate, f64)> = ms
        .iter()
        .filter_map(|m| crate::domain::dates::iso_date(&m.measured_on).map(|d| (d, m.value)))
        .collect();
    let id = format!("indicateur-{}", i.id);
    let chart = Sparkline {
        id: &id,
        label: &i.label,
        unit: &i.unit,
        points: &points,
        target: i.target,
        baseline: i.baseline,
    }
    .svg();
    IndicatorView {
        raw: IndicatorRaw {
            kind: i.kind.clone(),
            label: i.label.clone(),
            unit: i.unit.clone(),
            baseline: i.baseline.map(format_number).unwrap_or_default(),
            target: i.target.map(format_number).unwrap_or_default(),
            target_on: i.target_on.as_deref().map(fr_date).unwrap_or_default(),
            shared: i
                .shared_indicator_id
                .map(|s| s.to_string())
                .unwrap_or_default(),
            source: i.source.clone(),
            // Filled by callers that show the edit form (one more query).
            source_ref: String::new(),
            period_start: i.period_start.as_deref().map(fr_date).unwrap_or_default(),
            period_end: i.period_end.as_deref().map(fr_date).unwrap_or_default(),
        },
        id: i.id,
        kind: IndicatorKind::parse(&i.kind)
            .map(|k| k.label())
            .unwrap_or(""),
        label: i.label.clone(),
        unit: i.unit.clone(),
        baseline: i.baseline.map(format_number).unwrap_or_default(),
        target: i.target.map(format_number).unwrap_or_default(),
        target_on: i.target_on.as_deref().map(fr_date).unwrap_or_default(),
        chart,
        computed: i.is_computed(),
        source_label: i.source().label(),
        measurements: ms
            .iter()
            .map(|m| {
                (
                    m.id,
                    fr_date(&m.measured_on),
                    format_number(m.value),
                    m.source.clone(),
                    m.comment.clone(),
                )
            })
            .collect(),
    }
}

pub(super) async fn add_indicator(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(raw): Form<IndicatorRaw>,
) -> Result<Response, AppError> {
    let (c, _) = load(&st, &tc, id, true).await?;
    form::submit(
        raw,
        |raw| {
            raw.parse().map(|i| (i, raw.clone())).map_err(|errs| {
                FormErrors(
                    errs.into_iter()
                        .map(|(f, m)| (prefixed("i", f), m))
                        .collect(),
                )
            })
        },
        async |(i, raw)| {
            // A lead partner's baseline or target is proposed to the coordination.
            if !tc.is_coordinator()
                && (i.baseline.is_some() || i.target.is_some() || i.target_on.is_some())
            {
                let summary = format!(
                    "Nouvel indicateur « {} » : {}",
                    i.label,
                    target_words(
                        i.baseline,
                        i.target,
                        i.target_on.map(crate::domain::dates::short_date),
                        &i.unit
                    )
                );
                let change = Change::Indicator {
                    indicator_id: None,
                    definition: raw,
                };
                propose(&st, &tc, &user, &c, id, change, summary).await?;
                return Ok(true);
            }
            indicators::create(&st.db, &user.actor(), &c, Some(id), &i)
                .await
                .map_err(|e| source_refusal(e, "i_source_ref"))?;
            Ok(false)
        },
        form::UNVERSIONED,
        |proposed| {
            let message = if proposed {
                "Indicateur proposé à la coordination."
            } else {
                "Indicateur ajouté."
            };
            flash::with_message(back(&tc, id, Section::Indicateurs, ""), message)
        },
        async |again| {
            let (c, a) = load(&st, &tc, id, true).await?;
            let view = View {
                indicator: again.typed,
                ..View::refused(Section::Indicateurs, again.errors)
            };
            page(&st, &ctx, &tc, c, a, view).await
        },
    )
    .await
}

/// The indicator and its action, when the user may write its measurements.
pub(super) async fn load_indicator(
    st: &AppState,
    tc: &TerritoryCtx,
    id: i64,
) -> Result<(Contract, Indicator), AppError> {
    let (c, ind) = indicators::get(&st.db, tc.territory.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let ok = match ind.action_id {
        Some(a) => may_edit(st, tc, a).await?,
        None => tc.is_coordinator(),
    };
    if !ok {
        return Err(AppError::Forbidden);
    }
    Ok((c, ind))
}

pub(super) fn indicator_back(tc: &TerritoryCtx, c: &Contract, ind: &Indicator) -> Response {
    match ind.action_id {
        Some(a) => back(
            tc,
            a,
            Section::Indicateurs,
            &format!("#indicateur-{}", ind.id),
        ),
        None => Redirect::to(&format!(
            "/admin/t/{}/contrats/{}#indicateurs",
            tc.territory.slug, c.id
        ))
        .into_response(),
    }
}

pub(super) async fn add_measurement(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(raw): Form<MeasurementRaw>,
) -> Result<Response, AppError> {
    let (c, ind) = load_indicator(&st, &tc, id).await?;
    form::submit(
        raw,
        |raw| {
            raw.parse().map_err(|errs| {
                FormErrors(
                    errs.into_iter()
                        .map(|(f, m)| (prefixed("m", f), m))
                        .collect(),
                )
            })
        },
        async |m| {
            if ind.is_computed() {
                return Err(computed_refusal("m_value"));
            }
            Ok(indicators::add_measurement(&st.db, &user.actor(), &c, &ind, &m).await?)
        },
        form::UNVERSIONED,
        |_| flash::with_message(indicator_back(&tc, &c, &ind), "Mesure ajoutée."),
        async |again| match ind.action_id {
            Some(action_id) => {
                let (c, a) = load(&st, &tc, action_id, true).await?;
                let view = View {
                    measurement: again.typed,
                    measurement_for: ind.id,
                    ..View::refused(Section::Indicateurs, again.errors)
                };
                page(&st, &ctx, &tc, c, a, view).await
            }
            None => {
                let (raw, errors) = (again.typed, again.errors);
                super::super::contract_indicator_error(&st, &ctx, &tc, &c, ind.id, raw, errors)
                    .await
            }
        },
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct MeasurementId {
    #[serde(default)]
    pub(super) measurement: String,
}

pub(super) async fn delete_measurement(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(f): Form<MeasurementId>,
) -> Result<Response, AppError> {
    let (c, ind) = load_indicator(&st, &tc, id).await?;
    let m: i64 = f
        .measurement
        .trim()
        .parse()
        .map_err(|_| AppError::NotFound)?;
    indicators::delete_measurement(&st.db, &user.actor(), &c, &ind, m).await?;
    Ok(indicator_back(&tc, &c, &ind))
}

/// Change an indicator's definition; a refused form comes back on the
/// indicator's own form with what was typed.
pub(super) async fn update_indicator(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(raw): Form<IndicatorRaw>,
) -> Result<Response, AppError> {
    let (c, ind) = load_indicator(&st, &tc, id).await?;
    let target_on = |d: Option<NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
    form::submit(
        raw,
        |raw| {
            raw.parse().map(|i| (i, raw.clone())).map_err(|errs| {
                FormErrors(
                    errs.into_iter()
                        .map(|(f, m)| (prefixed("e", f), m))
                        .collect(),
                )
            })
        },
        async |(i, raw)| {
            // A lead partner's new baseline or target is proposed to the coordination.
            if !tc.is_coordinator()
                && ind.action_id.is_some()
                && (i.baseline != ind.baseline
                    || i.target != ind.target
                    || target_on(i.target_on) != ind.target_on)
            {
                let summary = format!(
                    "Indicateur « {} » : {} (au lieu de : {})",
                    i.label,
                    target_words(
                        i.baseline,
                        i.target,
                        i.target_on.map(crate::domain::dates::short_date),
                        &i.unit
                    ),
                    target_words(
                        ind.baseline,
                        ind.target,
                        ind.target_on.as_deref().map(fr_date),
                        &ind.unit
                    ),
                );
                let change = Change::Indicator {
                    indicator_id: Some(ind.id),
                    definition: raw,
                };
                let action_id = ind.action_id.unwrap_or_default();
                propose(&st, &tc, &user, &c, action_id, change, summary).await?;
                return Ok(true);
            }
            indicators::update(&st.db, &user.actor(), &c, &ind, &i)
                .await
                .map_err(|e| source_refusal(e, "e_source_ref"))?;
            Ok(false)
        },
        form::UNVERSIONED,
        |proposed| {
            let message = if proposed {
                "Changement proposé à la coordination."
            } else {
                "Indicateur enregistré."
            };
            flash::with_message(indicator_back(&tc, &c, &ind), message)
        },
        async |again| match ind.action_id {
            Some(action_id) => {
                let (c, a) = load(&st, &tc, action_id, true).await?;
                let view = View {
                    edited: again.typed,
                    edited_for: ind.id,
                    ..View::refused(Section::Indicateurs, again.errors)
                };
                page(&st, &ctx, &tc, c, a, view).await
            }
            None => {
                let (raw, errors) = (again.typed, again.errors);
                super::super::contract_indicator_edit_error(&st, &ctx, &tc, &c, ind.id, raw, errors)
                    .await
            }
        },
    )
    .await
}

pub(super) async fn delete_indicator(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let (c, ind) = load_indicator(&st, &tc, id).await?;
    indicators::delete(&st.db, &user.actor(), &c, &ind).await?;
    Ok(match ind.action_id {
        Some(a) => back(&tc, a, Section::Indicateurs, ""),
        None => Redirect::to(&format!(
            "/admin/t/{}/contrats/{}#indicateurs",
            tc.territory.slug, c.id
        ))
        .into_response(),
    })
}

#[derive(Deserialize)]
pub(super) struct DoneForm {
    /// « 1 »: done; anything else: to do.
    #[serde(default)]
    pub(super) done: String,
}

/// Mark a follow-up decided by a body done (or to do again): coordinators,
/// and the lead partner of the action it follows up.
pub(super) async fn follow_up_done(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(f): Form<DoneForm>,
) -> Result<Response, AppError> {
    use crate::storage::participation;
    let action = participation::decision_action(&st.db, tc.territory.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let allowed = match action {
        Some(a) => may_edit(&st, &tc, a).await?,
        None => tc.is_coordinator(),
    };
    if !allowed {
        return Err(AppError::Forbidden);
    }
    participation::set_follow_up_done(&st.db, &user.actor(), tc.territory.id, id, f.done == "1")
        .await?;
    Ok(match action {
        Some(a) => back(&tc, a, Section::Suivi, "#suites"),
        None => Redirect::to(&format!("/admin/t/{}/", tc.territory.slug)).into_response(),
    })
}
