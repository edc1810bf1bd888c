-- Contracts and their action plan: contracts (signatories, milestones),
-- axes, objectives and actions (SQLite dialect). Calendar dates are TEXT
-- 'YYYY-MM-DD' in both dialects; codes (1, 1.1, 1.1.1) are unique within a
-- contract across the three levels.

CREATE TABLE contracts (
    id           INTEGER PRIMARY KEY,
    territory_id INTEGER NOT NULL REFERENCES territories (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    title        TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'in_preparation',
    signed_on    TEXT,
    period_start TEXT,
    period_end   TEXT,
    summary      TEXT NOT NULL DEFAULT '',
    -- One signatory per line.
    signatories  TEXT NOT NULL DEFAULT '',
    version      INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX contracts_territory ON contracts (territory_id);

CREATE TABLE contract_milestones (
    id          INTEGER PRIMARY KEY,
    contract_id INTEGER NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,
    happened_on TEXT NOT NULL,
    label       TEXT NOT NULL
);
CREATE INDEX contract_milestones_contract ON contract_milestones (contract_id, happened_on);

CREATE TABLE axes (
    id          INTEGER PRIMARY KEY,
    contract_id INTEGER NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    code        TEXT NOT NULL,
    title       TEXT NOT NULL,
    CONSTRAINT axes_code_key UNIQUE (contract_id, code)
);

CREATE TABLE objectives (
    id          INTEGER PRIMARY KEY,
    contract_id INTEGER NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,
    axis_id     INTEGER NOT NULL REFERENCES axes (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    code        TEXT NOT NULL,
    title       TEXT NOT NULL,
    CONSTRAINT objectives_code_key UNIQUE (contract_id, code)
);
CREATE INDEX objectives_axis ON objectives (axis_id, position);

CREATE TABLE actions (
    id           INTEGER PRIMARY KEY,
    contract_id  INTEGER NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,
    objective_id INTEGER NOT NULL REFERENCES objectives (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    code         TEXT NOT NULL,
    title        TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT 'planned',
    lead_org     TEXT NOT NULL DEFAULT '',
    version      INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    CONSTRAINT actions_code_key UNIQUE (contract_id, code)
);
CREATE INDEX actions_objective ON actions (objective_id, position);
