-- Outgoing messages (issue 16): every SMS and e-mail notice goes through
-- this outbox, so that each one has a receipt the coordination can read
-- (queued → sending → sent → delivered, or failed) and is sent once even
-- when several server processes run. `dedupe_key` names the notice (say
-- `reminder:sms:registration:42`): queueing it twice keeps the first.
-- A claim (`claimed_by`, `claimed_at`) is taken in one UPDATE that checks
-- `status = 'queued'`; a message left `sending` by a process that died is
-- never sent again (the provider may have taken it): it is marked failed.
CREATE TABLE outbound_messages (
    id           INTEGER PRIMARY KEY,
    territory_id INTEGER REFERENCES territories (id) ON DELETE CASCADE,
    channel      TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    subject      TEXT NOT NULL DEFAULT '',
    body         TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    dedupe_key   TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'queued',
    attempts     INTEGER NOT NULL DEFAULT 0,
    not_before   TEXT NOT NULL,
    claimed_by   TEXT,
    claimed_at   TEXT,
    provider     TEXT NOT NULL DEFAULT '',
    provider_ref TEXT,
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    sent_at      TEXT,
    delivered_at TEXT,
    CONSTRAINT outbound_messages_dedupe UNIQUE (dedupe_key)
);
CREATE INDEX outbound_messages_due ON outbound_messages (status, not_before);
CREATE INDEX outbound_messages_territory ON outbound_messages (territory_id, created_at);
CREATE INDEX outbound_messages_provider_ref ON outbound_messages (provider, provider_ref);

-- Numbers that answered STOP (or were removed by the coordination): no SMS
-- is queued for them any more.
CREATE TABLE sms_opt_outs (
    phone      TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);
