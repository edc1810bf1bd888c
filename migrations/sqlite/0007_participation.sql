-- Participation and governance (SQLite dialect): bodies (steering and
-- technical committees, working groups), their members, join requests,
-- meetings (attendance, decisions), documents of a group's space;
-- consultations (questions, responses, answers, panel tokens); the idea box
-- and contact messages. Calendar dates are TEXT 'YYYY-MM-DD' on both backends.

CREATE TABLE bodies (
    id           INTEGER PRIMARY KEY,
    territory_id INTEGER NOT NULL REFERENCES territories (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    name         TEXT NOT NULL,
    theme        TEXT NOT NULL DEFAULT '',
    purpose      TEXT NOT NULL DEFAULT '',
    capacity     INTEGER,
    open         BOOLEAN NOT NULL DEFAULT TRUE,
    version      INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX bodies_territory ON bodies (territory_id);

CREATE TABLE body_members (
    id            INTEGER PRIMARY KEY,
    body_id       INTEGER NOT NULL REFERENCES bodies (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    organisation  TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL DEFAULT '',
    inhabitant    BOOLEAN NOT NULL DEFAULT FALSE,
    email         TEXT,
    -- The account that opens the group's space, when the member has one.
    user_id       INTEGER REFERENCES users (id) ON DELETE SET NULL,
    mandate_start TEXT,
    mandate_end   TEXT,
    created_at    TEXT NOT NULL
);
CREATE INDEX body_members_body ON body_members (body_id);
CREATE INDEX body_members_user ON body_members (user_id);

CREATE TABLE join_requests (
    id           INTEGER PRIMARY KEY,
    body_id      INTEGER NOT NULL REFERENCES bodies (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    email        TEXT NOT NULL,
    phone        TEXT NOT NULL DEFAULT '',
    organisation TEXT NOT NULL DEFAULT '',
    profile      TEXT NOT NULL,
    message      TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT 'pending',
    reason       TEXT NOT NULL DEFAULT '',
    consent      BOOLEAN NOT NULL,
    created_at   TEXT NOT NULL,
    decided_at   TEXT
);
CREATE INDEX join_requests_body ON join_requests (body_id, status);

CREATE TABLE meetings (
    id          INTEGER PRIMARY KEY,
    body_id     INTEGER NOT NULL REFERENCES bodies (id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    starts_at   TEXT NOT NULL,
    place       TEXT NOT NULL DEFAULT '',
    online_link TEXT NOT NULL DEFAULT '',
    agenda      TEXT NOT NULL DEFAULT '',
    minutes     TEXT NOT NULL DEFAULT '',
    public      BOOLEAN NOT NULL DEFAULT FALSE,
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX meetings_body ON meetings (body_id, starts_at);

CREATE TABLE meeting_attendance (
    meeting_id INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    member_id  INTEGER NOT NULL REFERENCES body_members (id) ON DELETE CASCADE,
    invited    BOOLEAN NOT NULL DEFAULT TRUE,
    present    BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (meeting_id, member_id)
);

CREATE TABLE meeting_decisions (
    id         INTEGER PRIMARY KEY,
    meeting_id INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    text       TEXT NOT NULL,
    -- A follow-up task: what to do, by whom, by when; linked to a fiche action.
    follow_up  TEXT NOT NULL DEFAULT '',
    owner      TEXT NOT NULL DEFAULT '',
    due_on     TEXT,
    action_id  INTEGER REFERENCES actions (id) ON DELETE SET NULL,
    done       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL
);
CREATE INDEX meeting_decisions_meeting ON meeting_decisions (meeting_id);

CREATE TABLE body_documents (
    id         INTEGER PRIMARY KEY,
    body_id    INTEGER NOT NULL REFERENCES bodies (id) ON DELETE CASCADE,
    title      TEXT NOT NULL,
    url        TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX body_documents_body ON body_documents (body_id);

CREATE TABLE consultations (
    id                INTEGER PRIMARY KEY,
    territory_id      INTEGER NOT NULL REFERENCES territories (id) ON DELETE CASCADE,
    title             TEXT NOT NULL,
    intro             TEXT NOT NULL DEFAULT '',
    opens_on          TEXT NOT NULL,
    closes_on         TEXT NOT NULL,
    -- Only people holding an invitation token may answer.
    panel_only        BOOLEAN NOT NULL DEFAULT FALSE,
    results_published BOOLEAN NOT NULL DEFAULT FALSE,
    version           INTEGER NOT NULL DEFAULT 1,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX consultations_territory ON consultations (territory_id);

CREATE TABLE questions (
    id              INTEGER PRIMARY KEY,
    consultation_id INTEGER NOT NULL REFERENCES consultations (id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    label           TEXT NOT NULL,
    help            TEXT NOT NULL DEFAULT '',
    required        BOOLEAN NOT NULL DEFAULT FALSE,
    -- Choices, one per line; answers store the 1-based number of the choice.
    options         TEXT NOT NULL DEFAULT '',
    scale_min       INTEGER NOT NULL DEFAULT 1,
    scale_max       INTEGER NOT NULL DEFAULT 5,
    -- Shown only when question `cond_question_id` was answered with choice `cond_option`.
    cond_question_id INTEGER REFERENCES questions (id) ON DELETE CASCADE,
    cond_option     INTEGER
);
CREATE INDEX questions_consultation ON questions (consultation_id, position);

CREATE TABLE responses (
    id              INTEGER PRIMARY KEY,
    consultation_id INTEGER NOT NULL REFERENCES consultations (id) ON DELETE CASCADE,
    submission_key  TEXT NOT NULL,
    submitted_at    TEXT NOT NULL,
    CONSTRAINT responses_key UNIQUE (consultation_id, submission_key)
);

CREATE TABLE answers (
    response_id     INTEGER NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
    consultation_id INTEGER NOT NULL,
    question_id     INTEGER NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    value           TEXT NOT NULL
);
CREATE INDEX answers_consultation ON answers (consultation_id, question_id);
CREATE INDEX answers_response ON answers (response_id);

CREATE TABLE panel_tokens (
    id              INTEGER PRIMARY KEY,
    consultation_id INTEGER NOT NULL REFERENCES consultations (id) ON DELETE CASCADE,
    token_hash      TEXT NOT NULL UNIQUE,
    used_at         TEXT,
    created_at      TEXT NOT NULL
);

CREATE TABLE ideas (
    id            INTEGER PRIMARY KEY,
    territory_id  INTEGER NOT NULL REFERENCES territories (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    text          TEXT NOT NULL,
    theme         TEXT NOT NULL DEFAULT '',
    insee_code    TEXT NOT NULL DEFAULT '',
    contact_name  TEXT NOT NULL DEFAULT '',
    contact_email TEXT NOT NULL DEFAULT '',
    consent       BOOLEAN NOT NULL DEFAULT FALSE,
    status        TEXT NOT NULL DEFAULT 'pending',
    reason        TEXT NOT NULL DEFAULT '',
    merged_into   INTEGER REFERENCES ideas (id) ON DELETE SET NULL,
    answer        TEXT NOT NULL DEFAULT '',
    action_id     INTEGER REFERENCES actions (id) ON DELETE SET NULL,
    version       INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX ideas_territory ON ideas (territory_id, status);

CREATE TABLE contact_messages (
    id           INTEGER PRIMARY KEY,
    territory_id INTEGER NOT NULL REFERENCES territories (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    email        TEXT NOT NULL,
    subject      TEXT NOT NULL,
    message      TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX contact_messages_territory ON contact_messages (territory_id);
