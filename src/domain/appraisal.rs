//! The end-of-contract evaluation (« évaluation finale »): evaluative
//! questions grouped by the usual criteria of public-policy evaluation,
//! each answered in text and backed by indicators; the standard questions a
//! coordination starts from; and the stakeholder questionnaire's template.
//!
//! Named `appraisal` to keep apart from `domain::evaluation` (the computed
//! indicators).

use super::contract::labelled_enum;
use super::participation::QuestionKind;
use super::text;

pub const QUESTION_MAX: usize = 500;
pub const ANSWER_MAX: usize = 8000;

labelled_enum!(
    /// An evaluation criterion.
    Criterion {
        Relevance => "relevance", "Pertinence",
        Coherence => "coherence", "Cohérence",
        Effectiveness => "effectiveness", "Efficacité",
        Efficiency => "efficiency", "Efficience",
        Impact => "impact", "Impact",
    }
);

impl Criterion {
    /// What the criterion asks, in one line.
    pub fn definition(self) -> &'static str {
        match self {
            Criterion::Relevance => "Les objectifs du contrat répondent-ils aux besoins de santé du territoire et de ses habitants ?",
            Criterion::Coherence => "Le contrat s'articule-t-il avec les autres politiques et dispositifs, et ses actions entre elles ?",
            Criterion::Effectiveness => "Les résultats obtenus correspondent-ils aux objectifs fixés ?",
            Criterion::Efficiency => "Les résultats sont-ils à la mesure des moyens humains et financiers engagés ?",
            Criterion::Impact => "Quels effets durables, attendus ou non, sur la santé des habitants et les inégalités ?",
        }
    }

    /// The standard evaluative questions of this criterion, as CLS
    /// evaluations usually ask them.
    pub fn standard_questions(self) -> &'static [&'static str] {
        match self {
            Criterion::Relevance => &[
                "Les actions ont-elles répondu aux besoins identifiés par le diagnostic local de santé ?",
                "Les publics les plus éloignés du soin et de la prévention ont-ils été effectivement visés par les actions ?",
            ],
            Criterion::Coherence => &[
                "Le contrat s'est-il articulé avec les autres dispositifs du territoire (projet régional de santé, contrat de ville, CPTS, CLSM) ?",
                "Les actions du contrat se sont-elles complétées entre elles, sans doublon ni manque ?",
            ],
            Criterion::Effectiveness => &[
                "Les objectifs opérationnels des fiches action ont-ils été atteints ?",
                "La coordination et la dynamique partenariale prévues par le contrat ont-elles fonctionné (instances réunies, partenaires mobilisés) ?",
            ],
            Criterion::Efficiency => &[
                "Les moyens humains et financiers mobilisés ont-ils été à la hauteur des résultats obtenus ?",
                "Les financements prévus ont-ils été engagés et réalisés dans les délais ?",
            ],
            Criterion::Impact => &[
                "Le contrat a-t-il contribué à réduire les inégalités sociales et territoriales de santé ?",
                "Quels changements durables dans les pratiques des professionnels et des partenaires le contrat a-t-il entraînés ?",
            ],
        }
    }
}

/// A question's form as typed.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
pub struct QuestionRaw {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub criterion: String,
    #[serde(default)]
    pub question: String,
    #[serde(default)]
    pub answer: String,
    /// Ids of the contract's indicators, as ticked.
    #[serde(default)]
    pub indicators: Vec<String>,
}

/// A question, checked (indicators are checked against the contract by
/// the storage).
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionInput {
    pub criterion: Criterion,
    pub question: String,
    pub answer: String,
    pub indicators: Vec<i64>,
}

impl QuestionRaw {
    pub fn parse(&self) -> Result<QuestionInput, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let criterion = Criterion::parse(&self.criterion);
        if criterion.is_none() {
            errors.push(("criterion", "Critère : choisissez-en un".to_owned()));
        }
        let question = text::bounded(&self.question, "Question évaluative", true, QUESTION_MAX)
            .map_err(|e| errors.push(("question", e.0)))
            .unwrap_or_default();
        let answer = text::bounded(&self.answer, "Réponse", false, ANSWER_MAX)
            .map_err(|e| errors.push(("answer", e.0)))
            .unwrap_or_default();
        let mut indicators = Vec::new();
        for raw in &self.indicators {
            match raw.trim().parse::<i64>() {
                Ok(id) if !indicators.contains(&id) => indicators.push(id),
                Ok(_) => {}
                Err(_) => {
                    errors.push((
                        "indicators",
                        "Indicateurs : choisissez parmi les indicateurs du contrat".to_owned(),
                    ));
                    break;
                }
            }
        }
        match criterion {
            Some(criterion) if errors.is_empty() => Ok(QuestionInput {
                criterion,
                question,
                answer,
                indicators,
            }),
            _ => Err(errors),
        }
    }
}

/// Compare questions without case, accents or spacing differences: the
/// standard set is not added twice, even retyped.
pub fn same_question(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        text::fold_accents(s)
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect::<String>()
    };
    norm(a) == norm(b)
}

