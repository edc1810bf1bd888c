//! Matching what people type against names: accent- and case-insensitive,
//! tolerant of small typos (« medecin » finds « Médecin », « pharmacei »
//! finds « Pharmacie »).

use super::text::fold_accents;

/// The words of a query worth matching (folded, two letters or more).
pub fn tokens(query: &str) -> Vec<String> {
    fold_accents(query)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2)
        .map(str::to_owned)
        .collect()
}

/// How well `text` answers the query tokens: `None` when a token matches no
/// word; higher is better (a prefix counts 3, a near miss 1).
pub fn score(query: &[String], text: &str) -> Option<u32> {
    if query.is_empty() {
        return Some(0);
    }
    let folded = fold_accents(text);
    let words: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut total = 0;
    for q in query {
        let best = best_match(q, &words);
        if best == 0 {
            return None;
        }
        total += best;
    }
    Some(total)
}

/// How well the best of `words` answers the query word `q`: 3 for a word
/// it starts, 1 for a near miss (within [`allowed_typos`], the word or its
/// start of the same length: « pharmaci » matches « pharmacies »), 0
/// otherwise. A prefix ends the search; a near miss is looked for until
/// one is found. The distance is computed only when the difference in
/// length, which no fewer edits can make up, leaves it a chance: on a
/// directory page it had been a fifth of the server's time.
fn best_match(q: &str, words: &[&str]) -> u32 {
    let allowed = allowed_typos(q);
    let q_len = q.chars().count();
    let mut best = 0;
    for w in words {
        if w.starts_with(q) {
            return 3;
        }
        if allowed == 0 || best > 0 {
            continue;
        }
        let w_len = w.chars().count();
        let near = (w_len.abs_diff(q_len) <= allowed
            && strsim::damerau_levenshtein(q, w) <= allowed)
            || (q_len - w_len.min(q_len) <= allowed && {
                let head: String = w.chars().take(q_len).collect();
                strsim::damerau_levenshtein(q, &head) <= allowed
            });
        if near {
            best = 1;
        }
    }
    best
}

/// Words people type for a profession, a specialty (savoir-faire) or a
/// category, and the words the official labels use (FINESS categories, RPPS
/// professions and savoir-faire), folded. A query word found on the left
/// also matches any word on the right.
const SYNONYMS: &[(&[&str], &[&str])] = &[
    (
        &[
            "generaliste",
            "generalistes",
            "traitant",
            "famille",
            "omnipraticien",
        ],
        &["generale", "generaliste", "medecin"],
    ),
    (
        &["docteur", "docteurs", "dr", "toubib", "medecins"],
        &["medecin", "medecine"],
    ),
    (
        &[
            "hopital", "hopitaux", "hosto", "urgences", "urgence", "chu", "clinique",
        ],
        &[
            "hospitalier",
            "hospitaliers",
            "ch",
            "chu",
            "hopital",
            "clinique",
        ],
    ),
    (
        &["dentiste", "dentistes", "dentaire", "dents", "dent"],
        &["dentiste", "dentaire", "chirurgien"],
    ),
    (
        &["kine", "kines", "kinesitherapeute", "kinesi", "masseur"],
        &["kinesitherapeute", "masseur"],
    ),
    (
        &[
            "sage",
            "sagefemme",
            "sages",
            "maieuticien",
            "accouchement",
            "grossesse",
        ],
        &["sage", "femme", "maieuticien"],
    ),
    (
        &[
            "infirmiere",
            "infirmieres",
            "infirmier",
            "infirmiers",
            "ide",
            "soins",
        ],
        &["infirmier", "infirmiere"],
    ),
    (
        &[
            "pharmacie",
            "pharmacies",
            "pharmacien",
            "pharmacienne",
            "medicaments",
        ],
        &["pharmacie", "pharmacies", "pharmacien", "officine"],
    ),
    (
        &[
            "psy",
            "psychiatre",
            "psychologue",
            "psychiatrie",
            "mentale",
            "mental",
        ],
        &[
            "psychiatre",
            "psychologue",
            "psychiatrie",
            "psychiatriques",
            "psychologique",
            "cmp",
        ],
    ),
    (
        &["ehpad", "maison", "retraite", "personnes", "agees", "vieux"],
        &["ehpad", "hebergement", "agees"],
    ),
    (
        &["labo", "laboratoire", "analyses", "prise", "sang"],
        &["laboratoire", "biologie"],
    ),
    (
        &["orthophoniste", "orthophonie", "langage"],
        &["orthophoniste"],
    ),
    (
        &["msp", "pluriprofessionnelle", "pluridisciplinaire"],
        &["maison", "sante", "msp"],
    ),
    (
        &["addiction", "addictions", "alcool", "drogue", "tabac"],
        &["addictologie", "csapa"],
    ),
    (
        &["pediatre", "enfant", "enfants", "bebe"],
        &["pediatre", "pediatrie"],
    ),
    (
        &["gyneco", "gynecologue", "gynecologie"],
        &["gynecologie", "gynecologue", "obstetrique"],
    ),
];

