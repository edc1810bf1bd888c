//! Questionnaires: question kinds, options, conditions, answers and their checks.

use super::*;

// ---------------------------------------------------------------- questionnaires

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    Single,
    Multiple,
    Scale,
    ShortText,
    LongText,
    Commune,
}

impl QuestionKind {
    pub const ALL: [QuestionKind; 6] = [
        QuestionKind::Single,
        QuestionKind::Multiple,
        QuestionKind::Scale,
        QuestionKind::ShortText,
        QuestionKind::LongText,
        QuestionKind::Commune,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionKind::Single => "single",
            QuestionKind::Multiple => "multiple",
            QuestionKind::Scale => "scale",
            QuestionKind::ShortText => "short_text",
            QuestionKind::LongText => "long_text",
            QuestionKind::Commune => "commune",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            QuestionKind::Single => "Choix unique",
            QuestionKind::Multiple => "Choix multiple",
            QuestionKind::Scale => "Échelle",
            QuestionKind::ShortText => "Texte court",
            QuestionKind::LongText => "Texte long",
            QuestionKind::Commune => "Commune de résidence",
        }
    }
    pub fn parse(s: &str) -> Option<QuestionKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
    pub fn has_options(self) -> bool {
        matches!(self, QuestionKind::Single | QuestionKind::Multiple)
    }
    /// Answers are counted (chart) rather than listed.
    pub fn is_counted(self) -> bool {
        !matches!(self, QuestionKind::ShortText | QuestionKind::LongText)
    }
}

/// A question as stored (the storage row maps onto it).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Question {
    pub id: i64,
    pub consultation_id: i64,
    pub position: i64,
    /// `single`, `multiple`, `scale`, `short_text`, `long_text`, `commune`.
    pub kind: String,
    pub label: String,
    pub help: String,
    pub required: bool,
    /// Choices, one per line; answers hold the 1-based choice number.
    pub options: String,
    pub scale_min: i64,
    pub scale_max: i64,
    /// Shown only when this question was answered with choice `cond_option`.
    pub cond_question_id: Option<i64>,
    pub cond_option: Option<i64>,
}

impl Question {
    pub fn kind(&self) -> QuestionKind {
        QuestionKind::parse(&self.kind).unwrap_or(QuestionKind::ShortText)
    }
    pub fn option_list(&self) -> Vec<&str> {
        self.options
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    }
    pub fn field(&self) -> String {
        format!("q{}", self.id)
    }
    /// The values a counted question may take, with their labels.
    pub fn choices(&self, communes: &[(String, String)]) -> Vec<(String, String)> {
        match self.kind() {
            QuestionKind::Single | QuestionKind::Multiple => self
                .option_list()
                .iter()
                .enumerate()
                .map(|(i, l)| ((i + 1).to_string(), (*l).to_owned()))
                .collect(),
            QuestionKind::Scale => (self.scale_min..=self.scale_max)
                .map(|n| (n.to_string(), n.to_string()))
                .collect(),
            QuestionKind::Commune => {
                let mut v = communes.to_vec();
                v.push(("autre".into(), "Autre commune".into()));
                v
            }
            _ => Vec::new(),
        }
    }
    /// Human label of a stored value.
    pub fn value_label(&self, value: &str, communes: &[(String, String)]) -> String {
        if !self.kind().is_counted() {
            return value.to_owned();
        }
        self.choices(communes)
            .into_iter()
            .find(|(v, _)| v == value)
            .map(|(_, l)| l)
            .unwrap_or_else(|| value.to_owned())
    }
}

/// A question as typed by the coordinator.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionInput {
    pub kind: QuestionKind,
    pub label: String,
    pub help: String,
    pub required: bool,
    pub options: Vec<String>,
    pub scale_min: i64,
    pub scale_max: i64,
    pub cond_question_id: Option<i64>,
    pub cond_option: Option<i64>,
}

