//! National-size files in the format of `@etalab/decoupage-administratif`
//! (`communes.json`, `epci.json`), with made-up names and figures, for the
//! benchmarks (`cargo bench --bench geography`, `gen_directory`) and the
//! tests that need a big file. The importers never call it.
//!
//! The codes are those the directory benchmark's FINESS and RPPS files use:
//! 95 metropolitan départements (`2A` for 20) × 370 current communes
//! (`DD001`…`DD370`), then delegated communes (`DD371`…) attached to their
//! département's `DD001`. One entry per line, as in the official files.

use std::fmt::Write;

/// A small deterministic generator (xorshift), so that generated files are
/// the same from one run to the next (`gen_directory`, the demo's supply in
/// `demo_directory`).
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// In `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// Entries of the official `communes.json` (COG 2024: current communes,
/// associated and delegated communes, municipal arrondissements).
pub const NATIONAL_COMMUNES: usize = 37_006;
/// EPCI of the official `epci.json` (1 January 2024).
pub const NATIONAL_EPCI: usize = 1_255;

const DEPARTEMENTS: u32 = 95;
const CURRENT_PER_DEPARTEMENT: u32 = 370;

fn departement(d: u32) -> String {
    if d == 20 {
        "2A".to_owned()
    } else {
        format!("{d:02}")
    }
}

/// The current communes' codes, in file order.
pub fn current_codes() -> impl Iterator<Item = String> {
    (1..=DEPARTEMENTS).flat_map(|d| {
        let dep = departement(d);
        (1..=CURRENT_PER_DEPARTEMENT).map(move |c| format!("{dep}{c:03}"))
    })
}

/// A `communes.json` of `entries` lines: the current communes first (at
/// most 35,150), then delegated communes. Line `n + 2` of the text holds
/// entry `n` (line 1 is the opening `[`).
pub fn communes_json(entries: usize) -> String {
    let mut out = String::with_capacity(entries * 240 + 8);
    out.push_str("[\n");
    let current = (DEPARTEMENTS * CURRENT_PER_DEPARTEMENT) as usize;
    for n in 0..entries {
        let last = n + 1 == entries;
        if n < current {
            let (d, c) = (
                n as u32 / CURRENT_PER_DEPARTEMENT + 1,
                n as u32 % CURRENT_PER_DEPARTEMENT + 1,
            );
            let dep = departement(d);
            let population = 200 + (d * 7919 + c * 104_729) % 20_000;
            let _ = write!(
                out,
                "{{\"code\":\"{dep}{c:03}\",\"nom\":\"Commune {dep}-{c:03}\",\"typeLiaison\":{},\"zone\":\"metro\",\
                 \"arrondissement\":\"{dep}{}\",\"departement\":\"{dep}\",\"region\":\"{}\",\"type\":\"commune-actuelle\",\
                 \"rangChefLieu\":0,\"siren\":\"21{dep}{c:03}{}\",\"codesPostaux\":[\"{dep}{:03}\"],\"population\":{population}}}",
                c % 4,
                1 + c % 3,
                11 + d % 80,
                c % 10,
                c % 50 * 10,
            );
        } else {
            let k = (n - current) as u32;
            let (d, c) = (
                k % DEPARTEMENTS + 1,
                CURRENT_PER_DEPARTEMENT + 1 + k / DEPARTEMENTS,
            );
            let dep = departement(d);
            let _ = write!(
                out,
                "{{\"code\":\"{dep}{c:03}\",\"nom\":\"Commune déléguée {dep}-{c:03}\",\"typeLiaison\":0,\"zone\":\"metro\",\
                 \"arrondissement\":\"{dep}1\",\"departement\":\"{dep}\",\"region\":\"{}\",\"type\":\"commune-deleguee\",\
                 \"rangChefLieu\":0,\"chefLieu\":\"{dep}001\"}}",
                11 + d % 80,
            );
        }
        out.push_str(if last { "\n" } else { ",\n" });
    }
    out.push_str("]\n");
    out
}

/// An `epci.json` of `count` EPCI sharing the current communes between
/// them (each member with its name and populations, as in the official
/// file, which makes it several megabytes).
pub fn epci_json(count: usize) -> String {
    let codes: Vec<String> = current_codes().collect();
    let count = count.clamp(1, codes.len());
    // Sizes differ by one at most: the first `extra` EPCI get one more.
    let (base, extra) = (codes.len() / count, codes.len() % count);
    let mut out = String::from("[\n");
    let mut start = 0;
    for i in 0..count {
        let size = base + usize::from(i < extra);
        let members = &codes[start..start + size];
        start += size;
        if i > 0 {
            out.push_str(",\n");
        }
        let siren = format!("2{:08}", 100_000 + i);
        let kinds = ["CC", "CC", "CC", "CA", "CU", "METRO"];
        let _ = write!(
            out,
            "{{\"code\":\"{siren}\",\"nom\":\"Communauté n° {i}\",\"type\":\"{}\",\"modeFinancement\":\"FPU\",\
             \"populationTotale\":{},\"populationMunicipale\":{},\"membres\":[",
            kinds[i % kinds.len()],
            members.len() * 1_010,
            members.len() * 1_000,
        );
        for (j, code) in members.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                "{{\"code\":\"{code}\",\"siren\":\"21{code}0\",\"nom\":\"Commune {code}\",\
                 \"populationTotale\":1010,\"populationMunicipale\":1000}}"
            );
        }
        out.push_str("]}");
    }
    out.push_str("\n]\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_files_read_back() {
        let text = communes_json(NATIONAL_COMMUNES);
        assert_eq!(text.lines().count(), NATIONAL_COMMUNES + 2);
        let communes = super::super::geography::parse_communes(text.as_bytes()).unwrap();
        assert_eq!(communes.len(), NATIONAL_COMMUNES);
        assert_eq!(
            communes
                .iter()
                .filter(|c| c.kind == "commune-actuelle")
                .count(),
            35_150
        );
        let epcis =
            super::super::geography::parse_epcis(epci_json(NATIONAL_EPCI).as_bytes()).unwrap();
        assert_eq!(epcis.len(), NATIONAL_EPCI);
        assert_eq!(epcis.iter().map(|e| e.members.len()).sum::<usize>(), 35_150);
    }
}