/// A question of the stakeholder questionnaire's template.
#[derive(Debug, Clone, Copy)]
pub struct StakeholderQuestion {
    pub kind: QuestionKind,
    pub label: &'static str,
    pub help: &'static str,
    pub required: bool,
    /// Choices, one per line (single and multiple choice).
    pub options: &'static str,
}

/// The stakeholder questionnaire of the evaluation: partners and
/// inhabitants, with the question kinds of the participation module.
pub fn stakeholder_questionnaire(contract_title: &str) -> (String, String) {
    (
        format!("Évaluation du {contract_title} : votre avis"),
        "Le contrat local de santé arrive à son terme. Pour l'évaluer, nous recueillons l'avis des \
partenaires et des habitants : dix minutes suffisent, les réponses sont anonymes."
            .to_owned(),
    )
}

pub const STAKEHOLDER_QUESTIONS: &[StakeholderQuestion] = &[
    StakeholderQuestion {
        kind: QuestionKind::Single,
        label: "Vous répondez en tant que",
        help: "",
        required: true,
        options: "Partenaire du contrat (structure, professionnel·le)\nÉlu·e\nHabitant·e\nAutre",
    },
    StakeholderQuestion {
        kind: QuestionKind::Scale,
        label: "Êtes-vous satisfait·e de l'animation et de la coordination du contrat local de santé ?",
        help: "1 : pas du tout satisfait·e, 5 : tout à fait satisfait·e",
        required: true,
        options: "",
    },
    StakeholderQuestion {
        kind: QuestionKind::Multiple,
        label: "Quelles actions du contrat connaissez-vous ?",
        help: "Cochez toutes celles dont vous avez entendu parler ou auxquelles vous avez participé.",
        required: false,
        options: "Accès aux soins et aux droits (médiation santé, permanences)\nPrévention et dépistages\n\
Santé mentale\nSanté des enfants et des jeunes\nNutrition et activité physique\n\
Accueil des professionnels de santé\nAucune",
    },
    StakeholderQuestion {
        kind: QuestionKind::Scale,
        label: "Le contrat a-t-il amélioré l'accès à la santé des habitants du territoire ?",
        help: "1 : pas du tout, 5 : beaucoup",
        required: false,
        options: "",
    },
    StakeholderQuestion {
        kind: QuestionKind::Single,
        label: "Avez-vous été associé·e aux décisions et au suivi du contrat ?",
        help: "",
        required: false,
        options: "Oui, régulièrement\nOui, parfois\nNon, mais je l'aurais souhaité\nNon, et ce n'était pas nécessaire",
    },
    StakeholderQuestion {
        kind: QuestionKind::LongText,
        label: "Qu'est-ce qui a le mieux fonctionné ?",
        help: "",
        required: false,
        options: "",
    },
    StakeholderQuestion {
        kind: QuestionKind::LongText,
        label: "Que faudrait-il améliorer dans le prochain contrat ?",
        help: "",
        required: false,
        options: "",
    },
    StakeholderQuestion {
        kind: QuestionKind::Commune,
        label: "Votre commune",
        help: "",
        required: false,
        options: "",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_criterion_has_a_definition_and_standard_questions() {
        let codes: Vec<_> = Criterion::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            codes,
            [
                "relevance",
                "coherence",
                "effectiveness",
                "efficiency",
                "impact"
            ]
        );
        for c in Criterion::ALL {
            assert!(c.definition().ends_with('?'), "{c:?}");
            assert!(c.standard_questions().len() >= 2, "{c:?}");
            for q in c.standard_questions() {
                assert!(q.chars().count() <= QUESTION_MAX);
            }
        }
        assert_eq!(Criterion::Efficiency.label(), "Efficience");
    }

    #[test]
    fn the_form_refuses_what_it_must() {
        let raw = QuestionRaw {
            criterion: "impact".into(),
            question: " Les inégalités ont-elles baissé ? ".into(),
            indicators: vec!["3".into(), "3".into(), "5".into()],
            ..Default::default()
        };
        let q = raw.parse().unwrap();
        assert_eq!(q.question, "Les inégalités ont-elles baissé ?");
        assert_eq!(q.indicators, [3, 5]);
        let errs = QuestionRaw {
            criterion: "beauty".into(),
            question: "".into(),
            indicators: vec!["x".into()],
            ..Default::default()
        }
        .parse()
        .unwrap_err();
        let fields: Vec<_> = errs.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["criterion", "question", "indicators"]);
    }

    #[test]
    fn questions_compare_as_people_read_them() {
        assert!(same_question(
            "Les actions ont-elles répondu aux besoins ?",
            "les actions ont elles repondu aux besoins?"
        ));
        assert!(!same_question("Pertinence ?", "Efficience ?"));
    }

    #[test]
    fn the_stakeholder_template_parses_with_the_participation_rules() {
        for q in STAKEHOLDER_QUESTIONS {
            crate::domain::participation::QuestionInput::parse(
                q.kind.as_str(),
                q.label,
                q.help,
                q.required,
                q.options,
                "1",
                "5",
                "",
                &[],
            )
            .unwrap_or_else(|e| panic!("{}: {e:?}", q.label));
        }
    }
}
