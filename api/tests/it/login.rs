//! Dashboard sign-in over HTTP: links by email through a real SMTP conversation, the login
//! cookie and its CSRF rules, invitations, roles, keys, and superusers disabling an account.

use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tandem_core::store::Backend;
use tandem_testkit::ws::{try_connect, ws_url, Ended};
use tandem_testkit::Smtp;

use crate::common::{both_backends, read, Server, Tenant};

both_backends!(
    a_link_signs_in_once_and_the_cookie_works_as_the_member,
    cookie_changes_need_our_origin_and_the_csrf_token,
    unknown_addresses_get_the_same_answer_and_asking_is_limited,
    agents_manage_nothing_and_the_last_administrator_stays,
    removing_a_member_ends_their_sign_ins,
    keys_generated_uploaded_and_revoked,
    superusers_disable_an_account_and_everyone_is_locked_out,
    cookies_are_secure_when_the_server_is_reached_over_https
);

const SUPERUSER: &str = "root@ops.example";

async fn setup(backend: Backend) -> (Server, Smtp, Tenant) {
    let smtp = Smtp::start().await;
    let url = smtp.url();
    let server = Server::start_with(backend, |c| {
        c.smtp_url = url;
        c.superuser_emails = vec![SUPERUSER.into()];
    })
    .await;
    let tenant = server.tenant().await;
    (server, smtp, tenant)
}

/// A browser of this server: it keeps the login cookie and sends our `Origin` and, once known,
/// the CSRF token with every change.
struct Browser<'a> {
    server: &'a Server,
    cookie: String,
    csrf: String,
}

impl<'a> Browser<'a> {
    fn new(server: &'a Server) -> Self {
        Browser {
            server,
            cookie: String::new(),
            csrf: String::new(),
        }
    }

    async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .server
            .http
            .request(method.clone(), format!("{}{path}", self.server.base));
        if !self.cookie.is_empty() {
            req = req.header(COOKIE, format!("tandem_session={}", self.cookie));
        }
        if method != Method::GET {
            req = req
                .header(ORIGIN, &self.server.base)
                .header("x-tandem-csrf", &self.csrf);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        if let Some(set) = res.headers().get(SET_COOKIE) {
            let set = set.to_str().unwrap();
            self.cookie = set["tandem_session=".len()..]
                .split(';')
                .next()
                .unwrap()
                .to_owned();
        }
        let (status, body) = read(res).await;
        if let Some(csrf) = body.get("csrf_token").and_then(Value::as_str) {
            self.csrf = csrf.to_owned();
        }
        (status, body)
    }

