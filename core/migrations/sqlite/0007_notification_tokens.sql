-- Agents' socket credentials. `GET /users/me` mints one per call, bound to the user and to the
-- policy (JSON text, NULL for none) of the JWT that asked, kept as a SHA-256 only and good until
-- `expires`; the reaper forgets expired ones.
CREATE TABLE notification_tokens (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    policy     TEXT,
    expires    INTEGER NOT NULL
);
CREATE INDEX notification_tokens_by_user ON notification_tokens (account_id, user_id, expires);
CREATE INDEX notification_tokens_expiry ON notification_tokens (expires);

-- The plaintext token every user had, which never expired, goes: sockets opened with it are
-- refused from now on. SQLite cannot drop a UNIQUE column, so the table is rebuilt without it
-- (no foreign key points at users).
CREATE TABLE users_new (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    colour     TEXT NOT NULL,
    created    INTEGER NOT NULL,
    updated    INTEGER NOT NULL,
    UNIQUE (account_id, email)
);
INSERT INTO users_new (id, account_id, email, name, role, colour, created, updated)
    SELECT id, account_id, email, name, role, colour, created, updated FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
