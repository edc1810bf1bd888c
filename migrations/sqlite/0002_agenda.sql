-- Agenda: places, drop-in series (permanences) and their exceptions, events,
-- sessions, registrations, daily view counts (SQLite dialect).
-- Calendar dates are TEXT 'YYYY-MM-DD' and local times TEXT 'HH:MM' in both
-- dialects (they are Europe/Paris wall-clock values, not instants).

CREATE TABLE places (
    id           INTEGER PRIMARY KEY,
    territory_id INTEGER NOT NULL REFERENCES territories (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    address      TEXT NOT NULL DEFAULT '',
    insee_code   TEXT NOT NULL REFERENCES communes (insee_code),
    access_notes TEXT NOT NULL DEFAULT '',
    version      INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX places_territory ON places (territory_id);

CREATE TABLE dropin_series (
    id            INTEGER PRIMARY KEY,
    territory_id  INTEGER NOT NULL REFERENCES territories (id) ON DELETE CASCADE,
    title         TEXT NOT NULL,
    mediators     TEXT NOT NULL DEFAULT '',
    place_id      INTEGER NOT NULL REFERENCES places (id),
    first_date    TEXT NOT NULL,
    end_date      TEXT,
    start_time    TEXT NOT NULL,
    end_time      TEXT NOT NULL,
    rrule         TEXT NOT NULL,
    skip_holidays BOOLEAN NOT NULL DEFAULT TRUE,
    access        TEXT NOT NULL DEFAULT 'walk_in',
    services      TEXT NOT NULL DEFAULT '',
    version       INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX dropin_series_territory ON dropin_series (territory_id);

CREATE TABLE dropin_exceptions (
    id            INTEGER PRIMARY KEY,
    series_id     INTEGER NOT NULL REFERENCES dropin_series (id) ON DELETE CASCADE,
    original_date TEXT NOT NULL,
    kind          TEXT NOT NULL,
    new_date      TEXT,
    start_time    TEXT,
    end_time      TEXT,
    place_id      INTEGER REFERENCES places (id),
    note          TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    CONSTRAINT dropin_exceptions_occurrence_key UNIQUE (series_id, original_date)
);

CREATE TABLE events (
    id               INTEGER PRIMARY KEY,
    territory_id     INTEGER NOT NULL REFERENCES territories (id) ON DELETE CASCADE,
    title            TEXT NOT NULL,
    kind             TEXT NOT NULL,
    status           TEXT NOT NULL,
    organiser        TEXT NOT NULL DEFAULT '',
    themes           TEXT NOT NULL DEFAULT '',
    description      TEXT NOT NULL DEFAULT '',
    linked_actions   TEXT NOT NULL DEFAULT '',
    programme_to_come BOOLEAN NOT NULL DEFAULT FALSE,
    version          INTEGER NOT NULL DEFAULT 1,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX events_territory ON events (territory_id);

CREATE TABLE event_sessions (
    id             INTEGER PRIMARY KEY,
    event_id       INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    starts_at      TEXT NOT NULL,
    ends_at        TEXT NOT NULL,
    place_id       INTEGER REFERENCES places (id),
    capacity       INTEGER,
    audience       TEXT NOT NULL DEFAULT 'public',
    audience_roles TEXT NOT NULL DEFAULT '',
    cancelled      BOOLEAN NOT NULL DEFAULT FALSE,
    -- Bumped by every registration change: the first write of the
    -- transaction, so concurrent registrations for a session queue up.
    seats_version  INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL
);
CREATE INDEX event_sessions_event ON event_sessions (event_id);
CREATE INDEX event_sessions_start ON event_sessions (starts_at);

CREATE TABLE registrations (
    id                INTEGER PRIMARY KEY,
    session_id        INTEGER NOT NULL REFERENCES event_sessions (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    email             TEXT,
    phone             TEXT,
    party_size        INTEGER NOT NULL DEFAULT 1,
    consent           BOOLEAN NOT NULL,
    status            TEXT NOT NULL,
    cancel_token_hash TEXT NOT NULL,
    submission_key    TEXT,
    registered_by     TEXT NOT NULL DEFAULT '',
    attended          BOOLEAN,
    created_at        TEXT NOT NULL,
    cancelled_at      TEXT,
    reminded_at       TEXT,
    CONSTRAINT registrations_token_key UNIQUE (cancel_token_hash),
    CONSTRAINT registrations_submission_key UNIQUE (session_id, submission_key)
);
CREATE INDEX registrations_session ON registrations (session_id, status, created_at);

-- Views: one row per (event, day, visitor) for the current day only; the
-- visitor is an HMAC of address and user agent under a key derived from the
-- day, deleted once the day is over. Only the counts stay.
CREATE TABLE event_view_visitors (
    event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    day      TEXT NOT NULL,
    visitor  TEXT NOT NULL,
    PRIMARY KEY (event_id, day, visitor)
);

CREATE TABLE event_view_counts (
    event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    day      TEXT NOT NULL,
    views    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, day)
);
