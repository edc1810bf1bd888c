//! An action's budget lines.

use super::*;

pub struct BudgetView {
    pub id: i64,
    pub funder: String,
    pub year: i64,
    pub amount: String,
    /// `non saisi` when not entered.
    pub committed: String,
    pub spent: String,
    /// The values the execution form starts from.
    pub committed_input: String,
    pub spent_input: String,
    pub note: String,
}

fn or_not_entered(c: Option<i64>) -> String {
    c.map(format_euros).unwrap_or_else(|| "non saisi".into())
}

pub fn budget_view(lines: &[BudgetLine]) -> (Vec<BudgetView>, String) {
    let total: i64 = lines.iter().map(|b| b.amount_cents).sum();
    (
        lines
            .iter()
            .map(|b| BudgetView {
                id: b.id,
                funder: b.funder.clone(),
                year: b.year,
                amount: format_euros(b.amount_cents),
                committed: or_not_entered(b.committed_cents),
                spent: or_not_entered(b.spent_cents),
                committed_input: amount_input(b.committed_cents),
                spent_input: amount_input(b.spent_cents),
                note: b.note.clone(),
            })
            .collect(),
        format_euros(total),
    )
}

pub(super) async fn add_budget(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(raw): Form<BudgetLineRaw>,
) -> Result<Response, AppError> {
    let (c, a) = load(&st, &tc, id, true).await?;
    let errors = match raw.parse() {
        // A lead partner's budget line is proposed to the coordination.
        Ok(b) if !tc.is_coordinator() => {
            let orgs = partners::organisations(&st.db, tc.territory.id).await?;
            let funder = match b.funder_id {
                Some(f) => orgs.iter().find(|o| o.id == f).map(|o| o.name.clone()),
                None => Some(b.funder.clone()),
            };
            match funder {
                Some(funder) => {
                    let summary = format!(
                        "Ajouter le financement {funder} {} : {}{}",
                        b.year,
                        format_euros(b.amount_cents),
                        if b.note.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", b.note)
                        }
                    );
                    let change = Change::BudgetAdd { line: raw.clone() };
                    propose(&st, &tc, &user, &c, id, change, summary).await?;
                    return Ok(back(&tc, id, Section::Budget, ""));
                }
                None => vec![(
                    "b_funder_id",
                    "Financeur : choisissez une structure de l'annuaire du territoire".to_owned(),
                )],
            }
        }
        Ok(b) => match actions::add_budget_line(&st.db, &user.actor(), &c, id, &b).await {
            Ok(_) => return Ok(back(&tc, id, Section::Budget, "")),
            Err(DbError::Conflict(_)) => vec![(
                "b_funder_id",
                "Financeur : choisissez une structure de l'annuaire du territoire".to_owned(),
            )],
            Err(e) => return Err(e.into()),
        },
        Err(errs) => errs
            .into_iter()
            .map(|(f, m)| (prefixed("b", f), m))
            .collect(),
    };
    let view = View {
        budget: raw,
        ..View::refused(Section::Budget, FormErrors(errors))
    };
    page(&st, &ctx, &tc, c, a, view).await
}

/// What was committed and spent on one budget line, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ExecutionRaw {
    #[serde(default)]
    pub line: String,
    #[serde(default)]
    pub committed: String,
    #[serde(default)]
    pub spent: String,
}

/// Committed and spent amounts are the execution of a line the plan
/// already holds, reported by whoever edits the fiche (the lead partner
/// too, without a proposal: the planned amount is what the coordination
/// agrees to, and it does not change here).
pub(super) async fn set_budget_execution(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(raw): Form<ExecutionRaw>,
) -> Result<Response, AppError> {
    let (c, a) = load(&st, &tc, id, true).await?;
    let line: i64 = raw.line.trim().parse().map_err(|_| AppError::NotFound)?;
    let mut errors = Vec::new();
    let committed = parse_optional_amount(&raw.committed, "Montant engagé")
        .map_err(|e| errors.push((prefixed("x", "committed"), e.0)))
        .ok();
    let spent = parse_optional_amount(&raw.spent, "Montant réalisé")
        .map_err(|e| errors.push((prefixed("x", "spent"), e.0)))
        .ok();
    if let (Some(committed), Some(spent)) = (committed, spent) {
        actions::set_budget_execution(&st.db, &user.actor(), &c, id, line, committed, spent)
            .await?;
        return Ok(back(&tc, id, Section::Budget, ""));
    }
    let view = View {
        execution: raw,
        execution_for: line,
        ..View::refused(Section::Budget, FormErrors(errors))
    };
    page(&st, &ctx, &tc, c, a, view).await
}

#[derive(Deserialize)]
pub(super) struct LineForm {
    #[serde(default)]
    pub(super) line: String,
}

pub(super) async fn delete_budget(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(f): Form<LineForm>,
) -> Result<Response, AppError> {
    let (c, _) = load(&st, &tc, id, true).await?;
    let line: i64 = f.line.trim().parse().map_err(|_| AppError::NotFound)?;
    if !tc.is_coordinator() {
        // A lead partner proposes; the coordination removes.
        let rel = actions::related(&st.db, c.id).await?;
        let b = rel
            .budget_of(id)
            .iter()
            .find(|b| b.id == line)
            .ok_or(AppError::NotFound)?;
        let summary = format!(
            "Supprimer le financement {} {} : {}",
            b.funder,
            b.year,
            format_euros(b.amount_cents)
        );
        let change = Change::BudgetDelete { line_id: line };
        propose(&st, &tc, &user, &c, id, change, summary).await?;
        return Ok(back(&tc, id, Section::Budget, ""));
    }
    actions::delete_budget_line(&st.db, &user.actor(), &c, id, line).await?;
    Ok(back(&tc, id, Section::Budget, ""))
}
