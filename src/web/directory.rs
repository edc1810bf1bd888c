//! The public directory of the health-care offer: search and entry pages.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::access::{Access, Routes};
use super::error::AppError;
use super::pages::{render, Ctx, FormErrors, Layout};
use super::AppState;
use crate::directory::{self, HitKind, MAX_RESULTS};
use crate::domain::codes::InseeCode;
use crate::domain::dates;
use crate::domain::opening_hours;
use crate::domain::referrals::EntryKind;
use crate::domain::service::kind_label;
use crate::storage::communes;
use crate::storage::directory as store;
use crate::storage::public_pages;
use crate::storage::services::Mark;
use crate::storage::territories;
use chrono::{DateTime, Utc};

pub fn routes(r: Routes) -> Routes {
    r.get("/t/{territory}/annuaire", Access::Public, search)
        .get(
            "/t/{territory}/annuaire/etablissements/{finess}",
            Access::Public,
            establishment,
        )
        .get(
            "/t/{territory}/annuaire/professionnels/{rpps}",
            Access::Public,
            professional,
        )
        .get(
            "/t/{territory}/annuaire/services/{id}",
            Access::Public,
            service,
        )
}

#[derive(Deserialize, Default)]
pub struct SearchForm {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub profession: String,
    #[serde(default)]
    pub categorie: String,
    #[serde(default)]
    pub commune: String,
    #[serde(default)]
    pub rayon: String,
    /// The page of results (from 1); anything else reads as the first.
    #[serde(default)]
    pub page: String,
}

impl SearchForm {
    /// This search's address at `page`, to the results.
    pub fn page_link(&self, slug: &str, page: usize) -> String {
        let e = super::pages::url_encode;
        format!(
            "/t/{}/annuaire?q={}&profession={}&categorie={}&commune={}&rayon={}&page={page}#resultats",
            e(slug),
            e(&self.q),
            e(&self.profession),
            e(&self.categorie),
            e(&self.commune),
            e(&self.rayon),
        )
    }

    /// Check the form against the territory; the message names the field.
    pub fn to_query(
        &self,
        communes: &[String],
    ) -> Result<directory::Query, (&'static str, String)> {
        let commune = self.commune.trim();
        if !commune.is_empty() {
            let code = InseeCode::parse(commune).map_err(|e| ("commune", e.0))?;
            if !communes.iter().any(|c| c == code.as_str()) {
                return Err((
                    "commune",
                    "cette commune n'est pas dans le territoire".to_owned(),
                ));
            }
        }
        let radius_km = match self.rayon.trim() {
            "" => 0.0,
            r => r
                .parse::<f64>()
                .ok()
                .filter(|r| (0.0..=100.0).contains(r))
                .ok_or((
                    "rayon",
                    "le rayon doit être un nombre de kilomètres entre 0 et 100".to_owned(),
                ))?,
        };
        Ok(directory::Query {
            text: self.q.chars().take(200).collect(),
            profession: self.profession.trim().chars().take(10).collect(),
            category: self.categorie.trim().chars().take(10).collect(),
            commune: commune.to_owned(),
            radius_km,
        })
    }
}

pub struct HitView {
    pub path: String,
    pub name: String,
    pub detail: String,
    pub address: String,
    pub postal_code: String,
    pub city: String,
    pub phone: String,
    pub phone_link: String,
    pub in_territory: bool,
    pub distance: Option<String>,
    /// MSP, CPTS.
    pub flags: String,
}

#[derive(Template)]
#[template(path = "public/directory.html")]
struct SearchPage {
    l: Layout,
    slug: String,
    form: SearchForm,
    errors: FormErrors,
    professions: Vec<(String, String)>,
    categories: Vec<(String, String)>,
    communes: Vec<(String, String)>,
    radii: Vec<(&'static str, &'static str)>,
    /// How many results the search found (up to `MAX_RESULTS`).
    total: usize,
    /// This page's results.
    hits: Vec<HitView>,
    truncated: bool,
    pager: Pager,
    sources: String,
}

/// Results a page of the directory lists: a long list of cards is hard to
/// read on a phone, and a territory's nurses alone can fill 200.
pub const PER_PAGE: usize = 20;

