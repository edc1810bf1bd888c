-- The theme list of a territory's public agenda (issue 14): kept as one row
-- per territory, the distinct `themes` of its events joined by newlines
-- (readers split, trim, sort and dedupe them), written with each event
-- instead of read from every event on each page (a DISTINCT over 5,000
-- events took half the agenda's statement). Events are never deleted (they
-- are cancelled), so a theme leaves the list only when an event is edited,
-- which rewrites the row.
CREATE TABLE territory_event_themes (
    territory_id BIGINT PRIMARY KEY REFERENCES territories (id) ON DELETE CASCADE,
    themes       TEXT NOT NULL
);
INSERT INTO territory_event_themes (territory_id, themes)
SELECT territory_id, string_agg(DISTINCT themes, E'\n')
FROM events WHERE themes <> ''
GROUP BY territory_id;
