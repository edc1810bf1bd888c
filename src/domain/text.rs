//! Free text typed by people: trimmed, bounded, accent-folded for search.

use super::Invalid;

/// Trim and check a length in characters. `label` names the field in French.
pub fn bounded(
    raw: &str,
    label: &str,
    required: bool,
    max_chars: usize,
) -> Result<String, Invalid> {
    let s = raw.trim().replace("\r\n", "\n");
    if required && s.is_empty() {
        return Err(Invalid::new(format!("{label} : ce champ est obligatoire")));
    }
    let n = s.chars().count();
    if n > max_chars {
        return Err(Invalid::new(format!(
            "{label} : {n} caractères, c'est trop (au plus {max_chars})"
        )));
    }
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Invalid::new(format!(
            "{label} : caractères de contrôle non admis"
        )));
    }
    Ok(s)
}

/// Lowercase and strip the diacritics of French and its neighbours, so that
/// « Liévin », « LIEVIN » and « lievin » compare equal.
pub fn fold_accents(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let folded = match c {
            'à' | 'â' | 'ä' | 'á' | 'ã' | 'å' | 'À' | 'Â' | 'Ä' | 'Á' | 'Ã' | 'Å' => {
                "a"
            }
            'ç' | 'Ç' => "c",
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => "e",
            'î' | 'ï' | 'í' | 'ì' | 'Î' | 'Ï' | 'Í' | 'Ì' => "i",
            'ô' | 'ö' | 'ó' | 'ò' | 'õ' | 'Ô' | 'Ö' | 'Ó' | 'Ò' | 'Õ' => "o",
            'ù' | 'û' | 'ü' | 'ú' | 'Ù' | 'Û' | 'Ü' | 'Ú' => "u",
            'ÿ' | 'Ÿ' | 'ý' | 'Ý' => "y",
            'ñ' | 'Ñ' => "n",
            'œ' | 'Œ' => "oe",
            'æ' | 'Æ' => "ae",
            '’' | '\'' => "'",
            _ => {
                for l in c.to_lowercase() {
                    out.push(l);
                }
                continue;
            }
        };
        out.push_str(folded);
    }
    out
}

/// A count with its noun agreed, French style (0 and 1 are singular):
/// `plural(1, "place libre", "places libres")` gives « 1 place libre »,
/// `plural(3, …)` « 3 places libres ».
pub fn plural(n: i64, one: &str, many: &str) -> String {
    if n.abs() <= 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals() {
        assert_eq!(plural(0, "place", "places"), "0 place");
        assert_eq!(plural(1, "place libre", "places libres"), "1 place libre");
        assert_eq!(plural(2, "place libre", "places libres"), "2 places libres");
    }

    #[test]
    fn bounded_text() {
        assert_eq!(bounded("  a\r\nb ", "Nom", true, 10).unwrap(), "a\nb");
        assert!(bounded("   ", "Nom", true, 10)
            .unwrap_err()
            .0
            .contains("obligatoire"));
        assert!(bounded("ééééé", "Nom", true, 4)
            .unwrap_err()
            .0
            .contains("5 caractères"));
        assert!(bounded("a\u{0}b", "Nom", false, 10).is_err());
    }

    #[test]
    fn folding() {
        assert_eq!(
            fold_accents("Liévin ŒUVRE Évin-Malmaison"),
            "lievin oeuvre evin-malmaison"
        );
    }
}
