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
        let allowed = match q.chars().count() {
            0..=3 => 0,
            4..=7 => 1,
            _ => 2,
        };
        let best = words
            .iter()
            .map(|w| {
                if w.starts_with(q.as_str()) {
                    3
                } else if allowed > 0 {
                    // Compare with the word's start of the same length too,
                    // so that « pharmaci » matches « pharmacies ».
                    let head: String = w.chars().take(q.chars().count()).collect();
                    let d = strsim::damerau_levenshtein(q, w)
                        .min(strsim::damerau_levenshtein(q, &head));
                    u32::from(d <= allowed)
                } else {
                    0
                }
            })
            .max()
            .unwrap_or(0);
        if best == 0 {
            return None;
        }
        total += best;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
