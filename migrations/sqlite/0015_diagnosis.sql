-- The territory's health diagnosis (issue 11): accessibility scores computed
-- for every commune of the instance after each import, the instance's
-- distance-decay bands per profession, and what the coordination writes
-- (findings per chapter linked to fiches action, thresholds, questionnaires
-- attached as the participatory part). SQLite dialect.

-- E2SFCA score of each commune per profession, recomputed by
-- `diagnosis::refresh` after each import (RPPS, FINESS, geo, population,
-- travel times) and when the bands change. `score` is A_i × 10 000, NULL
-- with the reason when the commune has no point or no population.
CREATE TABLE commune_access (
    insee_code   TEXT NOT NULL,
    profession   TEXT NOT NULL,
    supply       REAL NOT NULL,
    population   REAL,
    score        REAL,
    no_score     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (profession, insee_code)
);

-- When and how the scores were last computed (one row).
CREATE TABLE access_runs (
    id            INTEGER PRIMARY KEY,
    computed_at   TEXT NOT NULL,
    standardised  BOOLEAN NOT NULL,
    minutes_per_km REAL NOT NULL,
    communes      INTEGER NOT NULL,
    scored        INTEGER NOT NULL
);

-- The national median of each profession's score at the last computation:
-- the default threshold under which a commune is flagged.
CREATE TABLE access_medians (
    profession TEXT PRIMARY KEY,
    median     REAL
);

-- Distance-decay bands per profession (`10:1;20:0.68;30:0.22`); a
-- profession without a row uses the default bands.
CREATE TABLE access_bands (
    profession TEXT PRIMARY KEY,
    bands      TEXT NOT NULL
);

-- Age weights per profession (six numbers: 0-14, 15-29, 30-44, 45-59,
-- 60-74, 75 and over), used when the population by age is imported; a
-- profession without a row uses the defaults (domain::diagnosis::population).
CREATE TABLE access_weights (
    profession TEXT PRIMARY KEY,
    weights    TEXT NOT NULL
);

-- The coordination's threshold per profession (accessibility per 10 000
-- inhabitants below which a commune is flagged); none: the national median.
CREATE TABLE diagnosis_thresholds (
    territory_id INTEGER NOT NULL REFERENCES territories (id) ON DELETE CASCADE,
    profession   TEXT NOT NULL,
    threshold    REAL NOT NULL,
    PRIMARY KEY (territory_id, profession)
);

-- What the coordination found, per chapter of the diagnosis.
CREATE TABLE diagnosis_findings (
    id           INTEGER PRIMARY KEY,
    territory_id INTEGER NOT NULL REFERENCES territories (id) ON DELETE CASCADE,
    chapter      TEXT NOT NULL CHECK (chapter IN ('population', 'offre', 'accessibilite', 'participation')),
    title        TEXT NOT NULL,
    body         TEXT NOT NULL DEFAULT '',
    position     INTEGER NOT NULL,
    version      INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX diagnosis_findings_territory ON diagnosis_findings (territory_id, chapter, position);

-- The fiches action a finding leads to (their « constats du diagnostic »).
CREATE TABLE diagnosis_finding_actions (
    finding_id INTEGER NOT NULL REFERENCES diagnosis_findings (id) ON DELETE CASCADE,
    action_id  INTEGER NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    PRIMARY KEY (finding_id, action_id)
);
CREATE INDEX diagnosis_finding_actions_action ON diagnosis_finding_actions (action_id);

-- Questionnaires whose results form the participatory part.
CREATE TABLE diagnosis_consultations (
    territory_id    INTEGER NOT NULL REFERENCES territories (id) ON DELETE CASCADE,
    consultation_id INTEGER NOT NULL REFERENCES consultations (id) ON DELETE CASCADE,
    PRIMARY KEY (territory_id, consultation_id)
);