/// Where a page of results stands among the others, with the links to
/// the previous and next ones (the same search).
#[derive(Debug, Default, PartialEq)]
pub struct Pager {
    pub current: usize,
    pub pages: usize,
    /// 1-based positions of the first and last result shown.
    pub first: usize,
    pub last: usize,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// The page `asked` (clamped to those that exist) of `total` results,
    /// links made by `link(page)`.
    pub fn new(total: usize, asked: &str, link: impl Fn(usize) -> String) -> Pager {
        let pages = total.div_ceil(PER_PAGE).max(1);
        let current = asked.trim().parse::<usize>().unwrap_or(1).clamp(1, pages);
        let first = (current - 1) * PER_PAGE;
        Pager {
            current,
            pages,
            first: (first + 1).min(total),
            last: (first + PER_PAGE).min(total),
            prev: (current > 1).then(|| link(current - 1)),
            next: (current < pages).then(|| link(current + 1)),
        }
    }

    /// The range of the results this page shows.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.first.saturating_sub(1)..self.last
    }
}

const RADII: [(&str, &str); 5] = [
    ("0", "Non"),
    ("5", "À 5 km"),
    ("10", "À 10 km"),
    ("20", "À 20 km"),
    ("50", "À 50 km"),
];

/// « Sources : FINESS, extraction du 1er mai 2026 ; RPPS, importé le … »,
/// from the latest imports.
pub async fn sources_note(st: &AppState) -> Result<String, AppError> {
    let imported = |r: Option<store::ImportRecord>| r.map(|r| (r.file_date, r.finished_at));
    Ok(sources_text(
        imported(store::latest_import(&st.db, "finess").await?),
        imported(store::latest_import(&st.db, "rpps").await?),
    ))
}

/// The sources note of the latest FINESS and RPPS imports (the file's date
/// and when the import finished).
pub fn sources_text(
    finess: Option<(String, DateTime<Utc>)>,
    rpps: Option<(String, DateTime<Utc>)>,
) -> String {
    let mut parts = Vec::new();
    if let Some((file_date, finished_at)) = finess {
        let date = chrono::NaiveDate::parse_from_str(&file_date, "%Y-%m-%d")
            .map(dates::long_date)
            .unwrap_or_else(|_| dates::paris_date(finished_at));
        parts.push(format!("FINESS (établissements), extraction du {date}"));
    }
    if let Some((_, finished_at)) = rpps {
        parts.push(format!(
            "Annuaire Santé RPPS (professionnels), importé le {}",
            dates::paris_date(finished_at)
        ));
    }
    if parts.is_empty() {
        "Aucune donnée ouverte n'est encore chargée.".to_owned()
    } else {
        format!(
            "Sources : {}. Données publiques, Licence Ouverte.",
            parts.join(" ; ")
        )
    }
}

/// The public directory: two statements, the page's territory
/// (`public_pages::directory_page`) and the search's candidates
/// (`storage::directory::candidates`), one more with a radius.
async fn search(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    ctx: Ctx,
    Query(form): Query<SearchForm>,
) -> Result<Response, AppError> {
    let page = public_pages::directory_page(
        &st.db,
        &slug,
        form.commune.trim(),
        form.profession.trim(),
        form.categorie.trim(),
    )
    .await?
    .ok_or(AppError::NotFound)?;
    let t = page.territory;
    let codes: Vec<String> = page.communes.iter().map(|c| c.insee_code.clone()).collect();
    let categories = with_selected(page.facets.categories, &form.categorie, page.category_label);
    let professions = with_selected(
        page.facets.professions,
        &form.profession,
        page.profession_label,
    );
    let mut errors = FormErrors::default();
    let hits = match form.to_query(&codes) {
        Ok(q) => {
            let setting = directory::Setting {
                centre: if q.commune.is_empty() {
                    directory::centre(&page.points)
                } else {
                    page.chosen_point
                },
                communes: codes,
                services: page.services,
                marks: page.marks,
            };
            directory::search(&st.db, &setting, &q).await?
        }
        Err((field, msg)) => {
            errors.push(field, msg);
            Vec::new()
        }
    };
    let truncated = hits.len() >= MAX_RESULTS;
    let total = hits.len();
    let pager = Pager::new(total, &form.page, |n| form.page_link(&t.slug, n));
    let hits = hits
        .into_iter()
        .skip(pager.range().start)
        .take(pager.range().len())
        .map(|h| HitView {
            path: match h.kind {
                HitKind::Establishment => format!("etablissements/{}", h.id),
                HitKind::Professional => format!("professionnels/{}", h.id),
                HitKind::Service => format!("services/{}", h.id),
            },
            flags: [
                (h.msp, "Maison de santé pluriprofessionnelle"),
                (h.cpts, "CPTS"),
            ]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, l)| *l)
            .collect::<Vec<_>>()
            .join(", "),
            phone_link: phone_link(&h.phone),
            distance: h.distance_km.map(|d| format!("{d:.0}")),
            name: h.name,
            detail: h.detail,
            address: h.address,
            postal_code: h.postal_code,
            city: h.city,
            phone: phone_display(&h.phone),
            in_territory: h.in_territory,
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = SearchPage {
        l: ctx.public_layout("Annuaire", &t.slug, &t.name),
        slug: t.slug.clone(),
        form,
        errors,
        professions,
        categories,
        communes: page
            .communes
            .into_iter()
            .map(|c| (c.insee_code, c.name))
            .collect(),
        radii: RADII.to_vec(),
        total,
        hits,
        truncated,
        pager,
        sources: sources_text(page.finess_import, page.rpps_import),
    };
    Ok((status, render(&page)).into_response())
}

