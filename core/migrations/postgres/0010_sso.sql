-- Single sign-on (SAML): an account's identity provider, the email domains that lead to it, the
-- sign-in requests on their way through the IdP, and the assertions already used (the replay
-- cache, kept until each assertion expires so it holds across replicas and restarts).
CREATE TABLE account_sso (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    config     TEXT NOT NULL,
    updated    BIGINT NOT NULL
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
    expires      BIGINT NOT NULL
);
CREATE INDEX saml_requests_expiry ON saml_requests (expires);

-- Assertions already accepted: each id signs in once.
CREATE TABLE saml_assertions (
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    assertion_id TEXT NOT NULL,
    expires      BIGINT NOT NULL,
    PRIMARY KEY (account_id, assertion_id)
);
CREATE INDEX saml_assertions_expiry ON saml_assertions (expires);

-- The account whose IdP signed a browser in (NULL for an email link): an account that requires
-- single sign-on admits only its own.
ALTER TABLE login_sessions ADD COLUMN sso_account TEXT;

-- Row-level security as for the other tables; the domain lookup of the sign-in page and the
-- reaper read across accounts in the system scope.
ALTER TABLE account_sso ENABLE ROW LEVEL SECURITY;
ALTER TABLE account_sso FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON account_sso
    USING (account_id = (SELECT current_setting('tandem.account_id', true)));
CREATE POLICY system ON account_sso
    USING ((SELECT current_setting('tandem.scope', true)) = 'system');
ALTER TABLE sso_domains ENABLE ROW LEVEL SECURITY;
ALTER TABLE sso_domains FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON sso_domains
    USING (account_id = (SELECT current_setting('tandem.account_id', true)));
CREATE POLICY system ON sso_domains
    USING ((SELECT current_setting('tandem.scope', true)) = 'system');
ALTER TABLE saml_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE saml_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON saml_requests
    USING (account_id = (SELECT current_setting('tandem.account_id', true)));
CREATE POLICY system ON saml_requests
    USING ((SELECT current_setting('tandem.scope', true)) = 'system');
ALTER TABLE saml_assertions ENABLE ROW LEVEL SECURITY;
ALTER TABLE saml_assertions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON saml_assertions
    USING (account_id = (SELECT current_setting('tandem.account_id', true)));
CREATE POLICY system ON saml_assertions
    USING ((SELECT current_setting('tandem.scope', true)) = 'system');
