-- Reference data for maps and the health diagnosis (SQLite dialect): commune
-- outlines and points, population by age, imported travel times.

-- One point per commune (WGS84) for distances, and the simplified outline
-- for maps. `point_source`: 'contours' (an interior point of the outline)
-- or 'points' (a town-hall or chef-lieu position imported as such, which a
-- later outline import keeps).
CREATE TABLE commune_geo (
    insee_code   TEXT PRIMARY KEY,
    latitude     REAL NOT NULL,
    longitude    REAL NOT NULL,
    -- GeoJSON geometry (Polygon or MultiPolygon), simplified, coordinates
    -- rounded to 5 decimals; NULL when only a point was imported.
    outline      TEXT,
    point_source TEXT NOT NULL
);
CREATE INDEX commune_geo_position ON commune_geo (latitude, longitude);

-- INSEE « base communale, évolution et structure de la population »: the
-- figures are fractional (sampling of the census), hence REAL.
CREATE TABLE commune_population (
    insee_code TEXT PRIMARY KEY,
    year       INTEGER NOT NULL,
    total      REAL NOT NULL,
    age_0_14   REAL NOT NULL,
    age_15_29  REAL NOT NULL,
    age_30_44  REAL NOT NULL,
    age_45_59  REAL NOT NULL,
    age_60_74  REAL NOT NULL,
    age_75_plus REAL NOT NULL
);

-- Travel times imported from a distancier (OSRM, INSEE METRIC), in minutes;
-- they override the estimate from the distance for the pairs listed.
CREATE TABLE travel_times (
    origin      TEXT NOT NULL,
    destination TEXT NOT NULL,
    minutes     REAL NOT NULL,
    PRIMARY KEY (origin, destination)
);
CREATE INDEX travel_times_destination ON travel_times (destination);
