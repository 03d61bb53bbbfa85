-- Tandem schema for PostgreSQL. Times are microseconds since the Unix epoch (BIGINT), JSON is
-- stored as text (it is only ever read whole), custom data is indexed in *_filters tables.

CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    license_key TEXT NOT NULL UNIQUE,
    settings    TEXT NOT NULL,
    created     BIGINT NOT NULL
);

CREATE TABLE account_keys (
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kid         TEXT NOT NULL,
    algorithm   TEXT NOT NULL,
    public_pem  TEXT NOT NULL,
    private_pem TEXT,
    created     BIGINT NOT NULL,
    PRIMARY KEY (account_id, kid)
);

CREATE TABLE users (
    id                 TEXT PRIMARY KEY,
    account_id         TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email              TEXT NOT NULL,
    name               TEXT NOT NULL,
    role               TEXT NOT NULL,
    colour             TEXT NOT NULL,
    notification_token TEXT NOT NULL UNIQUE,
    created            BIGINT NOT NULL,
    updated            BIGINT NOT NULL,
    UNIQUE (account_id, email)
);

CREATE TABLE devices (
    account_id         TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id                 TEXT NOT NULL,
    info               TEXT NOT NULL,
    custom_data        TEXT NOT NULL,
    token_hash         TEXT NOT NULL,
    notification_token TEXT NOT NULL UNIQUE,
    connectable        BIGINT NOT NULL,
    last_active        BIGINT NOT NULL,
    created            BIGINT NOT NULL,
    updated            BIGINT NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX devices_seen ON devices (account_id, last_active DESC, id DESC);

CREATE TABLE device_filters (
    account_id TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (account_id, device_id, key),
    FOREIGN KEY (account_id, device_id) REFERENCES devices (account_id, id) ON DELETE CASCADE
);
CREATE INDEX device_filters_lookup ON device_filters (account_id, key, value, device_id);

CREATE TABLE sessions (
    id             TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    state          TEXT NOT NULL,
    code           TEXT,
    code_expires   BIGINT,
    access_token   TEXT,
    control_token  TEXT NOT NULL UNIQUE,
    custom_data    TEXT NOT NULL,
    device_id      TEXT,
    device         TEXT,
    agents         TEXT NOT NULL,
    full_device    TEXT NOT NULL,
    remote_control TEXT NOT NULL,
    ended_reason   TEXT,
    region         TEXT,
    created        BIGINT NOT NULL,
    updated        BIGINT NOT NULL,
    activated      BIGINT,
    ended          BIGINT,
    last_activity  BIGINT NOT NULL,
    sort_at        BIGINT NOT NULL,
    version        BIGINT NOT NULL
);
CREATE UNIQUE INDEX sessions_code ON sessions (account_id, code) WHERE code IS NOT NULL;
CREATE UNIQUE INDEX sessions_access_token ON sessions (account_id, access_token)
    WHERE access_token IS NOT NULL;
CREATE INDEX sessions_page ON sessions (account_id, sort_at DESC, id DESC);
CREATE INDEX sessions_state_page ON sessions (account_id, state, sort_at DESC, id DESC);
CREATE INDEX sessions_idle ON sessions (last_activity) WHERE state <> 'ended';
CREATE INDEX sessions_code_expiry ON sessions (code_expires) WHERE code IS NOT NULL;

CREATE TABLE session_agents (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    account_id TEXT NOT NULL,
    sort_at    BIGINT NOT NULL,
    PRIMARY KEY (session_id, user_id)
);
CREATE INDEX session_agents_page ON session_agents (account_id, user_id, sort_at DESC, session_id DESC);

CREATE TABLE session_filters (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    account_id TEXT NOT NULL,
    sort_at    BIGINT NOT NULL,
    PRIMARY KEY (session_id, key)
);
CREATE INDEX session_filters_page
    ON session_filters (account_id, key, value, sort_at DESC, session_id DESC);

CREATE TABLE stream_tokens (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    expires    BIGINT NOT NULL
);
CREATE INDEX stream_tokens_expiry ON stream_tokens (expires);