/// The territory's filters, plus the one selected when the territory has
/// none of it (a link from elsewhere) and it exists elsewhere (`label`):
/// the form shows what was asked.
fn with_selected(
    mut list: Vec<(String, String)>,
    selected: &str,
    label: Option<String>,
) -> Vec<(String, String)> {
    let selected = selected.trim();
    if selected.is_empty() || list.iter().any(|(code, _)| code == selected) {
        return list;
    }
    if let Some(label) = label {
        list.push((selected.to_owned(), label));
        list.sort_by(|a, b| a.1.cmp(&b.1));
    }
    list
}

pub struct PlaceView {
    pub site: String,
    pub specialty: String,
    pub mode: String,
    pub address: String,
    pub postal_code: String,
    pub city: String,
    pub phone: String,
    pub phone_link: String,
    pub access: String,
}

#[derive(Template)]
#[template(path = "public/directory_entry.html")]
struct EntryPage {
    l: Layout,
    slug: String,
    title: String,
    detail: String,
    places: Vec<PlaceView>,
    /// Further facts (publics, fees, hours…), label and text.
    facts: Vec<(&'static str, String)>,
    source: String,
    /// For the territory's partners and coordination: the link to refer a
    /// person to this entry (issue 16).
    refer: Option<String>,
}

/// The referral form's link for a signed-in partner or coordinator of the
/// territory (or an admin); nothing for anyone else.
fn refer_link(ctx: &Ctx, t: &territories::Territory, kind: EntryKind, id: &str) -> Option<String> {
    let user = ctx.user.as_ref()?;
    let may = user.is_admin()
        || user
            .role_in(t.id)
            .is_some_and(|r| r >= crate::domain::roles::Role::Partner);
    may.then(|| {
        format!(
            "/admin/t/{}/orientations/nouvelle?fiche={}:{}",
            t.slug,
            kind.url_code(),
            id
        )
    })
}

fn mode_label(code: &str) -> &'static str {
    match code {
        "L" => "Libéral",
        "S" => "Salarié",
        "B" => "Bénévole",
        _ => "",
    }
}

/// An entry's page data in one statement (`public_pages::entry_page`);
/// not found for an unknown entry or one the territory hides.
async fn load_entry(
    st: &AppState,
    slug: &str,
    key: public_pages::EntryKey<'_>,
) -> Result<(public_pages::EntryPage, public_pages::Entry, Mark), AppError> {
    let mut page = public_pages::entry_page(&st.db, slug, key)
        .await?
        .ok_or(AppError::NotFound)?;
    let entry = page.entry.take().ok_or(AppError::NotFound)?;
    let mark = page.mark.take().unwrap_or_default();
    if mark.hidden {
        return Err(AppError::NotFound);
    }
    Ok((page, entry, mark))
}

