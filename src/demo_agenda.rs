//! The demo territory's agenda: drop-in series of the health mediators in
//! several communes of the agglomeration (after the planning it publishes,
//! seed page 000: « un lundi sur deux, de 14 h à 16 h », sans rendez-vous),
//! and events (a full workshop with a waiting list, a professionals' day
//! announced as a save-the-date then confirmed, with a morning for the
//! professionals and an afternoon for the inhabitants, after seed page 003)
//! and, on the regional agenda, a save-the-date and a regional day in two
//! sessions for different audiences concerning the territory.
//!
//! Every date is relative to the day the demo is loaded (Europe/Paris), so
//! that the public pages and both feeds have something to show whenever the
//! demo starts.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Europe::Paris;

use crate::domain::agenda::event::NewRegistration;
use crate::domain::agenda::holidays::holiday_name;
use crate::domain::agenda::recurrence::{Exception, Pattern};
use crate::storage::agenda::{self as store, EventInput, NewPlace, SeriesInput, SessionInput};
use crate::storage::audit::Actor;
use crate::storage::Db;

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("valid time")
}

/// A Paris wall-clock date and time as an instant.
fn at(d: NaiveDate, t: NaiveTime) -> DateTime<Utc> {
    d.and_time(t)
        .and_local_timezone(Paris)
        .earliest()
        .map(|x| x.with_timezone(&Utc))
        .unwrap_or_else(|| d.and_time(t).and_utc())
}

/// The first `w` on or after `d`.
fn next_weekday(d: NaiveDate, w: Weekday) -> NaiveDate {
    let ahead =
        (7 + w.num_days_from_monday() as i64 - d.weekday().num_days_from_monday() as i64) % 7;
    d + Duration::days(ahead)
}

/// The first working day (Monday to Friday) that is a public holiday,
/// between `from` and a year later.
fn next_weekday_holiday(from: NaiveDate) -> Option<NaiveDate> {
    (0..366)
        .map(|i| from + Duration::days(i))
        .find(|d| d.weekday().num_days_from_monday() < 5 && holiday_name(*d).is_some())
}

