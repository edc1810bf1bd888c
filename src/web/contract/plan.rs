//! Editing a contract's plan: axes, objectives, actions, milestones, their order and names.

use super::*;

// ---------------------------------------------------------------- plan

#[derive(Deserialize)]
pub(super) struct PlanForm {
    #[serde(default)]
    pub(super) parent: String,
    #[serde(default)]
    pub(super) title: String,
    #[serde(default)]
    pub(super) description: String,
    #[serde(default)]
    pub(super) status: String,
    #[serde(default)]
    pub(super) lead_org: String,
}

pub(super) async fn plan_error(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    c: &Contract,
    field: &'static str,
    msg: String,
) -> Result<Response, AppError> {
    let mut errors = FormErrors::default();
    errors.push(field, msg);
    edit_page(
        st,
        ctx,
        tc,
        c,
        c.version,
        raw_of(c),
        errors,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

pub(super) fn back(tc: &TerritoryCtx, id: i64) -> Response {
    Redirect::to(&format!(
        "/admin/t/{}/contrats/{id}#plan",
        tc.territory.slug
    ))
    .into_response()
}

pub(super) async fn admin_add_axis(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(f): Form<PlanForm>,
) -> Result<Response, AppError> {
    let c = load(&st, &tc, id).await?;
    match parse_title(&f.title) {
        Ok(t) => {
            contract::add_axis(&st.db, &user.actor(), &c, &t).await?;
            Ok(back(&tc, id))
        }
        Err(e) => plan_error(&st, &ctx, &tc, &c, "axis_title", e.0).await,
    }
}

pub(super) async fn admin_add_objective(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(f): Form<PlanForm>,
) -> Result<Response, AppError> {
    let c = load(&st, &tc, id).await?;
    match parse_title(&f.title) {
        Ok(t) => match contract::add_objective(
            &st.db,
            &user.actor(),
            &c,
            f.parent.trim().parse().unwrap_or(0),
            &t,
        )
        .await
        {
            Ok(_) => Ok(back(&tc, id)),
            Err(DbError::NotFound) => {
                plan_error(
                    &st,
                    &ctx,
                    &tc,
                    &c,
                    "objective_parent",
                    "Choisissez un axe de ce contrat".into(),
                )
                .await
            }
            Err(e) => Err(e.into()),
        },
        Err(e) => plan_error(&st, &ctx, &tc, &c, "objective_title", e.0).await,
    }
}

pub(super) async fn admin_add_action(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(f): Form<PlanForm>,
) -> Result<Response, AppError> {
    let c = load(&st, &tc, id).await?;
    match ActionInput::parse(&f.title, &f.description, &f.status, &f.lead_org) {
        Ok(a) => match contract::add_action(
            &st.db,
            &user.actor(),
            &c,
            f.parent.trim().parse().unwrap_or(0),
            &a,
        )
        .await
        {
            Ok(_) => Ok(back(&tc, id)),
            Err(DbError::NotFound) => {
                plan_error(
                    &st,
                    &ctx,
                    &tc,
                    &c,
                    "action_parent",
                    "Choisissez un objectif de ce contrat".into(),
                )
                .await
            }
            Err(e) => Err(e.into()),
        },
        Err(errs) => {
            let (field, msg) = errs
                .into_iter()
                .next()
                .unwrap_or(("action_title", String::new()));
            let field = match field {
                "title" => "action_title",
                "description" => "action_description",
                "status" => "action_status",
                _ => "action_lead_org",
            };
            plan_error(&st, &ctx, &tc, &c, field, msg).await
        }
    }
}

#[derive(Deserialize)]
pub(super) struct MilestoneForm {
    #[serde(default)]
    pub(super) happened_on: String,
    #[serde(default)]
    pub(super) label: String,
}

pub(super) async fn admin_add_milestone(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(f): Form<MilestoneForm>,
) -> Result<Response, AppError> {
    let c = load(&st, &tc, id).await?;
    let date = match parse_date(&f.happened_on, "Date de l'étape") {
        Ok(Some(d)) => d,
        Ok(None) => {
            let msg = "Date de l'étape : ce champ est obligatoire".to_owned();
            return plan_error(&st, &ctx, &tc, &c, "milestone_date", msg).await;
        }
        Err(e) => return plan_error(&st, &ctx, &tc, &c, "milestone_date", e.0).await,
    };
    match parse_title(&f.label) {
        Ok(label) => {
            contract::add_milestone(&st.db, &user.actor(), &c, date, &label).await?;
            Ok(Redirect::to(&format!(
                "/admin/t/{}/contrats/{id}#etapes",
                tc.territory.slug
            ))
            .into_response())
        }
        Err(e) => plan_error(&st, &ctx, &tc, &c, "milestone_label", e.0).await,
    }
}

// ---------------------------------------------------------------- order, indicators

#[derive(Deserialize)]
pub(super) struct MoveForm {
    #[serde(default)]
    pub(super) level: String,
    #[serde(default)]
    pub(super) id: String,
    #[serde(default)]
    pub(super) direction: String,
}

pub(super) async fn admin_move(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(f): Form<MoveForm>,
) -> Result<Response, AppError> {
    let c = load(&st, &tc, id).await?;
    let level = match f.level.as_str() {
        "axis" => contract::Level::Axis,
        "objective" => contract::Level::Objective,
        "action" => contract::Level::Action,
        _ => return Err(AppError::BadRequest("Niveau du plan inconnu".into())),
    };
    let item: i64 = f.id.trim().parse().map_err(|_| AppError::NotFound)?;
    // Codes follow the order while the contract is being prepared; once it is
    // signed, they stay as published until the coordinator renumbers.
    let renumber = c.status == ContractStatus::InPreparation.as_str();
    contract::move_item(
        &st.db,
        &user.actor(),
        &c,
        level,
        item,
        f.direction == "up",
        renumber,
    )
    .await?;
    Ok(back(&tc, id))
}

#[derive(Deserialize)]
pub(super) struct RenameForm {
    /// `axis:ID` or `objective:ID`
    #[serde(default)]
    pub(super) item: String,
    #[serde(default)]
    pub(super) title: String,
}

pub(super) async fn admin_rename(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(f): Form<RenameForm>,
) -> Result<Response, AppError> {
    let c = load(&st, &tc, id).await?;
    let (level, item) = f.item.split_once(':').unwrap_or(("", ""));
    let level = match level {
        "axis" => contract::Level::Axis,
        "objective" => contract::Level::Objective,
        _ => return Err(AppError::BadRequest("Niveau du plan inconnu".into())),
    };
    let item: i64 = item.trim().parse().map_err(|_| AppError::NotFound)?;
    match parse_title(&f.title) {
        Ok(t) => {
            contract::rename(&st.db, &user.actor(), &c, level, item, &t).await?;
            Ok(back(&tc, id))
        }
        Err(e) => plan_error(&st, &ctx, &tc, &c, "rename_title", e.0).await,
    }
}

#[derive(Deserialize)]
pub(super) struct MilestoneId {
    #[serde(default)]
    pub(super) milestone: String,
}

pub(super) async fn admin_delete_milestone(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(f): Form<MilestoneId>,
) -> Result<Response, AppError> {
    let c = load(&st, &tc, id).await?;
    let m: i64 = f.milestone.trim().parse().map_err(|_| AppError::NotFound)?;
    contract::delete_milestone(&st.db, &user.actor(), &c, m).await?;
    Ok(Redirect::to(&format!(
        "/admin/t/{}/contrats/{id}#etapes",
        tc.territory.slug
    ))
    .into_response())
}

pub(super) async fn admin_renumber(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let c = load(&st, &tc, id).await?;
    contract::renumber(&st.db, &user.actor(), &c).await?;
    Ok(back(&tc, id))
}