    /// Asks for a link for `email`, reads it from the mail, redeems it.
    async fn sign_in(&mut self, smtp: &Smtp, email: &str) -> Value {
        let n = smtp.messages(email).len() + 1;
        let (status, _) = self
            .call(
                Method::POST,
                "/api/1/login/email",
                Some(json!({"email": email})),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let token = smtp.link_token(email, n).await;
        self.redeem(&token).await
    }

    async fn redeem(&mut self, token: &str) -> Value {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/1/login/link",
                Some(json!({"token": token})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

/// Invites `email` with `role` as the tenant's administrator (JWT); returns the link token.
async fn invite(server: &Server, smtp: &Smtp, t: &Tenant, email: &str, role: &str) -> String {
    let (status, body) = server
        .post(
            "/api/1/invitations",
            &t.admin,
            json!({"email": email, "role": role}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    smtp.link_token(email, smtp.messages(email).len().max(1))
        .await
}

async fn a_link_signs_in_once_and_the_cookie_works_as_the_member(backend: Backend) {
    let (server, smtp, t) = setup(backend).await;
    let token = invite(&server, &smtp, &t, "ann@shop.example", "agent").await;
    let mut ann = Browser::new(&server);
    let session = ann.redeem(&token).await;
    assert_eq!(session["email"], "ann@shop.example");
    assert_eq!(session["account"]["id"], t.account.id.as_str());
    assert_eq!(session["account"]["role"], "agent");
    // The cookie works as the member on the agent API.
    let (status, me) = ann.call(Method::GET, "/api/1/users/me", None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["email"], "ann@shop.example");
    // The link works once.
    let mut other = Browser::new(&server);
    let (status, body) = other
        .call(
            Method::POST,
            "/api/1/login/link",
            Some(json!({"token": token})),
        )
        .await;
    assert_eq!(
        (status, body["id"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_link"))
    );
    let (status, _) = other
        .call(
            Method::POST,
            "/api/1/login/link",
            Some(json!({"token": "x".repeat(43)})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A sign-in link (not an invitation) for a member.
    let mut again = Browser::new(&server);
    let second = again.sign_in(&smtp, "ann@shop.example").await;
    assert_eq!(second["account"]["id"], t.account.id.as_str());
    let (_, list) = ann.call(Method::GET, "/api/1/login/sessions", None).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    // The cookie opens a socket as the member, as a JWT does.
    let (_, me) = ann.call(Method::GET, "/api/1/users/me", None).await;
    let mut socket = try_connect(
        &ws_url(&server.base, "X-CobrowsePlatform=agent-sdk"),
        me["notification_token"].as_str(),
        None,
    )
    .await
    .expect("an agent socket");
    // Signing out kills this cookie and closes its sockets, not the other browser's sign-in.
    let (status, _) = ann.call(Method::DELETE, "/api/1/login/session", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = ann.call(Method::GET, "/api/1/login/session", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(matches!(socket.closed().await, Ended::Closed(4001, _)));
    let (status, _) = again.call(Method::GET, "/api/1/users/me", None).await;
    assert_eq!(status, StatusCode::OK);
}

async fn cookie_changes_need_our_origin_and_the_csrf_token(backend: Backend) {
    let (server, smtp, t) = setup(backend).await;
    let token = invite(&server, &smtp, &t, "bo@shop.example", "administrator").await;
    let mut bo = Browser::new(&server);
    bo.redeem(&token).await;
    let url = format!("{}/api/1/sessions", server.base);
    let cookie = format!("tandem_session={}", bo.cookie);
    let attempts = [
        ("no origin, no token", None, None),
        (
            "another site",
            Some("http://evil.example"),
            Some(bo.csrf.clone()),
        ),
        ("our origin, no token", Some(server.base.as_str()), None),
        (
            "our origin, wrong token",
            Some(server.base.as_str()),
            Some("0".repeat(64)),
        ),
    ];
    for (what, origin, csrf) in attempts {
        let mut req = server
            .http
            .post(&url)
            .header(COOKIE, &cookie)
            .json(&json!({}));
        if let Some(o) = origin {
            req = req.header(ORIGIN, o);
        }
        if let Some(c) = csrf {
            req = req.header("x-tandem-csrf", c);
        }
        let (status, body) = read(req.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {body}");
        assert_eq!(body["id"], "csrf_refused", "{what}");
    }
    let (_, sessions) = server.get("/api/1/sessions", &t.admin).await;
    assert_eq!(sessions.as_array().unwrap().len(), 0, "nothing was created");
    let (status, created) = bo
        .call(Method::POST, "/api/1/sessions", Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    // Reads need no token.
    let (status, _) = server
        .http
        .get(&url)
        .header(COOKIE, &cookie)
        .send()
        .await
        .map(|r| (r.status(), ()))
        .unwrap();
    assert_eq!(status, StatusCode::OK);
}

async fn unknown_addresses_get_the_same_answer_and_asking_is_limited(backend: Backend) {
    let (server, smtp, _t) = setup(backend).await;
    let mut browser = Browser::new(&server);
    let ask = |email: &'static str| json!({ "email": email });
    let (known, known_body) = browser
        .call(
            Method::POST,
            "/api/1/login/email",
            Some(ask("admin@example.com")),
        )
        .await;
    // The JWT's agent exists only after a call with it; nobody else is known.
    let (unknown, unknown_body) = browser
        .call(
            Method::POST,
            "/api/1/login/email",
            Some(ask("nobody@shop.example")),
        )
        .await;
    assert_eq!((known, known_body), (unknown, unknown_body));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(smtp.messages("nobody@shop.example").is_empty());
    let (status, body) = browser
        .call(
            Method::POST,
            "/api/1/login/email",
            Some(json!({"email": "not an email"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let mut last = StatusCode::ACCEPTED;
    for _ in 0..5 {
        last = browser
            .call(
                Method::POST,
                "/api/1/login/email",
                Some(ask("nobody@shop.example")),
            )
            .await
            .0;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
}

async fn agents_manage_nothing_and_the_last_administrator_stays(backend: Backend) {
    let (server, smtp, t) = setup(backend).await;
    let token = invite(&server, &smtp, &t, "cy@shop.example", "agent").await;
    let mut cy = Browser::new(&server);
    cy.redeem(&token).await;
    for (method, path, body) in [
        (Method::GET, "/api/1/members", None),
        (Method::GET, "/api/1/keys", None),
        (
            Method::POST,
            "/api/1/invitations",
            Some(json!({"email": "x@y.example", "role": "administrator"})),
        ),
        (
            Method::PATCH,
            &*format!("/api/1/accounts/{}", t.account.id),
            Some(json!({"name": "mine"})),
        ),
        (Method::GET, "/api/1/instance", None),
    ] {
        let (status, reply) = cy.call(method.clone(), path, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {reply}");
    }
    // The same through a JWT with the agent role.
    let agent_jwt = t.token("jwt-agent@shop.example", None);
    let (status, _) = server.get("/api/1/members", &agent_jwt).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The only administrator cannot step down or be removed.
    let (_, members) = server.get("/api/1/members", &t.admin).await;
    let admin_id = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "admin@example.com")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = server
        .put(
            &format!("/api/1/members/{admin_id}"),
            &t.admin,
            json!({"role": "agent"}),
        )
        .await;
    assert_eq!(
        (status, body["id"].as_str()),
        (StatusCode::CONFLICT, Some("last_administrator"))
    );
    // Settings: checked whole, the field named.
    let (status, body) = server
        .call(
            Method::PATCH,
            &format!("/api/1/accounts/{}", t.account.id),
            &t.admin,
            Some(json!({"settings": {"trusted_origins": ["https://ok.example/path"]}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("trusted_origins"));
    // A name is one line (it goes into email subjects).
    let (status, body) = server
        .call(
            Method::PATCH,
            &format!("/api/1/accounts/{}", t.account.id),
            &t.admin,
            Some(json!({"name": "Shop\nBcc: x@evil.example"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = server
        .call(
            Method::PATCH,
            &format!("/api/1/accounts/{}", t.account.id),
            &t.admin,
            Some(json!({"name": "Shop", "settings": {"redaction_selectors": [".card"]}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "Shop");
    assert_eq!(body["settings"]["redaction_selectors"], json!([".card"]));
    assert_eq!(
        body["settings"]["require_consent"], true,
        "the rest is kept"
    );
}

async fn removing_a_member_ends_their_sign_ins(backend: Backend) {
    let (server, smtp, t) = setup(backend).await;
    let token = invite(&server, &smtp, &t, "di@shop.example", "agent").await;
    let mut di = Browser::new(&server);
    di.redeem(&token).await;
    let (_, members) = server.get("/api/1/members", &t.admin).await;
    let member = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "di@shop.example")
        .unwrap()
        .clone();
    assert_eq!(member["login_sessions"], 1);
    let (status, _) = server
        .call(
            Method::DELETE,
            &format!("/api/1/members/{}", member["id"].as_str().unwrap()),
            &t.admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = di.call(Method::GET, "/api/1/users/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn keys_generated_uploaded_and_revoked(backend: Backend) {
    let (server, _smtp, t) = setup(backend).await;
    let (status, generated) = server
        .post("/api/1/keys/generate", &t.admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{generated}");
    let kid = generated["kid"].as_str().unwrap().to_owned();
    let private = generated["private_key"].as_str().unwrap().to_owned();
    let stored = server.store.keys(&t.account.id).await.unwrap();
    assert!(
        stored.iter().all(|k| k.private_pem.is_none()),
        "no private half is kept"
    );
    let jwt = tandem_api::keys::mint(&kid, &private, &t.spec("ed@shop.example", None)).unwrap();
    let (status, _) = server.get("/api/1/users/me", &jwt).await;
    assert_eq!(status, StatusCode::OK);
    let (_, keys) = server.get("/api/1/keys", &t.admin).await;
    let listed = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap()
        .clone();
    assert!(listed["last_used"].is_string(), "{listed}");
    // Upload: a PEM, then the same key again is a conflict; a private key is refused.
    let other = tandem_api::keys::generate(&t.account.id).unwrap();
    let (status, body) = server
        .post(
            "/api/1/keys",
            &t.admin,
            json!({"public_key": other.key.public_pem, "kid": "uploaded-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = server
        .post(
            "/api/1/keys",
            &t.admin,
            json!({"public_key": other.key.public_pem, "kid": "uploaded-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = server
        .post(
            "/api/1/keys",
            &t.admin,
            json!({"public_key": other.private_pem}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let signed = tandem_api::keys::mint(
        "uploaded-1",
        &other.private_pem,
        &t.spec("fi@shop.example", None),
    )
    .unwrap();
    assert_eq!(
        server.get("/api/1/users/me", &signed).await.0,
        StatusCode::OK
    );
    // Revoked: refused from the next request on.
    let (status, _) = server
        .call(
            Method::DELETE,
            &format!("/api/1/keys/{kid}"),
            &t.admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = server.get("/api/1/users/me", &jwt).await;
    assert_eq!(
        (status, body["id"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );
}

async fn superusers_disable_an_account_and_everyone_is_locked_out(backend: Backend) {
    let (server, smtp, t) = setup(backend).await;
    let token = invite(&server, &smtp, &t, "gu@shop.example", "administrator").await;
    let mut gu = Browser::new(&server);
    gu.redeem(&token).await;
    let device = server.register_device(&t, "dev-1", json!({})).await;
    let mut root = Browser::new(&server);
    let signed_in = root.sign_in(&smtp, SUPERUSER).await;
    assert_eq!(signed_in["superuser"], true);
    let (status, instance) = root.call(Method::GET, "/api/1/instance", None).await;
    assert_eq!(status, StatusCode::OK, "{instance}");
    assert_eq!(instance["backend"], backend.as_str());
    let (_, all) = root.call(Method::GET, "/api/1/admin/accounts", None).await;
    assert!(all
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["id"] == t.account.id.as_str()));
    let (status, body) = root
        .call(
            Method::PATCH,
            &format!("/api/1/admin/accounts/{}", t.account.id),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["disabled"], true);
    let (status, body) = server.get("/api/1/users/me", &t.admin).await;
    assert_eq!(
        (status, body["id"].as_str()),
        (StatusCode::FORBIDDEN, Some("account_disabled"))
    );
    let (status, _) = gu.call(Method::GET, "/api/1/sessions", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = server
        .device_call(&t, &device, Method::GET, "/api/1/devices/dev-1", None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the device is refused too");
    // A new account, with the superuser as its administrator.
    let (status, created) = root
        .call(
            Method::POST,
            "/api/1/admin/accounts",
            Some(json!({"name": "Second"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, switched) = root
        .call(
            Method::PUT,
            "/api/1/login/session",
            Some(json!({"account": created["id"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{switched}");
    assert_eq!(switched["account"]["role"], "administrator");
}

/// Behind a TLS proxy (`public_url` https), the login cookie, its deletion and the SAML
/// request cookie are `Secure`; the SAML one is `SameSite=None`, as the IdP's POST is cross-site.
async fn cookies_are_secure_when_the_server_is_reached_over_https(backend: Backend) {
    const PUBLIC: &str = "https://tandem.example";
    let smtp = Smtp::start().await;
    let url = smtp.url();
    let server = Server::start_with(backend, |c| {
        c.smtp_url = url;
        c.public_url = PUBLIC.into();
    })
    .await;
    let t = server.tenant().await;
    // The administrator becomes a member with their first call.
    let (status, _) = server.get("/api/1/users/me", &t.admin).await;
    assert_eq!(status, StatusCode::OK);
    let post = |path: &str, body: Value| {
        server
            .http
            .post(format!("{}{path}", server.base))
            .header(ORIGIN, PUBLIC)
            .json(&body)
            .send()
    };
    let res = post("/api/1/login/email", json!({"email": "admin@example.com"}))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let token = smtp.link_token("admin@example.com", 1).await;
    let res = post("/api/1/login/link", json!({"token": token}))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let set = res.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        set.starts_with("tandem_session=") && set.ends_with("; Secure"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_owned();
    let res = server
        .http
        .delete(format!("{}/api/1/login/session", server.base))
        .header(ORIGIN, PUBLIC)
        .header(COOKIE, &cookie)
        .header("x-tandem-csrf", {
            let (_, me) = read(
                server
                    .http
                    .get(format!("{}/api/1/login/session", server.base))
                    .header(COOKIE, &cookie)
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            me["csrf_token"].as_str().unwrap().to_owned()
        })
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let cleared = res.headers()[SET_COOKIE].to_str().unwrap();
    assert!(
        cleared.contains("Max-Age=0") && cleared.ends_with("; Secure"),
        "{cleared}"
    );
    // The SAML request cookie, once the account has single sign-on.
    let idp = tandem_testkit::Idp::start().await;
    let (status, _) = server
        .put(
            "/api/1/sso",
            &t.admin,
            json!({"metadata_xml": idp.get("/metadata").await}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/api/1/saml/{}/login", server.base, t.account.id))
        .send()
        .await
        .unwrap();
    let saml = res.headers()[SET_COOKIE].to_str().unwrap();
    assert!(
        saml.starts_with("tandem_saml=") && saml.contains("SameSite=None; Secure"),
        "{saml}"
    );
    server.stop().await;
}
