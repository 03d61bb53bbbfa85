//! The Store conformance suite: the same checks against SQLite and PostgreSQL, through the trait
//! and through the service that every change goes through.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tandem_core::both_backends;
use tandem_core::bus::{Bus, Event, InProcessBus};
use tandem_core::model::{Account, AccountSettings, Role, SessionState, User};
use tandem_core::policy::Policy;
use tandem_core::query::{Page, SessionFilter};
use tandem_core::service::{
    new_account, new_agent, Caller, DeviceRegistration, NewSession, Service, ServiceConfig,
    SessionPatch, Subscription, Watcher,
};
use tandem_core::store::{self, Backend, Saved, Store};
use tandem_core::testing::TestDb;
use tandem_core::time;
use tandem_core::Error;

both_backends!(
    accounts_keys_and_users,
    optimistic_saves,
    lists_and_filters,
    filter_signatures,
    activity_and_idle,
    reaper_lease_is_exclusive,
    service_publishes_every_change,
    socket_tokens_and_presence
);

async fn open(backend: Backend) -> (TestDb, Arc<dyn Store>) {
    let db = TestDb::new(backend).await;
    let store = store::open(&db.url).await.expect("opening the store");
    assert_eq!(store.backend(), backend);
    // Migrating twice is harmless.
    store.migrate().await.unwrap();
    (db, store)
}

fn page(limit: u32) -> Page {
    Page {
        limit,
        before: None,
        after: None,
    }
}

fn all_sessions(limit: u32) -> SessionFilter {
    SessionFilter {
        filters: vec![],
        states: vec![],
        agent_id: None,
        ids: None,
        page: page(limit),
    }
}

async fn agent(store: &Arc<dyn Store>, account_id: &str, email: &str) -> Caller {
    let account = store.account(account_id).await.unwrap();
    let user = upsert_user(store, account_id, email, "Agent", Role::Administrator).await;
    Caller::Agent {
        account,
        user,
        policy: None,
    }
}

/// A new account as the service makes one, stored through the Store.
async fn create_account(store: &Arc<dyn Store>, name: &str, settings: &AccountSettings) -> Account {
    let account = new_account(name, settings);
    store.create_account(&account).await.unwrap();
    account
}

/// An agent as the service makes one on first use, stored (or refreshed) through the Store.
async fn upsert_user(
    store: &Arc<dyn Store>,
    account_id: &str,
    email: &str,
    name: &str,
    role: Role,
) -> User {
    let email = tandem_core::email::Email::parse(email).expect("an email address");
    let agent = new_agent(account_id, &email, name, role);
    store.upsert_user(&agent).await.unwrap()
}

fn service(store: &Arc<dyn Store>, config: ServiceConfig) -> (Arc<Service>, Arc<InProcessBus>) {
    let bus = Arc::new(InProcessBus::default());
    (
        Arc::new(Service::new(store.clone(), bus.clone(), config)),
        bus,
    )
}

