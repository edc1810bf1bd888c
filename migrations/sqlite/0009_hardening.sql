-- Hardening (issue 15). An import job may be forced past the shrink check
-- (a new file much smaller than the directory); territory roles are offered
-- by invitation, accepted by the invited account, instead of being attached
-- to whichever account has the e-mail.

ALTER TABLE import_jobs ADD COLUMN forced BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE invitations (
    id           INTEGER PRIMARY KEY,
    territory_id INTEGER NOT NULL REFERENCES territories (id) ON DELETE CASCADE,
    email        TEXT NOT NULL,
    role         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    invited_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    CONSTRAINT invitations_once UNIQUE (territory_id, email)
);
CREATE INDEX invitations_email ON invitations (email);
