-- The regional view (issue 13).
-- Budget lines: what was committed and what was spent beside the planned
-- amount, in euro cents; NULL while nobody has entered it.
ALTER TABLE budget_lines ADD COLUMN committed_cents INTEGER CHECK (committed_cents >= 0);
ALTER TABLE budget_lines ADD COLUMN spent_cents INTEGER CHECK (spent_cents >= 0);

-- The regional catalogue of indicators that territories reuse.
CREATE TABLE shared_indicators (
    id         INTEGER PRIMARY KEY,
    label      TEXT NOT NULL,
    unit       TEXT NOT NULL DEFAULT '',
    kind       TEXT NOT NULL,
    definition TEXT NOT NULL DEFAULT '',
    version    INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- A territory's indicator may follow one of the catalogue.
ALTER TABLE indicators ADD COLUMN shared_indicator_id INTEGER REFERENCES shared_indicators (id) ON DELETE SET NULL;
CREATE INDEX indicators_shared ON indicators (shared_indicator_id);
