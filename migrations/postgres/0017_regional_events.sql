-- The professionals' network agenda (issue 13): regional events reuse the
-- agenda's tables. `events.territory_id` is NOT NULL with cascading
-- children; rebuilding `events` on SQLite inside sqlx's migration
-- transaction would run DROP TABLE's implicit DELETE and its ON DELETE
-- CASCADE actions (PRAGMA foreign_keys cannot be turned off inside a
-- transaction, and defer_foreign_keys defers checks, not actions): every
-- session and registration would go. So regional events belong to one
-- hidden owner, a territory row of kind 'region' (id 0, so real territories
-- keep their numbers; slug '_region', which no territory's slug can be),
-- left out of every list of territories.
-- (PostgreSQL could simply drop NOT NULL; both backends keep the same tables.)
INSERT INTO territories (id, slug, name, kind, created_at, updated_at)
VALUES (0, '_region', 'Réseau régional', 'region',
        now(), now());

-- The territories a regional event concerns; a row naming the regional
-- owner (id 0) means « toute la région », territories created later included.
CREATE TABLE event_territories (
    event_id     BIGINT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    territory_id BIGINT NOT NULL REFERENCES territories (id) ON DELETE CASCADE,
    PRIMARY KEY (event_id, territory_id)
);
CREATE INDEX event_territories_territory ON event_territories (territory_id);

-- A session's place typed as free text (a regional day in a hall no
-- territory lists), when it has no place row.
ALTER TABLE event_sessions ADD COLUMN place_text TEXT NOT NULL DEFAULT '';