async fn establishment(
    State(st): State<AppState>,
    Path((slug, finess)): Path<(String, String)>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let (page, entry, mark) =
        load_entry(&st, &slug, public_pages::EntryKey::Establishment(&finess)).await?;
    let public_pages::Entry::Establishment(e) = entry else {
        return Err(AppError::NotFound);
    };
    let t = page.territory;
    let title = if e.long_name.is_empty() {
        e.name.clone()
    } else {
        e.long_name.clone()
    };
    let page = EntryPage {
        l: ctx.public_layout(title.clone(), &t.slug, &t.name),
        slug: t.slug.clone(),
        detail: e.category_label.clone(),
        places: vec![PlaceView {
            site: String::new(),
            specialty: String::new(),
            mode: String::new(),
            phone_link: phone_link(&e.phone),
            phone: phone_display(&e.phone),
            address: e.address,
            postal_code: e.postal_code,
            city: e.city,
            access: mark.accessibility,
        }],
        facts: Vec::new(),
        source: format!(
            "Numéro FINESS {}. {}",
            e.finess,
            sources_text(page.finess_import, page.rpps_import)
        ),
        refer: refer_link(&ctx, &t, EntryKind::Establishment, &e.finess),
        title,
    };
    Ok(render(&page))
}

async fn professional(
    State(st): State<AppState>,
    Path((slug, rpps)): Path<(String, String)>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let (page, entry, mark) =
        load_entry(&st, &slug, public_pages::EntryKey::Professional(&rpps)).await?;
    let public_pages::Entry::Professional(p, places) = entry else {
        return Err(AppError::NotFound);
    };
    let t = page.territory;
    let title = format!("{} {}", p.first_name, p.last_name)
        .trim()
        .to_owned();
    let page = EntryPage {
        l: ctx.public_layout(title.clone(), &t.slug, &t.name),
        slug: t.slug.clone(),
        detail: p.profession_label.clone(),
        places: places
            .into_iter()
            .map(|pl| PlaceView {
                site: pl.site_name,
                specialty: pl.specialty_label,
                mode: mode_label(&pl.mode_code).to_owned(),
                phone_link: phone_link(&pl.phone),
                phone: phone_display(&pl.phone),
                address: pl.address,
                postal_code: pl.postal_code,
                city: pl.city,
                access: mark.accessibility.clone(),
            })
            .collect(),
        facts: Vec::new(),
        source: format!(
            "Identifiant RPPS {}. {}",
            p.rpps,
            sources_text(page.finess_import, page.rpps_import)
        ),
        refer: refer_link(&ctx, &t, EntryKind::Professional, &p.rpps),
        title,
    };
    Ok(render(&page))
}

/// A local service: one statement, one more for the names of the communes
/// it serves when it names them.
async fn service(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, i64)>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let (page, entry, mark) = load_entry(&st, &slug, public_pages::EntryKey::Service(id)).await?;
    let public_pages::Entry::Service(sv) = entry else {
        return Err(AppError::NotFound);
    };
    let t = page.territory;
    let mut facts = Vec::new();
    let mut fact = |label: &'static str, text: String| {
        if !text.is_empty() {
            facts.push((label, text));
        }
    };
    fact("Présentation", sv.description.clone());
    fact("Publics", sv.publics.clone());
    fact("Tarifs", sv.fees.clone());
    fact("Horaires", opening_hours::to_french(&sv.opening_hours));
    fact("Courriel", sv.email.clone());
    fact("Site internet", sv.website.clone());
    if !sv.area.is_empty() {
        let codes: Vec<String> = sv.area.split_whitespace().map(str::to_owned).collect();
        let names: Vec<String> = communes::communes_by_codes(&st.db, &codes)
            .await?
            .into_iter()
            .map(|c| c.name)
            .collect();
        fact("Communes desservies", names.join(", "));
    }
    let flags: Vec<&str> = [
        (sv.msp || mark.msp, "Maison de santé pluriprofessionnelle"),
        (sv.cpts || mark.cpts, "Membre d'une CPTS"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, l)| *l)
    .collect();
    fact("Repères", flags.join(", "));
    let access = if mark.accessibility.is_empty() {
        sv.accessibility.clone()
    } else {
        mark.accessibility.clone()
    };
    let page = EntryPage {
        l: ctx.public_layout(sv.name.clone(), &t.slug, &t.name),
        slug: t.slug.clone(),
        title: sv.name.clone(),
        detail: kind_label(&sv.kind).to_owned(),
        places: vec![PlaceView {
            site: String::new(),
            specialty: String::new(),
            mode: String::new(),
            phone_link: phone_link(&sv.phone),
            phone: phone_display(&sv.phone),
            address: sv.address.clone(),
            postal_code: sv.postal_code.clone(),
            city: sv.city.clone(),
            access,
        }],
        facts,
        source: format!(
            "Fiche tenue par la coordination du territoire, mise à jour le {}.",
            dates::paris_date(sv.updated_at)
        ),
        refer: refer_link(&ctx, &t, EntryKind::Service, &sv.id.to_string()),
    };
    Ok(render(&page))
}

