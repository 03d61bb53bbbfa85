//! The second tenancy layer: PostgreSQL's row-level security. Deliberately unfiltered SQL run on
//! the Store's own pool sees only the rows of the account its transaction names, and nothing
//! outside one; it cannot write another account's rows. (SQLite has no such layer.)

use std::sync::Arc;

use serde_json::json;
use sqlx::{Acquire, AnyConnection, Row};
use tandem_core::bus::InProcessBus;
use tandem_core::model::{AccountKey, AccountSettings, Role};
use tandem_core::service::{
    new_account, new_agent, Caller, DeviceRegistration, NewSession, Service, ServiceConfig,
};
use tandem_core::store::{
    AccountStore, Backend, EventStore, SessionEvent, SessionStore, SqlStore, Store, StreamToken,
    TokenStore,
};
use tandem_core::testing::TestDb;

/// Every table that holds an account's rows, and the column naming the account.
const TABLES: [(&str, &str); 11] = [
    ("accounts", "id"),
    ("account_keys", "account_id"),
    ("users", "account_id"),
    ("devices", "account_id"),
    ("device_filters", "account_id"),
    ("sessions", "account_id"),
    ("session_agents", "account_id"),
    ("session_filters", "account_id"),
    ("stream_tokens", "account_id"),
    ("session_events", "account_id"),
    ("notification_tokens", "account_id"),
];

async fn open() -> (TestDb, Arc<SqlStore>) {
    let db = TestDb::new(Backend::Postgres).await;
    let store = SqlStore::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    (db, Arc::new(store))
}

