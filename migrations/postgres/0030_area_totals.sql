-- The care supply and the population summed per département and région,
-- which the diagnosis compares the territory with (its densities against
-- the département, the région and France). Summed over the whole country on
-- every diagnosis page they took 150 ms at national size (35,000 communes,
-- 100,000 supply rows); they are now kept with the accessibility scores,
-- rewritten by each computation (storage::diagnosis::replace_access), and
-- read by the page as a few dozen rows.
CREATE TABLE area_supply (
    profession  TEXT NOT NULL,
    departement TEXT,
    region      TEXT,
    supply      DOUBLE PRECISION NOT NULL
);
CREATE TABLE area_population (
    departement TEXT,
    region      TEXT,
    population  BIGINT NOT NULL
);
-- Filled from what is stored, until the next computation.
INSERT INTO area_supply (profession, departement, region, supply)
SELECT s.profession, c.departement, c.region, SUM(s.supply) FROM commune_supply s
JOIN communes c ON c.insee_code = s.insee_code
GROUP BY s.profession, c.departement, c.region;
INSERT INTO area_population (departement, region, population)
SELECT departement, region, CAST(COALESCE(SUM(population), 0) AS BIGINT) FROM communes
WHERE kind = 'commune-actuelle' GROUP BY departement, region;
