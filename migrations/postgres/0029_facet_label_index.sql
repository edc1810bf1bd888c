-- The label of a filter (a profession or a category) is read as the first
-- row of its code in commune order (`… WHERE kind = … AND code = … ORDER BY
-- insee_code LIMIT 1`, storage::directory::facet_label and the directory
-- page's statement). With the commune in the index that is one index probe
-- under any plan; on (kind, code) alone PostgreSQL's generic plan read the
-- table in order until a row matched, all of it (50 ms at national size)
-- for a code present nowhere.
DROP INDEX directory_facet_counts_code;
CREATE INDEX directory_facet_counts_code ON directory_facet_counts (kind, code, insee_code);
