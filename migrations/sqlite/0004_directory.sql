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
