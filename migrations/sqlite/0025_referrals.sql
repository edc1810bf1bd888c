-- Referrals to services (issue 16): a mediator or a partner sends a person,
-- with their consent, to a directory entry (`entry_kind` establishment,
-- professional or service, `entry_id` its FINESS, RPPS or local service
-- id; `service_name` as it was then). The service answers through a link
-- whose token is kept hashed (`token_hash`): accepted or refused with a
-- reason (`answer`); unanswered referrals expire at `expires_at`. The
-- person's name and contact are erased with the retention of registrations
-- once the referral is closed; the counts stay.
CREATE TABLE referrals (
    id            INTEGER PRIMARY KEY,
    territory_id  INTEGER NOT NULL REFERENCES territories (id) ON DELETE CASCADE,
    entry_kind    TEXT NOT NULL CHECK (entry_kind IN ('establishment', 'professional', 'service')),
    entry_id      TEXT NOT NULL,
    service_name  TEXT NOT NULL,
    service_email TEXT NOT NULL,
    service_phone TEXT NOT NULL DEFAULT '',
    theme         TEXT NOT NULL,
    note          TEXT NOT NULL DEFAULT '',
    person_name   TEXT,
    person_phone  TEXT,
    person_email  TEXT,
    consent_at    TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'sent'
        CHECK (status IN ('sent', 'accepted', 'refused', 'expired', 'cancelled')),
    answer        TEXT NOT NULL DEFAULT '',
    token_hash    TEXT NOT NULL,
    created_by    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    closed_at     TEXT,
    -- The form's one-time key: a form sent twice makes one referral.
    submission_key TEXT,
    CONSTRAINT referrals_token UNIQUE (token_hash),
    CONSTRAINT referrals_submission UNIQUE (territory_id, submission_key)
);
CREATE INDEX referrals_territory ON referrals (territory_id, created_at);
CREATE INDEX referrals_open ON referrals (status, expires_at);
CREATE INDEX referrals_creator ON referrals (created_by, created_at);

-- A territory's referral settings (defaults when there is no row).
CREATE TABLE referral_settings (
    territory_id  INTEGER PRIMARY KEY REFERENCES territories (id) ON DELETE CASCADE,
    expiry_days   INTEGER NOT NULL CHECK (expiry_days > 0),
    reminder_days INTEGER NOT NULL CHECK (reminder_days > 0),
    updated_at    TEXT NOT NULL
);
