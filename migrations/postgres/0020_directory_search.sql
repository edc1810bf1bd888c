-- Directory search at national scale (issue 14, postgres dialect).
--
-- Facets: what the public directory offers as filters (establishment
-- categories, professions) counted per commune, so that a territory's page
-- sums its own communes' rows instead of grouping every professional of the
-- country. The FINESS and RPPS imports rebuild the rows of the communes they
-- touch, in the transaction that applies them (storage::directory).
CREATE TABLE directory_facet_counts (
    insee_code TEXT NOT NULL,
    kind       TEXT NOT NULL,
    code       TEXT NOT NULL,
    label      TEXT NOT NULL,
    n          BIGINT NOT NULL,
    PRIMARY KEY (insee_code, kind, code)
);
CREATE INDEX directory_facet_counts_code ON directory_facet_counts (kind, code);

INSERT INTO directory_facet_counts (insee_code, kind, code, label, n)
SELECT insee_code, 'category', category_code, MAX(category_label), COUNT(*)
FROM establishments WHERE insee_code IS NOT NULL GROUP BY insee_code, category_code;
INSERT INTO directory_facet_counts (insee_code, kind, code, label, n)
SELECT pl.insee_code, 'profession', p.profession_code, MAX(p.profession_label), COUNT(DISTINCT p.rpps)
FROM practice_places pl JOIN professionals p ON p.rpps = pl.rpps
WHERE pl.insee_code IS NOT NULL GROUP BY pl.insee_code, p.profession_code;

-- Search: one row per establishment and per practice place, by commune
-- (an unknown commune as ''), with the words a query is matched against,
-- folded in SQL (lower case, no accents, punctuation as spaces, a space at
-- both ends) by the same statement as the imports
-- (storage::directory::search_rows_sql), spread over nested SELECTs:
-- SQLite parsers before 3.46 overflow on some 35 nested calls. `code` is
-- the category or profession (the filters), `name` the name shown (the
-- order of candidates). A search reads the rows of its communes from
-- `directory_search_commune` alone (an index-only scan: the index carries
-- every column a search reads; the imports vacuum the table so that it
-- stays index-only) and filters them with LIKE in the database: only a few
-- hundred candidates reach the scoring in Rust.
CREATE TABLE directory_search (
    insee_code TEXT NOT NULL,
    kind       TEXT NOT NULL,
    id         TEXT NOT NULL,
    position   BIGINT NOT NULL,
    code       TEXT NOT NULL,
    name       TEXT NOT NULL,
    words      TEXT NOT NULL,
    PRIMARY KEY (kind, id, position)
);
CREATE INDEX directory_search_commune ON directory_search (insee_code, kind)
    INCLUDE (id, position, code, name, words);

