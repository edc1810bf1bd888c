//! The demo as loaded on first start (`maillage serve --demo`), on SQLite and
//! PostgreSQL: every public page and both calendar feeds have content, and
//! the bugs met while trying it as a newcomer stay fixed.

use crate::common;

use common::{fresh_db, Backend, TestDb};
use maillage::config::Config;
use maillage::web::AppState;
use tokio::sync::oneshot;

struct Demo {
    base: String,
    db: maillage::storage::Db,
    tdb: Option<TestDb>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Demo {
    async fn start(backend: Backend) -> Demo {
        let tdb = fresh_db(backend).await;
        let db = tdb.db.clone();
        let accounts = maillage::demo::load(&db).await.expect("demo");
        assert!(accounts.is_some(), "the demo loads once");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().unwrap();
        let config = Config {
            database_url: tdb.url.clone(),
            addr,
            public_url: format!("http://{addr}"),
            form_min_fill_secs: 0,
            ..Config::default()
        };
        let state = AppState::new(db.clone(), config).await.expect("state");
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(maillage::web::serve(listener, state, async {
            let _ = rx.await;
        }));
        Demo {
            base: format!("http://{addr}"),
            db,
            tdb: Some(tdb),
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(s) = self.server.take() {
            let _ = s.await;
        }
        if let Some(t) = self.tdb.take() {
            t.cleanup().await;
        }
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn ok_page(c: &reqwest::Client, url: &str) -> String {
    let resp = c.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    resp.text().await.unwrap()
}

async fn demo_pages_have_content(backend: Backend) {
    let app = Demo::start(backend).await;
    let c = client();
    let t = "/t/lens-lievin";

    let perm = ok_page(&c, &app.url(&format!("{t}/permanences"))).await;
    for commune in ["Lens", "Liévin", "Avion", "Sallaumines", "Harnes"] {
        assert!(
            perm.contains(&format!("<h2>{commune}</h2>")),
            "permanences in {commune}"
        );
    }
    assert!(perm.contains("annulée"), "a cancelled date");
    assert!(
        perm.contains("déplacée : "),
        "a moved date, with its new place"
    );
    // Issue 12: the drop-ins carry out the mediators' fiche action, and the
    // sessions already held have their attendance.
    assert!(
        perm.contains("Cette permanence met en œuvre la fiche action"),
        "drop-ins linked to their fiche action"
    );
    let lens = maillage::storage::territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let today = maillage::web::agenda::today_paris();
    let totals = maillage::storage::agenda::totals_by_commune(
        &app.db,
        lens.id,
        today - chrono::Duration::weeks(5),
        today,
    )
    .await
    .unwrap();
    assert!(
        totals.len() >= 3 && totals.iter().all(|(_, _, n, r)| *n > 0 && *r > 0),
        "attendance recorded in several communes: {totals:?}"
    );

    let agenda = ok_page(&c, &app.url(&format!("{t}/agenda"))).await;
    for title in [
        "Bien manger avec un petit budget",
        "Journée santé et contrat de ville",
        "Initiation aux premiers secours",
        "Forum santé des jeunes",
    ] {
        assert!(agenda.contains(title), "agenda shows {title}");
    }

    // The public meeting announced on /participer is in the agenda too.
    assert!(
        agenda.contains("Rencontre publique : santé mentale des jeunes"),
        "public meeting in the agenda"
    );
    let agenda_ics = ok_page(&c, &app.url(&format!("{t}/agenda.ics"))).await;
    assert!(agenda_ics.contains("SUMMARY:Rencontre publique : santé mentale des jeunes"));

    for feed in ["permanences.ics", "agenda.ics"] {
        let ics = ok_page(&c, &app.url(&format!("{t}/{feed}"))).await;
        assert!(
            ics.matches("BEGIN:VEVENT").count() >= 4,
            "{feed} has events:\n{ics}"
        );
    }
    let perm_ics = ok_page(&c, &app.url(&format!("{t}/permanences.ics"))).await;
    assert!(perm_ics.contains("EXDATE"), "cancelled date and holiday");
    assert!(perm_ics.contains("RECURRENCE-ID"), "moved date");

    let participer = ok_page(&c, &app.url(&format!("{t}/participer"))).await;
    for what in [
        "Groupe de travail santé mentale",
        "Votre accès aux soins",
        "Rencontre publique",
    ] {
        assert!(participer.contains(what), "/participer shows {what}");
    }

    // The workshop is full with a waiting list; the professionals' day is
    // confirmed with a morning for professionals and an afternoon for all.
    let tid = maillage::storage::territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap()
        .id;
    let events = maillage::storage::agenda::list_events(&app.db, tid)
        .await
        .unwrap();
    let by_title = |s: &str| events.iter().find(|e| e.title.contains(s)).unwrap();
    let workshop = by_title("Bien manger");
    let sessions = maillage::storage::agenda::sessions(&app.db, workshop.id)
        .await
        .unwrap();
    assert_eq!(sessions[0].capacity, Some(sessions[0].taken));
    assert!(sessions[0].waiting > 0);
    let pro = by_title("Journée santé");
    assert_eq!(pro.status, "confirmed");
    let sessions = maillage::storage::agenda::sessions(&app.db, pro.id)
        .await
        .unwrap();
    let audiences: Vec<&str> = sessions.iter().map(|s| s.audience.as_str()).collect();
    assert_eq!(audiences, ["professionals", "public"]);
    let page = ok_page(&c, &app.url(&format!("{t}/evenements/{}", pro.id))).await;
    assert!(page.contains("Réservé aux professionnels"));

    // The other public pages answer with content.
    for path in [
        format!("{t}/"),
        format!("{t}/annuaire"),
        format!("{t}/idees"),
        format!("{t}/evenements/{}", workshop.id),
    ] {
        let body = ok_page(&c, &app.url(&path)).await;
        assert!(body.len() > 1000, "{path}");
    }

    // Issue 16: the Lens drop-in takes bookings: its card links the booking
    // page, which offers free slots; its dates have bookings, its past ones
    // checked-in bookings (a no-show rate) and walk-ins.
    assert!(perm.contains("Prendre rendez-vous en ligne"));
    let lens_series = maillage::storage::agenda::list_series(&app.db, tid)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.title == "Permanence santé de Lens")
        .expect("Lens series");
    let booking = ok_page(
        &c,
        &app.url(&format!("{t}/permanences/{}/rendez-vous", lens_series.id)),
    )
    .await;
    assert!(booking.contains("name=\"slot\""), "free slots");
    let rates = maillage::storage::agenda::no_show_by_series(&app.db, tid)
        .await
        .unwrap();
    let n = rates.get(&lens_series.id).copied().unwrap_or_default();
    assert!(n.present > 0 && n.absent > 0 && n.excused > 0, "{n:?}");
    let coming = maillage::storage::agenda::booking_counts(
        &app.db,
        lens_series.id,
        maillage::web::agenda::today_paris(),
    )
    .await
    .unwrap();
    assert!(coming.values().sum::<i64>() >= 2, "{coming:?}");
    // Its past dates have anonymised activity records, and the SMS
    // confirmations of the full workshop have receipts.
    let today = maillage::web::agenda::today_paris();
    let records = maillage::storage::activity::for_territory(
        &app.db,
        tid,
        today - chrono::Duration::weeks(6),
        today,
        Some(lens_series.id),
    )
    .await
    .unwrap();
    assert!(records.len() >= 5, "{}", records.len());
    assert!(records.iter().all(|r| r.follow_up_name.is_none()));
    let receipts = maillage::storage::messages::for_territory(&app.db, tid, None, 50)
        .await
        .unwrap();
    assert!(receipts.iter().any(|m| m.status == "delivered"));
    assert!(receipts.iter().any(|m| m.status == "failed"));
    app.stop().await;
}
both!(demo_pages_have_content);

/// The demo's care supply has a real territory's size (`demo_directory`):
/// densities for 10,000 inhabitants near the country's, fewer general
/// practitioners in the territory than in its region (its diagnosis says
/// so), and a regional map whose threshold is not zero. With the named
/// directory rows alone the territory had 0.04 general practitioner for
/// 10,000 inhabitants and every band of the map started at 0.
async fn the_demo_supply_has_a_real_territorys_size(backend: Backend) {
    let app = Demo::start(backend).await;
    let c = client();
    let d = common::json_of(&c, app.url("/api/v1/diagnostic/lens-lievin/densities")).await;
    let row = |slug: &str| {
        d["professions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["profession"] == slug)
            .unwrap_or_else(|| panic!("{slug}: {d}"))
            .clone()
    };
    let gp = row("generalistes");
    let (territory, region) = (
        gp["territory"].as_f64().unwrap(),
        gp["region"].as_f64().unwrap(),
    );
    assert!((4.0..8.0).contains(&territory), "{gp}");
    assert!((6.5..9.0).contains(&region), "{gp}");
    assert!(territory < region, "{gp}");
    for (slug, low, high) in [
        ("infirmiers", 10.0, 18.0),
        ("kinesitherapeutes", 8.0, 16.0),
        ("dentistes", 3.0, 7.0),
        ("pharmacies", 2.0, 4.5),
    ] {
        let r = row(slug);
        let v = r["region"].as_f64().unwrap();
        assert!((low..high).contains(&v), "{r}");
    }
    // The named rows are still there.
    let page = ok_page(&c, &app.url("/t/lens-lievin/annuaire?q=durand")).await;
    assert!(page.contains("Claire DURAND"), "the named GP");
    // Many results come in pages of 20, each linking to the next of the
    // same search; a page beyond the last is the last.
    let cards = |page: &str| {
        let list = page
            .split("<ul class=\"cards\">")
            .nth(1)
            .unwrap_or_default();
        list.split("</ul>")
            .next()
            .unwrap_or_default()
            .matches("<li>")
            .count()
    };
    let first = ok_page(&c, &app.url("/t/lens-lievin/annuaire?q=infirmier")).await;
    assert!(first.contains("— page 1 sur "), "{first}");
    assert_eq!(cards(&first), 20);
    assert!(!first.contains("rel=\"prev\""));
    let next = first
        .split("href=\"")
        .find_map(|s| {
            s.split_once("\" rel=\"next\"")
                .map(|(u, _)| u.replace("&#38;", "&").replace("&amp;", "&"))
        })
        .expect("a link to the next page");
    assert!(
        next.contains("q=infirmier") && next.contains("page=2"),
        "{next}"
    );
    let second = ok_page(&c, &app.url(&next)).await;
    assert!(
        second.contains("Résultats 21 à 40 — page 2 sur "),
        "{second}"
    );
    assert!(second.contains("rel=\"prev\""));
    let beyond = ok_page(
        &c,
        &app.url("/t/lens-lievin/annuaire?q=infirmier&page=9999"),
    )
    .await;
    assert!(!beyond.contains("rel=\"next\"") && beyond.contains("rel=\"prev\""));
    assert!((1..=20).contains(&cards(&beyond)));
    // The regional map's threshold (the national median) is a real one.
    let region = ok_page(&c, &app.url("/region/")).await;
    let seuil = region
        .split("Seuil : ")
        .nth(1)
        .and_then(|s| s.split(" pour 10").next())
        .unwrap_or_else(|| panic!("no threshold on /region/"));
    let median: f64 = seuil.replace(',', ".").parse().expect(seuil);
    assert!((5.0..9.0).contains(&median), "{median}");
    app.stop().await;
}
both!(the_demo_supply_has_a_real_territorys_size);

/// Drop-ins as one card per place (rhythm in words, next dates, services as
/// a list, a number to call, a directions link, holidays said), the
/// printable month planning with the coordination's contact, and the
/// agenda's month calendar with the events and the day's drop-ins.
async fn dropin_cards_month_planning_and_calendar(backend: Backend) {
    let app = Demo::start(backend).await;
    let c = client();
    let t = "/t/lens-lievin";

    let perm = ok_page(&c, &app.url(&format!("{t}/permanences"))).await;
    assert!(perm.contains("class=\"card place-card\""), "cards");
    assert!(perm.contains("<h3 id=\"lieu-"), "one heading per place");
    assert!(
        perm.contains("Un lundi sur deux, de 14 h à 16 h"),
        "rhythm in words"
    );
    assert!(!perm.contains("FREQ="), "no raw RRULE");
    assert!(
        perm.contains("<li>Écoute et conseils</li>"),
        "services as a list"
    );
    assert!(perm.contains("href=\"tel:"), "a number to call");
    assert!(
        perm.contains("href=\"tel:0321000041\">Appeler le 03 21 00 00 41"),
        "a place's own number"
    );
    assert!(
        perm.contains("Appeler la coordination : 03 21 00 00 00"),
        "the coordination's number where the place has none"
    );
    assert!(
        perm.contains("https://www.openstreetmap.org/search?query="),
        "a directions link"
    );
    // Every commune with a drop-in has its cards, and only the chosen one
    // when filtered.
    let lens = ok_page(&c, &app.url(&format!("{t}/permanences?commune=62498"))).await;
    assert!(lens.contains("<h2>Lens</h2>") && !lens.contains("<h2>Avion</h2>"));
    // A period asked for lists every date, as before.
    let today = chrono::Utc::now().date_naive();
    let dates = ok_page(
        &c,
        &app.url(&format!(
            "{t}/permanences?du={}&au={}&vue=dates",
            today,
            today + chrono::Duration::days(60)
        )),
    )
    .await;
    assert!(!dates.contains("place-card") && dates.contains("class=\"occurrences\""));

    // The printable planning of next month: a table per commune, the
    // coordination's contact, a print button for those with JavaScript.
    let next = today + chrono::Duration::days(31);
    let month = format!("{}", next.format("%Y-%m"));
    let planning = ok_page(&c, &app.url(&format!("{t}/permanences?mois={month}"))).await;
    assert!(planning.contains("planning-table"));
    assert!(
        planning.contains("Renseignements"),
        "contact on the planning"
    );
    assert!(planning.contains("cls@lens-lievin.maillage.test"));
    assert!(planning.contains("data-print"));

    // The agenda's month calendar: weeks of seven days, the workshop in its
    // day, the drop-ins of each day linked.
    let cal = ok_page(&c, &app.url(&format!("{t}/agenda?vue=mois"))).await;
    assert!(cal.contains("<table class=\"calendar\">"));
    assert_eq!(cal.matches("<th scope=\"col\">").count(), 7);
    assert!(cal.contains("aria-current=\"date\""), "today marked");
    assert!(cal.contains("permanence santé") || cal.contains("permanences santé"));
    let mut found_event = false;
    let mut m = today;
    for _ in 0..3 {
        let page = ok_page(
            &c,
            &app.url(&format!("{t}/agenda?mois={}", m.format("%Y-%m"))),
        )
        .await;
        found_event |= page.contains("Bien manger avec un petit budget");
        m += chrono::Duration::days(31);
    }
    assert!(found_event, "the workshop shows in a month calendar");
    // A month that cannot be read says so and shows the current month.
    let bad = ok_page(&c, &app.url(&format!("{t}/agenda?mois=2026-13"))).await;
    assert!(bad.contains("Mois illisible"));
    app.stop().await;
}
both!(dropin_cards_month_planning_and_calendar);