/// Load the demo agenda of a territory.
pub async fn load(db: &Db, territory_id: i64, today: NaiveDate) -> anyhow::Result<()> {
    let actor = Actor::system("maillage demo");
    let place = |name: &'static str,
                 address: &'static str,
                 insee: &'static str,
                 notes: &'static str,
                 phone: &'static str| {
        let actor = actor.clone();
        async move {
            store::create_place(
                db,
                &actor,
                territory_id,
                &NewPlace {
                    name: name.into(),
                    address: address.into(),
                    insee_code: insee.into(),
                    access_notes: notes.into(),
                    phone: phone.into(),
                },
            )
            .await
        }
    };
    let lens = place(
        "Centre social Dumas",
        "Rue Alexandre Dumas",
        "62498",
        "Accessible en fauteuil roulant. Bus ligne 1, arrêt Dumas.",
        "03 21 00 00 41",
    )
    .await?;
    let lievin = place(
        "Maison de quartier Calonne",
        "Rue de la Marne",
        "62510",
        "De plain-pied.",
        "03 21 00 00 42",
    )
    .await?;
    let avion = place("Espace Léo Lagrange", "Place Jean Jaurès", "62065", "", "").await?;
    let sallaumines = place(
        "Centre social Arc-en-ciel",
        "Rue Florent Evrard",
        "62771",
        "",
        "",
    )
    .await?;
    let harnes = place(
        "Mairie annexe",
        "Rue des Fusillés",
        "62413",
        "Entrée par la cour.",
        "",
    )
    .await?;
    let hall = place(
        "Salle des fêtes de Liévin",
        "Place Gambetta",
        "62510",
        "Accessible en fauteuil roulant, parking devant la salle.",
        "",
    )
    .await?;
    let maison_assos = place(
        "Maison des associations",
        "Rue Paul Bert",
        "62498",
        "Salle au premier étage, ascenseur.",
        "",
    )
    .await?;

    // Drop-in series: from four weeks ago (their history) to six months ahead.
    let start = today - Duration::weeks(4);
    let end = today + Duration::days(183);
    let mediators = "Nadia, médiatrice santé\nKevin, médiateur santé";
    let services = "Écoute et conseils\nAide aux démarches : carte Vitale, complémentaire santé solidaire, médecin traitant\nDocumentation et orientation";
    let series = |title: &'static str,
                  place_id: i64,
                  first: NaiveDate,
                  rule: String,
                  from: NaiveTime,
                  to: NaiveTime| {
        let actor = actor.clone();
        async move {
            store::create_series(
                db,
                &actor,
                territory_id,
                &SeriesInput {
                    title: title.into(),
                    mediators: mediators.into(),
                    place_id,
                    first_date: first,
                    end_date: Some(end),
                    start_time: from,
                    end_time: to,
                    rrule: rule,
                    skip_holidays: true,
                    access: "walk_in".into(),
                    services: services.into(),
                    action_id: None,
                },
            )
            .await
        }
    };
    use Weekday::*;
    let lens_s = series(
        "Permanence santé de Lens",
        lens.id,
        next_weekday(start, Mon),
        Pattern::Biweekly(Mon).to_rrule(),
        hm(14, 0),
        hm(16, 0),
    )
    .await?;
    let lievin_s = series(
        "Permanence santé de Liévin",
        lievin.id,
        next_weekday(start, Fri),
        Pattern::Biweekly(Fri).to_rrule(),
        hm(14, 0),
        hm(16, 0),
    )
    .await?;
    series(
        "Permanence santé d’Avion",
        avion.id,
        next_weekday(start, Wed),
        Pattern::Biweekly(Wed).to_rrule(),
        hm(10, 0),
        hm(12, 0),
    )
    .await?;
    series(
        "Permanence santé de Sallaumines",
        sallaumines.id,
        next_weekday(start, Tue),
        Pattern::MonthlyNth(2, Tue).to_rrule(),
        hm(14, 0),
        hm(16, 0),
    )
    .await?;
    // Harnes: every week on the weekday of the next public holiday, so that
    // the series crosses it (the holiday is skipped and said so).
    if let Some(holiday) = next_weekday_holiday(today + Duration::days(7)) {
        let first = (holiday - Duration::weeks(3)).max(start);
        let first = next_weekday(first, holiday.weekday());
        let harnes_end = (holiday + Duration::weeks(4)).max(end);
        store::create_series(
            db,
            &actor,
            territory_id,
            &SeriesInput {
                title: "Permanence santé de Harnes".into(),
                mediators: mediators.into(),
                place_id: harnes.id,
                first_date: first,
                end_date: Some(harnes_end),
                start_time: hm(9, 30),
                end_time: hm(11, 30),
                rrule: Pattern::Weekly(holiday.weekday()).to_rrule(),
                skip_holidays: true,
                access: "walk_in".into(),
                services: services.into(),
                action_id: None,
            },
        )
        .await?;
    }
    // Lens: the second date to come is cancelled; Liévin: the third moves to
    // the morning at the Maison des associations of Lens.
    let upcoming = |s: &store::Series| -> Vec<NaiveDate> {
        s.schedule()
            .map(|sc| sc.dates().into_iter().filter(|d| *d >= today).collect())
            .unwrap_or_default()
    };
    if let Some(d) = upcoming(&lens_s).get(1) {
        store::set_exception(
            db,
            &actor,
            territory_id,
            lens_s.id,
            &Exception::cancelled(*d, "Les médiateurs sont en formation ce jour-là."),
        )
        .await?;
    }
    if let Some(d) = upcoming(&lievin_s).get(2) {
        let e = Exception::moved(
            *d,
            *d,
            hm(10, 0),
            hm(12, 0),
            Some(maison_assos.id),
            "Exceptionnellement le matin, à la Maison des associations de Lens.",
        )
        .map_err(|e| anyhow::anyhow!(e))?;
        store::set_exception(db, &actor, territory_id, lievin_s.id, &e).await?;
    }

    // A workshop, full, with a waiting list.
    let workshop = store::create_event(
        db,
        &actor,
        territory_id,
        &EventInput {
            title: "Atelier « Bien manger avec un petit budget »".into(),
            kind: "workshop".into(),
            status: "confirmed".into(),
            organiser: "Centre social Dumas et médiateurs santé".into(),
            themes: "Nutrition\nPrévention".into(),
            description: "Deux heures pour cuisiner ensemble des recettes simples et bon marché, avec une diététicienne.\n\nGratuit, sur inscription : huit places."
                .into(),
            linked_actions: String::new(),
            programme_to_come: false,
            action_id: None,
        },
    )
    .await?;
    let day = next_weekday(today + Duration::days(9), Thu);
    let s = store::add_session(
        db,
        &actor,
        territory_id,
        workshop.id,
        &SessionInput {
            starts_at: at(day, hm(14, 0)),
            ends_at: at(day, hm(16, 0)),
            place_id: Some(lens.id),
            capacity: Some(8),
            audience: "public".into(),
            audience_roles: String::new(),
        },
    )
    .await?;
    for (name, phone, party) in [
        ("Fatima B.", "06 10 00 00 01", "3"),
        ("Jean-Pierre D.", "06 10 00 00 02", "2"),
        ("Sandrine L.", "06 10 00 00 03", "2"),
        ("Mohamed K.", "06 10 00 00 04", "1"),
        ("Josiane P.", "06 10 00 00 05", "2"),
        ("Kevin M.", "06 10 00 00 06", "1"),
    ] {
        let r = NewRegistration::parse(name, "", phone, party, true)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let (reg, _) = store::register(db, s.id, &r, None, "demo").await?;
        demo_receipt(
            db,
            territory_id,
            &reg,
            "Bien manger avec un petit budget",
            s.starts_at,
        )
        .await?;
    }
    // A second workshop with seats left.
    let first_aid = store::create_event(
        db,
        &actor,
        territory_id,
        &EventInput {
            title: "Initiation aux premiers secours".into(),
            kind: "training".into(),
            status: "confirmed".into(),
            organiser: "Croix-Rouge, unité locale de Lens".into(),
            themes: "Prévention".into(),
            description: "Apprendre les gestes qui sauvent : alerter, masser, utiliser un défibrillateur. Ouvert à tous dès 12 ans.".into(),
            linked_actions: String::new(),
            programme_to_come: false,
            action_id: None,
        },
    )
    .await?;
    let day = next_weekday(today + Duration::days(16), Sat);
    let s = store::add_session(
        db,
        &actor,
        territory_id,
        first_aid.id,
        &SessionInput {
            starts_at: at(day, hm(9, 30)),
            ends_at: at(day, hm(12, 0)),
            place_id: Some(avion.id),
            capacity: Some(12),
            audience: "public".into(),
            audience_roles: String::new(),
        },
    )
    .await?;
    for (name, phone, party) in [
        ("Léa T.", "06 10 00 00 07", "2"),
        ("Yanis R.", "06 10 00 00 08", "1"),
    ] {
        let r = NewRegistration::parse(name, "", phone, party, true)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        store::register(db, s.id, &r, None, "demo").await?;
    }

    // The professionals' day: first a save-the-date, then confirmed with its
    // programme (the history keeps both).
    let mut input = EventInput {
        title: "Journée santé et contrat de ville".into(),
        kind: "professionals_day".into(),
        status: "save_the_date".into(),
        organiser: "Coordination du Contrat Local de Santé".into(),
        themes: "Accès aux soins\nParticipation des habitants".into(),
        description: "Deux temps sur la santé dans les quartiers prioritaires : le matin pour les professionnels, l’après-midi pour les habitants."
            .into(),
        linked_actions: String::new(),
        programme_to_come: true,
        action_id: None,
    };
    let pro = store::create_event(db, &actor, territory_id, &input).await?;
    input.status = "confirmed".into();
    input.programme_to_come = false;
    input.description = "Le matin, une rencontre réservée aux professionnels (coordinateurs ASV, référents du contrat de ville, médiateurs santé, CCAS, CPAM) pour partager le diagnostic et travailler ensemble.\n\nL’après-midi, une rencontre ouverte aux habitants : la participation des habitants aux actions de santé de leur quartier, avec les conseils citoyens."
        .into();
    let pro = store::update_event(db, &actor, territory_id, pro.id, pro.version, &input).await?;
    let day = next_weekday(today + Duration::days(38), Tue);
    let morning = store::add_session(
        db,
        &actor,
        territory_id,
        pro.id,
        &SessionInput {
            starts_at: at(day, hm(9, 0)),
            ends_at: at(day, hm(12, 30)),
            place_id: Some(hall.id),
            capacity: Some(60),
            audience: "professionals".into(),
            audience_roles: String::new(),
        },
    )
    .await?;
    let afternoon = store::add_session(
        db,
        &actor,
        territory_id,
        pro.id,
        &SessionInput {
            starts_at: at(day, hm(14, 0)),
            ends_at: at(day, hm(17, 0)),
            place_id: Some(hall.id),
            capacity: Some(80),
            audience: "public".into(),
            audience_roles: String::new(),
        },
    )
    .await?;
    for (sid, name, email) in [
        (
            morning.id,
            "Service santé de la ville de Liévin",
            "sante@lievin.maillage.test",
        ),
        (morning.id, "CCAS de Lens", "ccas@lens.maillage.test"),
        (
            afternoon.id,
            "Conseil citoyen Calonne",
            "conseil.calonne@maillage.test",
        ),
    ] {
        let r = NewRegistration::parse(name, email, "", "2", true)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        store::register(db, sid, &r, None, "demo").await?;
    }

    // A forum still announced as a save-the-date.
    let forum = store::create_event(
        db,
        &actor,
        territory_id,
        &EventInput {
            title: "Forum santé des jeunes".into(),
            kind: "forum".into(),
            status: "save_the_date".into(),
            organiser: "Communauté d'agglomération de Lens-Liévin".into(),
            themes: "Jeunesse\nSanté mentale".into(),
            description: "Stands, ateliers et échanges pour les 15-25 ans. Le programme sera publié prochainement.".into(),
            linked_actions: String::new(),
            programme_to_come: true,
            action_id: None,
        },
    )
    .await?;
    let day = next_weekday(today + Duration::days(75), Wed);
    store::add_session(
        db,
        &actor,
        territory_id,
        forum.id,
        &SessionInput {
            starts_at: at(day, hm(13, 30)),
            ends_at: at(day, hm(17, 30)),
            place_id: Some(maison_assos.id),
            capacity: None,
            audience: "public".into(),
            audience_roles: String::new(),
        },
    )
    .await?;
    load_regional(db, &actor, territory_id, today).await?;
    Ok(())
}