/// Little words of a query that say nothing about what is looked for.
const STOP_WORDS: &[&str] = &[
    "de", "du", "des", "la", "le", "les", "un", "une", "en", "au", "aux", "et", "pour", "mon",
    "ma", "mes", "un", "pres", "chez",
];

/// One word of a query and the words that answer it: the word itself first,
/// then its synonyms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub word: String,
    pub alternatives: Vec<String>,
}

/// The words of a query with their synonyms (little words left out unless
/// the query has nothing else).
pub fn terms(query: &str) -> Vec<Term> {
    let words = tokens(query);
    let kept: Vec<String> = words
        .iter()
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .cloned()
        .collect();
    let words = if kept.is_empty() { words } else { kept };
    // « sage-femme »: one profession, not two words to find.
    let words: Vec<String> = {
        let mut out: Vec<String> = Vec::new();
        for w in words {
            if w == "femme" && out.last().is_some_and(|p| p == "sage") {
                continue;
            }
            out.push(w);
        }
        out
    };
    words
        .into_iter()
        .map(|w| {
            let mut alternatives: Vec<String> = Vec::new();
            for (typed, official) in SYNONYMS {
                if typed.contains(&w.as_str()) {
                    for o in *official {
                        if *o != w && !alternatives.iter().any(|a| a == o) {
                            alternatives.push((*o).to_owned());
                        }
                    }
                }
            }
            Term {
                word: w,
                alternatives,
            }
        })
        .collect()
}

/// Like [`score`], each term answered by its word or one of its synonyms (a
/// synonym counts a little less than the word itself).
pub fn score_terms(query: &[Term], text: &str) -> Option<u32> {
    let mut total = 0;
    for t in query {
        let own = score(std::slice::from_ref(&t.word), text);
        let syn = t
            .alternatives
            .iter()
            .filter_map(|a| score_word(a, text))
            .max()
            .map(|s| s.saturating_sub(1).max(1));
        total += own.into_iter().chain(syn).max()?;
    }
    Some(total)
}

