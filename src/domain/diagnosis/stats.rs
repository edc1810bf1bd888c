//! Small statistics of the diagnosis.

/// The median of the finite values (the mean of the two middle ones for an
/// even count); `None` when there is none.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

/// Supply per 10,000 inhabitants; `None` without inhabitants.
pub fn density_per_10000(supply: f64, population: f64) -> Option<f64> {
    if supply.is_finite() && population.is_finite() && population > 0.0 {
        Some(supply * 10_000.0 / population)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[f64::NAN]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[1.0, f64::INFINITY, 2.0]), Some(1.5));
    }

    #[test]
    fn densities() {
        assert_eq!(density_per_10000(3.0, 20_000.0), Some(1.5));
        assert_eq!(density_per_10000(0.0, 100.0), Some(0.0));
        assert_eq!(density_per_10000(3.0, 0.0), None);
        assert_eq!(density_per_10000(f64::NAN, 10.0), None);
    }
}