/// One account with a row in every table, written through the Store and the service.
async fn tenant(store: &Arc<SqlStore>, name: &str) -> String {
    let dyn_store: Arc<dyn Store> = store.clone();
    let svc = Service::new(
        dyn_store,
        Arc::new(InProcessBus::default()),
        ServiceConfig::default(),
    );
    let account = new_account(name, &AccountSettings::default());
    store.create_account(&account).await.unwrap();
    store
        .add_key(&AccountKey {
            account_id: account.id.clone(),
            kid: "k1".into(),
            algorithm: "RS256".into(),
            public_pem: "pem".into(),
            private_pem: None,
            created: 1,
        })
        .await
        .unwrap();
    let user = store
        .upsert_user(&new_agent(
            &account.id,
            &tandem_core::email::Email::parse("a@example.com").unwrap(),
            "A",
            Role::Administrator,
        ))
        .await
        .unwrap();
    let caller = Caller::Agent {
        account: account.clone(),
        user: user.clone(),
        policy: None,
    };
    let reg = DeviceRegistration {
        custom_data: Some(object(json!({"user_id": name}))),
        ..Default::default()
    };
    svc.register_device(&account, "dev-1", None, reg)
        .await
        .unwrap();
    let session = svc
        .create_session(
            &caller,
            NewSession {
                custom_data: object(json!({"user_id": name})),
                agent_me: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    svc.notification_token(&caller, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    store
        .add_stream_token(&StreamToken {
            token_hash: format!("hash-{name}"),
            account_id: account.id.clone(),
            session_id: session.id.clone(),
            user_id: user.id.clone(),
            expires: i64::MAX,
        })
        .await
        .unwrap();
    store
        .add_session_event(&SessionEvent {
            account_id: account.id.clone(),
            session_id: session.id.clone(),
            at: 1,
            kind: "page".into(),
            data: object(json!({"url": "https://example.com/"})),
        })
        .await
        .unwrap();
    account.id
}

fn object(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    v.as_object().unwrap().clone()
}

async fn count(conn: &mut AnyConnection, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

/// Rows per table as the owner sees them: `(all, account a's)`.
async fn owner_counts(store: &SqlStore, a: &str) -> Vec<(i64, i64)> {
    let mut conn = store.pool().acquire().await.unwrap();
    let mut out = vec![];
    for (table, col) in TABLES {
        let all = count(&mut conn, &format!("SELECT count(*) FROM {table}")).await;
        let of_a = sqlx::query(&format!("SELECT count(*) FROM {table} WHERE {col} = $1"))
            .bind(a)
            .fetch_one(&mut *conn)
            .await
            .unwrap()
            .get(0);
        out.push((all, of_a));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfiltered_queries_see_only_the_scoped_account() {
    let (_db, store) = open().await;
    let a = tenant(&store, "a").await;
    let b = tenant(&store, "b").await;
    let owner = owner_counts(&store, &a).await;
    for ((table, _), (all, of_a)) in TABLES.iter().zip(&owner) {
        assert!(
            *of_a > 0 && all > of_a,
            "{table}: both accounts need rows ({of_a} of {all} are a's)"
        );
    }

    // One connection of the Store's pool throughout: the scope must not outlive a transaction.
    let mut conn = store.tenant_pool().acquire().await.unwrap();
    for (table, _) in TABLES {
        let sql = format!("SELECT count(*) FROM {table}");
        assert_eq!(count(&mut conn, &sql).await, 0, "{table} outside a scope");
    }
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("SELECT set_config('tandem.account_id', $1, true)")
        .bind(&a)
        .execute(&mut *tx)
        .await
        .unwrap();
    for ((table, _), (_, of_a)) in TABLES.iter().zip(&owner) {
        let sql = format!("SELECT count(*) FROM {table}");
        assert_eq!(count(&mut tx, &sql).await, *of_a, "{table} scoped to a");
    }
    tx.commit().await.unwrap();
    for (table, _) in TABLES {
        let sql = format!("SELECT count(*) FROM {table}");
        assert_eq!(count(&mut conn, &sql).await, 0, "{table} after the scope");
    }

    // The system scope sees every account.
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("SELECT set_config('tandem.scope', 'system', true)")
        .execute(&mut *tx)
        .await
        .unwrap();
    for ((table, _), (all, _)) in TABLES.iter().zip(&owner) {
        let sql = format!("SELECT count(*) FROM {table}");
        assert_eq!(
            count(&mut tx, &sql).await,
            *all,
            "{table} in the system scope"
        );
    }
    tx.rollback().await.unwrap();
    drop(conn);

    // The Store itself still finds each account's rows only under that account.
    let sessions = |account: &str| {
        let store = store.clone();
        let account = account.to_owned();
        async move {
            let filter = tandem_core::query::SessionFilter {
                filters: vec![],
                states: vec![],
                agent_id: None,
                ids: None,
                page: tandem_core::query::Page {
                    limit: 10,
                    before: None,
                    after: None,
                },
            };
            store.list_sessions(&account, &filter).await.unwrap()
        }
    };
    let (of_a, of_b) = (sessions(&a).await, sessions(&b).await);
    assert_eq!((of_a.len(), of_b.len()), (1, 1));
    assert!(matches!(
        store.session(&a, &of_b[0].id).await,
        Err(tandem_core::Error::NotFound(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfiltered_writes_touch_only_the_scoped_account() {
    let (_db, store) = open().await;
    let a = tenant(&store, "a").await;
    let b = tenant(&store, "b").await;
    let of_b = async |store: &SqlStore| -> Vec<i64> {
        let counts = owner_counts(store, &b).await;
        counts.into_iter().map(|(_, n)| n).collect()
    };
    let before = of_b(&store).await;

    let mut conn = store.tenant_pool().acquire().await.unwrap();
    // Outside a scope, nothing is written.
    for (table, _) in TABLES {
        let done = sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *conn)
            .await
            .unwrap();
        assert_eq!(
            done.rows_affected(),
            0,
            "DELETE FROM {table} outside a scope"
        );
    }
    let done = sqlx::query("UPDATE sessions SET custom_data = '{}'")
        .execute(&mut *conn)
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 0, "UPDATE outside a scope");

    // Scoped to a: every row of a's, none of b's.
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("SELECT set_config('tandem.account_id', $1, true)")
        .bind(&a)
        .execute(&mut *tx)
        .await
        .unwrap();
    let done = sqlx::query("UPDATE sessions SET custom_data = '{\"owner\":\"a\"}'")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 1, "a's one session");
    for table in ["session_events", "stream_tokens", "device_filters", "users"] {
        let done = sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *tx)
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 1, "DELETE FROM {table}: a's one row");
    }
    tx.commit().await.unwrap();

    // Nor can a scope write a row for another account.
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("SELECT set_config('tandem.account_id', $1, true)")
        .bind(&a)
        .execute(&mut *tx)
        .await
        .unwrap();
    let err = sqlx::query(
        "INSERT INTO session_events (account_id, session_id, at, kind, data) \
         SELECT $1, id, 2, 'page', '{}' FROM sessions",
    )
    .bind(&b)
    .execute(&mut *tx)
    .await
    .expect_err("a row for b written in a's scope");
    assert!(
        err.to_string().contains("row-level security"),
        "refused by the policy: {err}"
    );
    tx.rollback().await.unwrap();
    drop(conn);

    assert_eq!(of_b(&store).await, before, "b's rows are untouched");
    let custom: String = sqlx::query("SELECT custom_data FROM sessions WHERE account_id = $1")
        .bind(&b)
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(custom, r#"{"user_id":"b"}"#);
}

/// As a superuser (how the tests and many self-hosters connect) the Store's connections switch
/// to the role that row-level security binds; migrations keep the owner's rights.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_superuser_connection_is_bound_too() {
    let (_db, store) = open().await;
    let mut conn = store.pool().acquire().await.unwrap();
    let (owner, superuser): (String, String) =
        sqlx::query("SELECT current_user::text, current_setting('is_superuser')")
            .fetch_one(&mut *conn)
            .await
            .map(|r| (r.get(0), r.get(1)))
            .unwrap();
    assert_eq!(superuser, "on", "the tests connect as a superuser");
    let mut conn = store.tenant_pool().acquire().await.unwrap();
    let (user, session_user): (String, String) =
        sqlx::query("SELECT current_user::text, session_user::text")
            .fetch_one(&mut *conn)
            .await
            .map(|r| (r.get(0), r.get(1)))
            .unwrap();
    assert_eq!((user.as_str(), session_user), ("tandem_app", owner));
}