/// How many typos a query word may hold (as [`score`] allows them).
pub fn allowed_typos(word: &str) -> usize {
    match word.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// `LIKE` patterns that select, among texts folded as the database folds
/// them (lower case, no accents, punctuation as spaces, a space at both
/// ends), every text that answers the term without a typo: the word as a
/// substring (the start of a word for a short word), a synonym as a
/// substring (as a whole word when short). A superset: [`score_terms`]
/// decides. Query words hold letters and digits only, never `%` or `_`.
pub fn like_patterns(t: &Term) -> Vec<String> {
    let mut out = vec![if t.word.chars().count() <= 3 {
        format!("% {}%", t.word)
    } else {
        format!("%{}%", t.word)
    }];
    for a in &t.alternatives {
        let p = if a.chars().count() <= 3 {
            format!("% {a} %")
        } else {
            format!("%{a}%")
        };
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// `LIKE` patterns to rank texts by likeness to a word that found nothing
/// as typed: one per pair of letters of the word (« pharmacei » shares
/// « ph », « ha », « ar », « rm », « ma », « ac » with « pharmacie »). A
/// text holding more of them comes first; [`score`] decides whether it is
/// within the typos allowed.
pub fn typo_patterns(word: &str) -> Vec<String> {
    let chars: Vec<char> = word.chars().collect();
    let mut out: Vec<String> = Vec::new();
    for pair in chars.windows(2) {
        let p = format!("%{}{}%", pair[0], pair[1]);
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// A synonym must match a whole word or its start (no typo tolerance: « ch »
/// must not match every word starting with c-h-something else).
fn score_word(word: &str, text: &str) -> Option<u32> {
    let folded = fold_accents(text);
    folded
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| {
            if word.chars().count() <= 3 {
                w == word
            } else {
                w.starts_with(word)
            }
        })
        .then_some(3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `best_match` as it was written first: both distances for every word.
    fn best_match_by_distance(q: &str, words: &[&str]) -> u32 {
        let allowed = allowed_typos(q);
        words
            .iter()
            .map(|w| {
                if w.starts_with(q) {
                    3
                } else if allowed > 0 {
                    let head: String = w.chars().take(q.chars().count()).collect();
                    let d = strsim::damerau_levenshtein(q, w)
                        .min(strsim::damerau_levenshtein(q, &head));
                    u32::from(d <= allowed)
                } else {
                    0
                }
            })
            .max()
            .unwrap_or(0)
    }

    proptest! {
        /// Skipping the distances that the lengths rule out changes no
        /// answer (few letters, so that near misses are common).
        #[test]
        fn best_match_skips_only_hopeless_distances(
            q in "[abcé]{0,10}",
            words in proptest::collection::vec("[abcé]{0,12}", 0..6),
        ) {
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            prop_assert_eq!(best_match(&q, &words), best_match_by_distance(&q, &words));
        }
    }

    #[test]
    fn tolerant_matching() {
        let q = tokens("Médecin LIEVIN");
        assert_eq!(q, vec!["medecin", "lievin"]);
        assert!(score(&q, "Médecin généraliste, Liévin").is_some());
        assert!(
            score(&tokens("pharmacei"), "PHARMACIE DU CENTRE").is_some(),
            "transposition"
        );
        assert!(
            score(&tokens("kine"), "Masseur-kinésithérapeute").is_some(),
            "prefix"
        );
        assert!(score(&tokens("dentiste"), "Pharmacie").is_none());
        assert!(score(&tokens("cmp"), "CMP Lens").is_some());
        assert!(
            score(&tokens("cmo"), "CMP Lens").is_none(),
            "short words must match exactly"
        );
        let exact = score(&tokens("pharmacie"), "Pharmacie").unwrap();
        let near = score(&tokens("pharmacei"), "Pharmacie").unwrap();
        assert!(exact > near);
    }

    /// What people type finds the labels of the official files: the RPPS
    /// profession and savoir-faire of a GP, the FINESS category of a
    /// hospital (issue 10: « médecin généraliste », « docteur », « hopital »
    /// found nothing).
    #[test]
    fn words_people_type() {
        let gp = "DURAND Claire Médecin Médecine générale Lens";
        let hospital = "CH LENS CENTRE HOSPITALIER DE LENS Centre Hospitalier (C.H.) LENS";
        let found = |q: &str, text: &str| score_terms(&terms(q), text).is_some();
        for q in [
            "médecin généraliste",
            "generaliste",
            "docteur",
            "médecin traitant",
            "un médecin de famille",
            "Dr Durand",
        ] {
            assert!(found(q, gp), "{q}");
        }
        for q in ["hopital", "hôpital", "Hôpital de Lens", "urgences"] {
            assert!(found(q, hospital), "{q}");
        }
        assert!(!found("hopital", gp));
        assert!(!found("dentiste", gp));
        assert!(found("dentiste", "Chirurgien-Dentiste"));
        assert!(found("kiné", "Masseur-Kinésithérapeute"));
        assert!(found("sage-femme", "Sage-Femme"));
        assert!(found("sage femme", "Sage-Femme"));
        assert!(found("infirmière", "Infirmier"));
        assert!(found("pharmacie", "Pharmacie d'Officine"));
        assert!(found(
            "pharmacien",
            "PHARMACIE DU CENTRE Pharmacie d'Officine"
        ));
        assert!(found("psy", "Centre Médico-Psychologique (C.M.P.)"));
        assert!(found(
            "psychiatre",
            "CMP ADULTES LENS Centre Médico-Psychologique (C.M.P.)"
        ));
        assert!(!found("psychiatre", "Pharmacie d'Officine"));
        // The word itself ranks above a synonym.
        let own = score_terms(&terms("généraliste"), "Médecin généraliste").unwrap();
        let syn = score_terms(&terms("généraliste"), "Médecin Médecine générale").unwrap();
        assert!(own > syn);
        // « de » alone is still a query.
        assert_eq!(terms("de").len(), 1);
    }

    /// Whatever the scoring accepts without a typo, the patterns select
    /// (on text folded as in the database).
    #[test]
    fn patterns_select_what_the_scoring_accepts() {
        let like = |pattern: &str, text: &str| {
            let folded = format!(
                " {} ",
                fold_accents(text).replace(['-', '\'', '(', ')', '.', ','], " ")
            );
            let parts: Vec<&str> = pattern.split('%').collect();
            let mut at = 0;
            for (i, part) in parts.iter().enumerate() {
                if part.is_empty() {
                    continue;
                }
                match folded[at..].find(part) {
                    Some(found) if i > 0 || found == 0 => at += found + part.len(),
                    _ => return false,
                }
            }
            true
        };
        let selected = |q: &str, text: &str| {
            terms(q)
                .iter()
                .all(|t| like_patterns(t).iter().any(|p| like(p, text)))
        };
        for (q, text) in [
            (
                "généraliste",
                "DURAND Claire Médecin Médecine générale Lens",
            ),
            ("hopital", "CH LENS Centre Hospitalier (C.H.) LENS"),
            ("kiné", "PETIT Karim Masseur-Kinésithérapeute Liévin"),
            ("psy", "CMP ADULTES Centre Médico-Psychologique (C.M.P.)"),
            ("cmp", "CMP ADULTES LENS"),
            ("sage-femme", "PETIT Léa Sage-Femme Liévin"),
            ("Lefèvre", "LEFEVRE Jean"),
        ] {
            assert!(score_terms(&terms(q), text).is_some(), "{q}");
            assert!(selected(q, text), "{q}");
        }
        assert!(!selected("cm", "ACME"), "short words from a word start");
        assert!(
            !selected("hopital", "RICHARD Luc"),
            "« ch » as a whole word"
        );
        assert_eq!(allowed_typos("kine"), 1);
        let pairs = typo_patterns("pharmacei");
        assert_eq!(pairs.len(), 8);
        assert_eq!(pairs.iter().filter(|p| like(p, "Pharmacie")).count(), 6);
    }

    #[test]
    fn near_misses_still_rank_below_exact() {
        let exact = score(&tokens("pharmacie"), "Pharmacie").unwrap();
        let near = score(&tokens("pharmacei"), "Pharmacie").unwrap();
        assert!(exact > near);
    }
}