impl QuestionInput {
    /// `earlier`: the questions before this one (conditions may only look back).
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        kind: &str,
        label: &str,
        help: &str,
        required: bool,
        options: &str,
        scale_min: &str,
        scale_max: &str,
        condition: &str,
        earlier: &[Question],
    ) -> Result<QuestionInput, FieldErrors> {
        let mut e = Vec::new();
        let kind_v = QuestionKind::parse(kind);
        if kind_v.is_none() {
            e.push(("kind", "Choisissez le type de question.".to_owned()));
        }
        let label = push_err(&mut e, "label", bounded(label, "Intitulé", true, 500));
        let help = push_err(&mut e, "help", bounded(help, "Aide", false, 1000));
        let options: Vec<String> = options
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        if kind_v.is_some_and(|k| k.has_options()) {
            if options.len() < 2 {
                e.push((
                    "options",
                    "Donnez au moins deux choix, un par ligne.".to_owned(),
                ));
            } else if options.len() > 30 {
                e.push(("options", "Trente choix au plus.".to_owned()));
            } else if options.iter().any(|o| o.chars().count() > 200) {
                e.push((
                    "options",
                    "Chaque choix : 200 caractères au plus.".to_owned(),
                ));
            }
        }
        let (mut smin, mut smax) = (1, 5);
        if kind_v == Some(QuestionKind::Scale) {
            match (scale_min.trim().parse::<i64>(), scale_max.trim().parse::<i64>()) {
                (Ok(a), Ok(b)) if a < b && b - a <= 10 && a >= 0 => {
                    smin = a;
                    smax = b;
                }
                _ => e.push((
                    "scale_min",
                    "Échelle : deux nombres entiers, le premier plus petit, dix crans au plus (par exemple 1 et 5).".to_owned(),
                )),
            }
        }
        let (mut cq, mut co) = (None, None);
        if let Some((q, o)) = condition.trim().split_once(':') {
            let q: Option<i64> = q.trim().parse().ok();
            let o: Option<i64> = o.trim().parse().ok();
            match (q.and_then(|q| earlier.iter().find(|x| x.id == q)), o) {
                (Some(src), Some(o))
                    if src.kind().has_options()
                        && o >= 1
                        && (o as usize) <= src.option_list().len() =>
                {
                    cq = Some(src.id);
                    co = Some(o);
                }
                _ => e.push((
                    "condition",
                    "Condition : choisissez une réponse d’une question à choix placée avant."
                        .to_owned(),
                )),
            }
        } else if !condition.trim().is_empty() {
            e.push(("condition", "Condition illisible.".to_owned()));
        }
        match kind_v {
            Some(kind) if e.is_empty() => Ok(QuestionInput {
                kind,
                label,
                help,
                required,
                options: if kind.has_options() {
                    options
                } else {
                    Vec::new()
                },
                scale_min: smin,
                scale_max: smax,
                cond_question_id: cq,
                cond_option: co,
            }),
            _ => Err(e),
        }
    }

    /// Does replacing `old` by this change the structure answers rely on
    /// (kind, number of choices, scale, condition, required)? Wording may change.
    pub fn structural_change(&self, old: &Question) -> bool {
        self.kind.as_str() != old.kind
            || self.options.len() != old.option_list().len()
            || (self.kind == QuestionKind::Scale
                && (self.scale_min != old.scale_min || self.scale_max != old.scale_max))
            || self.cond_question_id != old.cond_question_id
            || self.cond_option != old.cond_option
            || self.required != old.required
    }
}

/// Is `q` shown, given the answers so far (by question id)?
pub fn is_shown(
    q: &Question,
    answers: &HashMap<i64, Vec<String>>,
    by_id: &HashMap<i64, &Question>,
) -> bool {
    let (Some(cq), Some(co)) = (q.cond_question_id, q.cond_option) else {
        return true;
    };
    // The condition's own question must be shown too.
    if let Some(src) = by_id.get(&cq) {
        if !is_shown(src, answers, by_id) {
            return false;
        }
    }
    answers
        .get(&cq)
        .is_some_and(|vals| vals.iter().any(|v| v == &co.to_string()))
}

/// Check a submission: `raw` holds the form's values by field name (`q{id}`,
/// several for multiple choice). Returns the `(question_id, value)` rows to
/// store, or errors by field. Hidden questions (condition not met) are not
/// required and their answers are dropped.
/// Answer rows `(question id, value)`, or errors `(field, message)`.
pub type Validated = Result<Vec<(i64, String)>, Vec<(String, String)>>;