/// The professionals' network agenda (issue 13, seed page 003): a regional
/// resource centre announces a day on health in the city contracts, first
/// as a save-the-date (date and title only, details to come), and holds a
/// regional day in two sessions for different audiences; both concern the
/// demo territory.
async fn load_regional(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    today: NaiveDate,
) -> anyhow::Result<()> {
    use Weekday::*;
    let concerns = store::Concerns {
        whole_region: false,
        territory_ids: vec![territory_id],
    };
    let save = store::create_regional_event(
        db,
        actor,
        &EventInput {
            title: "Santé et contrat de ville : save-the-date !".into(),
            kind: "professionals_day".into(),
            status: "save_the_date".into(),
            organiser: "Centre de ressources politique de la ville".into(),
            themes: "Politique de la ville".into(),
            description: String::new(),
            linked_actions: String::new(),
            programme_to_come: true,
            action_id: None,
        },
        &store::Concerns {
            whole_region: true,
            territory_ids: Vec::new(),
        },
    )
    .await?;
    let day = next_weekday(today + Duration::days(120), Thu);
    store::add_regional_session(
        db,
        actor,
        save.id,
        &SessionInput {
            starts_at: at(day, hm(9, 0)),
            ends_at: at(day, hm(17, 0)),
            place_id: None,
            capacity: None,
            audience: "professionals".into(),
            audience_roles: String::new(),
        },
        "Lille",
    )
    .await?;
    let regional_day = store::create_regional_event(
        db,
        actor,
        &EventInput {
            title: "Journée régionale des contrats locaux de santé".into(),
            kind: "professionals_day".into(),
            status: "confirmed".into(),
            organiser: "ARS Hauts-de-France et centre de ressources régional".into(),
            themes: "Accès aux soins\nCoordination".into(),
            description: "Le matin, les professionnels de santé du territoire rencontrent les coordinations des contrats locaux de santé : exercice coordonné, accès aux soins, prévention.\n\nL’après-midi, les élus et les coordinateurs travaillent sur le pilotage des contrats et leur renouvellement."
                .into(),
            linked_actions: String::new(),
            programme_to_come: false,
            action_id: None,
        },
        &concerns,
    )
    .await?;
    let day = next_weekday(today + Duration::days(45), Thu);
    for (start, end, roles) in [
        ((9, 0), (12, 30), "Professionnels de santé"),
        (
            (14, 0),
            (17, 0),
            "Élus\nCoordinateurs de contrats locaux de santé",
        ),
    ] {
        store::add_regional_session(
            db,
            actor,
            regional_day.id,
            &SessionInput {
                starts_at: at(day, hm(start.0, start.1)),
                ends_at: at(day, hm(end.0, end.1)),
                place_id: None,
                capacity: Some(120),
                audience: "roles".into(),
                audience_roles: roles.into(),
            },
            "Arras, Maison régionale des sports, 9 rue Jean Bodel",
        )
        .await?;
    }
    Ok(())
}

