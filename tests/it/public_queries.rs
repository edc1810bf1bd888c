//! How many statements a public page costs, uncached (issue 14: « every
//! public page in one or two queries »), counted by PostgreSQL itself.
//!
//! Each statement the application runs outside a transaction is one
//! transaction for PostgreSQL, so `pg_stat_database.xact_commit` of a
//! database used by this test alone counts them (a statement inside an
//! explicit transaction would hide: the pages read with plain statements).
//! Backends report their counts lazily (up to ten seconds after going
//! idle), so the application gets a pool of one connection, and around each
//! request the test runs `pg_stat_force_next_flush()` on that same
//! connection (one statement, subtracted), then reads the count from
//! another database until it no longer moves. `/sante` (one `SELECT 1`)
//! checks that the method counts what it should.
//!
//! The server runs without its background loops (outbox, housekeeping),
//! which would add their own statements, and without the micro-cache.

use std::net::SocketAddr;
use std::time::Duration;

use crate::common::{fresh_db, postgres_admin_url, Backend, TestDb};
use maillage::config::Config;
use maillage::storage::Db;
use maillage::web::AppState;
use sqlx::postgres::PgPool;

struct Counted {
    tdb: TestDb,
    /// The demo's pages: (the fiche with computed indicators, a fiche
    /// without, the contract, an event).
    pages: DemoPages,
    /// The application's pool: one connection.
    app_pool: PgPool,
    admin: PgPool,
    name: String,
    base: String,
    client: reqwest::Client,
}

impl Counted {
    async fn start() -> Counted {
        let tdb = fresh_db(Backend::Postgres).await;
        maillage::demo::load(&tdb.db).await.expect("demo");
        let pages = demo_pages(&tdb.db).await;
        // Autovacuum counts in the database's commits too: one transaction
        // per table it analyses after the demo's inserts, trickling in for
        // seconds when the machine is busy (the whole suite), which made
        // a page look like two statements in all three tries. Vacuumed and
        // analysed now, the tables give it nothing to do.
        if let Db::Postgres(pool) = &tdb.db {
            sqlx::raw_sql("VACUUM ANALYZE")
                .execute(pool)
                .await
                .expect("vacuum");
        }
        // Its backends report what they did when they exit.
        tdb.db.close().await;
        let app_pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(&tdb.url)
            .await
            .expect("application pool");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().unwrap();
        let config = Config {
            database_url: tdb.url.clone(),
            addr,
            public_url: format!("http://{addr}"),
            public_cache_ttl: Duration::ZERO,
            ..Config::default()
        };
        let state = AppState::new(Db::Postgres(app_pool.clone()), config)
            .await
            .expect("state");
        let app = maillage::web::app(state);
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        });
        let admin = match Db::connect(&postgres_admin_url()).await.expect("admin") {
            Db::Postgres(p) => p,
            Db::Sqlite(_) => unreachable!("the admin URL is PostgreSQL's"),
        };
        let name = tdb.url.rsplit('/').next().unwrap().to_owned();
        Counted {
            tdb,
            pages,
            app_pool,
            admin,
            name,
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
        }
    }

    /// The database's committed transactions once the application's
    /// connection has reported its own (the flush request counts one).
    async fn settled_count(&self) -> i64 {
        // A table read too: without pending table statistics the forced
        // flush skips the transaction counts (seen on PostgreSQL 15).
        sqlx::query("SELECT pg_stat_force_next_flush(), (SELECT COUNT(*) FROM instance_settings)")
            .execute(&self.app_pool)
            .await
            .expect("flush");
        let mut last = -1;
        let mut same = 0;
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(30)).await;
            let (n,): (i64,) =
                sqlx::query_as("SELECT xact_commit FROM pg_stat_database WHERE datname = $1")
                    .bind(&self.name)
                    .fetch_one(&self.admin)
                    .await
                    .expect("stat");
            if n == last {
                same += 1;
                if same == 3 {
                    return n;
                }
            } else {
                same = 0;
            }
            last = n;
        }
        panic!("the transaction count of {} did not settle", self.name);
    }

    /// Statements run to answer `GET path` (after one request that warms
    /// up the process: statement caches, the agenda's world). The fewest
    /// of five tries: autovacuum may commit in between, never less (under
    /// the whole suite's load three tries were once all disturbed: the
    /// contract page counted 2, alone it counts 1).
    async fn statements(&self, path: &str) -> i64 {
        let url = format!("{}{}", self.base, path);
        let warm = self.client.get(&url).send().await.expect("get");
        assert_eq!(warm.status(), 200, "{path}");
        let mut fewest = i64::MAX;
        for _ in 0..5 {
            let before = self.settled_count().await;
            let resp = self.client.get(&url).send().await.expect("get");
            assert_eq!(resp.status(), 200, "{path}");
            let body = resp.text().await.unwrap();
            assert!(!body.is_empty());
            let after = self.settled_count().await;
            fewest = fewest.min(after - before - 1);
        }
        fewest
    }

    async fn stop(self) {
        self.app_pool.close().await;
        self.admin.close().await;
        self.tdb.cleanup().await;
    }
}

struct DemoPages {
    computed_fiche: String,
    plain_fiche: String,
    contract: String,
    event: String,
    /// Directory entries of the territory: an establishment, a
    /// professional, a local service.
    establishment: String,
    professional: String,
    service: String,
}

