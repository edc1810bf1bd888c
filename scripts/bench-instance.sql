-- The rest of a national instance around the demo territory, for
-- `INSTANCE=1 bash scripts/bench-home.sh`: another territory's contract
-- with 50,000 fiches action, 200,000 indicators and 50,000 ideas (the
-- tables of a few hundred territories), and the 1,600 QPV of France. The
-- demo's own pages show none of it: what a page costs with these rows
-- beside it is what it costs in a national instance. Runs in sqlite3 and
-- psql alike.
INSERT INTO territories (slug, name, kind, created_at, updated_at)
VALUES ('bench-ailleurs', 'Ailleurs', 'epci', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00');
INSERT INTO contracts (territory_id, kind, title, created_at, updated_at)
SELECT id, 'cls', 'Contrat ailleurs', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00'
FROM territories WHERE slug = 'bench-ailleurs';
INSERT INTO axes (contract_id, position, code, title)
SELECT c.id, 1, '1', 'Axe' FROM contracts c JOIN territories t ON t.id = c.territory_id
WHERE t.slug = 'bench-ailleurs';
INSERT INTO objectives (contract_id, axis_id, position, code, title)
SELECT a.contract_id, a.id, 1, '1.1', 'Objectif' FROM axes a JOIN contracts c ON c.id = a.contract_id
JOIN territories t ON t.id = c.territory_id WHERE t.slug = 'bench-ailleurs';
INSERT INTO actions (contract_id, objective_id, position, code, title, created_at, updated_at)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000)
SELECT o.contract_id, o.id, n.i, '1.1.' || n.i, 'Action ' || n.i,
       '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00'
FROM n, objectives o JOIN contracts c ON c.id = o.contract_id
JOIN territories t ON t.id = c.territory_id WHERE t.slug = 'bench-ailleurs';
INSERT INTO indicators (contract_id, action_id, kind, label, created_at)
WITH RECURSIVE k(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM k WHERE j < 4)
SELECT a.contract_id, a.id, 'result', 'Indicateur ' || k.j, '2026-01-01T00:00:00+00:00'
FROM k, actions a JOIN contracts c ON c.id = a.contract_id
JOIN territories t ON t.id = c.territory_id WHERE t.slug = 'bench-ailleurs';
INSERT INTO ideas (territory_id, kind, text, status, action_id, created_at, updated_at)
SELECT t.id, 'idea', 'Une idée', 'published', a.id,
       '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00'
FROM actions a JOIN contracts c ON c.id = a.contract_id
JOIN territories t ON t.id = c.territory_id WHERE t.slug = 'bench-ailleurs';
INSERT INTO qpvs (code, name)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1600)
SELECT 'QB' || n.i, 'Quartier ' || n.i FROM n;
INSERT INTO qpv_communes (qpv_code, insee_code)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1600)
SELECT 'QB' || n.i, CAST(90000 + n.i AS TEXT) FROM n;
ANALYZE;