/// Link the demo's drop-ins and a workshop to the fiche actions of the demo
/// contract (loaded after the agenda), and record the attendance of the
/// drop-in sessions already held, so that the links and the counts show on
/// first start.
/// The receipts page (`/admin/t/…/envois`) is not empty in the demo:
/// each registration of the full workshop got its confirmation by SMS,
/// through the same outbox and with the reports a provider would have sent
/// (one phone was off). The demo sends nothing: no provider is configured,
/// and these messages are already final.
async fn demo_receipt(
    db: &Db,
    territory_id: i64,
    reg: &crate::storage::agenda::Registration,
    title: &str,
    starts_at: DateTime<Utc>,
) -> anyhow::Result<()> {
    use crate::domain::messages::{Channel, Status};
    use crate::storage::messages::{self as outbox, NewMessage, Queued};
    let Some(phone) = reg
        .phone
        .as_deref()
        .and_then(|p| crate::domain::phone::parse(p).ok())
    else {
        return Ok(());
    };
    let local = starts_at.with_timezone(&Paris);
    let body = crate::domain::messages::gsm_friendly(&format!(
        "{} : {title}, {} à {}, Centre social Dumas (Lens).",
        if reg.status == "waiting" {
            "Liste d'attente"
        } else {
            "Inscription confirmée"
        },
        crate::domain::dates::weekday_day_month(local.date_naive()),
        local.format("%H h %M"),
    ));
    let now = Utc::now();
    let queued = outbox::enqueue(
        db,
        &NewMessage {
            territory_id: Some(territory_id),
            channel: Channel::Sms,
            recipient: phone,
            subject: String::new(),
            body,
            purpose: "confirmation".into(),
            dedupe_key: format!("confirmation:sms:registration:{}", reg.id),
            not_before: now,
        },
    )
    .await?;
    let Queued::Yes(id) = queued else {
        return Ok(());
    };
    for m in outbox::claim_due(db, "demo", now, 50).await? {
        let reference = format!("demo-{}", m.id);
        outbox::mark_sent(db, m.id, "demo", Some(&reference), now).await?;
        let (status, detail) = if m.id == id && reg.name.starts_with("Kevin") {
            (
                Status::Failed,
                "non remis : téléphone injoignable (éteint, hors réseau ou mémoire pleine)",
            )
        } else {
            (Status::Delivered, "")
        };
        outbox::record_receipt(db, "demo", &reference, status, detail, now).await?;
    }
    Ok(())
}

