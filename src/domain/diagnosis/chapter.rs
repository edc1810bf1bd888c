//! The chapters of a territory's diagnosis (like an ORS territorial
//! profile) and what the coordination writes in them: findings, each
//! leading to fiches action.

/// A chapter of the diagnosis page, in page order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chapter {
    Population,
    Offre,
    Accessibilite,
    Participation,
}

impl Chapter {
    pub const ALL: [Chapter; 4] = [
        Chapter::Population,
        Chapter::Offre,
        Chapter::Accessibilite,
        Chapter::Participation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Chapter::Population => "population",
            Chapter::Offre => "offre",
            Chapter::Accessibilite => "accessibilite",
            Chapter::Participation => "participation",
        }
    }

    pub fn parse(s: &str) -> Option<Chapter> {
        Chapter::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The chapter's heading on the page.
    pub fn label(self) -> &'static str {
        match self {
            Chapter::Population => "Population et territoire",
            Chapter::Offre => "Offre de soins de premier recours",
            Chapter::Accessibilite => "Accessibilité aux soins",
            Chapter::Participation => "Diagnostic participatif : la parole des habitants",
        }
    }
}

/// A finding as typed in the back office.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct FindingRaw {
    #[serde(default)]
    pub chapter: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub body: String,
}

/// A finding checked: every field's message in French, by field name.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingInput {
    pub chapter: Chapter,
    pub title: String,
    pub body: String,
}

pub const TITLE_MAX: usize = 200;
pub const BODY_MAX: usize = 5000;

impl FindingRaw {
    pub fn parse(&self) -> Result<FindingInput, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let chapter = Chapter::parse(self.chapter.trim());
        if chapter.is_none() {
            errors.push(("chapter", "Choisissez le chapitre du constat.".to_owned()));
        }
        let title = self.title.trim();
        if title.is_empty() {
            errors.push((
                "title",
                "Donnez un titre au constat (une phrase courte).".to_owned(),
            ));
        } else if title.chars().count() > TITLE_MAX {
            errors.push((
                "title",
                format!(
                    "Le titre fait {} caractères : {TITLE_MAX} au plus.",
                    title.chars().count()
                ),
            ));
        }
        let body = self.body.trim();
        if body.chars().count() > BODY_MAX {
            errors.push((
                "body",
                format!(
                    "Le texte fait {} caractères : {BODY_MAX} au plus.",
                    body.chars().count()
                ),
            ));
        }
        match chapter {
            Some(chapter) if errors.is_empty() => Ok(FindingInput {
                chapter,
                title: title.to_owned(),
                body: body.replace("\r\n", "\n"),
            }),
            _ => Err(errors),
        }
    }
}

/// A threshold typed in French (`4,5`), empty for « the national median ».
pub fn parse_threshold(s: &str) -> Result<Option<f64>, String> {
    let s = s.trim().replace(['\u{a0}', '\u{202f}', ' '], "");
    if s.is_empty() {
        return Ok(None);
    }
    match s.replace(',', ".").parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
        Ok(_) => Err("Le seuil doit être un nombre positif ou nul.".into()),
        Err(_) => Err(format!(
            "« {s} » n'est pas un nombre (exemple : 4,5). Laissez vide pour la médiane nationale."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_are_checked() {
        let ok = FindingRaw {
            chapter: "offre".into(),
            title: "  Peu de généralistes au sud  ".into(),
            body: "Trois communes\r\nsans médecin.".into(),
        }
        .parse()
        .unwrap();
        assert_eq!(ok.chapter, Chapter::Offre);
        assert_eq!(ok.title, "Peu de généralistes au sud");
        assert_eq!(ok.body, "Trois communes\nsans médecin.");
        let bad = FindingRaw {
            chapter: "x".into(),
            title: " ".into(),
            body: "é".repeat(BODY_MAX + 1),
        }
        .parse()
        .unwrap_err();
        let fields: Vec<_> = bad.iter().map(|e| e.0).collect();
        assert_eq!(fields, vec!["chapter", "title", "body"]);
    }

    #[test]
    fn thresholds_read_french_numbers() {
        assert_eq!(parse_threshold(""), Ok(None));
        assert_eq!(parse_threshold("4,5"), Ok(Some(4.5)));
        assert_eq!(parse_threshold(" 12 "), Ok(Some(12.0)));
        assert!(parse_threshold("-1").is_err());
        assert!(parse_threshold("beaucoup")
            .unwrap_err()
            .contains("n'est pas un nombre"));
    }
}
