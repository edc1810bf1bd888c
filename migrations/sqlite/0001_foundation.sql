-- Foundation: instance settings, official geography, territories, accounts,
-- sessions, rate limits and the audit trail (SQLite dialect).

CREATE TABLE instance_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE communes (
    insee_code   TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    name_search  TEXT NOT NULL DEFAULT '',
    kind         TEXT NOT NULL,
    departement  TEXT,
    region       TEXT,
    population   INTEGER,
    postal_codes TEXT NOT NULL DEFAULT '',
    parent_code  TEXT
);
CREATE INDEX communes_departement ON communes (departement);

CREATE TABLE epcis (
    siren      TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    name_search TEXT NOT NULL DEFAULT '',
    kind       TEXT NOT NULL,
    population INTEGER
);

CREATE TABLE epci_members (
    epci_siren TEXT NOT NULL REFERENCES epcis (siren) ON DELETE CASCADE,
    insee_code TEXT NOT NULL,
    PRIMARY KEY (epci_siren, insee_code)
);
CREATE INDEX epci_members_commune ON epci_members (insee_code);

CREATE TABLE qpvs (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE qpv_communes (
    qpv_code   TEXT NOT NULL REFERENCES qpvs (code) ON DELETE CASCADE,
    insee_code TEXT NOT NULL,
    PRIMARY KEY (qpv_code, insee_code)
);
CREATE INDEX qpv_communes_commune ON qpv_communes (insee_code);

CREATE TABLE territories (
    id              INTEGER PRIMARY KEY,
    slug            TEXT NOT NULL,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    epci_siren      TEXT,
    presentation    TEXT NOT NULL DEFAULT '',
    contact_name    TEXT NOT NULL DEFAULT '',
    contact_email   TEXT NOT NULL DEFAULT '',
    contact_phone   TEXT NOT NULL DEFAULT '',
    contact_address TEXT NOT NULL DEFAULT '',
    version         INTEGER NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CONSTRAINT territories_slug_key UNIQUE (slug)
);

CREATE TABLE territory_communes (
    territory_id INTEGER NOT NULL REFERENCES territories (id) ON DELETE CASCADE,
    insee_code   TEXT NOT NULL REFERENCES communes (insee_code),
    PRIMARY KEY (territory_id, insee_code)
);

CREATE TABLE users (
    id                  INTEGER PRIMARY KEY,
    email               TEXT NOT NULL,
    display_name        TEXT NOT NULL,
    password_hash       TEXT NOT NULL,
    instance_role       TEXT NOT NULL DEFAULT 'none',
    disabled            BOOLEAN NOT NULL DEFAULT FALSE,
    created_at          TEXT NOT NULL,
    password_changed_at TEXT NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email)
);

CREATE TABLE memberships (
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    territory_id INTEGER NOT NULL REFERENCES territories (id) ON DELETE CASCADE,
    role         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (user_id, territory_id)
);
CREATE INDEX memberships_territory ON memberships (territory_id);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);

CREATE TABLE rate_events (
    bucket   TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    at       TEXT NOT NULL
);
CREATE INDEX rate_events_lookup ON rate_events (bucket, key_hash, at);

CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    user_id      INTEGER REFERENCES users (id) ON DELETE SET NULL,
    actor        TEXT NOT NULL,
    territory_id INTEGER REFERENCES territories (id) ON DELETE CASCADE,
    entity       TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    action       TEXT NOT NULL,
    details      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id, at);
CREATE INDEX audit_log_territory ON audit_log (territory_id, at);