pub async fn link_actions(db: &Db, territory_id: i64, today: NaiveDate) -> anyhow::Result<()> {
    use crate::domain::agenda::attendance::{held_occurrence, AttendanceInput};
    let actor = Actor::system("maillage demo");
    let actions = store::action_choices(db, territory_id).await?;
    let find = |prefix: &str| {
        actions
            .iter()
            .find(|a| a.title.starts_with(prefix))
            .map(|a| a.id)
    };
    let (mediation, nutrition) = (find("Médiateurs santé"), find("Ateliers nutrition"));
    let places: std::collections::HashMap<i64, store::Place> = store::list_places(db, territory_id)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let exceptions = store::exceptions(db, territory_id).await?;
    for s in store::list_series(db, territory_id).await? {
        let Ok(schedule) = s.schedule() else {
            continue;
        };
        if mediation.is_some() {
            let input = SeriesInput {
                title: s.title.clone(),
                mediators: s.mediators.clone(),
                place_id: s.place_id,
                first_date: schedule.first_date(),
                end_date: s.end_date.as_deref().and_then(store::parse_date),
                start_time: schedule.start_time,
                end_time: schedule.end_time,
                rrule: s.rrule.clone(),
                skip_holidays: s.skip_holidays,
                access: s.access.clone(),
                services: s.services.clone(),
                action_id: mediation,
            };
            store::update_series(db, &actor, territory_id, s.id, s.version, &input).await?;
        }
        // The sessions held in the last four weeks, counted.
        let exc: Vec<Exception> = exceptions
            .iter()
            .filter(|(sid, _)| *sid == s.id)
            .map(|(_, e)| e.clone())
            .collect();
        for (i, day) in (1..=28).map(|n| today - Duration::days(n)).enumerate() {
            let Ok(o) = held_occurrence(&schedule, &exc, day, today) else {
                continue;
            };
            let Some(place) = places.get(&o.place_id.unwrap_or(s.place_id)) else {
                continue;
            };
            let received = 6 + (day.ordinal() % 7) as i64;
            let counted = i % 2 == 0;
            let women = received / 2 + 1;
            let input = AttendanceInput {
                received,
                women: counted.then_some(women),
                men: counted.then_some(received - women),
                age_under_26: counted.then_some(1),
                age_26_59: counted.then_some(received - 3),
                age_60_plus: counted.then_some(2),
                qpv_residents: Some(received * 2 / 3),
                first_visits: Some(2),
                note: String::new(),
            };
            store::save_attendance(
                db,
                &actor,
                territory_id,
                s.id,
                day,
                &place.insee_code,
                0,
                &input,
            )
            .await?;
        }
    }
    for e in store::list_events(db, territory_id).await? {
        let action_id = if e.title.starts_with("Atelier « Bien manger") {
            nutrition
        } else if e.title.starts_with("Journée santé et contrat de ville") {
            mediation
        } else {
            None
        };
        if action_id.is_none() {
            continue;
        }
        let input = EventInput {
            title: e.title.clone(),
            kind: e.kind.clone(),
            status: e.status.clone(),
            organiser: e.organiser.clone(),
            themes: e.themes.clone(),
            description: e.description.clone(),
            linked_actions: e.linked_actions.clone(),
            programme_to_come: e.programme_to_come,
            action_id,
        };
        store::update_event(db, &actor, territory_id, e.id, e.version, &input).await?;
    }
    Ok(())
}

