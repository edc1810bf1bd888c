-- An RPPS import from the back office may come with the « Savoir-faire »
-- file of the same extraction (issue 14: newer extractions publish the
-- specialties apart): where it was saved and its name as uploaded, empty
-- when there is none.
ALTER TABLE import_jobs ADD COLUMN savoir_faire_path TEXT NOT NULL DEFAULT '';
ALTER TABLE import_jobs ADD COLUMN savoir_faire_name TEXT NOT NULL DEFAULT '';
