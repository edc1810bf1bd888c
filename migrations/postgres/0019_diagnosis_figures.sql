-- The diagnosis' headline figures of each territory, kept per year (issue
-- 12): population, people aged 75 and over, communes in a QPV, and per
-- profession the supply, the density and the communes under the threshold.
-- Written after each computation of the scores (`diagnosis::refresh`); the
-- last computation of a year wins. The yearly review compares a year with
-- the previous one. PostgreSQL dialect.
CREATE TABLE diagnosis_figures (
    territory_id BIGINT NOT NULL REFERENCES territories (id) ON DELETE CASCADE,
    year         BIGINT NOT NULL,
    key          TEXT NOT NULL,
    label        TEXT NOT NULL,
    value        DOUBLE PRECISION NOT NULL,
    decimals     BIGINT NOT NULL,
    position     BIGINT NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (territory_id, year, key)
);