/// Slots (issue 16) on the Lens drop-in: 20-minute slots, bookable three
/// weeks ahead; the partner account (when created) is its mediator; the two
/// past dates have checked-in bookings and walk-ins, the next date two
/// bookings. Each booking is made as if a few days before its slot.
pub async fn load_slots(
    db: &Db,
    territory_id: i64,
    today: NaiveDate,
    mediator_email: Option<&str>,
) -> anyhow::Result<()> {
    use crate::domain::agenda::recurrence::OccurrenceStatus;
    use crate::domain::agenda::slots::{self as rules, BookingStatus, NewBooking, SlotSettings};
    let actor = Actor::system("démo");
    let Some(lens) = store::list_series(db, territory_id)
        .await?
        .into_iter()
        .find(|s| s.title == "Permanence santé de Lens")
    else {
        return Ok(());
    };
    let settings = SlotSettings {
        slot_minutes: 20,
        per_slot: 1,
        open_days_before: 21,
        close_hours_before: 2,
    };
    store::save_slot_config(db, &actor, territory_id, lens.id, 0, true, &settings).await?;
    if let Some(email) = mediator_email {
        if let Some(u) = crate::storage::users::find_by_email(db, email).await? {
            store::set_series_mediators(db, &actor, territory_id, lens.id, &[u.id]).await?;
        }
    }
    let schedule = lens.schedule().map_err(|e| anyhow::anyhow!(e.0))?;
    let exceptions: Vec<Exception> = store::exceptions(db, territory_id)
        .await?
        .into_iter()
        .filter(|(sid, _)| *sid == lens.id)
        .map(|(_, e)| e)
        .collect();
    let occurrences = crate::domain::agenda::recurrence::expand(
        &schedule,
        &exceptions,
        today - Duration::weeks(5),
        today + Duration::weeks(8),
    );
    let held: Vec<_> = occurrences
        .iter()
        .filter(|o| o.status != OccurrenceStatus::Cancelled)
        .collect();
    let people = [
        ("Mme Fatima B.", "06 11 22 33 44"),
        ("M. Jean-Pierre D.", "07 12 34 56 78"),
        ("Mme Sandrine L.", "03 21 00 00 01"),
    ];
    let past = held.iter().filter(|o| o.date < today);
    for o in past {
        let marks = [
            BookingStatus::Present,
            BookingStatus::Absent,
            BookingStatus::Excused,
        ];
        for ((slot, (name, phone)), mark) in rules::slots(o, &settings)
            .into_iter()
            .zip(people)
            .zip(marks)
        {
            let who =
                NewBooking::parse(name, phone, "", true).map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let booked_at = at(slot.date() - Duration::days(3), hm(10, 0));
            let (b, _) = store::book_slot(
                db,
                territory_id,
                lens.id,
                o.original_date,
                slot.time(),
                &who,
                None,
                None,
                booked_at,
            )
            .await
            .map_err(|e| anyhow::anyhow!(e.to_string()))?;
            store::set_booking_status(db, &actor, territory_id, lens.id, b.id, mark).await?;
        }
        store::set_walk_ins(db, &actor, territory_id, lens.id, o.original_date, 4).await?;
        demo_activity(db, territory_id, lens.id, o.original_date).await?;
    }
    if let Some(next) = held.iter().find(|o| o.date > today) {
        for (slot, (name, phone)) in rules::slots(next, &settings)
            .into_iter()
            .zip(people)
            .take(2)
        {
            let who =
                NewBooking::parse(name, phone, "", true).map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let booked_at = at(slot.date() - Duration::days(2), hm(10, 0));
            store::book_slot(
                db,
                territory_id,
                lens.id,
                next.original_date,
                slot.time(),
                &who,
                None,
                None,
                booked_at,
            )
            .await
            .map_err(|e| anyhow::anyhow!(e.to_string()))?;
        }
    }
    Ok(())
}

