//! The action plan of a contract as a whole: loaded in a fixed number of
//! queries, filtered (axis, status, theme, commune, lead, late actions) and
//! exported as CSV or XLSX, one row per action.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_xlsxwriter::{Format, Workbook, XlsxError};

use crate::domain::budget::format_euros;
use crate::domain::contract::{theme_label, ActionStatus};
use crate::domain::indicator::{format_number, IndicatorKind};
use crate::storage::actions::{self, Related, StepRow};
use crate::storage::contract::{self, Action, Contract, Plan};
use crate::storage::indicators::{self, Indicator, Measurement};
use crate::storage::{Db, DbResult};

/// Everything about a contract's plan.
pub struct FullPlan {
    pub contract: Contract,
    pub plan: Plan,
    pub related: Related,
    pub indicators: Vec<Indicator>,
    pub latest: HashMap<i64, Measurement>,
}

impl FullPlan {
    pub async fn load(db: &Db, contract: Contract) -> DbResult<FullPlan> {
        let plan = contract::plan(db, contract.id).await?;
        let related = actions::related(db, contract.id).await?;
        let indicators = indicators::for_contract(db, contract.id).await?;
        let mut latest = indicators::latest_of_contract(db, contract.id).await?;
        // Computed indicators' latest value is today's count.
        let today = chrono::Utc::now()
            .with_timezone(&chrono_tz::Europe::Paris)
            .date_naive();
        for (id, mut ms) in
            crate::evaluation::computed_measurements(db, &contract, &indicators, today).await?
        {
            match ms.pop() {
                Some(m) => latest.insert(id, m),
                None => latest.remove(&id),
            };
        }
        Ok(FullPlan {
            contract,
            plan,
            related,
            indicators,
            latest,
        })
    }

    /// The axis and objective of an action.
    pub fn parents(&self, a: &Action) -> (String, String) {
        let o = self.plan.objectives.iter().find(|o| o.id == a.objective_id);
        let axis = o.and_then(|o| self.plan.axes.iter().find(|x| x.id == o.axis_id));
        (
            axis.map(|x| format!("{} {}", x.code, x.title))
                .unwrap_or_default(),
            o.map(|o| format!("{} {}", o.code, o.title))
                .unwrap_or_default(),
        )
    }

    fn axis_id(&self, a: &Action) -> Option<i64> {
        self.plan
            .objectives
            .iter()
            .find(|o| o.id == a.objective_id)
            .map(|o| o.axis_id)
    }

    pub fn lead_person(&self, a: &Action) -> Option<&crate::storage::partners::Person> {
        a.lead_person_id.and_then(|p| self.related.people.get(&p))
    }

    /// The actions that pass `f`, in code order.
    pub fn filtered(&self, f: &PlanFilter, today: NaiveDate) -> Vec<&Action> {
        self.plan
            .actions
            .iter()
            .filter(|a| f.matches(self, a, today))
            .collect()
    }

    pub fn indicators_of(&self, action_id: i64) -> impl Iterator<Item = &Indicator> {
        self.indicators
            .iter()
            .filter(move |i| i.action_id == Some(action_id))
    }