/// The number to dial, for a `tel:` link: digits and a leading `+` only.
pub fn phone_link(phone: &str) -> String {
    phone
        .trim()
        .chars()
        .enumerate()
        .filter(|(i, c)| c.is_ascii_digit() || (*i == 0 && *c == '+'))
        .map(|(_, c)| c)
        .collect()
}

/// A French ten-digit number in pairs (« 03 21 69 12 12 »), anything else
/// as written.
pub fn phone_display(phone: &str) -> String {
    let digits: String = phone.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.len() == 10
        && digits.starts_with('0')
        && phone
            .chars()
            .all(|c| c.is_ascii_digit() || c == ' ' || c == '.')
    {
        digits
            .as_bytes()
            .chunks(2)
            .map(|p| std::str::from_utf8(p).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        phone.trim().to_owned()
    }
}

#[cfg(test)]
mod phone_tests {
    use super::*;

    #[test]
    fn phones() {
        assert_eq!(phone_display("0321691212"), "03 21 69 12 12");
        assert_eq!(phone_display("03.21.69.12.12"), "03 21 69 12 12");
        assert_eq!(phone_display("+33 3 21 69 12 12"), "+33 3 21 69 12 12");
        assert_eq!(phone_link("03 21 69 12 12"), "0321691212");
        assert_eq!(phone_link("+33 (0)3 21"), "+330321");
    }
}

#[cfg(test)]
mod pager_tests {
    use super::*;

    fn link(n: usize) -> String {
        format!("p{n}")
    }

    #[test]
    fn pages_of_results() {
        let p = Pager::new(145, "2", link);
        assert_eq!((p.current, p.pages, p.first, p.last), (2, 8, 21, 40));
        assert_eq!(
            (p.prev.as_deref(), p.next.as_deref()),
            (Some("p1"), Some("p3"))
        );
        assert_eq!(p.range(), 20..40);
        // The last page, partly filled; beyond it, the last.
        let last = Pager::new(145, "8", link);
        assert_eq!(
            (last.first, last.last, last.next.is_none()),
            (141, 145, true)
        );
        assert_eq!(Pager::new(145, "99", link), last);
        // Not a page number: the first.
        for asked in ["", "abc", "0", "-3", "2.5"] {
            let p = Pager::new(145, asked, link);
            assert_eq!(
                (p.current, p.prev.is_none(), p.range()),
                (1, true, 0..20),
                "{asked}"
            );
        }
        // One page or none: nothing to link.
        let one = Pager::new(20, "1", link);
        assert_eq!(
            (
                one.pages,
                one.prev.is_none(),
                one.next.is_none(),
                one.range()
            ),
            (1, true, true, 0..20)
        );
        let none = Pager::new(0, "3", link);
        assert_eq!(
            (none.pages, none.first, none.last, none.range()),
            (1, 0, 0, 0..0)
        );
    }

    #[test]
    fn page_links_keep_the_search() {
        let form = SearchForm {
            q: "médecin & co".into(),
            profession: "10".into(),
            rayon: "20".into(),
            ..SearchForm::default()
        };
        assert_eq!(
            form.page_link("lens-lievin", 3),
            "/t/lens-lievin/annuaire?q=m%C3%A9decin%20%26%20co&profession=10&categorie=&commune=&rayon=20&page=3#resultats"
        );
    }
}
