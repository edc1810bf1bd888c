-- The public agenda reads a territory's next sessions in time order (issue
-- 14): each session carries its event's territory (an event never changes
-- territory), so that one index range, (territory_id, starts_at), gives the
-- page's first sessions and their count without reading every event of the
-- territory. (SQLite also indexes events by (territory_id, themes) for the
-- theme list; not here, where a B-tree entry is limited to about 2.7 kB and
-- `themes` has no such limit.)
ALTER TABLE event_sessions ADD COLUMN territory_id BIGINT;
UPDATE event_sessions s SET territory_id = e.territory_id FROM events e WHERE e.id = s.event_id;
ALTER TABLE event_sessions ALTER COLUMN territory_id SET NOT NULL;
CREATE INDEX event_sessions_territory_start ON event_sessions (territory_id, starts_at);
