//! The diagnosis' headline figures, kept per year so that the yearly review
//! can say what changed since the previous year, and the end-of-contract
//! evaluation how they moved over the contract.

use crate::domain::indicator::format_number;

/// One headline figure of a territory's diagnosis.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// Stable key (`population`, `supply:generalistes`…).
    pub key: String,
    /// In French, as the review shows it.
    pub label: String,
    pub value: f64,
    /// Decimals shown; two values equal once rounded have not changed.
    pub decimals: u8,
}

impl Figure {
    pub fn new(key: impl Into<String>, label: impl Into<String>, value: f64, decimals: u8) -> Self {
        Figure {
            key: key.into(),
            label: label.into(),
            value,
            decimals,
        }
    }

    /// The value rounded to its decimals.
    pub fn rounded(&self) -> f64 {
        round(self.value, self.decimals)
    }

    /// The value in French (« 1 234,5 »).
    pub fn display(&self) -> String {
        format_number(self.rounded())
    }
}

fn round(v: f64, decimals: u8) -> f64 {
    let f = 10f64.powi(i32::from(decimals));
    (v * f).round() / f
}

/// A figure that moved between two years: present in both with a different
/// rounded value, or present in one only.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub key: String,
    pub label: String,
    pub before: Option<f64>,
    pub after: Option<f64>,
    pub decimals: u8,
}

impl Change {
    /// The difference (after − before), rounded; none when one side is missing.
    pub fn delta(&self) -> Option<f64> {
        Some(round(self.after? - self.before?, self.decimals))
    }

    /// The difference in French with its sign (« +12 », « −0,4 »).
    pub fn delta_text(&self) -> String {
        match self.delta() {
            Some(d) if d > 0.0 => format!("+{}", format_number(d)),
            Some(d) if d < 0.0 => format!("−{}", format_number(-d)),
            Some(_) => "0".into(),
            None if self.before.is_none() => "nouveau".into(),
            None => "plus calculé".into(),
        }
    }
}

/// The figures that changed from `before` to `after`, in `after`'s order,
/// then those that disappeared in `before`'s order.
pub fn changes(before: &[Figure], after: &[Figure]) -> Vec<Change> {
    let mut out = Vec::new();
    for a in after {
        let b = before.iter().find(|b| b.key == a.key);
        if b.is_some_and(|b| b.rounded() == a.rounded()) {
            continue;
        }
        out.push(Change {
            key: a.key.clone(),
            label: a.label.clone(),
            before: b.map(Figure::rounded),
            after: Some(a.rounded()),
            decimals: a.decimals,
        });
    }
    for b in before {
        if !after.iter().any(|a| a.key == b.key) {
            out.push(Change {
                key: b.key.clone(),
                label: b.label.clone(),
                before: Some(b.rounded()),
                after: None,
                decimals: b.decimals,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(key: &str, value: f64, decimals: u8) -> Figure {
        Figure::new(key, key.to_uppercase(), value, decimals)
    }

    #[test]
    fn only_figures_whose_rounded_value_moved_are_changes() {
        let before = vec![
            f("population", 1000.0, 0),
            f("density", 7.04, 1),
            f("gone", 3.0, 0),
        ];
        let after = vec![
            f("population", 1012.0, 0),
            f("density", 7.01, 1),
            f("new", 2.0, 0),
        ];
        let c = changes(&before, &after);
        let keys: Vec<&str> = c.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["population", "new", "gone"]);
        assert_eq!(c[0].delta(), Some(12.0));
        assert_eq!(c[0].delta_text(), "+12");
        assert_eq!(c[1].delta_text(), "nouveau");
        assert_eq!(c[2].delta_text(), "plus calculé");
    }

    #[test]
    fn deltas_are_rounded_and_signed_in_french() {
        let c = changes(&[f("d", 7.44, 1)], &[f("d", 7.02, 1)]);
        assert_eq!(c[0].delta(), Some(-0.4));
        assert_eq!(c[0].delta_text(), "−0,4");
        assert_eq!(f("p", 12345.0, 0).display(), format_number(12345.0));
    }

    #[test]
    fn nothing_changes_between_equal_years() {
        let y = vec![f("a", 1.0, 0), f("b", 2.25, 1)];
        assert!(changes(&y, &y).is_empty());
    }
}
