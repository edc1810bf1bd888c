//! The regional maps: every territory coloured by the state of its
//! contract over the région's other communes, and the diagnosis'
//! accessibility of every commune of the région with the territories
//! outlined. Server-side SVG, one path per territory or per class of
//! communes so that a région of 5,000 communes stays small; the same facts
//! in tables below.

use std::collections::HashMap;

use crate::domain::contract::ContractStatus;
use crate::domain::diagnosis::profession::Profession;
use crate::region::TerritoryRollup;
use crate::storage::diagnosis as store;
use crate::storage::region::MapKey;
use crate::storage::Db;
use crate::web::diagnosis::tables::format_sig;
use crate::web::error::AppError;
use crate::web::maps::{Choropleth, Class, Group, GroupMap, Outline, BLUES};

/// A commune below the threshold, with its territory (if any).
pub struct Flagged {
    pub code: String,
    pub name: String,
    pub score: String,
    pub territory: Option<(String, String)>,
}

/// A profession to choose for the accessibility map.
pub struct ProfessionLink {
    pub slug: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// What the maps section of `/region/` shows.
#[derive(Default)]
pub struct RegionMaps {
    /// Territories by contract state: SVG and legend.
    pub territories: (String, String),
    /// Territories whose communes have no outline yet.
    pub without_outline: Vec<String>,
    pub access: (String, String),
    pub professions: Vec<ProfessionLink>,
    pub profession_label: String,
    pub threshold: String,
    /// Communes below the threshold, lowest first (at most [`FLAGGED_SHOWN`]).
    pub flagged: Vec<Flagged>,
    pub flagged_total: usize,
    pub communes_drawn: usize,
}

pub const FLAGGED_SHOWN: usize = 100;

/// Colours of the contract states (Okabe-Ito, told apart with colour-vision
/// deficiencies; the legend and the table say the same in words).
fn status_classes() -> (Vec<Class>, Vec<ContractStatus>) {
    let states = [
        (ContractStatus::InPreparation, "#e69f00"),
        (ContractStatus::Signed, "#56b4e9"),
        (ContractStatus::InForce, "#009e73"),
        (ContractStatus::Renewed, "#0072b2"),
        (ContractStatus::Ended, "#7a7a7a"),
    ];
    (
        states
            .iter()
            .map(|(s, fill)| Class {
                label: format!("contrat {}", s.label().to_lowercase()),
                fill,
            })
            .collect(),
        states.iter().map(|(s, _)| *s).collect(),
    )
}

/// The maps drawn last, by what they were drawn from: dissolving a
/// région's outlines is the costly part of the page, and what it depends
/// on changes only with an import, a computation, a perimeter, a name or a
/// contract's state. Each process keeps its own (the key is read from the
/// database, so several processes agree).
static CACHE: std::sync::Mutex<Vec<(u64, std::sync::Arc<RegionMaps>)>> =
    std::sync::Mutex::new(Vec::new());
const CACHED: usize = 12;

/// The maps of `/region/` for `profession`, taken from the cache when
/// `key` (read with the page, `public_pages::region_page`) and the rows are
/// those they were drawn from, drawn otherwise.
pub async fn load(
    db: &Db,
    rows: &[TerritoryRollup],
    profession: Profession,
    key: MapKey,
) -> Result<std::sync::Arc<RegionMaps>, AppError> {
    use std::hash::{Hash, Hasher};
    let MapKey {
        memberships,
        computed_at,
        outlines,
    } = key;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    profession.slug().hash(&mut h);
    computed_at.hash(&mut h);
    outlines.hash(&mut h);
    memberships.hash(&mut h);
    for r in rows {
        (
            r.territory_id,
            &r.slug,
            &r.name,
            r.contract.as_ref().map(|c| &c.status),
        )
            .hash(&mut h);
    }
    let key = h.finish();
    if let Some((_, maps)) = CACHE
        .lock()
        .ok()
        .and_then(|c| c.iter().find(|(k, _)| *k == key).cloned())
    {
        return Ok(maps);
    }
    let maps = std::sync::Arc::new(draw(db, rows, profession, memberships).await?);
    if let Ok(mut c) = CACHE.lock() {
        c.retain(|(k, _)| *k != key);
        c.push((key, maps.clone()));
        if c.len() > CACHED {
            c.remove(0);
        }
    }
    Ok(maps)
}

async fn draw(
    db: &Db,
    rows: &[TerritoryRollup],
    profession: Profession,
    memberships: Vec<(i64, String)>,
) -> Result<RegionMaps, AppError> {
    let regions = store::territory_regions(db).await?;
    let outlines: HashMap<String, (String, Outline)> = store::region_outlines(db, &regions)
        .await?
        .into_iter()
        .filter_map(|(code, name, text)| Some((code, (name, Outline::from_geojson(&text)?))))
        .collect();
    let mut members: HashMap<i64, Vec<String>> = HashMap::new();
    let mut territory_of: HashMap<String, i64> = HashMap::new();
    for (t, code) in memberships {
        territory_of.insert(code.clone(), t);
        members.entry(t).or_default().push(code);
    }
    let outside: Vec<Outline> = outlines
        .iter()
        .filter(|(code, _)| !territory_of.contains_key(*code))
        .map(|(_, (_, o))| o.clone())
        .collect();
    let background = if outside.is_empty() {
        Vec::new()
    } else {
        vec![Outline::dissolve(&outside)]
    };

    // Territories by contract state.
    let (classes, states) = status_classes();
    let mut groups = Vec::new();
    let mut without_outline = Vec::new();
    for r in rows {
        let shapes: Vec<Outline> = members
            .get(&r.territory_id)
            .into_iter()
            .flatten()
            .filter_map(|c| outlines.get(c).map(|(_, o)| o.clone()))
            .collect();
        if shapes.is_empty() {
            without_outline.push(r.name.clone());
            continue;
        }
        let status = r
            .contract
            .as_ref()
            .and_then(|c| ContractStatus::parse(&c.status));
        groups.push(Group {
            title: format!(
                "{} : {}",
                r.name,
                match status {
                    Some(s) => format!("contrat {}", s.label().to_lowercase()),
                    None => "pas encore de contrat".into(),
                }
            ),
            href: Some(format!("/t/{}/", r.slug)),
            class: status.and_then(|s| states.iter().position(|x| *x == s)),
            // One outline per territory: its communes dissolved.
            outlines: vec![Outline::dissolve(&shapes)],
            outlined: false,
        });
    }
    let map = GroupMap {
        id: "carte-territoires".into(),
        title: "Les territoires de la région et l'état de leur contrat".into(),
        classes,
        groups,
        background: background.clone(),
    };
    let territories = (
        map.svg(),
        map.legend(&[
            ("swatch-none", "pas encore de contrat (hachuré)"),
            ("swatch-context", "commune hors de tout territoire"),
        ]),
    );

    // Accessibility of every commune, territories outlined.
    let scores = store::region_scores(db, profession.slug(), &regions).await?;
    let values: Vec<f64> = scores.iter().filter_map(|s| s.2).collect();
    let bounds = Choropleth::quantile_bounds(&values, 4);
    let palette = &BLUES[1..];
    let mut lower: Option<f64> = None;
    let access_classes: Vec<Class> = bounds
        .iter()
        .zip(palette)
        .map(|(b, fill)| {
            let label = match lower {
                None => format!("jusqu'à {} pour 10 000 habitants", format_sig(*b)),
                Some(l) => format!(
                    "de plus de {} à {} pour 10 000 habitants",
                    format_sig(l),
                    format_sig(*b)
                ),
            };
            lower = Some(*b);
            Class { label, fill }
        })
        .collect();
    let mut by_class: Vec<Vec<Outline>> = vec![Vec::new(); access_classes.len() + 1];
    let mut drawn = 0;
    for (code, _, score) in &scores {
        let Some((_, o)) = outlines.get(code) else {
            continue;
        };
        drawn += 1;
        let slot = match score {
            Some(v) if !bounds.is_empty() => Choropleth::class_of(&bounds, *v),
            _ => access_classes.len(),
        };
        by_class[slot].push(o.clone());
    }
    let mut groups: Vec<Group> = by_class
        .into_iter()
        .enumerate()
        .filter(|(_, v)| !v.is_empty())
        .map(|(i, communes)| Group {
            title: access_classes
                .get(i)
                .map(|c| format!("Communes {}", c.label))
                .unwrap_or_else(|| "Communes sans score".into()),
            href: None,
            class: (i < access_classes.len()).then_some(i),
            // The communes of a class dissolved: only the borders between
            // classes are drawn, which keeps a région's map small.
            outlines: vec![Outline::dissolve(&communes)],
            outlined: false,
        })
        .collect();
    for r in rows {
        let shapes: Vec<Outline> = members
            .get(&r.territory_id)
            .into_iter()
            .flatten()
            .filter_map(|c| outlines.get(c).map(|(_, o)| o.clone()))
            .collect();
        if shapes.is_empty() {
            continue;
        }
        groups.push(Group {
            title: r.name.clone(),
            href: Some(format!("/t/{}/diagnostic", r.slug)),
            class: None,
            outlines: vec![Outline::dissolve(&shapes)],
            outlined: true,
        });
    }
    let access_map = GroupMap {
        id: "carte-accessibilite".into(),
        title: format!(
            "Accessibilité aux {} dans la région, territoires entourés",
            profession.label().to_lowercase()
        ),
        classes: access_classes,
        groups,
        background: Vec::new(),
    };
    let access = (
        access_map.svg(),
        access_map.legend(&[
            ("swatch-none", "pas de score (hachuré)"),
            ("swatch-outline", "contour d'un territoire"),
        ]),
    );

    let median = store::medians(db).await?.get(profession.slug()).copied();
    let names: HashMap<i64, (String, String)> = rows
        .iter()
        .map(|r| (r.territory_id, (r.slug.clone(), r.name.clone())))
        .collect();
    let mut below: Vec<&(String, String, Option<f64>)> = scores
        .iter()
        .filter(|(_, _, s)| matches!((s, median), (Some(v), Some(m)) if v < &m))
        .collect();
    below.sort_by(|a, b| a.2.unwrap_or(0.0).total_cmp(&b.2.unwrap_or(0.0)));
    let flagged_total = below.len();
    let flagged = below
        .into_iter()
        .take(FLAGGED_SHOWN)
        .map(|(code, name, score)| Flagged {
            code: code.clone(),
            name: name.clone(),
            score: score.map(format_sig).unwrap_or_default(),
            territory: territory_of.get(code).and_then(|t| names.get(t).cloned()),
        })
        .collect();
    Ok(RegionMaps {
        territories,
        without_outline,
        access,
        professions: Profession::ALL
            .into_iter()
            .map(|p| ProfessionLink {
                slug: p.slug(),
                label: p.label(),
                current: p == profession,
            })
            .collect(),
        profession_label: profession.label().to_lowercase(),
        threshold: match median {
            Some(m) => format!(
                "{} pour 10 000 habitants (médiane nationale)",
                format_sig(m)
            ),
            None => "pas encore calculé".into(),
        },
        flagged,
        flagged_total,
        communes_drawn: drawn,
    })
}
