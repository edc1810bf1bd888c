-- The diagnosis' headline figures of each territory, kept per year (issue
-- 12): population, people aged 75 and over, communes in a QPV, and per
-- profession the supply, the density and the communes under the threshold.
-- Written after each computation of the scores (`diagnosis::refresh`); the
-- last computation of a year wins. The yearly review compares a year with
-- the previous one. SQLite dialect.
CREATE TABLE diagnosis_figures (
    territory_id INTEGER NOT NULL REFERENCES territories (id) ON DELETE CASCADE,
    year         INTEGER NOT NULL,
    key          TEXT NOT NULL,
    label        TEXT NOT NULL,
    value        REAL NOT NULL,
    decimals     INTEGER NOT NULL,
    position     INTEGER NOT NULL,
    recorded_at  TEXT NOT NULL,
    PRIMARY KEY (territory_id, year, key)
);