async fn demo_pages(db: &Db) -> DemoPages {
    let Db::Postgres(pool) = db else {
        unreachable!("counted on PostgreSQL")
    };
    let one = |sql: &'static str| async move {
        sqlx::query_scalar::<_, String>(sql)
            .fetch_one(pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    DemoPages {
        computed_fiche: one(
            "SELECT '/t/lens-lievin/actions/' || a.code FROM actions a WHERE EXISTS \
             (SELECT 1 FROM indicators i WHERE i.action_id = a.id AND i.source NOT IN ('', 'manual')) \
             ORDER BY a.id LIMIT 1",
        )
        .await,
        plain_fiche: one(
            "SELECT '/t/lens-lievin/actions/' || a.code FROM actions a WHERE NOT EXISTS \
             (SELECT 1 FROM indicators i WHERE i.action_id = a.id AND i.source NOT IN ('', 'manual')) \
             ORDER BY a.id LIMIT 1",
        )
        .await,
        contract: one("SELECT '/t/lens-lievin/contrat/' || CAST(MIN(id) AS TEXT) FROM contracts").await,
        event: one(
            "SELECT '/t/lens-lievin/evenements/' || CAST(MIN(id) AS TEXT) FROM events \
             WHERE status <> 'cancelled'",
        )
        .await,
        establishment: one(
            "SELECT '/t/lens-lievin/annuaire/etablissements/' || MIN(e.finess) FROM establishments e \
             JOIN territory_communes tc ON tc.insee_code = e.insee_code \
             JOIN territories t ON t.id = tc.territory_id AND t.slug = 'lens-lievin'",
        )
        .await,
        professional: one(
            "SELECT '/t/lens-lievin/annuaire/professionnels/' || MIN(pl.rpps) FROM practice_places pl \
             JOIN territory_communes tc ON tc.insee_code = pl.insee_code \
             JOIN territories t ON t.id = tc.territory_id AND t.slug = 'lens-lievin'",
        )
        .await,
        service: one(
            "SELECT '/t/lens-lievin/annuaire/services/' || CAST(MIN(s.id) AS TEXT) FROM local_services s \
             JOIN territories t ON t.id = s.territory_id AND t.slug = 'lens-lievin'",
        )
        .await,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_pages_read_in_one_or_two_statements() {
    let app = Counted::start().await;
    // The method counts: `/sante` runs one `SELECT 1`.
    assert_eq!(app.statements("/sante").await, 1, "/sante");
    // Pages measured: (path, most statements allowed). The demo's
    // mediation fiche has computed indicators (drop-ins held, people
    // received), the first fiche none; the contract has computed
    // indicators of its own (its drop-in schedule comes from the process's
    // cache, warmed up). The event page reads in one statement, then
    // counts the visit (one write transaction).
    let p = &app.pages;
    // The agenda and the drop-ins' page read in one statement, the
    // agenda's month view too (the drop-in schedule from the process's
    // cache, checked against the stamp read).
    // The directory reads its territory in one statement and the search's
    // candidates, both kinds with the typo probe, in another; an entry in
    // one (a local service naming the communes it serves, in two).
    // The diagnosis reads in one statement everything it computes from,
    // the regional page its roll-up and its maps' key (the maps drawn once).
    // The contract menu reads the territory and its contracts, then
    // redirects to the only one, whose page reads in one (followed here).
    let pages: [(&str, i64); 24] = [
        (&p.computed_fiche, 2),
        (&p.plain_fiche, 1),
        ("/t/lens-lievin/", 2),
        (&p.contract, 1),
        (&p.event, 2),
        ("/t/lens-lievin/agenda", 1),
        ("/t/lens-lievin/agenda?vue=mois", 1),
        ("/t/lens-lievin/permanences", 1),
        ("/t/lens-lievin/permanences?vue=dates", 1),
        ("/t/lens-lievin/annuaire", 2),
        ("/t/lens-lievin/annuaire?q=generaliste", 2),
        ("/t/lens-lievin/annuaire?q=medecn+lens&profession=10", 2),
        (&p.establishment, 1),
        (&p.professional, 1),
        (&p.service, 2),
        ("/t/lens-lievin/participer", 1),
        ("/t/lens-lievin/idees", 1),
        ("/t/lens-lievin/diagnostic", 1),
        ("/region/", 1),
        ("/t/lens-lievin/contact", 1),
        ("/t/lens-lievin/contrat", 3),
        ("/t/lens-lievin/plan-du-site", 2),
        ("/t/lens-lievin/mentions-legales", 1),
        ("/t/lens-lievin/accessibilite", 1),
    ];
    let mut counts = Vec::new();
    for (path, _) in pages {
        counts.push((path, app.statements(path).await));
    }
    eprintln!("statements per page, uncached: {counts:?}");
    for ((path, n), (_, at_most)) in counts.iter().zip(pages) {
        assert!(
            *n <= at_most,
            "{path} ran {n} statements (at most {at_most}); all: {counts:?}"
        );
    }
    app.stop().await;
}

/// The public fiche's computed indicators, from the facts its one statement
/// reads and the cached drop-in schedule, equal those the back office
/// computes (`evaluation::for_action`, which reads the facts itself); and
/// what the statement reads is the fiche's.
async fn public_fiche_reads_what_the_back_office_computes(backend: Backend) {
    use maillage::storage::{contract, public_pages, territories};
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    maillage::demo::load(db).await.expect("demo");
    let t = territories::get_by_slug(db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let plan_contract = contract::list(db, t.id).await.unwrap().remove(0);
    let plan = contract::plan(db, plan_contract.id).await.unwrap();
    let today = maillage::web::agenda::today_paris();
    let world = maillage::web::agenda::series_world(db, t.id).await.unwrap();
    let mut computed_seen = 0;
    for a in &plan.actions {
        let page = public_pages::action_page(db, "lens-lievin", &a.code)
            .await
            .unwrap()
            .expect("the fiche");
        assert_eq!(page.action.id, a.id);
        assert_eq!(page.contract.id, plan_contract.id);
        assert_eq!(page.territory_id, t.id);
        let expected = maillage::evaluation::for_action(db, &page.contract, a.id, today)
            .await
            .unwrap();
        let mut got = page.indicators.clone();
        let has_computed = got.iter().any(|(i, _)| i.is_computed());
        assert_eq!(page.computed.is_some(), has_computed, "{}", a.code);
        if let Some(input) = page.computed {
            let inds: Vec<_> = got.iter().map(|(i, _)| i.clone()).collect();
            let mut values = maillage::evaluation::computed_for_action(
                world.schedules(),
                input.rows,
                &input.sources,
                &page.contract,
                &page.action,
                &inds,
                today,
            );
            for (i, ms) in &mut got {
                if let Some(m) = values.remove(&i.id) {
                    *ms = m;
                }
            }
            computed_seen += got
                .iter()
                .filter(|(i, ms)| i.is_computed() && !ms.is_empty())
                .count();
        }
        assert_eq!(got, expected, "indicators of {}", a.code);
    }
    assert!(
        computed_seen > 0,
        "the demo has computed indicators with values"
    );
    // Unknown territory, unknown code, the regional owner: nothing.
    assert!(public_pages::action_page(db, "lens-lievin", "9.9.9")
        .await
        .unwrap()
        .is_none());
    assert!(
        public_pages::action_page(db, "nulle-part", &plan.actions[0].code)
            .await
            .unwrap()
            .is_none()
    );
    tdb.cleanup().await;
}
both!(public_fiche_reads_what_the_back_office_computes);

/// The home's one statement reads what the storage functions it replaces
/// read: communes, QPV, contracts, and the next event sessions with their
/// events and seat counts (`agenda_sessions`, `fill_seat_counts`,
/// `events_by_ids`); and the stamp of the drop-in schedule.
async fn home_reads_what_the_storage_functions_read(backend: Backend) {
    use maillage::storage::{agenda, contract, public_pages, territories};
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    maillage::demo::load(db).await.expect("demo");
    let t = territories::get_by_slug(db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let now = chrono::Utc::now();
    let home = public_pages::home(db, "lens-lievin", now)
        .await
        .unwrap()
        .expect("the home");
    assert_eq!(home.territory, t);
    assert_eq!(
        home.communes,
        territories::communes(db, t.id).await.unwrap()
    );
    assert_eq!(home.qpvs, territories::qpvs(db, t.id).await.unwrap());
    assert!(!home.qpvs.is_empty() && !home.communes.is_empty());
    let contracts: Vec<(i64, String)> = contract::list(db, t.id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.id, c.title))
        .collect();
    assert_eq!(home.contracts, contracts);
    assert_eq!(
        home.schedule_stamp,
        agenda::schedule_stamp(db, t.id).await.unwrap()
    );
    let filter = agenda::AgendaFilter {
        from: now,
        until: None,
        insee_code: None,
        audience: None,
        theme: None,
    };
    let (mut sessions, _) = agenda::agenda_sessions(db, t.id, &filter, public_pages::HOME_SESSIONS)
        .await
        .unwrap();
    agenda::fill_seat_counts(db, &mut sessions).await.unwrap();
    let ids: Vec<i64> = sessions.iter().map(|s| s.event_id).collect();
    let events = agenda::events_by_ids(db, t.id, &ids).await.unwrap();
    let expected: Vec<_> = sessions
        .into_iter()
        .map(|s| {
            let e = events.iter().find(|e| e.id == s.event_id).unwrap().clone();
            (e, s)
        })
        .collect();
    assert!(!expected.is_empty(), "the demo has coming sessions");
    assert!(
        expected.iter().any(|(_, s)| s.taken > 0),
        "the demo has registrations"
    );
    assert_eq!(home.sessions, expected);
    assert!(public_pages::home(db, "nulle-part", now)
        .await
        .unwrap()
        .is_none());
    tdb.cleanup().await;
}
both!(home_reads_what_the_storage_functions_read);

/// The contract page's one statement reads what the storage functions the
/// page used read (`contract::get`, `milestones`, `plan`,
/// `indicators::for_contract` and `measurements_of_contract_level`,
/// `sources_of_contract`, `documents::for_contract`), for every contract of
/// the demo; and the contract's computed indicators, from the facts it
/// reads and the cached drop-in schedule, equal those the back office
/// computes (`evaluation::computed_measurements`).
async fn contract_page_reads_what_the_storage_functions_read(backend: Backend) {
    use maillage::storage::{contract, documents, indicators, public_pages, territories};
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    maillage::demo::load(db).await.expect("demo");
    let t = territories::get_by_slug(db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let today = maillage::web::agenda::today_paris();
    let world = maillage::web::agenda::series_world(db, t.id).await.unwrap();
    let contracts = contract::list(db, t.id).await.unwrap();
    assert!(!contracts.is_empty());
    let (mut computed_seen, mut milestones_seen, mut documents_seen) = (0, 0, 0);
    for c in &contracts {
        let page = public_pages::contract_page(db, "lens-lievin", c.id)
            .await
            .unwrap()
            .expect("the contract page");
        assert_eq!(
            (
                page.territory_id,
                page.territory_slug.as_str(),
                page.territory_name.as_str()
            ),
            (t.id, t.slug.as_str(), t.name.as_str())
        );
        assert_eq!(
            Some(&page.contract),
            contract::get(db, t.id, c.id).await.unwrap().as_ref()
        );
        assert_eq!(
            page.milestones,
            contract::milestones(db, c.id).await.unwrap()
        );
        milestones_seen += page.milestones.len();
        let plan = contract::plan(db, c.id).await.unwrap();
        assert_eq!(page.plan.axes, plan.axes);
        assert_eq!(page.plan.objectives, plan.objectives);
        assert_eq!(page.plan.actions, plan.actions);
        let own: Vec<_> = indicators::for_contract(db, c.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|i| i.action_id.is_none())
            .collect();
        let mut typed = indicators::measurements_of_contract_level(db, c.id)
            .await
            .unwrap();
        let expected: Vec<_> = own
            .iter()
            .map(|i| (i.clone(), typed.remove(&i.id).unwrap_or_default()))
            .collect();
        assert_eq!(page.indicators, expected, "indicators of {}", c.id);
        assert_eq!(
            page.sources,
            indicators::sources_of_contract(db, c.id).await.unwrap()
        );
        let docs: Vec<(i64, String, String, i64)> = documents::for_contract(db, c.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|d| d.public && d.action_id.is_none())
            .map(|d| (d.id, d.title, d.media_type, d.size))
            .collect();
        let got: Vec<(i64, String, String, i64)> = page
            .documents
            .iter()
            .map(|d| (d.id, d.title.clone(), d.media_type.clone(), d.size))
            .collect();
        assert_eq!(got, docs);
        documents_seen += docs.len();
        assert_eq!(
            page.computed.is_some(),
            own.iter().any(|i| i.is_computed()),
            "contract {}",
            c.id
        );
        if let Some(input) = page.computed {
            assert_eq!(input.sources, page.sources);
            let values = maillage::evaluation::computed_for_contract(
                world.schedules(),
                input.rows,
                &input.sources,
                &page.contract,
                &own,
                today,
            );
            let expected =
                maillage::evaluation::computed_measurements(db, &page.contract, &own, today)
                    .await
                    .unwrap();
            assert_eq!(values, expected, "computed indicators of {}", c.id);
            computed_seen += values.values().filter(|ms| !ms.is_empty()).count();
        }
    }
    assert!(
        computed_seen > 0,
        "the demo has computed contract indicators with values"
    );
    assert!(milestones_seen > 0, "the demo has milestones");
    eprintln!("public contract documents in the demo: {documents_seen}");
    // Unknown contract, unknown territory, another territory's contract:
    // nothing.
    let last = contracts.iter().map(|c| c.id).max().unwrap();
    assert!(public_pages::contract_page(db, "lens-lievin", last + 1000)
        .await
        .unwrap()
        .is_none());
    assert!(
        public_pages::contract_page(db, "nulle-part", contracts[0].id)
            .await
            .unwrap()
            .is_none()
    );
    let others: Vec<_> = territories::list(db)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.slug != "lens-lievin")
        .collect();
    for o in others {
        assert!(public_pages::contract_page(db, &o.slug, contracts[0].id)
            .await
            .unwrap()
            .is_none());
    }
    tdb.cleanup().await;
}
both!(contract_page_reads_what_the_storage_functions_read);

/// The event page's one statement reads what the storage functions the
/// page used read (`agenda::get_event`, `sessions` with their seat counts,
/// the territory's places, `action_choice`, `view_count`), for every event
/// of the demo (registrations open or not, linked to a fiche action or
/// not), then for an event cancelled and a session cancelled.
async fn event_page_reads_what_the_storage_functions_read(backend: Backend) {
    use maillage::storage::agenda::{self, EventInput};
    use maillage::storage::audit::Actor;
    use maillage::storage::{public_pages, territories};
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    maillage::demo::load(db).await.expect("demo");
    let t = territories::get_by_slug(db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let today = maillage::web::agenda::today_paris();
    let events = agenda::list_events(db, t.id).await.unwrap();
    assert!(!events.is_empty());
    let t = &t;
    // A view recorded: the count is read too.
    agenda::record_view(db, events[0].id, today, "visiteur")
        .await
        .unwrap();
    let check = |id: i64| async move {
        let page = public_pages::event_page(db, "lens-lievin", id)
            .await
            .unwrap()
            .expect("the event page");
        assert_eq!(
            (
                page.territory_id,
                page.territory_slug.as_str(),
                page.territory_name.as_str()
            ),
            (t.id, t.slug.as_str(), t.name.as_str())
        );
        assert_eq!(page.event, agenda::get_event(db, t.id, id).await.unwrap());
        let sessions = agenda::sessions(db, id).await.unwrap();
        assert_eq!(page.sessions, sessions);
        let places: Vec<_> = agenda::list_places(db, t.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|p| sessions.iter().any(|s| s.place_id == Some(p.id)))
            .collect();
        let mut got = page.places.clone();
        got.sort_by_key(|p| p.id);
        let mut expected = places;
        expected.sort_by_key(|p| p.id);
        assert_eq!(got, expected, "places of {id}");
        let action = match page.event.action_id {
            Some(a) => agenda::action_choice(db, t.id, a).await.unwrap(),
            None => None,
        };
        assert_eq!(page.action, action);
        assert_eq!(page.views, agenda::view_count(db, id).await.unwrap());
        page
    };
    let (mut open, mut closed, mut linked, mut seats, mut placed) = (0, 0, 0, 0, 0);
    for e in &events {
        let page = check(e.id).await;
        if page.event.status == "confirmed" {
            open += 1;
        } else {
            closed += 1;
        }
        linked += usize::from(page.action.is_some());
        seats += page.sessions.iter().filter(|s| s.taken > 0).count();
        placed += page.places.len();
    }
    assert!(open > 0, "the demo has events open to registration");
    assert!(closed > 0, "the demo has events not open to registration");
    assert!(linked > 0, "the demo has events linked to a fiche action");
    assert!(seats > 0, "the demo has registrations");
    assert!(placed > 0, "the demo's sessions have places");
    assert!(check(events[0].id).await.views > 0);
    // An event cancelled, a session cancelled.
    let actor = Actor::system("test");
    let e = &events[0];
    let cancelled = agenda::update_event(
        db,
        &actor,
        t.id,
        e.id,
        e.version,
        &EventInput {
            title: e.title.clone(),
            kind: e.kind.clone(),
            status: "cancelled".into(),
            organiser: e.organiser.clone(),
            themes: e.themes.clone(),
            description: e.description.clone(),
            linked_actions: e.linked_actions.clone(),
            programme_to_come: e.programme_to_come,
            action_id: e.action_id,
        },
    )
    .await
    .unwrap();
    assert_eq!(check(cancelled.id).await.event.status, "cancelled");
    let mut session_cancelled = false;
    for other in events.iter().filter(|o| o.id != cancelled.id) {
        if let Some(s) = agenda::sessions(db, other.id).await.unwrap().first() {
            agenda::cancel_session(db, &actor, t.id, s.id)
                .await
                .unwrap();
            assert!(check(other.id).await.sessions[0].cancelled);
            session_cancelled = true;
            break;
        }
    }
    assert!(session_cancelled, "the demo's events have sessions");
    // Unknown event, unknown territory, another territory's event: nothing.
    let last = events.iter().map(|e| e.id).max().unwrap();
    assert!(public_pages::event_page(db, "lens-lievin", last + 1000)
        .await
        .unwrap()
        .is_none());
    assert!(public_pages::event_page(db, "nulle-part", e.id)
        .await
        .unwrap()
        .is_none());
    for o in territories::list(db).await.unwrap() {
        if o.slug != "lens-lievin" {
            assert!(public_pages::event_page(db, &o.slug, e.id)
                .await
                .unwrap()
                .is_none());
        }
    }
    tdb.cleanup().await;
}
both!(event_page_reads_what_the_storage_functions_read);

/// The agenda's one statement reads what the storage functions the page
/// used read, through every filter: the territory's sessions
/// (`agenda_sessions` with `fill_seat_counts` and `events_by_ids`) and
/// their count, the regional sessions concerning it (`regional_sessions`,
/// filtered as the page filtered them), the places, the themes
/// (`event_themes`), the communes and the coming public meetings
/// (`upcoming_public_meetings`); and the drop-in schedule's stamp when
/// asked for.
async fn agenda_reads_what_the_storage_functions_read(backend: Backend) {
    use maillage::storage::{agenda, participation, public_pages, territories};
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    maillage::demo::load(db).await.expect("demo");
    let t = territories::get_by_slug(db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let now = chrono::Utc::now();
    let week = chrono::Duration::days(7);
    let base = agenda::AgendaFilter {
        from: now - week,
        until: None,
        insee_code: None,
        audience: None,
        theme: None,
    };
    let themes = agenda::event_themes(db, t.id).await.unwrap();
    assert!(!themes.is_empty(), "the demo's events have themes");
    let communes = territories::communes(db, t.id).await.unwrap();
    let places = agenda::list_places(db, t.id).await.unwrap();
    let commune = places[0].insee_code.clone();
    let filters = [
        base.clone(),
        agenda::AgendaFilter {
            until: Some(now + week * 8),
            ..base.clone()
        },
        agenda::AgendaFilter {
            insee_code: Some(commune),
            ..base.clone()
        },
        agenda::AgendaFilter {
            audience: Some("professionals".into()),
            ..base.clone()
        },
        agenda::AgendaFilter {
            audience: Some("public".into()),
            ..base.clone()
        },
        agenda::AgendaFilter {
            theme: Some(themes[0].clone()),
            ..base.clone()
        },
        agenda::AgendaFilter {
            theme: Some("100% _rien\\".into()),
            ..base.clone()
        },
    ];
    let all_places: Vec<agenda::Place> = agenda::all_places(db).await.unwrap();
    let regional_events = agenda::regional_events(db).await.unwrap();
    let (mut seen_local, mut seen_regional, mut seen_meetings) = (0, 0, 0);
    for (i, f) in filters.iter().enumerate() {
        for limit in [3, 200] {
            let page = public_pages::agenda_page(db, "lens-lievin", f, limit, i == 1)
                .await
                .unwrap()
                .expect("the agenda");
            assert_eq!(page.territory, t);
            assert_eq!(page.communes, communes);
            assert_eq!(page.themes, themes);
            assert_eq!(
                page.schedule_stamp,
                if i == 1 {
                    Some(agenda::schedule_stamp(db, t.id).await.unwrap())
                } else {
                    None
                }
            );
            // The territory's own sessions.
            let (mut sessions, _total) = agenda::agenda_sessions(db, t.id, f, limit).await.unwrap();
            agenda::fill_seat_counts(db, &mut sessions).await.unwrap();
            let ids: Vec<i64> = sessions.iter().map(|s| s.event_id).collect();
            let events = agenda::events_by_ids(db, t.id, &ids).await.unwrap();
            let expected: Vec<_> = sessions
                .into_iter()
                .map(|s| {
                    let e = events.iter().find(|e| e.id == s.event_id).unwrap().clone();
                    (e, s)
                })
                .collect();
            assert_eq!(page.sessions, expected, "filter {i}, limit {limit}");
            seen_local += expected.len();
            // The regional sessions concerning the territory.
            let mut regional: Vec<agenda::Session> =
                agenda::regional_sessions(db, Some(t.id), f.from)
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|s| s.starts_at >= f.from && f.until.is_none_or(|u| s.starts_at < u))
                    .filter(|s| f.audience.as_ref().is_none_or(|a| &s.audience == a))
                    .filter(|s| {
                        f.insee_code.as_ref().is_none_or(|c| {
                            s.place_id
                                .and_then(|p| all_places.iter().find(|x| x.id == p))
                                .is_some_and(|p| &p.insee_code == c)
                        })
                    })
                    .filter(|s| {
                        f.theme.as_ref().is_none_or(|th| {
                            regional_events
                                .iter()
                                .find(|e| e.id == s.event_id)
                                .is_some_and(|e| e.theme_list().contains(&th.as_str()))
                        })
                    })
                    .collect();
            agenda::fill_seat_counts(db, &mut regional).await.unwrap();
            let expected: Vec<_> = regional
                .into_iter()
                .map(|s| {
                    let e = regional_events
                        .iter()
                        .find(|e| e.id == s.event_id)
                        .unwrap()
                        .clone();
                    (e, s)
                })
                .collect();
            assert_eq!(page.regional, expected, "regional, filter {i}");
            seen_regional += expected.len();
            // Every place a listed session names, as stored.
            let mut wanted: Vec<i64> = page
                .sessions
                .iter()
                .chain(&page.regional)
                .filter_map(|(_, s)| s.place_id)
                .collect();
            wanted.sort_unstable();
            wanted.dedup();
            let expected: Vec<_> = wanted
                .iter()
                .map(|id| all_places.iter().find(|p| p.id == *id).unwrap().clone())
                .collect();
            let mut got = page.places.clone();
            got.sort_by_key(|p| p.id);
            assert_eq!(got, expected, "places, filter {i}");
            let meetings = participation::upcoming_public_meetings(db, t.id, f.from)
                .await
                .unwrap();
            assert_eq!(page.meetings, meetings);
            seen_meetings += meetings.len();
        }
    }
    assert!(seen_local > 0 && seen_regional > 0 && seen_meetings > 0);
    // The theme list follows the events: a new event's themes join it (once,
    // trimmed), and a theme goes when the only event with it is edited.
    let actor = maillage::storage::audit::Actor::system("test");
    let input = |themes: &str| agenda::EventInput {
        title: "Atelier sommeil".into(),
        kind: "workshop".into(),
        status: "confirmed".into(),
        organiser: "CCAS".into(),
        themes: themes.into(),
        description: String::new(),
        linked_actions: String::new(),
        programme_to_come: false,
        action_id: None,
    };
    let themes_now = || async {
        let page = public_pages::agenda_page(db, "lens-lievin", &base, 3, false)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(page.themes, agenda::event_themes(db, t.id).await.unwrap());
        page.themes
    };
    let e = agenda::create_event(db, &actor, t.id, &input("  Sommeil \n\nSommeil"))
        .await
        .unwrap();
    let e2 = agenda::create_event(db, &actor, t.id, &input("Sommeil"))
        .await
        .unwrap();
    let with = themes_now().await;
    assert_eq!(with.iter().filter(|th| *th == "Sommeil").count(), 1);
    assert_eq!(with.len(), themes.len() + 1);
    agenda::update_event(
        db,
        &actor,
        t.id,
        e.id,
        e.version,
        &input("Veille sanitaire"),
    )
    .await
    .unwrap();
    assert!(themes_now().await.contains(&"Sommeil".to_owned()));
    agenda::update_event(db, &actor, t.id, e2.id, e2.version, &input(""))
        .await
        .unwrap();
    let after = themes_now().await;
    assert!(!after.contains(&"Sommeil".to_owned()));
    assert!(after.contains(&"Veille sanitaire".to_owned()));
    assert!(
        public_pages::agenda_page(db, "nulle-part", &base, 10, false)
            .await
            .unwrap()
            .is_none()
    );
    tdb.cleanup().await;
}
both!(agenda_reads_what_the_storage_functions_read);

/// The drop-ins' page's one statement reads what the storage functions
/// the page used read: the territory, its communes, the schedule's stamp,
/// the actions (`action_choices`) and the bookable series
/// (`enabled_slot_configs`) when asked for.
async fn permanences_read_what_the_storage_functions_read(backend: Backend) {
    use maillage::storage::{agenda, public_pages, territories};
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    maillage::demo::load(db).await.expect("demo");
    let t = territories::get_by_slug(db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    for by_place in [false, true] {
        let page = public_pages::permanences_page(db, "lens-lievin", by_place)
            .await
            .unwrap()
            .expect("the page");
        assert_eq!(page.territory, t);
        assert_eq!(
            page.communes,
            territories::communes(db, t.id).await.unwrap()
        );
        assert_eq!(
            page.schedule_stamp,
            agenda::schedule_stamp(db, t.id).await.unwrap()
        );
        if by_place {
            let actions = agenda::action_choices(db, t.id).await.unwrap();
            assert!(!actions.is_empty());
            assert_eq!(page.actions, actions);
            let bookable: Vec<i64> = agenda::enabled_slot_configs(db, t.id)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.series_id)
                .collect();
            assert!(!bookable.is_empty(), "the demo books appointments");
            assert_eq!(page.bookable, bookable);
        } else {
            assert!(page.actions.is_empty() && page.bookable.is_empty());
        }
    }
    assert!(public_pages::permanences_page(db, "nulle-part", true)
        .await
        .unwrap()
        .is_none());
    tdb.cleanup().await;
}
both!(permanences_read_what_the_storage_functions_read);

const FIRST_FINESS: &str = "SELECT MIN(e.finess) FROM establishments e \
     JOIN territory_communes tc ON tc.insee_code = e.insee_code WHERE tc.territory_id = $1";

const FIRST_RPPS: &str = "SELECT MIN(pl.rpps) FROM practice_places pl \
     JOIN territory_communes tc ON tc.insee_code = pl.insee_code WHERE tc.territory_id = $1";

/// The directory page's one statement reads what the storage functions
/// the page used read (`territories::communes`, `directory::commune_points`
/// and `commune_point`, `facets`, `facet_label`, `services::list` and
/// `marks`, `latest_import`); an entry's page what `get_establishment`,
/// `get_professional`, `services::get` and the marks give.
async fn directory_pages_read_what_the_storage_functions_read(backend: Backend) {
    use maillage::storage::public_pages::{self, Entry, EntryKey};
    use maillage::storage::{audit::Actor, directory, services, territories};
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    maillage::demo::load(db).await.expect("demo");
    let t = territories::get_by_slug(db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let communes = territories::communes(db, t.id).await.unwrap();
    let codes: Vec<String> = communes.iter().map(|c| c.insee_code.clone()).collect();
    let first_finess: String = match db {
        maillage::storage::Db::Sqlite(pool) => {
            sqlx::query_scalar(FIRST_FINESS)
                .bind(t.id)
                .fetch_one(pool)
                .await
        }
        maillage::storage::Db::Postgres(pool) => {
            sqlx::query_scalar(FIRST_FINESS)
                .bind(t.id)
                .fetch_one(pool)
                .await
        }
    }
    .expect("an establishment of the territory");
    let establishment = directory::get_establishment(db, &first_finess)
        .await
        .unwrap()
        .unwrap();
    let mark = services::Mark {
        entry_kind: "establishment".into(),
        entry_id: establishment.finess.clone(),
        msp: true,
        accessibility: "Plain-pied".into(),
        ..services::Mark::default()
    };
    services::set_mark(db, &Actor::system("test"), t.id, &mark)
        .await
        .unwrap();
    let page = public_pages::directory_page(db, "lens-lievin", &codes[1], "10", "620")
        .await
        .unwrap()
        .expect("the page");
    assert_eq!(page.territory, t);
    assert_eq!(page.communes, communes);
    let key = |p: &directory::Point| (p.longitude.to_bits(), p.latitude.to_bits());
    let mut points: Vec<_> = page.points.iter().map(key).collect();
    let mut expected: Vec<_> = directory::commune_points(db, &codes)
        .await
        .unwrap()
        .iter()
        .map(key)
        .collect();
    points.sort();
    expected.sort();
    assert!(!points.is_empty());
    assert_eq!(points, expected);
    assert_eq!(
        page.chosen_point,
        directory::commune_point(db, &codes[1]).await.unwrap()
    );
    assert!(page.chosen_point.is_some());
    assert_eq!(page.facets, directory::facets(db, &codes).await.unwrap());
    assert!(!page.facets.professions.is_empty() && !page.facets.categories.is_empty());
    assert_eq!(
        page.profession_label,
        directory::facet_label(db, true, "10").await.unwrap()
    );
    assert_eq!(
        page.category_label,
        directory::facet_label(db, false, "620").await.unwrap()
    );
    assert!(page.profession_label.is_some());
    let services_list = services::list(db, t.id).await.unwrap();
    assert!(!services_list.is_empty(), "the demo has a local service");
    assert_eq!(page.services, services_list);
    assert_eq!(page.marks, services::marks(db, t.id).await.unwrap());
    assert_eq!(page.marks, vec![mark.clone()]);
    let import = |source: &'static str| async move {
        directory::latest_import(db, source)
            .await
            .unwrap()
            .map(|r| (r.file_date, r.finished_at))
    };
    assert_eq!(page.finess_import, import("finess").await);
    assert_eq!(page.rpps_import, import("rpps").await);
    assert!(page.finess_import.is_some() && page.rpps_import.is_some());
    // Nothing asked: no chosen point, no labels.
    let plain = public_pages::directory_page(db, "lens-lievin", "", "", "")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(plain.chosen_point, None);
    assert_eq!(plain.profession_label, None);
    assert!(public_pages::directory_page(db, "nulle-part", "", "", "")
        .await
        .unwrap()
        .is_none());

    // The entries.
    let entry = |key| async move {
        public_pages::entry_page(db, "lens-lievin", key)
            .await
            .unwrap()
            .expect("the territory")
    };
    let e = entry(EntryKey::Establishment(&establishment.finess)).await;
    assert_eq!(e.territory, t);
    assert_eq!(e.mark, Some(mark));
    assert_eq!(e.finess_import, import("finess").await);
    assert_eq!(e.rpps_import, import("rpps").await);
    match e.entry {
        Some(Entry::Establishment(row)) => assert_eq!(row, establishment),
        other => panic!("{other:?}"),
    }
    let first_rpps: String = match db {
        maillage::storage::Db::Sqlite(pool) => {
            sqlx::query_scalar(FIRST_RPPS)
                .bind(t.id)
                .fetch_one(pool)
                .await
        }
        maillage::storage::Db::Postgres(pool) => {
            sqlx::query_scalar(FIRST_RPPS)
                .bind(t.id)
                .fetch_one(pool)
                .await
        }
    }
    .expect("a professional of the territory");
    let rpps = &first_rpps;
    let p = entry(EntryKey::Professional(rpps)).await;
    assert_eq!(p.mark, None);
    let (row, places) = directory::get_professional(db, rpps)
        .await
        .unwrap()
        .unwrap();
    match p.entry {
        Some(Entry::Professional(r, pl)) => {
            assert_eq!(r, row);
            assert_eq!(pl, places);
            assert!(!pl.is_empty());
        }
        other => panic!("{other:?}"),
    }
    let sv = &services_list[0];
    match entry(EntryKey::Service(sv.id)).await.entry {
        Some(Entry::Service(row)) => {
            assert_eq!(row, services::get(db, t.id, sv.id).await.unwrap().unwrap())
        }
        other => panic!("{other:?}"),
    }
    // Unknown entries; another territory's service; an unknown territory.
    assert!(entry(EntryKey::Establishment("000000000"))
        .await
        .entry
        .is_none());
    assert!(entry(EntryKey::Professional("0")).await.entry.is_none());
    assert!(entry(EntryKey::Service(sv.id + 1000)).await.entry.is_none());
    let other = territories::create(
        db,
        &Actor::system("test"),
        &maillage::domain::territory::NewTerritory {
            slug: maillage::domain::codes::Slug::parse("ailleurs").unwrap(),
            name: "Ailleurs".into(),
            kind: maillage::domain::territory::TerritoryKind::Epci,
        },
    )
    .await
    .unwrap();
    assert!(
        public_pages::entry_page(db, &other.slug, EntryKey::Service(sv.id))
            .await
            .unwrap()
            .expect("the other territory")
            .entry
            .is_none()
    );
    assert!(
        public_pages::entry_page(db, "nulle-part", EntryKey::Service(sv.id))
            .await
            .unwrap()
            .is_none()
    );
    tdb.cleanup().await;
}
both!(directory_pages_read_what_the_storage_functions_read);

/// An idea as the public pages read it: no contact, no moderation reason.
fn without_personal_data(
    mut i: maillage::storage::participation::Idea,
) -> maillage::storage::participation::Idea {
    i.contact_name.clear();
    i.contact_email.clear();
    i.reason.clear();
    i
}

/// The « Participer » page's one statement reads what the storage
/// functions it replaces read (`territories::communes`,
/// `participation::list_consultations`, `list_bodies`,
/// `upcoming_public_meetings`, the first published ideas of `list_ideas`
/// without their personal data).
async fn participer_page_reads_what_the_storage_functions_read(backend: Backend) {
    use maillage::storage::{participation, public_pages, territories};
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    maillage::demo::load(db).await.expect("demo");
    let t = territories::get_by_slug(db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let now = chrono::Utc::now();
    let today = participation::today();
    let page = public_pages::participer_page(db, "lens-lievin", now, &today)
        .await
        .unwrap()
        .expect("the page");
    assert_eq!(page.territory, t);
    assert_eq!(
        page.communes,
        territories::communes(db, t.id).await.unwrap()
    );
    let consultations = participation::list_consultations(db, t.id).await.unwrap();
    assert!(!consultations.is_empty(), "the demo has consultations");
    assert_eq!(page.consultations, consultations);
    let bodies = participation::list_bodies(db, t.id).await.unwrap();
    assert!(
        bodies.iter().any(|b| b.member_count > 0),
        "the demo has members"
    );
    assert_eq!(page.bodies, bodies);
    let meetings = participation::upcoming_public_meetings(db, t.id, now)
        .await
        .unwrap();
    assert!(!meetings.is_empty(), "the demo has public meetings to come");
    assert_eq!(page.meetings, meetings);
    let ideas: Vec<_> = participation::list_ideas(db, t.id, true)
        .await
        .unwrap()
        .into_iter()
        .take(public_pages::PARTICIPER_IDEAS as usize)
        .map(without_personal_data)
        .collect();
    assert!(!ideas.is_empty(), "the demo has published ideas");
    assert_eq!(page.ideas, ideas);
    assert!(page
        .ideas
        .iter()
        .all(|i| i.contact_name.is_empty() && i.contact_email.is_empty()));
    assert!(public_pages::participer_page(db, "nulle-part", now, &today)
        .await
        .unwrap()
        .is_none());
    // The idea box's page: every published idea.
    let box_page = public_pages::ideas_page(db, "lens-lievin")
        .await
        .unwrap()
        .expect("the idea box");
    assert_eq!(box_page.territory, t);
    assert_eq!(box_page.communes, page.communes);
    let published: Vec<_> = participation::list_ideas(db, t.id, true)
        .await
        .unwrap()
        .into_iter()
        .map(without_personal_data)
        .collect();
    assert_eq!(box_page.ideas, published);
    assert!(public_pages::ideas_page(db, "nulle-part")
        .await
        .unwrap()
        .is_none());
    tdb.cleanup().await;
}
both!(participer_page_reads_what_the_storage_functions_read);

/// The diagnosis page's one statement reads what
/// `storage::diagnosis::stored` reads part by part (to the last bit of every
/// REAL: a score that fifteen digits would not give back is there), the
/// findings, their actions and the attached questionnaires, and the version
/// of the outlines; with the outlines the diagnosis is the one `load`
/// computes.
async fn diagnosis_page_reads_what_the_storage_functions_read(backend: Backend) {
    use maillage::storage::{diagnosis, participation, public_pages, territories};
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    maillage::demo::load(db).await.expect("demo");
    let t = territories::get_by_slug(db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let page = public_pages::diagnosis_page(db, "lens-lievin")
        .await
        .unwrap()
        .expect("the page");
    assert_eq!(page.territory, t);
    let stored = diagnosis::stored(db, t.id).await.unwrap();
    let s = &page.stored;
    assert!(
        !s.inputs.is_empty() && !s.qpvs.is_empty(),
        "the demo's communes"
    );
    assert!(!s.supply_areas.is_empty() && !s.population_areas.is_empty());
    assert!(!s.medians.is_empty() && s.run.is_some());
    assert!(
        s.access
            .iter()
            .filter_map(|a| a.score)
            .any(|v| format!("{v:.14e}").parse::<f64>().unwrap() != v),
        "a score that fifteen significant digits do not give back"
    );
    assert_eq!(page.stored.communes, stored.communes);
    assert_eq!(page.stored.inputs, stored.inputs);
    assert_eq!(page.stored.access.len(), stored.access.len());
    for (a, b) in page.stored.access.iter().zip(&stored.access) {
        assert_eq!(a, b, "a score");
    }
    assert_eq!(page.stored.supply_areas, stored.supply_areas);
    assert_eq!(page.stored, stored);
    // The totals per area were kept by the demo's computation of the
    // scores: those of the supply and communes stored.
    let live_supply = "SELECT s.profession, c.departement, c.region, SUM(s.supply) FROM commune_supply s \
        JOIN communes c ON c.insee_code = s.insee_code GROUP BY s.profession, c.departement, c.region \
        ORDER BY 1, 2, 3";
    let live_population =
        "SELECT departement, region, CAST(COALESCE(SUM(population), 0) AS BIGINT) \
        FROM communes WHERE kind = 'commune-actuelle' GROUP BY departement, region ORDER BY 1, 2";
    type AreaSupply = Vec<(String, Option<String>, Option<String>, f64)>;
    type AreaPopulation = Vec<(Option<String>, Option<String>, i64)>;
    let (supply, population): (AreaSupply, AreaPopulation) = match db {
        Db::Sqlite(p) => (
            sqlx::query_as(live_supply).fetch_all(p).await.unwrap(),
            sqlx::query_as(live_population).fetch_all(p).await.unwrap(),
        ),
        Db::Postgres(p) => (
            sqlx::query_as(live_supply).fetch_all(p).await.unwrap(),
            sqlx::query_as(live_population).fetch_all(p).await.unwrap(),
        ),
    };
    assert!(supply.len() > 1 && population.len() > 1);
    assert_eq!(stored.supply_areas, supply);
    assert_eq!(stored.population_areas, population);
    // The outlines' version: the demo's geo import.
    let version = diagnosis::geo_version(db).await.unwrap();
    assert!(version.is_some(), "the demo imports outlines");
    assert_eq!(page.geo_version, version);
    let findings = diagnosis::findings(db, t.id).await.unwrap();
    assert!(!findings.is_empty(), "the demo has findings");
    assert_eq!(page.findings, findings);
    let links = diagnosis::finding_actions(db, t.id).await.unwrap();
    assert!(!links.is_empty(), "linked to fiches action");
    assert_eq!(page.links, links);
    let attached = diagnosis::consultations(db, t.id).await.unwrap();
    let consultations: Vec<_> = participation::list_consultations(db, t.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| attached.contains(&c.id))
        .collect();
    assert!(!consultations.is_empty(), "a questionnaire attached");
    assert_eq!(page.consultations, consultations);
    // The diagnosis computed from either is the same, with its maps.
    let codes: Vec<String> = page
        .stored
        .communes
        .iter()
        .map(|c| c.insee_code.clone())
        .collect();
    let read = diagnosis::map_outlines(db, &codes, diagnosis::map_box(&page.stored.inputs))
        .await
        .unwrap();
    assert!(!read.own.is_empty(), "the demo draws its communes");
    assert!(read.around.len() > read.own.len(), "and their neighbours");
    let outlines = maillage::diagnosis::Outlines::parse(read, &codes);
    let from_page = maillage::diagnosis::assemble(page.stored, Some(&outlines));
    let loaded = maillage::diagnosis::load(db, t.id, true).await.unwrap();
    assert!(loaded.has_maps() && !loaded.context.is_empty());
    assert_eq!(format!("{from_page:?}"), format!("{loaded:?}"));
    assert!(public_pages::diagnosis_page(db, "nulle-part")
        .await
        .unwrap()
        .is_none());
    tdb.cleanup().await;
}
both!(diagnosis_page_reads_what_the_storage_functions_read);

/// `/region/`'s one statement reads what the roll-up's storage functions
/// (`storage::region::stored`, eight statements) and the maps' key
/// (`storage::region::map_key`, three) read.
async fn region_page_reads_what_the_storage_functions_read(backend: Backend) {
    use maillage::storage::{public_pages, region};
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    maillage::demo::load(db).await.expect("demo");
    // The demo's actions have no steps: one done, one overdue, one undated.
    let steps = "INSERT INTO action_steps (action_id, position, due_on, label, done) \
        SELECT MIN(id), 1, '2020-01-01', 'Fait', TRUE FROM actions UNION ALL \
        SELECT MIN(id), 2, '2020-02-01', 'En retard', FALSE FROM actions UNION ALL \
        SELECT MAX(id), 1, NULL, 'Sans date', FALSE FROM actions";
    match db {
        Db::Sqlite(pool) => sqlx::query(steps).execute(pool).await.map(|_| ()),
        Db::Postgres(pool) => sqlx::query(steps).execute(pool).await.map(|_| ()),
    }
    .expect("steps");
    let today = chrono::Utc::now().date_naive();
    let (from, to) = maillage::region::year_bounds(today);
    let page = public_pages::region_page(db, from, to, today)
        .await
        .unwrap();
    let stored = region::stored(db, from, to, today).await.unwrap();
    let s = &page.stored;
    assert!(!s.territories.is_empty(), "the demo territory");
    assert!(!s.departements.is_empty() && !s.contracts.is_empty());
    assert!(!s.actions.is_empty() && !s.budget.is_empty());
    assert!(
        s.actions.iter().any(|a| a.late > 0),
        "the overdue step counted"
    );
    assert!(!s.events.is_empty(), "the demo has events this year");
    assert!(!s.series.is_empty() && !s.exceptions.is_empty());
    assert_eq!(page.stored.contracts, stored.contracts);
    assert_eq!(page.stored.actions, stored.actions);
    assert_eq!(page.stored.series, stored.series);
    assert_eq!(page.stored, stored);
    // The overdue step makes its action late.
    let rollup = maillage::region::rollup(page.stored, today);
    assert!(rollup.rows.iter().any(|r| r.late > 0));
    let key = region::map_key(db).await.unwrap();
    assert!(!key.memberships.is_empty() && key.outlines > 0 && key.computed_at.is_some());
    assert_eq!(page.map_key, key);
    tdb.cleanup().await;
}
both!(region_page_reads_what_the_storage_functions_read);