pub fn validate_answers(
    questions: &[Question],
    raw: &HashMap<String, Vec<String>>,
    communes: &[(String, String)],
) -> Validated {
    let by_id: HashMap<i64, &Question> = questions.iter().map(|q| (q.id, q)).collect();
    let mut errors: Vec<(String, String)> = Vec::new();
    let mut kept: HashMap<i64, Vec<String>> = HashMap::new();
    let mut ordered: Vec<(i64, String)> = Vec::new();
    for q in questions {
        let values: Vec<String> = raw
            .get(&q.field())
            .map(|v| {
                v.iter()
                    .map(|s| s.trim().replace("\r\n", "\n"))
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if !is_shown(q, &kept, &by_id) {
            continue;
        }
        let field = q.field();
        let short: String = q.label.chars().take(80).collect();
        if values.is_empty() {
            if q.required {
                errors.push((field, format!("« {short} » : une réponse est demandée.")));
            }
            continue;
        }
        let mut ok = Vec::new();
        match q.kind() {
            QuestionKind::Single | QuestionKind::Scale | QuestionKind::Commune => {
                let choices = q.choices(communes);
                if values.len() > 1 {
                    errors.push((field, format!("« {short} » : une seule réponse possible.")));
                    continue;
                }
                if !choices.iter().any(|(v, _)| v == &values[0]) {
                    errors.push((field, format!("« {short} » : réponse inconnue.")));
                    continue;
                }
                ok.push(values[0].clone());
            }
            QuestionKind::Multiple => {
                let choices = q.choices(communes);
                let mut vals = values.clone();
                vals.sort();
                vals.dedup();
                if vals.iter().any(|v| !choices.iter().any(|(c, _)| c == v)) {
                    errors.push((field, format!("« {short} » : réponse inconnue.")));
                    continue;
                }
                ok.extend(vals);
            }
            QuestionKind::ShortText | QuestionKind::LongText => {
                let max = if q.kind() == QuestionKind::ShortText {
                    SHORT_TEXT_MAX
                } else {
                    LONG_TEXT_MAX
                };
                match bounded(&values.join("\n"), &format!("« {short} »"), false, max) {
                    Ok(s) => ok.push(s),
                    Err(e) => {
                        errors.push((field, e.0));
                        continue;
                    }
                }
            }
        }
        for v in &ok {
            ordered.push((q.id, v.clone()));
        }
        kept.insert(q.id, ok);
    }
    if errors.is_empty() {
        Ok(ordered)
    } else {
        Err(errors)
    }
}

/// One bar of a question's results.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ChoiceCount {
    pub value: String,
    pub label: String,
    pub count: i64,
    /// Share of the people who answered the question, in percent (one decimal).
    pub percent: f64,
}

impl ChoiceCount {
    pub fn percent_label(&self) -> String {
        format_percent(self.percent)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct QuestionResult {
    pub question_id: i64,
    pub position: i64,
    pub label: String,
    pub kind: String,
    /// People who answered this question.
    pub respondents: i64,
    pub choices: Vec<ChoiceCount>,
    /// Mean of a scale question.
    pub mean: Option<f64>,
}

/// Turn grouped counts (`question_id`, `value`, count) and per-question
/// respondent counts into results, in question order, with every choice
/// listed (zeros included).
pub fn compute_results(
    questions: &[Question],
    counts: &[(i64, String, i64)],
    respondents: &HashMap<i64, i64>,
    communes: &[(String, String)],
) -> Vec<QuestionResult> {
    let mut by_q: HashMap<i64, BTreeMap<String, i64>> = HashMap::new();
    for (qid, v, n) in counts {
        *by_q.entry(*qid).or_default().entry(v.clone()).or_default() += n;
    }
    questions
        .iter()
        .map(|q| {
            let n = respondents.get(&q.id).copied().unwrap_or(0);
            let got = by_q.remove(&q.id).unwrap_or_default();
            let pct = |c: i64| {
                if n == 0 {
                    0.0
                } else {
                    (c as f64 * 1000.0 / n as f64).round() / 10.0
                }
            };
            let choices: Vec<ChoiceCount> = if q.kind().is_counted() {
                q.choices(communes)
                    .into_iter()
                    .map(|(v, l)| {
                        let c = got.get(&v).copied().unwrap_or(0);
                        ChoiceCount {
                            value: v,
                            label: l,
                            count: c,
                            percent: pct(c),
                        }
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let mean = (q.kind() == QuestionKind::Scale && n > 0).then(|| {
                let total: i64 = got
                    .iter()
                    .map(|(v, c)| v.parse::<i64>().unwrap_or(0) * c)
                    .sum();
                (total as f64 * 100.0 / n as f64).round() / 100.0
            });
            QuestionResult {
                question_id: q.id,
                position: q.position,
                label: q.label.clone(),
                kind: q.kind.clone(),
                respondents: n,
                choices,
                mean,
            }
        })
        .collect()
}

/// A horizontal bar chart as SVG text: `role="img"`, a `<title>`, every text
/// escaped. The data table next to it is the text alternative.
pub fn bar_chart_svg(r: &QuestionResult) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;")
    };
    // Sized for a phone first: the viewBox scales to the page's width.
    let row_h = 26;
    let label_w = 170;
    let bar_w = 190;
    let h = row_h * r.choices.len().max(1) + 10;
    let title = format!("Résultats : {} ({} réponses)", r.label, r.respondents);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" class=\"chart\" viewBox=\"0 0 {} {h}\" width=\"100%\" aria-labelledby=\"chart-{}-title\"><title id=\"chart-{}-title\">{}</title>",
        label_w + bar_w + 60,
        r.question_id,
        r.question_id,
        esc(&title)
    );
    for (i, c) in r.choices.iter().enumerate() {
        let y = 5 + i * row_h;
        let w = ((c.percent / 100.0) * bar_w as f64).round() as i64;
        let label: String = if c.label.chars().count() > 24 {
            c.label.chars().take(23).chain(['…']).collect()
        } else {
            c.label.clone()
        };
        s.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"14\" fill=\"#1a1a1a\">{}</text><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"18\" fill=\"#1f5f8b\"></rect><text x=\"{}\" y=\"{}\" font-size=\"14\" fill=\"#1a1a1a\">{} %</text>",
            label_w - 6,
            y + 14,
            esc(&label),
            label_w,
            y,
            w.max(1),
            label_w + w.max(1) + 6,
            y + 14,
            format_percent(c.percent)
        ));
    }
    s.push_str("</svg>");
    s
}

/// `12.5` → `12,5` (French decimal comma).
pub fn format_percent(p: f64) -> String {
    format!("{p:.1}").replace('.', ",")
}
