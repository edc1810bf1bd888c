-- Anonymised activity records of the health mediators (issue 16): one row
-- per person helped at a drop-in, with what was done (`themes`, codes
-- separated by spaces), age band, sex, home commune (INSEE or empty), QPV
-- (oui, non, nd), first visit, referral made. A name and phone only when
-- the person agreed to be called back (`follow_up_*`, erased with the
-- retention of registrations); the rest is never personal.
CREATE TABLE activity_records (
    id              INTEGER PRIMARY KEY,
    territory_id    INTEGER NOT NULL REFERENCES territories (id) ON DELETE CASCADE,
    series_id       INTEGER NOT NULL REFERENCES dropin_series (id) ON DELETE CASCADE,
    held_on         TEXT NOT NULL,
    themes          TEXT NOT NULL,
    age_band        TEXT NOT NULL,
    sex             TEXT NOT NULL,
    home_commune    TEXT NOT NULL DEFAULT '',
    qpv             TEXT NOT NULL,
    first_visit     BOOLEAN NOT NULL,
    referral        BOOLEAN NOT NULL,
    follow_up_name  TEXT,
    follow_up_phone TEXT,
    recorded_by     INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX activity_records_series ON activity_records (series_id, held_on);
CREATE INDEX activity_records_territory ON activity_records (territory_id, held_on);
