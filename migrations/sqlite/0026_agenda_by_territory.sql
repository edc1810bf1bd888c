-- The public agenda reads a territory's next sessions in time order (issue
-- 14): each session carries its event's territory (an event never changes
-- territory), so that one index range, (territory_id, starts_at), gives the
-- page's first sessions and their count without reading every event of the
-- territory. The agenda's theme list reads the distinct `themes` of a
-- territory's events from an index.
ALTER TABLE event_sessions ADD COLUMN territory_id INTEGER NOT NULL DEFAULT 0;
UPDATE event_sessions SET territory_id = (SELECT e.territory_id FROM events e WHERE e.id = event_sessions.event_id);
CREATE INDEX event_sessions_territory_start ON event_sessions (territory_id, starts_at);
DROP INDEX events_territory;
CREATE INDEX events_territory ON events (territory_id, themes);
