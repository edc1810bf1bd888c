-- Care supply per commune and profession (issue 11, the diagnosis):
-- recomputed by `storage::care_supply` inside every RPPS and FINESS import
-- transaction, so that it always matches the registers. `profession` is the
-- slug (`generalistes`, `infirmiers`, `kinesitherapeutes`, `dentistes`,
-- `sages-femmes`, `pharmacies`); `supply` counts a professional with n
-- eligible practice places 1/n at each (PostgreSQL dialect).
CREATE TABLE commune_supply (
    insee_code TEXT NOT NULL,
    profession TEXT NOT NULL,
    supply     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (insee_code, profession)
);
CREATE INDEX commune_supply_profession ON commune_supply (profession);
