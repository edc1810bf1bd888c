//! The demo's referrals to services (issue 16): a local service of the
//! territory (a France services office, with its e-mail), and four
//! referrals sent by the mediator (when the partner account exists) from
//! the directory: one accepted, one refused with its reason, one expired
//! without an answer, one waiting. No notice is queued: these happened
//! before the demo started.

use chrono::{DateTime, Duration, Utc};

use crate::domain::agenda::activity::Theme;
use crate::domain::agenda::slots::NewBooking;
use crate::domain::referrals::{EntryKind, ReferralInput, Status};
use crate::domain::service::ServiceInput;
use crate::storage::audit::Actor;
use crate::storage::referrals::{self as store, NewReferral};
use crate::storage::Db;

pub async fn load(
    db: &Db,
    territory_id: i64,
    now: DateTime<Utc>,
    sender_email: Option<&str>,
) -> anyhow::Result<()> {
    let actor = Actor::system("démo");
    let communes: Vec<String> = crate::storage::territories::communes(db, territory_id)
        .await?
        .into_iter()
        .map(|c| c.insee_code)
        .collect();
    let service = ServiceInput {
        name: "France services de Liévin".into(),
        kind: "social".into(),
        description: "Aide aux démarches administratives : santé (carte Vitale, complémentaire santé solidaire), retraite, famille, impôts.".into(),
        publics: "Tout public, sans condition.".into(),
        fees: "Gratuit.".into(),
        opening_hours: "Mo-Fr 09:00-12:00,13:30-17:00".into(),
        address: "Place Gambetta".into(),
        postal_code: "62800".into(),
        commune: "62510".into(),
        phone: "03 21 44 89 89".into(),
        email: "france-services@lievin.maillage.test".into(),
        ..Default::default()
    }
    .parse(&communes)
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let service_id = crate::storage::services::create(db, &actor, territory_id, &service).await?;
    let Some(email) = sender_email else {
        return Ok(());
    };
    let Some(sender) = crate::storage::users::find_by_email(db, email).await? else {
        return Ok(());
    };
    let targets = [
        (
            EntryKind::Establishment,
            "620000078",
            "contact@centre-sante-filieris.maillage.test",
        ),
        (
            EntryKind::Establishment,
            "620000052",
            "secretariat@cmp-lens.maillage.test",
        ),
        (
            EntryKind::Professional,
            "810100000001",
            "cabinet.claire@medecins.maillage.test",
        ),
        (
            EntryKind::Service,
            &service_id.to_string(),
            "france-services@lievin.maillage.test",
        ),
    ];
    // (target, person, phone, theme, note, days ago, outcome, answer)
    let referrals = [
        (0, "Mme Fatima B.", "06 11 22 33 44", Theme::FindGp, "Disponible le matin.", 24, Status::Accepted, "Rendez-vous proposé avec le médecin de garde mardi à 9 h ; nous l’appelons pour confirmer."),
        (1, "M. Jean-Pierre D.", "07 12 34 56 78", Theme::MentalHealth, "", 20, Status::Refused, "Trois mois d’attente pour un premier rendez-vous : la permanence d’accueil du CMP, le jeudi après-midi sans rendez-vous, peut le recevoir plus tôt."),
        (2, "Mme Sandrine L.", "03 21 00 00 01", Theme::FindGp, "", 40, Status::Expired, ""),
        (3, "M. Karim T.", "06 98 76 54 32", Theme::Complementary, "Dossier de complémentaire santé solidaire à constituer.", 2, Status::Sent, ""),
    ];
    let (expiry_days, _) = store::settings(db, territory_id).await?;
    for (n, (target, name, phone, theme, note, days, outcome, answer)) in
        referrals.into_iter().enumerate()
    {
        let (kind, id, service_email) = targets[target];
        let Some(mut t) = store::target(db, territory_id, kind, id).await? else {
            continue;
        };
        if t.email.is_empty() {
            t.email = service_email.into();
        }
        let person =
            NewBooking::parse(name, phone, "", true).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let input = ReferralInput {
            person,
            theme,
            note: note.into(),
            service_email: service_email.into(),
        };
        let sent = now - Duration::days(days);
        let expires_at = sent + Duration::days(expiry_days);
        let created = store::create(
            db,
            &NewReferral {
                territory_id,
                target: &t,
                input: &input,
                created_by: Some(sender.id),
                token_hash: crate::tokens::token_hash(&crate::tokens::random_token()),
                submission_key: Some(format!("demo-{n}")),
                now: sent,
                expires_at,
            },
            |_| Vec::new(),
        )
        .await?;
        let store::Created::New(rid) = created else {
            continue;
        };
        let closed_at = match outcome {
            Status::Sent => continue,
            Status::Expired => expires_at,
            _ => sent + Duration::days(3),
        };
        let _ = store::close(db, rid, outcome, answer, closed_at, &[]).await?;
    }
    Ok(())
}