async fn accounts_keys_and_users(backend: Backend) {
    let (_db, store) = open(backend).await;
    let a = create_account(&store, "A", &AccountSettings::default()).await;
    let b = create_account(&store, "B", &AccountSettings::default()).await;
    assert_ne!(a.license_key, b.license_key);
    assert_eq!(
        store.account_by_license(&a.license_key).await.unwrap().id,
        a.id
    );
    assert!(matches!(
        store.account("nope").await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(store.accounts().await.unwrap().len(), 2);

    let mut settings = a.settings.clone();
    settings.require_consent = false;
    settings.code_expiry_secs = 60;
    let updated = store
        .update_account_settings(&a.id, &settings)
        .await
        .unwrap();
    assert_eq!(updated.settings, settings);

    let key = tandem_core::model::AccountKey {
        account_id: a.id.clone(),
        kid: "k1".into(),
        algorithm: "RS256".into(),
        public_pem: "pem".into(),
        private_pem: None,
        created: 1,
    };
    store.add_key(&key).await.unwrap();
    assert!(matches!(store.add_key(&key).await, Err(Error::Conflict(_))));
    assert_eq!(store.keys(&a.id).await.unwrap().len(), 1);
    assert!(store.keys(&b.id).await.unwrap().is_empty());

    let u1 = upsert_user(&store, &a.id, "x@example.com", "X", Role::Agent).await;
    let u2 = upsert_user(
        &store,
        &a.id,
        "x@example.com",
        "Xavier",
        Role::Administrator,
    )
    .await;
    assert_eq!(u1.id, u2.id, "a user is created once");
    assert_eq!(u2.name, "Xavier");
    assert_eq!(u2.role, Role::Administrator);
    let other = upsert_user(&store, &b.id, "x@example.com", "X", Role::Agent).await;
    assert_ne!(
        other.id, u1.id,
        "the same email in another account is another user"
    );
    assert!(matches!(
        store.user(&b.id, &u1.id).await,
        Err(Error::NotFound(_))
    ));
}

async fn optimistic_saves(backend: Backend) {
    let (_db, store) = open(backend).await;
    let account = create_account(&store, "A", &AccountSettings::default()).await;
    let caller = agent(&store, &account.id, "a@example.com").await;
    let (svc, _) = service(&store, ServiceConfig::default());
    let s = svc
        .create_session(&caller, NewSession::default())
        .await
        .unwrap();
    let mut first = store.session(&account.id, &s.id).await.unwrap();
    let mut second = first.clone();
    first.region = Some("one".into());
    second.region = Some("two".into());
    assert_eq!(store.save_session(&first).await.unwrap(), Saved::Yes);
    assert_eq!(
        store.save_session(&second).await.unwrap(),
        Saved::Stale,
        "a stale write is refused"
    );
    let stored = store.session(&account.id, &s.id).await.unwrap();
    assert_eq!(stored.region.as_deref(), Some("one"));
    assert_eq!(stored.version, s.version + 1);

    // Concurrent updates through the service all land.
    let mut tasks = vec![];
    for i in 0..8 {
        let (svc, caller, id) = (svc.clone(), caller.clone(), s.id.clone());
        tasks.push(tokio::spawn(async move {
            let patch = SessionPatch {
                custom_data: Some(json!({ format!("k{i}"): i }).as_object().unwrap().clone()),
                ..SessionPatch::default()
            };
            svc.update_session(&caller, &id, patch).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let stored = store.session(&account.id, &s.id).await.unwrap();
    assert_eq!(stored.custom_data.len(), 8, "{:?}", stored.custom_data);
    // The filter index follows custom data.
    let filter = SessionFilter {
        filters: vec![("k3".into(), "3".into())],
        ..all_sessions(10)
    };
    assert_eq!(
        store
            .list_sessions(&account.id, &filter)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn lists_and_filters(backend: Backend) {
    let (_db, store) = open(backend).await;
    let a = create_account(&store, "A", &AccountSettings::default()).await;
    let b = create_account(&store, "B", &AccountSettings::default()).await;
    let ca = agent(&store, &a.id, "a@example.com").await;
    let cb = agent(&store, &b.id, "b@example.com").await;
    let (svc, _) = service(&store, ServiceConfig::default());
    let mut ids = vec![];
    for i in 0..10 {
        let data = json!({"user_id": format!("u{i}"), "plan": if i < 3 { "pro" } else { "free" }, "team": "t"});
        let s = svc
            .create_session(
                &ca,
                NewSession {
                    custom_data: data.as_object().unwrap().clone(),
                    agent_me: i % 2 == 0,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        ids.push(s.id);
    }
    svc.create_session(
        &cb,
        NewSession {
            custom_data: json!({"plan": "pro"}).as_object().unwrap().clone(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let list = |f: SessionFilter| {
        let store = store.clone();
        let id = a.id.clone();
        async move {
            store
                .list_sessions(&id, &f)
                .await
                .unwrap()
                .into_iter()
                .map(|s| s.id)
                .collect::<Vec<_>>()
        }
    };
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(list(all_sessions(50)).await, newest_first);
    assert_eq!(list(all_sessions(3)).await, newest_first[..3]);
    let f = |pairs: &[(&str, &str)]| SessionFilter {
        filters: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..all_sessions(50)
    };
    assert_eq!(
        list(f(&[("plan", "pro")])).await,
        vec![ids[2].clone(), ids[1].clone(), ids[0].clone()]
    );
    assert_eq!(
        list(f(&[("plan", "pro"), ("user_id", "u1")])).await,
        vec![ids[1].clone()]
    );
    assert_eq!(
        list(f(&[("plan", "pro"), ("team", "t"), ("user_id", "u2")])).await,
        vec![ids[2].clone()]
    );
    assert!(list(f(&[("plan", "free"), ("user_id", "u1")]))
        .await
        .is_empty());
    assert!(list(f(&[("plan", "gold")])).await.is_empty());
    // Own sessions only, with and without filters.
    let Caller::Agent { user, .. } = &ca else {
        unreachable!()
    };
    let mine = SessionFilter {
        agent_id: Some(user.id.clone()),
        ..all_sessions(50)
    };
    assert_eq!(list(mine.clone()).await.len(), 5);
    assert_eq!(
        list(SessionFilter {
            filters: vec![("plan".into(), "pro".into())],
            ..mine
        })
        .await,
        vec![ids[2].clone(), ids[0].clone()]
    );
    // States, ids and keyset bounds.
    let ended = svc
        .update_session(
            &ca,
            &ids[4],
            SessionPatch {
                state: Some(SessionState::Ended),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        list(SessionFilter {
            states: vec![SessionState::Ended],
            ..all_sessions(50)
        })
        .await,
        vec![ended.id.clone()]
    );
    assert_eq!(
        list(SessionFilter {
            ids: Some(vec![ids[5].clone(), ids[6].clone()]),
            ..all_sessions(50)
        })
        .await,
        vec![ids[6].clone(), ids[5].clone()]
    );
    assert!(list(SessionFilter {
        ids: Some(vec![]),
        ..all_sessions(50)
    })
    .await
    .is_empty());
    let pivot = store.session(&a.id, &ids[5]).await.unwrap().sort_at();
    let before = SessionFilter {
        page: Page {
            limit: 50,
            before: Some(pivot),
            after: None,
        },
        ..all_sessions(50)
    };
    assert_eq!(list(before).await, newest_first[5..]);
    let after = SessionFilter {
        page: Page {
            limit: 50,
            before: None,
            after: Some(pivot),
        },
        ..all_sessions(50)
    };
    assert_eq!(list(after).await, newest_first[..4]);
    // Lookups by code and token are scoped to the account.
    let s = store.session(&a.id, &ids[7]).await.unwrap();
    let code = s.code.clone().unwrap();
    assert_eq!(store.session_by_code(&a.id, &code).await.unwrap().id, s.id);
    assert!(matches!(
        store.session_by_code(&b.id, &code).await,
        Err(Error::NotFound(_))
    ));
    let token = s.access_token.clone().unwrap();
    assert_eq!(
        store
            .session_by_access_token(&a.id, &token)
            .await
            .unwrap()
            .id,
        s.id
    );
    assert!(matches!(
        store.session(&b.id, &s.id).await,
        Err(Error::NotFound(_))
    ));
}

/// The filter signature (store::signature) is the same whether Rust or the database computes it
/// (the bench seeds with it in SQL), and lists never depend on it for their answer: with every
/// signature unknown (0, as rows from before migration 0011 and older servers have) they are the
/// same.
async fn filter_signatures(backend: Backend) {
    use tandem_core::store::signature::{pair_bit, pair_bit_sql, signature, signature_sql};
    let (db, store) = open(backend).await;
    let a = create_account(&store, "A", &AccountSettings::default()).await;
    let ca = agent(&store, &a.id, "a@example.com").await;
    let (svc, _) = service(&store, ServiceConfig::default());
    let tricky = [
        json!({"plan": "pro", "team": "t", "n": 5, "vip": true}),
        json!({"plan": "", "x": "é", "y": "日本語のテキスト", "z": "😀x", "w": "team-123"}),
        json!({"plan": "pro", "team": "u", "n": 1.5, "vip": false, "k": "a"}),
        json!({"plan": "free", "team": "t", "n": 5}),
    ];
    let mut sessions = vec![];
    for data in &tricky {
        let s = svc
            .create_session(
                &ca,
                NewSession {
                    custom_data: data.as_object().unwrap().clone(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        sessions.push(s);
    }
    sqlx::any::install_default_drivers();
    let raw = sqlx::AnyPool::connect(&db.url).await.unwrap();
    for s in &sessions {
        let pairs = tandem_core::custom_data::filter_pairs(&s.custom_data);
        let expected = signature(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let stored: Vec<i64> =
            sqlx::query_scalar("SELECT sig FROM session_filters WHERE session_id = $1")
                .bind(&s.id)
                .fetch_all(&raw)
                .await
                .unwrap();
        assert_eq!(stored.len(), pairs.len());
        assert!(
            stored.iter().all(|&sig| sig == expected),
            "{stored:?} != {expected}"
        );
        let in_sql: i64 = sqlx::query_scalar(&format!(
            "SELECT {} FROM session_filters f WHERE f.session_id = $1",
            signature_sql(backend, "f.key", "f.value")
        ))
        .bind(&s.id)
        .fetch_one(&raw)
        .await
        .unwrap();
        assert_eq!(in_sql, expected, "{pairs:?}");
        for (k, v) in &pairs {
            let bit: i64 = sqlx::query_scalar(&format!(
                "SELECT CAST({} AS BIGINT)",
                pair_bit_sql(backend, "CAST($1 AS TEXT)", "CAST($2 AS TEXT)")
            ))
            .bind(k)
            .bind(v)
            .fetch_one(&raw)
            .await
            .unwrap();
            assert_eq!(bit, i64::from(pair_bit(k, v)), "{k}={v}");
        }
    }

    let lists = || async {
        let mut out = vec![];
        for pairs in [
            vec![("plan", "pro"), ("team", "t")],
            vec![("team", "t"), ("n", "5")],
            vec![("plan", "pro"), ("vip", "false"), ("k", "a")],
            vec![("plan", "pro"), ("team", "u"), ("n", "5")],
            vec![("x", "é"), ("y", "日本語のテキスト")],
        ] {
            let f = SessionFilter {
                filters: pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                ..all_sessions(50)
            };
            let ids: Vec<String> = store
                .list_sessions(&a.id, &f)
                .await
                .unwrap()
                .into_iter()
                .map(|s| s.id)
                .collect();
            out.push(ids);
        }
        out
    };
    let with_signatures = lists().await;
    let id = |i: usize| sessions[i].id.clone();
    assert_eq!(
        with_signatures,
        vec![
            vec![id(0)],
            vec![id(3), id(0)],
            vec![id(2)],
            vec![],
            vec![id(1)]
        ]
    );
    sqlx::query("UPDATE session_filters SET sig = 0")
        .execute(&raw)
        .await
        .unwrap();
    assert_eq!(lists().await, with_signatures);
    raw.close().await;
}

async fn activity_and_idle(backend: Backend) {
    let (_db, store) = open(backend).await;
    let account = create_account(&store, "A", &AccountSettings::default()).await;
    let caller = agent(&store, &account.id, "a@example.com").await;
    let config = ServiceConfig {
        // Wide margins: on a loaded machine a query can take a few hundred milliseconds.
        inactivity_timeout: Duration::from_millis(2000),
        ..ServiceConfig::default()
    };
    let (svc, _) = service(&store, config);
    let busy = svc
        .create_session(&caller, NewSession::default())
        .await
        .unwrap();
    let idle = svc
        .create_session(&caller, NewSession::default())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    svc.touch(&busy.id);
    svc.flush_activity().await.unwrap();
    let touched = store.session(&account.id, &busy.id).await.unwrap();
    assert!(
        touched.last_activity > busy.last_activity,
        "a touch is written by the flush"
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(svc.reap_once().await.unwrap(), 1);
    let idle = store.session(&account.id, &idle.id).await.unwrap();
    assert_eq!(idle.state, SessionState::Ended);
    assert_eq!(
        idle.ended_reason.map(|r| r.as_str()),
        Some("pending_timeout")
    );
    assert!(idle.code.is_none() && idle.access_token.is_none());
    assert_eq!(
        store.session(&account.id, &busy.id).await.unwrap().state,
        SessionState::Pending
    );
    // Expired stream tokens are purged by the reaper pass; live ones stay.
    for (hash, expires) in [("old", 1), ("new", i64::MAX)] {
        let token = tandem_core::store::StreamToken {
            token_hash: hash.into(),
            account_id: account.id.clone(),
            session_id: busy.id.clone(),
            user_id: "u".into(),
            expires,
        };
        store.add_stream_token(&token).await.unwrap();
    }
    assert_eq!(
        store
            .purge_stream_tokens(tandem_core::time::now())
            .await
            .unwrap(),
        1
    );
    assert!(matches!(
        store.stream_token("old").await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(store.stream_token("new").await.unwrap().session_id, busy.id);
    // Touching an ended session does not revive it.
    svc.touch(&idle.id);
    svc.touch(&busy.id);
    svc.flush_activity().await.unwrap();
    assert_eq!(
        svc.reap_once().await.unwrap(),
        0,
        "busy is fresh, idle is ended"
    );
}

async fn reaper_lease_is_exclusive(backend: Backend) {
    let (_db, store) = open(backend).await;
    let mut first = store
        .reaper_lease()
        .await
        .unwrap()
        .expect("the first asker gets the lease");
    assert!(store.lease_alive(&mut first).await);
    match backend {
        // One process owns an SQLite file, so it always reaps.
        Backend::Sqlite => assert!(store.reaper_lease().await.unwrap().is_some()),
        Backend::Postgres => {
            assert!(
                store.reaper_lease().await.unwrap().is_none(),
                "a second replica waits"
            );
            drop(first);
            let mut again = None;
            for _ in 0..50 {
                again = store.reaper_lease().await.unwrap();
                if again.is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert!(again.is_some(), "the lease is free once its holder is gone");
        }
    }
}

async fn service_publishes_every_change(backend: Backend) {
    let (_db, store) = open(backend).await;
    let account = create_account(&store, "A", &AccountSettings::default()).await;
    let caller = agent(&store, &account.id, "a@example.com").await;
    let config = ServiceConfig {
        inactivity_timeout: Duration::from_millis(100),
        ..ServiceConfig::default()
    };
    let (svc, bus) = service(&store, config);
    let mut rx = bus.subscribe();
    let s = svc
        .create_session(&caller, NewSession::default())
        .await
        .unwrap();
    svc.update_session(
        &caller,
        &s.id,
        SessionPatch {
            region: Some("eu".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    svc.reap_once().await.unwrap();
    let mut seen = vec![];
    while let Ok(Event::Session(s)) = rx.try_recv() {
        seen.push((s.state, s.region.clone(), s.ended_reason));
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(seen[0].0, SessionState::Pending);
    assert_eq!(seen[1].1.as_deref(), Some("eu"));
    assert_eq!(seen[2].0, SessionState::Ended);
    // A failed change publishes nothing.
    let err = svc
        .update_session(
            &caller,
            &s.id,
            SessionPatch {
                state: Some(SessionState::Active),
                ..Default::default()
            },
        )
        .await;
    assert!(matches!(err, Err(Error::Conflict(_))));
    assert!(rx.try_recv().is_err());
}

async fn socket_tokens_and_presence(backend: Backend) {
    let (_db, store) = open(backend).await;
    let settings = AccountSettings::default();
    let a = create_account(&store, "A", &settings).await;
    let b = create_account(&store, "B", &settings).await;
    let caller = agent(&store, &a.id, "a@example.com").await;
    let (svc, bus) = service(&store, ServiceConfig::default());
    let Caller::Agent { user, .. } = &caller else {
        unreachable!()
    };
    // A notification token names its user, account and policy; anything else names nobody.
    let day = Duration::from_secs(86_400);
    let token = svc.notification_token(&caller, day).await.unwrap();
    let (account, found) = svc.socket_agent(&token).await.unwrap();
    assert_eq!(
        (account.id.as_str(), found.user_id.as_str(), found.policy),
        (a.id.as_str(), user.id.as_str(), None)
    );
    assert_ne!(found.token_hash, token, "only the hash is kept");
    for bad in ["", "nope"] {
        assert!(matches!(
            svc.socket_agent(bad).await,
            Err(Error::NotFound(_))
        ));
    }
    let policy = Policy::parse(&json!({"devices": {"custom_data": {"user_id": "u1"}}})).unwrap();
    let Caller::Agent { account: acc, .. } = &caller else {
        unreachable!()
    };
    let narrow = Caller::Agent {
        account: acc.clone(),
        user: user.clone(),
        policy: Some(policy.clone()),
    };
    let narrow_token = svc.notification_token(&narrow, day).await.unwrap();
    assert_ne!(narrow_token, token, "each call mints a new token");
    let (_, found) = svc.socket_agent(&narrow_token).await.unwrap();
    assert_eq!(found.policy.as_ref(), Some(&policy));
    // Expired tokens are refused, and the reaper forgets them.
    let stale = svc
        .notification_token(&caller, Duration::from_micros(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(matches!(
        svc.socket_agent(&stale).await,
        Err(Error::Refused {
            id: "token_expired",
            ..
        })
    ));
    svc.reap_once().await.unwrap();
    assert!(matches!(
        svc.socket_agent(&stale).await,
        Err(Error::NotFound(_))
    ));
    assert!(svc.socket_agent(&token).await.is_ok(), "live tokens stay");

    let s = svc
        .create_session(&caller, NewSession::default())
        .await
        .unwrap();
    let (d, _) = svc
        .register_device(&a, "dev-1", None, DeviceRegistration::default())
        .await
        .unwrap();
    let everything = Watcher::Agent {
        account_id: &a.id,
        policy: None,
    };
    assert!(matches!(
        svc.subscription(&everything, &s.control_token).await,
        Ok(Subscription::Session(x)) if x.id == s.id
    ));
    assert!(matches!(
        svc.subscription(&everything, &d.notification_token).await,
        Ok(Subscription::Device(x)) if x.id == "dev-1"
    ));
    // Tokens are scoped to their account, and to what a policy or a device may read.
    let other_account = Watcher::Agent {
        account_id: &b.id,
        policy: None,
    };
    let hidden = Watcher::Agent {
        account_id: &a.id,
        policy: Some(&policy),
    };
    let other_device = Watcher::Device {
        account_id: &a.id,
        device_id: "dev-2",
    };
    for watcher in [&other_account, &hidden, &other_device] {
        for token in [&s.control_token, &d.notification_token] {
            assert!(
                matches!(
                    svc.subscription(watcher, token).await,
                    Err(Error::NotFound(_))
                ),
                "{watcher:?}"
            );
        }
        assert!(matches!(
            svc.presence(watcher, "dev-1").await,
            Err(Error::NotFound(_))
        ));
    }

    // Revoking the user: their tokens stop working, and every replica hears it.
    let mut rx = bus.subscribe();
    assert_eq!(svc.revoke_user_tokens(&a.id, &user.id).await.unwrap(), 2);
    assert!(matches!(
        rx.try_recv(),
        Ok(Event::Revoked(r)) if r.account_id == a.id && r.user_id == user.id
    ));
    for t in [&token, &narrow_token] {
        assert!(matches!(svc.socket_agent(t).await, Err(Error::NotFound(_))));
    }

    assert!(!svc.presence(&everything, "dev-1").await.unwrap().present);
    svc.device_presence(&a.id, "dev-1", true).await.unwrap();
    assert!(store.device(&a.id, "dev-1").await.unwrap().online);
    assert!(matches!(rx.try_recv(), Ok(Event::Presence(p)) if p.present && p.id == "dev-1"));
    svc.refresh_presence(&[(a.id.clone(), "dev-1".into())])
        .await
        .unwrap();
    assert!(svc.presence(&everything, "dev-1").await.unwrap().present);
    svc.device_presence(&a.id, "dev-1", false).await.unwrap();
    assert!(!store.device(&a.id, "dev-1").await.unwrap().online);
    assert!(matches!(rx.try_recv(), Ok(Event::Presence(p)) if !p.present));
    // Presence of another account's device is not there to read.
    assert!(svc.presence(&other_account, "dev-1").await.is_err());

    // A lease nobody renews (its replica died) lapses: the reaper marks the device offline and
    // tells subscribers, once.
    let key = [(a.id.clone(), "dev-1".to_owned())];
    store
        .set_presence(&key, time::now() - 1, time::now())
        .await
        .unwrap();
    while rx.try_recv().is_ok() {}
    svc.reap_once().await.unwrap();
    assert!(matches!(rx.try_recv(), Ok(Event::Presence(p)) if !p.present && p.id == "dev-1"));
    assert!(!store.device(&a.id, "dev-1").await.unwrap().online);
    svc.reap_once().await.unwrap();
    assert!(
        rx.try_recv().is_err(),
        "an offline device is not reported again"
    );
}