INSERT INTO directory_search (insee_code, kind, id, position, code, name, words)
SELECT insee_code, kind, id, position, code, name, ' ' || w || ' ' FROM (SELECT insee_code, kind, id, position, code, name, REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(w, 'œ', 'oe'), 'Œ', 'oe'), 'æ', 'ae'), 'Æ', 'ae'), '-', ' '), '''', ' '), '’', ' '), '(', ' '), ')', ' '), '.', ' '), ',', ' '), '/', ' '), ';', ' '), ':', ' '), '"', ' '), '&', ' ') AS w FROM (SELECT insee_code, kind, id, position, code, name, REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(w, 'Ê', 'e'), 'Ë', 'e'), 'Î', 'i'), 'Ï', 'i'), 'Í', 'i'), 'Ì', 'i'), 'Ô', 'o'), 'Ö', 'o'), 'Ó', 'o'), 'Ò', 'o'), 'Õ', 'o'), 'Ù', 'u'), 'Û', 'u'), 'Ü', 'u'), 'Ú', 'u'), 'Ÿ', 'y'), 'Ý', 'y'), 'Ñ', 'n') AS w FROM (SELECT insee_code, kind, id, position, code, name, REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(w, 'ò', 'o'), 'õ', 'o'), 'ù', 'u'), 'û', 'u'), 'ü', 'u'), 'ú', 'u'), 'ÿ', 'y'), 'ý', 'y'), 'ñ', 'n'), 'À', 'a'), 'Â', 'a'), 'Ä', 'a'), 'Á', 'a'), 'Ã', 'a'), 'Å', 'a'), 'Ç', 'c'), 'É', 'e'), 'È', 'e') AS w FROM (SELECT insee_code, kind, id, position, code, name, REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(LOWER(w), 'à', 'a'), 'â', 'a'), 'ä', 'a'), 'á', 'a'), 'ã', 'a'), 'å', 'a'), 'ç', 'c'), 'é', 'e'), 'è', 'e'), 'ê', 'e'), 'ë', 'e'), 'î', 'i'), 'ï', 'i'), 'í', 'i'), 'ì', 'i'), 'ô', 'o'), 'ö', 'o'), 'ó', 'o') AS w FROM (SELECT COALESCE(e.insee_code, '') AS insee_code, 'establishment' AS kind, e.finess AS id, 0 AS position, e.category_code AS code, CASE WHEN e.long_name = '' THEN e.name ELSE e.long_name END AS name, e.name || ' ' || e.long_name || ' ' || e.category_label || ' ' || e.city AS w FROM establishments e) f0) f1) f2) f3) f;
INSERT INTO directory_search (insee_code, kind, id, position, code, name, words)
SELECT insee_code, kind, id, position, code, name, ' ' || w || ' ' FROM (SELECT insee_code, kind, id, position, code, name, REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(w, 'œ', 'oe'), 'Œ', 'oe'), 'æ', 'ae'), 'Æ', 'ae'), '-', ' '), '''', ' '), '’', ' '), '(', ' '), ')', ' '), '.', ' '), ',', ' '), '/', ' '), ';', ' '), ':', ' '), '"', ' '), '&', ' ') AS w FROM (SELECT insee_code, kind, id, position, code, name, REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(w, 'Ê', 'e'), 'Ë', 'e'), 'Î', 'i'), 'Ï', 'i'), 'Í', 'i'), 'Ì', 'i'), 'Ô', 'o'), 'Ö', 'o'), 'Ó', 'o'), 'Ò', 'o'), 'Õ', 'o'), 'Ù', 'u'), 'Û', 'u'), 'Ü', 'u'), 'Ú', 'u'), 'Ÿ', 'y'), 'Ý', 'y'), 'Ñ', 'n') AS w FROM (SELECT insee_code, kind, id, position, code, name, REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(w, 'ò', 'o'), 'õ', 'o'), 'ù', 'u'), 'û', 'u'), 'ü', 'u'), 'ú', 'u'), 'ÿ', 'y'), 'ý', 'y'), 'ñ', 'n'), 'À', 'a'), 'Â', 'a'), 'Ä', 'a'), 'Á', 'a'), 'Ã', 'a'), 'Å', 'a'), 'Ç', 'c'), 'É', 'e'), 'È', 'e') AS w FROM (SELECT insee_code, kind, id, position, code, name, REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(LOWER(w), 'à', 'a'), 'â', 'a'), 'ä', 'a'), 'á', 'a'), 'ã', 'a'), 'å', 'a'), 'ç', 'c'), 'é', 'e'), 'è', 'e'), 'ê', 'e'), 'ë', 'e'), 'î', 'i'), 'ï', 'i'), 'í', 'i'), 'ì', 'i'), 'ô', 'o'), 'ö', 'o'), 'ó', 'o') AS w FROM (SELECT COALESCE(pl.insee_code, '') AS insee_code, 'professional' AS kind, pl.rpps AS id, pl.position, p.profession_code AS code, p.first_name || ' ' || p.last_name AS name, p.last_name || ' ' || p.first_name || ' ' || p.profession_label || ' ' || pl.specialty_label || ' ' || pl.city AS w FROM practice_places pl JOIN professionals p ON p.rpps = pl.rpps) f0) f1) f2) f3) f;

-- « Near » searches select communes in a bounding box: the derived points
-- get the index the imported ones (commune_geo_position) already have.
CREATE INDEX commune_points_position ON commune_points (latitude, longitude);

-- Statistics for the planner on the tables just filled.
ANALYZE directory_search;
ANALYZE directory_facet_counts;
