-- Directory of the health-care offer: FINESS establishments and the history
-- of open-data imports (SQLite dialect). Dates are ISO text in both dialects.

CREATE TABLE establishments (
    finess         TEXT PRIMARY KEY,
    finess_ej      TEXT NOT NULL DEFAULT '',
    name           TEXT NOT NULL,
    long_name      TEXT NOT NULL DEFAULT '',
    name_search    TEXT NOT NULL DEFAULT '',
    address        TEXT NOT NULL DEFAULT '',
    postal_code    TEXT NOT NULL DEFAULT '',
    city           TEXT NOT NULL DEFAULT '',
    insee_code     TEXT,
    phone          TEXT NOT NULL DEFAULT '',
    category_code  TEXT NOT NULL,
    category_label TEXT NOT NULL DEFAULT '',
    group_code     TEXT NOT NULL DEFAULT '',
    group_label    TEXT NOT NULL DEFAULT '',
    siret          TEXT NOT NULL DEFAULT '',
    opened_on      TEXT,
    updated_on     TEXT,
    longitude      REAL,
    latitude       REAL,
    content_hash   TEXT NOT NULL
);
CREATE INDEX establishments_commune ON establishments (insee_code);
CREATE INDEX establishments_category ON establishments (category_code);

CREATE TABLE directory_imports (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,
    file_date   TEXT NOT NULL DEFAULT '',
    started_at  TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    total       INTEGER NOT NULL,
    added       INTEGER NOT NULL,
    changed     INTEGER NOT NULL,
    removed     INTEGER NOT NULL,
    skipped     INTEGER NOT NULL,
    report      TEXT NOT NULL DEFAULT ''
);

CREATE TABLE professionals (
    rpps             TEXT PRIMARY KEY,
    last_name        TEXT NOT NULL,
    first_name       TEXT NOT NULL DEFAULT '',
    name_search      TEXT NOT NULL DEFAULT '',
    profession_code  TEXT NOT NULL,
    profession_label TEXT NOT NULL DEFAULT '',
    content_hash     TEXT NOT NULL
);
CREATE INDEX professionals_profession ON professionals (profession_code);

CREATE TABLE practice_places (
    rpps            TEXT NOT NULL REFERENCES professionals (rpps) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    specialty_code  TEXT NOT NULL DEFAULT '',
    specialty_label TEXT NOT NULL DEFAULT '',
    mode_code       TEXT NOT NULL DEFAULT '',
    sector_code     TEXT NOT NULL DEFAULT '',
    finess_site     TEXT NOT NULL DEFAULT '',
    siret_site      TEXT NOT NULL DEFAULT '',
    site_name       TEXT NOT NULL DEFAULT '',
    address         TEXT NOT NULL DEFAULT '',
    postal_code     TEXT NOT NULL DEFAULT '',
    insee_code      TEXT,
    city            TEXT NOT NULL DEFAULT '',
    phone           TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (rpps, position)
);
CREATE INDEX practice_places_commune ON practice_places (insee_code);

-- Commune reference points, derived from the geolocated establishments of
-- each commune (mean position) at each FINESS import, until an official
-- source of commune centroids is loaded. Used for "near" searches.
CREATE TABLE commune_points (
    insee_code TEXT PRIMARY KEY,
    longitude  REAL NOT NULL,
    latitude   REAL NOT NULL
);

-- Services a coordinator adds because the registers lack them
-- (associations, social services, mediators' offices…).
CREATE TABLE local_services (
    id            INTEGER PRIMARY KEY,
    territory_id  INTEGER NOT NULL REFERENCES territories (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    name_search   TEXT NOT NULL DEFAULT '',
    kind          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    publics       TEXT NOT NULL DEFAULT '',
    fees          TEXT NOT NULL DEFAULT '',
    opening_hours TEXT NOT NULL DEFAULT '',
    address       TEXT NOT NULL DEFAULT '',
    postal_code   TEXT NOT NULL DEFAULT '',
    insee_code    TEXT,
    city          TEXT NOT NULL DEFAULT '',
    phone         TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL DEFAULT '',
    website       TEXT NOT NULL DEFAULT '',
    area          TEXT NOT NULL DEFAULT '',
    accessibility TEXT NOT NULL DEFAULT '',
    msp           BOOLEAN NOT NULL DEFAULT FALSE,
    cpts          BOOLEAN NOT NULL DEFAULT FALSE,
    version       INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX local_services_territory ON local_services (territory_id);

-- A territory's own marks on any directory entry: MSP/CPTS flags,
-- accessibility notes, hidden from its public directory (with the reason).
CREATE TABLE directory_marks (
    territory_id  INTEGER NOT NULL REFERENCES territories (id) ON DELETE CASCADE,
    entry_kind    TEXT NOT NULL,
    entry_id      TEXT NOT NULL,
    msp           BOOLEAN NOT NULL DEFAULT FALSE,
    cpts          BOOLEAN NOT NULL DEFAULT FALSE,
    hidden        BOOLEAN NOT NULL DEFAULT FALSE,
    hidden_reason TEXT NOT NULL DEFAULT '',
    accessibility TEXT NOT NULL DEFAULT '',
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (territory_id, entry_kind, entry_id)
);

-- Imports started from the back office: a queue claimed through the
-- database (any server process may run a job), with progress.
CREATE TABLE import_jobs (
    id            INTEGER PRIMARY KEY,
    source        TEXT NOT NULL,
    file_name     TEXT NOT NULL,
    file_path     TEXT NOT NULL,
    status        TEXT NOT NULL,
    stage         TEXT NOT NULL DEFAULT '',
    done          INTEGER NOT NULL DEFAULT 0,
    total         INTEGER NOT NULL DEFAULT 0,
    message       TEXT NOT NULL DEFAULT '',
    created_by    TEXT NOT NULL,
    worker        TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    started_at    TEXT,
    finished_at   TEXT
);
CREATE INDEX import_jobs_status ON import_jobs (status, id);