/// The anonymised activity records of a past drop-in date: the person
/// seen by appointment and four without, as the mediator noted them.
async fn demo_activity(
    db: &Db,
    territory_id: i64,
    series_id: i64,
    date: NaiveDate,
) -> anyhow::Result<()> {
    use crate::domain::agenda::activity::ActivityInput;
    let communes: Vec<String> = crate::storage::territories::communes(db, territory_id)
        .await?
        .into_iter()
        .map(|c| c.insee_code)
        .collect();
    let home = |i: usize| communes.get(i).cloned().unwrap_or_default();
    // (themes, age band, sex, commune index or none, QPV, first visit, referral)
    let people = [
        (
            "assurance-maladie complementaire",
            "45-64",
            "f",
            Some(0),
            "oui",
            true,
            false,
        ),
        ("medecin-traitant", "75+", "f", Some(1), "non", false, true),
        (
            "depistage prevention",
            "26-44",
            "h",
            Some(0),
            "oui",
            true,
            false,
        ),
        ("demarches", "18-25", "f", None, "nd", true, true),
        ("sante-mentale", "45-64", "h", Some(2), "oui", false, true),
    ];
    for (themes, age, sex, commune, qpv, first, referral) in people {
        let themes: Vec<String> = themes.split(' ').map(str::to_owned).collect();
        let commune = commune.map(home).unwrap_or_default();
        let input = ActivityInput::parse(
            &themes, age, sex, &commune, qpv, first, referral, false, "", "", &communes,
        )
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        crate::storage::activity::add(db, territory_id, series_id, date, &input, None).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        use Weekday::*;
        let d = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(); // a Wednesday
        assert_eq!(next_weekday(d, Wed), d);
        assert_eq!(
            next_weekday(d, Mon),
            NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
        );
        // 25 December 2026 is a Friday.
        assert_eq!(
            next_weekday_holiday(d),
            NaiveDate::from_ymd_opt(2026, 12, 25)
        );
    }
}
