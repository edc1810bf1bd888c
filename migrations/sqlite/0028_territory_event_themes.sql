-- The theme list of a territory's public agenda (issue 14): kept as one row
-- per territory, the distinct `themes` of its events joined by newlines
-- (readers split, trim, sort and dedupe them), written with each event
-- instead of read from every event on each page. Events are never deleted
-- (they are cancelled), so a theme leaves the list only when an event is
-- edited, which rewrites the row. The (territory_id, themes) index of
-- migration 0026 served the old read; it goes back to (territory_id).
CREATE TABLE territory_event_themes (
    territory_id INTEGER PRIMARY KEY REFERENCES territories (id) ON DELETE CASCADE,
    themes       TEXT NOT NULL
);
INSERT INTO territory_event_themes (territory_id, themes)
SELECT territory_id, group_concat(themes, char(10))
FROM (SELECT DISTINCT territory_id, themes FROM events WHERE themes <> '')
GROUP BY territory_id;
DROP INDEX events_territory;
CREATE INDEX events_territory ON events (territory_id);
