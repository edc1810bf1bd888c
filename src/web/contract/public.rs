//! The public pages of a contract and of an action.

use super::*;

// ---------------------------------------------------------------- public

#[derive(Template)]
#[template(path = "contract/public.html")]
pub(super) struct PublicPage {
    pub(super) l: Layout,
    pub(super) slug: String,
    pub(super) c: Contract,
    pub(super) kind: &'static str,
    pub(super) status: &'static str,
    pub(super) signed_on: String,
    pub(super) period_start: String,
    pub(super) period_end: String,
    pub(super) summary: Vec<String>,
    pub(super) signatories: Vec<String>,
    pub(super) milestones: Vec<(String, String)>,
    pub(super) axes: Vec<AxisView>,
    pub(super) indicators: Vec<fiche::IndicatorView>,
    pub(super) documents: Vec<crate::storage::documents::Document>,
}

pub(super) async fn public_contract(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((slug, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    let c = contract::get(&st.db, t.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let milestones = milestone_rows(&st, c.id).await?;
    let axes = tree(contract::plan(&st.db, c.id).await?);
    let indicators = contract_indicators(&st, &c).await?;
    let documents = crate::storage::documents::for_contract(&st.db, c.id)
        .await?
        .into_iter()
        .filter(|d| d.public && d.action_id.is_none())
        .collect();
    Ok(render(&PublicPage {
        l: ctx.public_layout(c.title.clone(), &t.slug, &t.name),
        slug: t.slug.clone(),
        kind: ContractKind::parse(&c.kind)
            .map(|k| k.label())
            .unwrap_or(""),
        status: ContractStatus::parse(&c.status)
            .map(|s| s.label())
            .unwrap_or(""),
        signed_on: fr_date(&c.signed_on),
        period_start: fr_date(&c.period_start),
        period_end: fr_date(&c.period_end),
        summary: paragraphs(&c.summary),
        signatories: c.signatory_list().into_iter().map(str::to_owned).collect(),
        milestones,
        axes,
        indicators,
        documents,
        c,
    }))
}

pub struct StepView {
    pub date: String,
    pub label: String,
    pub done: bool,
}

pub struct LeadPerson {
    pub name: String,
    pub job_title: String,
    pub email: String,
    pub phone: String,
}

#[derive(Template)]
#[template(path = "contract/action.html")]
pub(super) struct ActionPage {
    pub(super) l: Layout,
    pub(super) slug: String,
    pub(super) c: Contract,
    pub(super) a: contract::Action,
    pub(super) status: &'static str,
    pub(super) description: Vec<String>,
    pub(super) findings: Vec<String>,
    /// Findings of the territory's diagnosis that lead to the action.
    pub(super) diagnosis: Vec<(String, Vec<String>)>,
    pub(super) aims: Vec<String>,
    pub(super) publics: Vec<String>,
    pub(super) period: String,
    pub(super) themes: Vec<String>,
    pub(super) scope: Vec<String>,
    pub(super) partners: Vec<String>,
    pub(super) lead_person: Option<LeadPerson>,
    pub(super) steps: Vec<StepView>,
    pub(super) history: Vec<(String, String)>,
    pub(super) budget: Vec<fiche::BudgetView>,
    pub(super) budget_total: String,
    pub(super) indicators: Vec<fiche::IndicatorView>,
    pub(super) links: Vec<(String, String)>,
    pub(super) documents: Vec<crate::storage::documents::Document>,
    /// Follow-ups decided in public meetings.
    pub(super) follow_ups: Vec<crate::storage::participation::Decision>,
    /// Published ideas of inhabitants that led to the action.
    pub(super) ideas: Vec<crate::storage::participation::Idea>,
    /// Drop-in series and events that carry out the action.
    pub(super) agenda: crate::storage::agenda::LinkedToAction,
    pub(super) updated: String,
}

pub(super) async fn public_action(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((slug, code)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    let (c, a) = contract::action_by_code(&st.db, t.id, code.trim())
        .await?
        .ok_or(AppError::NotFound)?;
    let rel = crate::storage::actions::related(&st.db, c.id).await?;
    let plan = contract::plan(&st.db, c.id).await?;
    let communes = crate::storage::territories::communes(&st.db, t.id).await?;
    let qpvs = crate::storage::territories::qpvs(&st.db, t.id).await?;
    let scope = rel
        .scope_of(a.id)
        .iter()
        .map(|(k, code)| {
            if k == "qpv" {
                let name = qpvs
                    .iter()
                    .find(|q| &q.code == code)
                    .map(|q| q.name.as_str())
                    .unwrap_or(code);
                format!("Quartier prioritaire {name}")
            } else {
                communes
                    .iter()
                    .find(|c| &c.insee_code == code)
                    .map(|c| c.name.clone())
                    .unwrap_or_else(|| code.clone())
            }
        })
        .collect();
    // Contact data only with the person's consent to publish it.
    let lead_person = a
        .lead_person_id
        .and_then(|p| rel.people.get(&p))
        .filter(|p| p.public_contact)
        .map(|p| LeadPerson {
            name: p.full_name.clone(),
            job_title: p.job_title.clone(),
            email: p.email.clone(),
            phone: p.phone.clone(),
        });
    let steps = rel
        .steps_of(a.id)
        .iter()
        .map(|s| StepView {
            date: s
                .due_on
                .as_deref()
                .map(crate::plan::fr_date)
                .unwrap_or_default(),
            label: s.label.clone(),
            done: s.done,
        })
        .collect();
    let history = crate::storage::actions::history(&st.db, a.id)
        .await?
        .into_iter()
        .map(|h| {
            (
                crate::domain::dates::paris_date(h.changed_at),
                format!("{} ({} %)", ActionStatus::label_of(&h.status), h.progress),
            )
        })
        .collect();
    let (budget, budget_total) = fiche::budget_view(rel.budget_of(a.id));
    let indicators = crate::evaluation::for_action(&st.db, &c, a.id, super::list::today())
        .await?
        .iter()
        .map(|(i, ms)| fiche::indicator_view(i, ms))
        .collect();
    let links = rel
        .links_of(a.id)
        .iter()
        .filter_map(|id| plan.actions.iter().find(|x| x.id == *id))
        .map(|x| (x.code.clone(), x.title.clone()))
        .collect();
    let documents = crate::storage::documents::for_contract(&st.db, c.id)
        .await?
        .into_iter()
        .filter(|d| d.public && d.action_id == Some(a.id))
        .collect();
    let follow_ups =
        crate::storage::participation::public_follow_ups_for_action(&st.db, a.id).await?;
    let ideas = crate::storage::participation::published_ideas_for_action(&st.db, a.id).await?;
    let period = match (&a.period_start, &a.period_end) {
        (Some(s), Some(e)) => format!(
            "du {} au {}",
            crate::plan::fr_date(s),
            crate::plan::fr_date(e)
        ),
        (Some(s), None) => format!("à partir du {}", crate::plan::fr_date(s)),
        (None, Some(e)) => format!("jusqu'au {}", crate::plan::fr_date(e)),
        (None, None) => String::new(),
    };
    Ok(render(&ActionPage {
        l: ctx.public_layout(format!("Action {} : {}", a.code, a.title), &t.slug, &t.name),
        slug: t.slug.clone(),
        status: status_label(&a.status),
        description: paragraphs(&a.description),
        findings: paragraphs(&a.findings),
        diagnosis: crate::storage::diagnosis::findings_for_action(&st.db, a.id)
            .await?
            .into_iter()
            .map(|f| (f.title, paragraphs(&f.body)))
            .collect(),
        aims: paragraphs(&a.aims),
        publics: paragraphs(&a.publics),
        period,
        themes: fiche::theme_labels(rel.themes_of(a.id)),
        scope,
        partners: rel
            .partners_of(a.id)
            .iter()
            .map(|(_, n)| n.clone())
            .collect(),
        lead_person,
        steps,
        history,
        budget,
        budget_total,
        indicators,
        links,
        documents,
        follow_ups,
        ideas,
        agenda: crate::storage::agenda::linked_to_action(&st.db, t.id, a.id).await?,
        updated: crate::domain::dates::paris_date(a.updated_at),
        c,
        a,
    }))
}
