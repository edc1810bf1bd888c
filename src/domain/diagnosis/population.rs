//! « Population standardisée »: inhabitants weighted by how much care each
//! age uses, so that a commune of old people counts for more demand than one
//! of young adults of the same size.
//!
//! **Method.** The DREES and IRDES accessibility indicator (APL: Barlet,
//! Coldefy, Collin, Lucas-Gabrielli, « L'accessibilité potentielle localisée
//! (APL) : une nouvelle mesure de l'accessibilité aux médecins généralistes
//! libéraux », DREES Études et Résultats n° 795, 2012, and document de
//! travail DREES n° 124 / IRDES n° 51, 2012) weights each commune's
//! population by the average consumption of GP care of each age group,
//! measured in the national health-insurance data (SNIIRAM, now SNDS), the
//! weights being scaled so that France's total population is unchanged.
//! Here: a commune's standardised population is Σ_k w_k·N_k over the six
//! INSEE age bands, with the weights scaled by [`AgeWeights::normalised_to`]
//! so that Σ_k w_k·N_k(France) = Σ_k N_k(France).
//!
//! **Default weights.** We could not retrieve the published per-age table
//! (neither the GP one nor per profession) from the sources at hand while
//! writing this; rather than type figures from memory, the defaults are
//! neutral (1 for every band: the standardised population equals the raw
//! one) until the coordinator or the instance sets them from the DREES
//! table (« Tableau 3 » of the DREES APL methodology page) — the weights are
//! configurable per profession, and the page says which ones were used.

use super::profession::Profession;

/// Inhabitants by INSEE age band (`P21_POP0014` … `P21_POP75P`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AgeBands {
    pub a0_14: f64,
    pub a15_29: f64,
    pub a30_44: f64,
    pub a45_59: f64,
    pub a60_74: f64,
    pub a75_plus: f64,
}

impl AgeBands {
    pub const LABELS: [&'static str; 6] = [
        "0-14 ans",
        "15-29 ans",
        "30-44 ans",
        "45-59 ans",
        "60-74 ans",
        "75 ans ou plus",
    ];

    pub fn as_array(&self) -> [f64; 6] {
        [
            self.a0_14,
            self.a15_29,
            self.a30_44,
            self.a45_59,
            self.a60_74,
            self.a75_plus,
        ]
    }

    pub fn from_array(a: [f64; 6]) -> AgeBands {
        AgeBands {
            a0_14: a[0],
            a15_29: a[1],
            a30_44: a[2],
            a45_59: a[3],
            a60_74: a[4],
            a75_plus: a[5],
        }
    }

    pub fn total(&self) -> f64 {
        self.as_array().iter().sum()
    }

    /// Share of people aged 75 and over (for the flags), `None` when empty.
    pub fn share_75_plus(&self) -> Option<f64> {
        let t = self.total();
        (t > 0.0).then(|| self.a75_plus / t)
    }

    /// Add another commune's bands (for national or territory totals).
    pub fn add(&mut self, other: &AgeBands) {
        let (a, b) = (self.as_array(), other.as_array());
        *self = AgeBands::from_array(std::array::from_fn(|k| a[k] + b[k]));
    }

    /// Σ_k w_k·N_k: see [`standardised`].
    pub fn standardised(&self, weights: &AgeWeights) -> f64 {
        standardised(self, weights)
    }
}

/// Relative care use of each age band, in the order of [`AgeBands::LABELS`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgeWeights {
    pub weights: [f64; 6],
}

impl Default for AgeWeights {
    /// Neutral weights: see the module's note on defaults.
    fn default() -> Self {
        AgeWeights { weights: [1.0; 6] }
    }
}

impl AgeWeights {
    /// The default weights of a profession (neutral for all six: see the
    /// module's note; the GP table of the DREES would be used for all
    /// professions where no per-profession table is published).
    pub fn default_for(_profession: Profession) -> AgeWeights {
        AgeWeights::default()
    }

    /// Weights from six non-negative numbers, not all 0.
    pub fn new(weights: [f64; 6]) -> Result<AgeWeights, String> {
        if weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return Err("les poids par âge doivent être des nombres positifs ou nuls".into());
        }
        if weights.iter().all(|w| *w == 0.0) {
            return Err("au moins un poids par âge doit être supérieur à 0".into());
        }
        Ok(AgeWeights { weights })
    }

    /// Scale the weights so that the national population keeps its size:
    /// w'_k = w_k × ΣN_k / Σ w_k·N_k, with N_k France's inhabitants per band
    /// (the sum of every commune of the age file). Ratios between bands are
    /// kept; only the unit changes, so standardised populations add up to
    /// the real national total and densities stay comparable with raw ones.
    /// Without a national population (all 0) the weights are kept.
    pub fn normalised_to(&self, national: &AgeBands) -> AgeWeights {
        let weighted = standardised(national, self);
        let total = national.total();
        if weighted > 0.0 && total > 0.0 && weighted.is_finite() && total.is_finite() {
            let f = total / weighted;
            AgeWeights {
                weights: self.weights.map(|w| w * f),
            }
        } else {
            *self
        }
    }
}

/// The standardised population of a commune: Σ_k w_k·N_k. Use weights
/// normalised to the nation ([`AgeWeights::normalised_to`]) for figures
/// comparable with raw populations.
pub fn standardised(ages: &AgeBands, weights: &AgeWeights) -> f64 {
    ages.as_array()
        .iter()
        .zip(weights.weights)
        .map(|(n, w)| {
            if n.is_finite() && *n > 0.0 {
                n * w
            } else {
                0.0
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalised_weights_keep_the_national_total() {
        let france = AgeBands::from_array([100.0, 100.0, 100.0, 100.0, 100.0, 100.0]);
        let w = AgeWeights::new([1.0, 1.0, 1.0, 1.0, 2.0, 4.0])
            .unwrap()
            .normalised_to(&france);
        // Σ w·N = 1000 before, 600 inhabitants: factor 0.6.
        assert!((standardised(&france, &w) - 600.0).abs() < 1e-9);
        assert!((w.weights[5] - 2.4).abs() < 1e-12);
        // An old commune weighs more than its head count, a young one less.
        let old = AgeBands::from_array([0.0, 0.0, 0.0, 0.0, 50.0, 50.0]);
        let young = AgeBands::from_array([50.0, 50.0, 0.0, 0.0, 0.0, 0.0]);
        assert!((old.standardised(&w) - 180.0).abs() < 1e-9);
        assert!((young.standardised(&w) - 60.0).abs() < 1e-9);
        assert_eq!(old.share_75_plus(), Some(0.5));
    }

    #[test]
    fn defaults_are_neutral_and_bad_weights_refused() {
        let ages = AgeBands::from_array([10.0, 20.0, 30.0, 40.0, 50.0, 60.0]);
        let w = AgeWeights::default_for(Profession::Generalistes);
        assert_eq!(ages.standardised(&w), ages.total());
        assert!(AgeWeights::new([0.0; 6]).is_err());
        assert!(AgeWeights::new([1.0, -1.0, 1.0, 1.0, 1.0, 1.0]).is_err());
        assert!(AgeWeights::new([1.0, f64::NAN, 1.0, 1.0, 1.0, 1.0]).is_err());
        // No national population: weights kept as they are.
        assert_eq!(w.normalised_to(&AgeBands::default()), w);
    }
}
