-- Changes a lead partner proposes to what the coordination decides (issue
-- 10, item 4): a budget line added or removed, an indicator's baseline or
-- target, the lead organisation or person. The coordinator accepts (the
-- change is applied in the same transaction) or refuses with a reason; the
-- partner sees the outcome on the fiche. `payload` is the proposed change as
-- JSON text (the form as typed), read again when accepted.
CREATE TABLE change_proposals (
    id           INTEGER PRIMARY KEY,
    territory_id INTEGER NOT NULL REFERENCES territories (id) ON DELETE CASCADE,
    action_id    INTEGER NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    author_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    author       TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('budget_add', 'budget_delete', 'indicator', 'lead')),
    summary      TEXT NOT NULL,
    payload      TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'refused')),
    reason       TEXT NOT NULL DEFAULT '',
    decided_by   TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    decided_at   TEXT,
    version      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX change_proposals_action ON change_proposals (action_id, status);
CREATE INDEX change_proposals_territory ON change_proposals (territory_id, status);
