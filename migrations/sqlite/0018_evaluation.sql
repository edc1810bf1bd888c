-- Evaluation (issue 12): what actually happened feeds the indicators and
-- the yearly review.

-- A drop-in series or an event carries out a fiche action.
ALTER TABLE dropin_series ADD COLUMN action_id INTEGER REFERENCES actions (id) ON DELETE SET NULL;
ALTER TABLE events ADD COLUMN action_id INTEGER REFERENCES actions (id) ON DELETE SET NULL;
CREATE INDEX dropin_series_action ON dropin_series (action_id);
CREATE INDEX events_action ON events (action_id);

-- People received at one held session of a drop-in series, counted by the
-- mediator. `held_on` is the day it took place (after a move); the
-- breakdowns are optional (NULL: not counted).
CREATE TABLE dropin_attendance (
    id            INTEGER PRIMARY KEY,
    series_id     INTEGER NOT NULL REFERENCES dropin_series (id) ON DELETE CASCADE,
    held_on       TEXT NOT NULL,
    insee_code    TEXT NOT NULL,
    received      INTEGER NOT NULL CHECK (received >= 0),
    women         INTEGER CHECK (women >= 0),
    men           INTEGER CHECK (men >= 0),
    age_under_26  INTEGER CHECK (age_under_26 >= 0),
    age_26_59     INTEGER CHECK (age_26_59 >= 0),
    age_60_plus   INTEGER CHECK (age_60_plus >= 0),
    qpv_residents INTEGER CHECK (qpv_residents >= 0),
    first_visits  INTEGER CHECK (first_visits >= 0),
    note          TEXT NOT NULL DEFAULT '',
    version       INTEGER NOT NULL DEFAULT 1,
    recorded_at   TEXT NOT NULL,
    recorded_by   TEXT NOT NULL,
    CONSTRAINT dropin_attendance_key UNIQUE (series_id, held_on)
);
CREATE INDEX dropin_attendance_held ON dropin_attendance (held_on);

-- An indicator is typed (`manual`) or computed by Maillage from its
-- sources (a metric code, see domain::evaluation::Metric) over a period.
ALTER TABLE indicators ADD COLUMN source TEXT NOT NULL DEFAULT 'manual';
ALTER TABLE indicators ADD COLUMN period_start TEXT;
ALTER TABLE indicators ADD COLUMN period_end TEXT;

-- What a computed indicator counts: drop-in series, events, bodies or
-- questionnaires (kind `series`, `event`, `body`, `consultation`). None:
-- those linked to the indicator's action (or, for the contract's own
-- indicators, all of the territory).
CREATE TABLE indicator_sources (
    indicator_id INTEGER NOT NULL REFERENCES indicators (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    ref_id       INTEGER NOT NULL,
    PRIMARY KEY (indicator_id, kind, ref_id)
);

-- The yearly review entry of an action: written by the lead partner,
-- validated (or sent back) by the coordination.
CREATE TABLE action_reviews (
    id               INTEGER PRIMARY KEY,
    action_id        INTEGER NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    year             INTEGER NOT NULL,
    done             TEXT NOT NULL DEFAULT '',
    difficulties     TEXT NOT NULL DEFAULT '',
    next_year        TEXT NOT NULL DEFAULT '',
    year_end_status  TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'draft',
    review_comment   TEXT NOT NULL DEFAULT '',
    written_by       TEXT NOT NULL DEFAULT '',
    submitted_at     TEXT,
    decided_at       TEXT,
    decided_by       TEXT NOT NULL DEFAULT '',
    version          INTEGER NOT NULL DEFAULT 1,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    CONSTRAINT action_reviews_key UNIQUE (action_id, year)
);

-- End-of-contract evaluation: questions grouped by criterion (relevance,
-- coherence, effectiveness, efficiency, impact), each answered in text and
-- linked to indicators.
CREATE TABLE evaluation_questions (
    id          INTEGER PRIMARY KEY,
    contract_id INTEGER NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,
    criterion   TEXT NOT NULL,
    position    INTEGER NOT NULL,
    question    TEXT NOT NULL,
    answer      TEXT NOT NULL DEFAULT '',
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX evaluation_questions_contract ON evaluation_questions (contract_id, criterion, position);

CREATE TABLE evaluation_question_indicators (
    question_id  INTEGER NOT NULL REFERENCES evaluation_questions (id) ON DELETE CASCADE,
    indicator_id INTEGER NOT NULL REFERENCES indicators (id) ON DELETE CASCADE,
    PRIMARY KEY (question_id, indicator_id)
);

-- The stakeholder questionnaire of the evaluation (made from a template).
ALTER TABLE contracts ADD COLUMN evaluation_consultation_id INTEGER REFERENCES consultations (id) ON DELETE SET NULL;
