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

/// What was typed in one of the plan's small forms (add an axis, an
/// objective, an action, a milestone; rename), shown again after a refusal
/// so that nothing typed is lost.
#[derive(Default, Clone)]
pub(super) struct PlanDraft {
    /// `axis`, `objective`, `action`, `milestone` or `rename`.
    form: &'static str,
    fields: Vec<(&'static str, String)>,
}

impl PlanDraft {
    pub(super) fn of(form: &'static str, fields: &[(&'static str, &str)]) -> PlanDraft {
        PlanDraft {
            form,
            fields: fields.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        }
    }

    /// The value typed in `field` of `form`, or empty.
    pub(super) fn get(&self, form: &str, field: &str) -> &str {
        if self.form != form {
            return "";
        }
        self.fields
            .iter()
            .find(|(k, _)| *k == field)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Was `value` the choice of `field` in `form`?
    pub(super) fn chose(&self, form: &str, field: &str, value: &i64) -> bool {
        self.get(form, field) == value.to_string()
    }
}

pub(super) async fn plan_error(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    c: &Contract,
    field: &'static str,
    msg: String,
    draft: PlanDraft,
) -> Result<Response, AppError> {
    let mut errors = FormErrors::default();
    errors.push(field, msg);
    edit_page_with(
        st,
        ctx,
        tc,
        c,
        (c.version, raw_of(c), None),
        errors,
        IndicatorForms {
            plan: draft,
            ..Default::default()
        },
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
        Err(e) => {
            let draft = PlanDraft::of("axis", &[("title", &f.title)]);
            plan_error(&st, &ctx, &tc, &c, "axis_title", e.0, draft).await
        }
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
                    objective(&f),
                )
                .await
            }
            Err(e) => Err(e.into()),
        },
        Err(e) => plan_error(&st, &ctx, &tc, &c, "objective_title", e.0, objective(&f)).await,
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
                    action(&f),
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
            plan_error(&st, &ctx, &tc, &c, field, msg, action(&f)).await
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
            return plan_error(&st, &ctx, &tc, &c, "milestone_date", msg, milestone(&f)).await;
        }
        Err(e) => {
            return plan_error(&st, &ctx, &tc, &c, "milestone_date", e.0, milestone(&f)).await
        }
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
        Err(e) => plan_error(&st, &ctx, &tc, &c, "milestone_label", e.0, milestone(&f)).await,
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
        Err(e) => {
            let draft = PlanDraft::of("rename", &[("item", &f.item), ("title", &f.title)]);
            plan_error(&st, &ctx, &tc, &c, "rename_title", e.0, draft).await
        }
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

fn objective(f: &PlanForm) -> PlanDraft {
    PlanDraft::of("objective", &[("parent", &f.parent), ("title", &f.title)])
}

fn action(f: &PlanForm) -> PlanDraft {
    PlanDraft::of(
        "action",
        &[
            ("parent", &f.parent),
            ("title", &f.title),
            ("description", &f.description),
            ("status", &f.status),
            ("lead_org", &f.lead_org),
        ],
    )
}

fn milestone(f: &MilestoneForm) -> PlanDraft {
    PlanDraft::of(
        "milestone",
        &[("happened_on", &f.happened_on), ("label", &f.label)],
    )
}
