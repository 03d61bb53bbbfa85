-- The second tenancy layer: row-level security. Every query of the Store already names its
-- account; this makes the database enforce it too. Each transaction says whose rows it may see
-- (`set_config('tandem.account_id', <id>, true)`), or takes the system scope
-- (`set_config('tandem.scope', 'system', true)`) for the few paths that cross accounts; a
-- transaction that says neither sees no row of any account, so a query that forgets its account
-- filter returns nothing and writes nothing.
--
-- Superusers and BYPASSRLS roles skip row-level security even with FORCE. When such a role runs
-- this, it creates the NOLOGIN role `tandem_app` (cluster-wide, so once for every database and
-- possibly by several migrations at the same moment), and Tandem's pooled connections switch to
-- it. A non-superuser that owns the tables is bound by FORCE ROW LEVEL SECURITY itself.

DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        BEGIN
            CREATE ROLE tandem_app NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- another database (or a concurrent migration) created it first
        END;
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO tandem_app', current_schema());
        GRANT SELECT, INSERT, UPDATE, DELETE ON accounts, account_keys, users, devices,
            device_filters, sessions, session_agents, session_filters, stream_tokens,
            session_events, redeem_budget, notification_tokens TO tandem_app;
        -- Tables of later migrations too.
        EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I '
            'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO tandem_app', current_schema());
    END IF;
END $$;

-- The setting is read once per statement (the sub-select), not once per row.
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON accounts
    USING (id = (SELECT current_setting('tandem.account_id', true)));
CREATE POLICY system ON accounts
    USING ((SELECT current_setting('tandem.scope', true)) = 'system');

DO $$
DECLARE
    t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['account_keys', 'users', 'devices', 'device_filters', 'sessions',
        'session_agents', 'session_filters', 'stream_tokens', 'session_events',
        'notification_tokens']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant ON %I '
            'USING (account_id = (SELECT current_setting(''tandem.account_id'', true)))', t);
        EXECUTE format('CREATE POLICY system ON %I '
            'USING ((SELECT current_setting(''tandem.scope'', true)) = ''system'')', t);
    END LOOP;
END $$;
