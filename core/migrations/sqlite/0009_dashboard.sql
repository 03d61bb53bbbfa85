-- The dashboard: accounts can be disabled, keys remember when they last verified a token, and
-- people sign in by email. Sign-in links and login sessions are kept as SHA-256 hashes only.
-- (0008 is PostgreSQL's row-level security, which SQLite has no counterpart for.)
ALTER TABLE accounts ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE account_keys ADD COLUMN last_used INTEGER;

-- A pending invitation to join an account with a role, until it is accepted or withdrawn.
CREATE TABLE invitations (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    role       TEXT NOT NULL,
    invited_by TEXT NOT NULL,
    created    INTEGER NOT NULL,
    expires    INTEGER NOT NULL,
    UNIQUE (account_id, email)
);

-- A sign-in link sent by email: single use (deleted when redeemed), short-lived. It may name
-- the account asked for, or the invitation it accepts.
CREATE TABLE login_links (
    token_hash    TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    account_id    TEXT,
    invitation_id TEXT,
    expires       INTEGER NOT NULL
);
CREATE INDEX login_links_expiry ON login_links (expires);

-- A signed-in browser: one email, the account it works in (NULL until one is picked), idle and
-- absolute expiry folded into `expires`.
CREATE TABLE login_sessions (
    id         TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    email      TEXT NOT NULL,
    account_id TEXT,
    user_agent TEXT NOT NULL,
    created    INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    expires    INTEGER NOT NULL
);
CREATE INDEX login_sessions_by_email ON login_sessions (email, account_id);
CREATE INDEX login_sessions_expiry ON login_sessions (expires);
CREATE INDEX users_by_email ON users (email);
