-- The full action plan: the territory's partner directory (organisations and
-- people, with consent), the fiche action's fields (findings, aims, publics,
-- period, lead, progress), its partners, themes, scope, links, timetable,
-- status history and budget lines; indicators with their measurements;
-- attached documents. Calendar dates are TEXT 'YYYY-MM-DD'; amounts are
-- integer cents.

CREATE TABLE organisations (
    id           INTEGER PRIMARY KEY,
    territory_id INTEGER NOT NULL REFERENCES territories (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    siret        TEXT,
    finess       TEXT,
    website      TEXT NOT NULL DEFAULT '',
    version      INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    CONSTRAINT organisations_name_key UNIQUE (territory_id, name)
);

-- A contact person. Contact data (e-mail, phone) is kept only with a consent
-- date; `public_contact` says the person agreed to show it on public pages.
CREATE TABLE people (
    id              INTEGER PRIMARY KEY,
    territory_id    INTEGER NOT NULL REFERENCES territories (id) ON DELETE CASCADE,
    organisation_id INTEGER REFERENCES organisations (id) ON DELETE SET NULL,
    full_name       TEXT NOT NULL,
    job_title       TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    phone           TEXT NOT NULL DEFAULT '',
    consent_on      TEXT,
    public_contact  BOOLEAN NOT NULL DEFAULT FALSE,
    -- The account of this person, if any: a partner account edits the
    -- actions whose lead person it is.
    user_id         INTEGER REFERENCES users (id) ON DELETE SET NULL,
    version         INTEGER NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX people_territory ON people (territory_id, full_name);
CREATE INDEX people_user ON people (user_id);

ALTER TABLE actions ADD COLUMN findings TEXT NOT NULL DEFAULT '';
ALTER TABLE actions ADD COLUMN aims TEXT NOT NULL DEFAULT '';
ALTER TABLE actions ADD COLUMN publics TEXT NOT NULL DEFAULT '';
ALTER TABLE actions ADD COLUMN progress INTEGER NOT NULL DEFAULT 0;
ALTER TABLE actions ADD COLUMN period_start TEXT;
ALTER TABLE actions ADD COLUMN period_end TEXT;
ALTER TABLE actions ADD COLUMN lead_org_id INTEGER REFERENCES organisations (id) ON DELETE SET NULL;
ALTER TABLE actions ADD COLUMN lead_person_id INTEGER REFERENCES people (id) ON DELETE SET NULL;
CREATE INDEX actions_lead_person ON actions (lead_person_id);

CREATE TABLE action_partners (
    action_id       INTEGER NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    PRIMARY KEY (action_id, organisation_id)
);
CREATE INDEX action_partners_org ON action_partners (organisation_id);

-- Determinants of health: a code of the fixed list, or a territory theme's label.
CREATE TABLE action_themes (
    action_id INTEGER NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    theme     TEXT NOT NULL,
    PRIMARY KEY (action_id, theme)
);
CREATE INDEX action_themes_theme ON action_themes (theme);

CREATE TABLE territory_themes (
    id           INTEGER PRIMARY KEY,
    territory_id INTEGER NOT NULL REFERENCES territories (id) ON DELETE CASCADE,
    label        TEXT NOT NULL,
    CONSTRAINT territory_themes_key UNIQUE (territory_id, label)
);

-- Where an action takes place: communes (INSEE code) and QPV (code) of the
-- territory. No row: the whole territory.
CREATE TABLE action_scope (
    action_id INTEGER NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    kind      TEXT NOT NULL,
    code      TEXT NOT NULL,
    PRIMARY KEY (action_id, kind, code)
);
CREATE INDEX action_scope_code ON action_scope (kind, code);

-- Links between actions, stored once (action_id < linked_id).
CREATE TABLE action_links (
    action_id INTEGER NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    linked_id INTEGER NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    PRIMARY KEY (action_id, linked_id)
);
CREATE INDEX action_links_linked ON action_links (linked_id);

CREATE TABLE action_steps (
    id        INTEGER PRIMARY KEY,
    action_id INTEGER NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    due_on    TEXT,
    label     TEXT NOT NULL,
    done      BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX action_steps_action ON action_steps (action_id, position);

CREATE TABLE action_status_history (
    id         INTEGER PRIMARY KEY,
    action_id  INTEGER NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    status     TEXT NOT NULL,
    progress   INTEGER NOT NULL,
    changed_at TEXT NOT NULL,
    changed_by TEXT NOT NULL
);
CREATE INDEX action_status_history_action ON action_status_history (action_id, changed_at);

CREATE TABLE budget_lines (
    id           INTEGER PRIMARY KEY,
    action_id    INTEGER NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    funder_id    INTEGER REFERENCES organisations (id) ON DELETE SET NULL,
    funder       TEXT NOT NULL,
    year         INTEGER NOT NULL,
    amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
    note         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX budget_lines_action ON budget_lines (action_id, year);

-- An indicator of an action, or of the whole contract (action_id NULL).
CREATE TABLE indicators (
    id          INTEGER PRIMARY KEY,
    contract_id INTEGER NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,
    action_id   INTEGER REFERENCES actions (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    label       TEXT NOT NULL,
    unit        TEXT NOT NULL DEFAULT '',
    baseline    REAL,
    target      REAL,
    target_on   TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX indicators_contract ON indicators (contract_id, action_id);

CREATE TABLE measurements (
    id           INTEGER PRIMARY KEY,
    indicator_id INTEGER NOT NULL REFERENCES indicators (id) ON DELETE CASCADE,
    measured_on  TEXT NOT NULL,
    value        REAL NOT NULL,
    source       TEXT NOT NULL DEFAULT '',
    comment      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX measurements_indicator ON measurements (indicator_id, measured_on);

-- Attached documents. The bytes live behind `storage::documents::Store`:
-- on disk (`storage_key` is a file name) or in `content`.
CREATE TABLE documents (
    id           INTEGER PRIMARY KEY,
    territory_id INTEGER NOT NULL REFERENCES territories (id) ON DELETE CASCADE,
    contract_id  INTEGER NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,
    action_id    INTEGER REFERENCES actions (id) ON DELETE CASCADE,
    title        TEXT NOT NULL,
    file_name    TEXT NOT NULL,
    media_type   TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    storage_key  TEXT NOT NULL,
    content      BLOB,
    uploaded_at  TEXT NOT NULL,
    uploaded_by  TEXT NOT NULL,
    -- Shown on the public pages of the contract or the action.
    public       BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX documents_contract ON documents (contract_id, action_id);