    /// `Label : 42 personnes (31/12/2025) ; cible 150`, one line per indicator.
    pub fn indicator_summary(&self, action_id: i64) -> String {
        self.indicators_of(action_id)
            .map(|i| {
                let last = match self.latest.get(&i.id) {
                    Some(m) => format!(
                        "{} {} ({})",
                        format_number(m.value),
                        i.unit,
                        fr_date(&m.measured_on)
                    ),
                    None => "pas encore mesuré".into(),
                };
                let target = match i.target {
                    Some(t) => format!(" ; cible {} {}", format_number(t), i.unit),
                    None => String::new(),
                };
                format!("{} : {}{}", i.label, last.replace("  ", " "), target)
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `2025-12-31` → `31/12/2025`.
pub fn fr_date(iso: &str) -> String {
    crate::domain::dates::french_iso_date(iso)
}

/// Is the action late on `today`? Not done nor abandoned, and past its end
/// date or with a timetable step past due and not done.
pub fn is_late(a: &Action, rel: &Related, today: NaiveDate) -> bool {
    is_late_on(
        &a.status,
        a.period_end.as_deref(),
        rel.steps_of(a.id),
        today,
    )
}

/// [`is_late`] from an action's status, end date and steps.
pub fn is_late_on(
    status: &str,
    period_end: Option<&str>,
    steps: &[StepRow],
    today: NaiveDate,
) -> bool {
    if matches!(
        ActionStatus::parse(status),
        Some(ActionStatus::Done | ActionStatus::Abandoned)
    ) {
        return false;
    }
    let past = |d: Option<&str>| {
        d.and_then(crate::domain::dates::iso_date)
            .is_some_and(|d| d < today)
    };
    past(period_end) || steps.iter().any(|s| !s.done && past(s.due_on.as_deref()))
}

/// The filters of the plan list (all optional).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct PlanFilter {
    #[serde(default)]
    pub axis: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub theme: String,
    /// An INSEE code: actions in that commune (or in one of its QPV, or
    /// on the whole territory).
    #[serde(default)]
    pub commune: String,
    /// An organisation id.
    #[serde(default)]
    pub lead: String,
    /// « 1 »: late actions only.
    #[serde(default)]
    pub late: String,
}

impl PlanFilter {
    pub fn is_empty(&self) -> bool {
        self.axis.is_empty()
            && self.status.is_empty()
            && self.theme.is_empty()
            && self.commune.is_empty()
            && self.lead.is_empty()
            && self.late.is_empty()
    }

    pub fn matches(&self, p: &FullPlan, a: &Action, today: NaiveDate) -> bool {
        if let Ok(axis) = self.axis.parse::<i64>() {
            if p.axis_id(a) != Some(axis) {
                return false;
            }
        }
        if !self.status.is_empty() && a.status != self.status {
            return false;
        }
        if !self.theme.is_empty() && !p.related.themes_of(a.id).contains(&self.theme) {
            return false;
        }
        if !self.commune.is_empty() {
            let scope = p.related.scope_of(a.id);
            let whole_territory = scope.is_empty();
            let here = scope.iter().any(|(k, c)| match k.as_str() {
                "commune" => *c == self.commune,
                _ => p
                    .related
                    .qpv_communes
                    .get(c)
                    .is_some_and(|cs| cs.contains(&self.commune)),
            });
            if !whole_territory && !here {
                return false;
            }
        }
        if let Ok(lead) = self.lead.parse::<i64>() {
            if a.lead_org_id != Some(lead) {
                return false;
            }
        }
        if !self.late.is_empty() && !is_late(a, &p.related, today) {
            return false;
        }
        true
    }
}

pub const HEADERS: [&str; 17] = [
    "Axe",
    "Objectif",
    "Code",
    "Action",
    "État",
    "Avancement (%)",
    "Début",
    "Fin",
    "Structure pilote",
    "Personne pilote",
    "Partenaires",
    "Thèmes",
    "Territoire",
    "Budget total (€)",
    "Budget par financeur et année",
    "Indicateurs (dernière mesure)",
    "Dernière mise à jour",
];

/// One row per action, as text (the budget total stays a number for XLSX).
pub struct ExportRow {
    pub cells: Vec<String>,
    pub budget_cents: i64,
    pub progress: i64,
}

pub fn rows(p: &FullPlan, actions: &[&Action]) -> Vec<ExportRow> {
    actions
        .iter()
        .map(|a| {
            let (axis, objective) = p.parents(a);
            let rel = &p.related;
            let partners = rel
                .partners_of(a.id)
                .iter()
                .map(|(_, n)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            let themes = rel
                .themes_of(a.id)
                .iter()
                .map(|t| theme_label(t))
                .collect::<Vec<_>>()
                .join(", ");
            let scope = if rel.scope_of(a.id).is_empty() {
                "Tout le territoire".to_owned()
            } else {
                rel.scope_of(a.id)
                    .iter()
                    .map(|(k, c)| {
                        if k == "qpv" {
                            format!("QPV {c}")
                        } else {
                            c.clone()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let budget = rel
                .budget_of(a.id)
                .iter()
                .map(|b| format!("{} {} : {}", b.funder, b.year, format_euros(b.amount_cents)))
                .collect::<Vec<_>>()
                .join("\n");
            let total = rel.budget_total(a.id);
            ExportRow {
                cells: vec![
                    axis,
                    objective,
                    a.code.clone(),
                    a.title.clone(),
                    ActionStatus::label_of(&a.status).to_owned(),
                    a.progress.to_string(),
                    a.period_start.as_deref().map(fr_date).unwrap_or_default(),
                    a.period_end.as_deref().map(fr_date).unwrap_or_default(),
                    a.lead_org.clone(),
                    p.lead_person(a)
                        .map(|p| p.full_name.clone())
                        .unwrap_or_default(),
                    partners,
                    themes,
                    scope,
                    format!("{},{:02}", total / 100, total % 100),
                    budget,
                    p.indicator_summary(a.id),
                    a.updated_at
                        .with_timezone(&chrono_tz::Europe::Paris)
                        .format("%d/%m/%Y %H:%M")
                        .to_string(),
                ],
                budget_cents: total,
                progress: a.progress,
            }
        })
        .collect()
}

/// CSV for spreadsheets set to French: `;` separated, UTF-8 with a BOM.
pub fn to_csv(p: &FullPlan, actions: &[&Action]) -> Result<Vec<u8>, csv::Error> {
    let mut w = crate::csv_export::CsvExport::new(b';');
    w.row(HEADERS)?;
    for r in rows(p, actions) {
        w.row(&r.cells)?;
    }
    w.finish()
}

/// The workbook: « Plan d'action » (one row per action), « Indicateurs »
/// (one row per indicator with its last measurement), « Budget » (one row
/// per budget line).
pub fn to_xlsx(p: &FullPlan, actions: &[&Action]) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap();
    let money = Format::new().set_num_format("#,##0.00 €");

    let ws = wb.add_worksheet().set_name("Plan d'action")?;
    for (c, h) in HEADERS.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (r, row) in rows(p, actions).into_iter().enumerate() {
        let r = r as u32 + 1;
        for (c, v) in row.cells.iter().enumerate() {
            let c = c as u16;
            match c {
                5 => ws.write_number(r, c, row.progress as f64)?,
                13 => ws.write_number_with_format(r, c, row.budget_cents as f64 / 100.0, &money)?,
                _ if v.contains('\n') => ws.write_string_with_format(r, c, v, &wrap)?,
                _ => ws.write_string(r, c, v)?,
            };
        }
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, actions.len() as u32, HEADERS.len() as u16 - 1)?;

    let ids: Vec<i64> = actions.iter().map(|a| a.id).collect();
    let code_of: HashMap<i64, &str> = p
        .plan
        .actions
        .iter()
        .map(|a| (a.id, a.code.as_str()))
        .collect();
    let ws = wb.add_worksheet().set_name("Indicateurs")?;
    let heads = [
        "Action",
        "Indicateur",
        "Type",
        "Unité",
        "Valeur de départ",
        "Cible",
        "Échéance",
        "Dernière mesure",
        "Date de la mesure",
    ];
    for (c, h) in heads.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    let mut r = 1u32;
    for i in &p.indicators {
        match i.action_id {
            Some(a) if !ids.contains(&a) => continue,
            _ => {}
        }
        let action = i
            .action_id
            .and_then(|a| code_of.get(&a).copied())
            .unwrap_or("Contrat");
        ws.write_string(r, 0, action)?;
        ws.write_string(r, 1, &i.label)?;
        ws.write_string(r, 2, IndicatorKind::label_of(&i.kind))?;
        ws.write_string(r, 3, &i.unit)?;
        if let Some(b) = i.baseline {
            ws.write_number(r, 4, b)?;
        }
        if let Some(t) = i.target {
            ws.write_number(r, 5, t)?;
        }
        if let Some(d) = &i.target_on {
            ws.write_string(r, 6, fr_date(d))?;
        }
        if let Some(m) = p.latest.get(&i.id) {
            ws.write_number(r, 7, m.value)?;
            ws.write_string(r, 8, fr_date(&m.measured_on))?;
        }
        r += 1;
    }
    ws.set_freeze_panes(1, 0)?;

    let ws = wb.add_worksheet().set_name("Budget")?;
    for (c, h) in ["Action", "Financeur", "Année", "Montant (€)", "Précision"]
        .iter()
        .enumerate()
    {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    let mut r = 1u32;
    for a in actions {
        for b in p.related.budget_of(a.id) {
            ws.write_string(r, 0, &a.code)?;
            ws.write_string(r, 1, &b.funder)?;
            ws.write_number(r, 2, b.year as f64)?;
            ws.write_number_with_format(r, 3, b.amount_cents as f64 / 100.0, &money)?;
            ws.write_string(r, 4, &b.note)?;
            r += 1;
        }
    }
    wb.save_to_buffer()
}
