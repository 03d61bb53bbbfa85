-- Single sign-on (SAML): an account's identity provider, the email domains that lead to it, the
-- sign-in requests on their way through the IdP, and the assertions already used (the replay
-- cache, kept until each assertion expires so it holds across replicas and restarts).
CREATE TABLE account_sso (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    config     TEXT NOT NULL,
    updated    INTEGER NOT NULL
);

-- A domain leads to one account's IdP only.
CREATE TABLE sso_domains (
    domain     TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE
);
CREATE INDEX sso_domains_by_account ON sso_domains (account_id);

-- An AuthnRequest sent to the IdP: its id, the browser it was sent for (a hash of the cookie's
-- nonce), and where the browser goes afterwards. Taken (deleted) by the response to it.
CREATE TABLE saml_requests (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    browser_hash TEXT NOT NULL,
    next         TEXT NOT NULL,
    expires      INTEGER NOT NULL
);
CREATE INDEX saml_requests_expiry ON saml_requests (expires);

-- Assertions already accepted: each id signs in once.
CREATE TABLE saml_assertions (
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    assertion_id TEXT NOT NULL,
    expires      INTEGER NOT NULL,
    PRIMARY KEY (account_id, assertion_id)
);
CREATE INDEX saml_assertions_expiry ON saml_assertions (expires);

-- The account whose IdP signed a browser in (NULL for an email link): an account that requires
-- single sign-on admits only its own.
ALTER TABLE login_sessions ADD COLUMN sso_account TEXT;
