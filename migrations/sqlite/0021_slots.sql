-- Slots and attendance (issue 16): bookable slots inside drop-in series,
-- bookings, check-in and walk-ins (SQLite dialect). Dates are TEXT
-- 'YYYY-MM-DD' and local times TEXT 'HH:MM', as in 0002.

-- Slot settings of a series (off by default: no row, or enabled = FALSE).
CREATE TABLE dropin_slot_settings (
    series_id          INTEGER PRIMARY KEY REFERENCES dropin_series (id) ON DELETE CASCADE,
    enabled            BOOLEAN NOT NULL DEFAULT FALSE,
    slot_minutes       INTEGER NOT NULL CHECK (slot_minutes > 0),
    per_slot           INTEGER NOT NULL CHECK (per_slot > 0),
    open_days_before   INTEGER NOT NULL CHECK (open_days_before >= 0),
    close_hours_before INTEGER NOT NULL CHECK (close_hours_before >= 0),
    version            INTEGER NOT NULL DEFAULT 1,
    updated_at         TEXT NOT NULL
);

-- The mediators (partner accounts) attached to a series: they see its
-- bookings and check people in.
CREATE TABLE dropin_series_mediators (
    series_id INTEGER NOT NULL REFERENCES dropin_series (id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (series_id, user_id)
);
CREATE INDEX dropin_series_mediators_user ON dropin_series_mediators (user_id);

-- One row per occurrence that has bookings or walk-ins, by the date the
-- rule gives (`occurrence_date`, stable when the occurrence moves).
-- `seats_version` is bumped first by every booking change: concurrent
-- bookings of one occurrence run one after the other (as registrations).
CREATE TABLE slot_occurrences (
    series_id       INTEGER NOT NULL REFERENCES dropin_series (id) ON DELETE CASCADE,
    occurrence_date TEXT NOT NULL,
    walk_ins        INTEGER NOT NULL DEFAULT 0 CHECK (walk_ins >= 0),
    seats_version   INTEGER NOT NULL DEFAULT 0,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (series_id, occurrence_date)
);

CREATE TABLE slot_bookings (
    id                INTEGER PRIMARY KEY,
    series_id         INTEGER NOT NULL REFERENCES dropin_series (id) ON DELETE CASCADE,
    occurrence_date   TEXT NOT NULL,
    slot_start        TEXT NOT NULL,
    name              TEXT NOT NULL,
    -- E.164 (+33612345678) or NULL; at least one of phone and email is
    -- checked on input; both are NULL (and the name empty) once purged,
    -- `registration_retention_days` after the date: the status stays for
    -- the no-show rates.
    phone             TEXT,
    email             TEXT,
    consent_at        TEXT NOT NULL,
    -- The staff account that booked by phone, NULL for self-service.
    booked_by         INTEGER REFERENCES users (id) ON DELETE SET NULL,
    status            TEXT NOT NULL DEFAULT 'booked'
        CHECK (status IN ('booked', 'cancelled', 'present', 'absent', 'excused')),
    cancel_token_hash TEXT NOT NULL,
    submission_key    TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    CONSTRAINT slot_bookings_token_key UNIQUE (cancel_token_hash),
    CONSTRAINT slot_bookings_submission_key UNIQUE (series_id, occurrence_date, submission_key)
);
CREATE INDEX slot_bookings_occurrence ON slot_bookings (series_id, occurrence_date, slot_start, status);
