//! SAML single sign-on against a real IdP (tests/saml/idp.py: pysaml2 signing with xmlsec1):
//! configuration by administrators, SP-initiated and IdP-initiated sign-in ending in a login
//! session, a certificate rollover, "require SSO" closing email links, and the forgery matrix:
//! every forged, stale, misaddressed or replayed response built from the IdP's genuine ones is
//! refused, with nobody signed in. (The browser flow through the dashboard is the Chromium suite
//! in `dashboard_sso`.)

use std::io::Read;
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tandem_core::store::Backend;
use tandem_testkit::{forgeries, Idp, Smtp};

use crate::common::{both_backends, read, Server, Tenant};

both_backends!(
    administrators_configure_sso_and_bad_configurations_change_nothing,
    sp_initiated_sign_in_ends_in_a_login_session,
    idp_initiated_sign_in_only_where_allowed_and_once,
    a_certificate_rollover_keeps_sign_in_working,
    require_sso_closes_email_links,
    the_forgery_matrix_is_refused
);

/// A browser without redirects: the test reads every hop.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A cookie's value from a response's `Set-Cookie` headers.
fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or("").to_owned())
}

/// A server, its tenant and the IdP, with the IdP configured for the tenant (certificate `a`)
/// and our SP registered at the IdP. `tweak` adjusts the configuration body.
struct Fixture {
    server: Server,
    t: Tenant,
    idp: Idp,
    acs: String,
    entity: String,
}

async fn fixture(backend: Backend, tweak: impl FnOnce(&mut Value)) -> Fixture {
    fixture_with(Server::start(backend).await, tweak).await
}

async fn fixture_with(server: Server, tweak: impl FnOnce(&mut Value)) -> Fixture {
    let t = server.tenant().await;
    let idp = Idp::start().await;
    let mut config = json!({
        "metadata_xml": idp.get("/metadata").await,
        "groups_attribute": "groups",
        "name_attribute": "displayName",
        "group_roles": [{"group": "support-leads", "role": "administrator"}],
        "jit": true,
        "default_role": "agent",
        "email_domains": ["shop.example"],
    });
    tweak(&mut config);
    let (status, view) = server.put("/api/1/sso", &t.admin, config).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let sp = &view["sp"];
    let metadata = server
        .http
        .get(sp["metadata_url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    idp.add_sp(&metadata).await;
    Fixture {
        acs: sp["acs_url"].as_str().unwrap().to_owned(),
        entity: sp["entity_id"].as_str().unwrap().to_owned(),
        server,
        t,
        idp,
    }
}

/// A sign-in started as a browser would: the request id the IdP is sent, and the browser's
/// SAML cookie.
struct Started {
    id: String,
    cookie: String,
    idp_url: String,
}

async fn start(f: &Fixture, next: &str) -> Started {
    let url = format!(
        "{}/api/1/saml/{}/login?next={}",
        f.server.base,
        f.t.account.id,
        form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
    );
    let res = browser().get(url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let cookie = set_cookie(&res, "tandem_saml").expect("the SAML cookie");
    let location = res.headers()[LOCATION].to_str().unwrap().to_owned();
    let query = location.split_once('?').unwrap().1;
    let encoded = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "SAMLRequest")
        .unwrap()
        .1
        .into_owned();
    let deflated = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&deflated[..])
        .read_to_string(&mut xml)
        .unwrap();
    let id = xml
        .split(" ID=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(id.len() >= 33, "a 128-bit request id: {id}");
    Started {
        id: id.to_owned(),
        cookie,
        idp_url: location,
    }
}

/// What the ACS answered.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    location: Option<String>,
    session: Option<String>,
    body: String,
    took: Duration,
}

async fn post_acs(f: &Fixture, saml_response: &str, cookie: Option<&str>, relay: &str) -> Answer {
    post_raw(
        f,
        form_urlencoded::Serializer::new(String::new())
            .append_pair("SAMLResponse", saml_response)
            .append_pair("RelayState", relay)
            .finish(),
        cookie,
    )
    .await
}

async fn post_raw(f: &Fixture, body: String, cookie: Option<&str>) -> Answer {
    let mut req = browser()
        .post(&f.acs)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(c) = cookie {
        req = req.header(COOKIE, format!("tandem_saml={c}"));
    }
    let began = Instant::now();
    let res = match req.send().await {
        Ok(res) => res,
        // A body over the limit: the server answers 413 and closes before reading it all, and
        // the client may see the closed connection first. Nobody is signed in either way.
        Err(e) if e.is_request() => {
            return Answer {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                location: None,
                session: None,
                body: format!("connection closed while sending: {e}"),
                took: began.elapsed(),
            }
        }
        Err(e) => panic!("posting to the ACS: {e}"),
    };
    let took = began.elapsed();
    Answer {
        status: res.status(),
        location: res
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_owned()),
        session: set_cookie(&res, "tandem_session").filter(|v| !v.is_empty()),
        body: res.text().await.unwrap_or_default(),
        took,
    }
}

/// A genuine response from the IdP for this request (or unsolicited), with `extra` fields.
async fn mint(f: &Fixture, in_response_to: Option<&str>, extra: Value) -> String {
    let mut fields = json!({"acs": f.acs, "audience": f.entity});
    if let Some(id) = in_response_to {
        fields["in_response_to"] = json!(id);
    }
    for (k, v) in extra.as_object().unwrap() {
        fields[k] = v.clone();
    }
    f.idp.mint(fields).await
}

/// The login session a cookie opens.
async fn whoami(f: &Fixture, session: &str) -> (StatusCode, Value) {
    let res = f
        .server
        .http
        .get(format!("{}/api/1/login/session", f.server.base))
        .header(COOKIE, format!("tandem_session={session}"))
        .send()
        .await
        .unwrap();
    read(res).await
}

async fn administrators_configure_sso_and_bad_configurations_change_nothing(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let other = server.tenant().await;
    let idp = Idp::start().await;
    let (status, view) = server.get("/api/1/sso", &t.admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["configured"], false);
    let acs = format!("{}/api/1/saml/{}/acs", server.base, t.account.id);
    assert_eq!(view["sp"]["acs_url"], acs.as_str());
    let certs = idp.certs().await;
    let explicit = json!({
        "idp_entity_id": idp.entity_id(),
        "idp_sso_url": format!("{}/sso", idp.base),
        "idp_certificates": [certs["a"], certs["b"]],
        "email_domains": ["Shop.Example"],
    });
    // Refused, and nothing saved: no certificate, a broken one, three, a bad domain, a bad URL.
    let refused = [
        json!({"idp_entity_id": idp.entity_id(), "idp_sso_url": format!("{}/sso", idp.base)}),
        json!({"idp_entity_id": idp.entity_id(), "idp_sso_url": format!("{}/sso", idp.base),
               "idp_certificates": ["-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----"]}),
        json!({"idp_entity_id": idp.entity_id(), "idp_sso_url": format!("{}/sso", idp.base),
               "idp_certificates": [certs["a"], certs["b"], certs["foreign"]]}),
        json!({"idp_entity_id": idp.entity_id(), "idp_sso_url": format!("{}/sso", idp.base),
               "idp_certificates": [certs["a"]], "email_domains": ["not a domain"]}),
        json!({"idp_entity_id": idp.entity_id(), "idp_sso_url": "ftp://idp.example/sso",
               "idp_certificates": [certs["a"]]}),
        json!({"metadata_xml": "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"x\"/>"}),
    ];
    for body in refused {
        let (status, err) = server.put("/api/1/sso", &t.admin, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {err}");
        assert_eq!(err["id"], "invalid_sso", "{err}");
    }
    let (_, view) = server.get("/api/1/sso", &t.admin).await;
    assert_eq!(view["configured"], false);
    // Agents may neither read nor change it.
    let agent = t.token("agent@example.com", None);
    let (status, _) = server.get("/api/1/sso", &agent).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = server.put("/api/1/sso", &agent, explicit.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Saved with two certificates (a rollover); the domain is normalised.
    let (status, view) = server.put("/api/1/sso", &t.admin, explicit.clone()).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["configured"], true);
    assert_eq!(view["config"]["email_domains"], json!(["shop.example"]));
    assert_eq!(view["certificates"].as_array().unwrap().len(), 2);
    assert!(view["certificates"][0]["sha256"]
        .as_str()
        .unwrap()
        .contains(':'));
    // From the IdP's metadata: its entity id, sign-in URL and certificate.
    let (status, view) = server
        .put(
            "/api/1/sso",
            &t.admin,
            json!({"metadata_xml": idp.get("/metadata").await, "email_domains": ["shop.example"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["config"]["idp_entity_id"], idp.entity_id().as_str());
    assert_eq!(
        view["config"]["idp_sso_url"],
        format!("{}/sso", idp.base).as_str()
    );
    assert_eq!(
        view["config"]["idp_certificates"].as_array().unwrap().len(),
        1
    );
    // Another account cannot claim the domain, and sees nothing of this one.
    let (status, err) = server.put("/api/1/sso", &other.admin, explicit).await;
    assert_eq!(
        (status, err["id"].as_str()),
        (StatusCode::CONFLICT, Some("domain_taken"))
    );
    let (_, view) = server.get("/api/1/sso", &other.admin).await;
    assert_eq!(view["configured"], false);
    // The sign-in page finds the account by the email's domain, or by its id; not otherwise.
    let find = |body: Value| {
        let server = &server;
        async move {
            let res = server
                .http
                .post(format!("{}/api/1/login/sso", server.base))
                .json(&body)
                .send()
                .await
                .unwrap();
            read(res).await
        }
    };
    let (status, found) =
        find(json!({"email": "Lead@SHOP.example", "next": "/dashboard/members"})).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(
        found["url"],
        format!(
            "/api/1/saml/{}/login?next=%2Fdashboard%2Fmembers",
            t.account.id
        )
        .as_str()
    );
    let (status, _) = find(json!({"account": t.account.id})).await;
    assert_eq!(status, StatusCode::OK);
    for body in [
        json!({"email": "ann@elsewhere.example"}),
        json!({"account": other.account.id}),
    ] {
        let (status, err) = find(body).await;
        assert_eq!(
            (status, err["id"].as_str()),
            (StatusCode::NOT_FOUND, Some("sso_not_found"))
        );
    }
    let (status, _) =
        find(json!({"email": "lead@shop.example", "next": "https://evil.example/"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Removed: the metadata and the sign-in go away with it.
    let (status, _) = server
        .call(Method::DELETE, "/api/1/sso", &t.admin, None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let res = server
        .http
        .get(format!(
            "{}/api/1/saml/{}/metadata",
            server.base, t.account.id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    server.stop().await;
}

async fn sp_initiated_sign_in_ends_in_a_login_session(backend: Backend) {
    let f = fixture(backend, |_| {}).await;
    // A lead (mapped to administrator) signs in just in time, and lands where they asked.
    let s = start(&f, "/dashboard/members").await;
    assert!(s
        .idp_url
        .starts_with(&format!("{}/sso?SAMLRequest=", f.idp.base)));
    let response = mint(
        &f,
        Some(&s.id),
        json!({"email": "lead@shop.example", "name": "Lea Lead", "groups": ["support-leads"]}),
    )
    .await;
    let a = post_acs(&f, &response, Some(&s.cookie), "").await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.location.as_deref(), Some("/dashboard/members"));
    let session = a.session.expect("the login cookie");
    let (status, me) = whoami(&f, &session).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["email"], "lead@shop.example");
    assert_eq!(me["account"]["id"], f.t.account.id.as_str());
    assert_eq!(me["user"]["role"], "administrator", "{me}");
    assert_eq!(me["user"]["name"], "Lea Lead");
    // Someone outside the mapped groups gets the default role.
    let s = start(&f, "/dashboard/").await;
    let response = mint(
        &f,
        Some(&s.id),
        json!({"email": "sam@shop.example", "groups": ["sales"]}),
    )
    .await;
    let a = post_acs(&f, &response, Some(&s.cookie), "").await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let (_, me) = whoami(&f, &a.session.unwrap()).await;
    assert_eq!(me["user"]["role"], "agent", "{me}");
    // A response for a request started in another browser is refused.
    let s = start(&f, "/dashboard/").await;
    let other = start(&f, "/dashboard/").await;
    let response = mint(&f, Some(&s.id), json!({})).await;
    let a = post_acs(&f, &response, Some(&other.cookie), "").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.body.contains("another browser"), "{}", a.body);
    assert!(a.session.is_none());
    // Without just-in-time creation, an unknown email is told to ask for an invitation.
    let (status, _) = f
        .server
        .put(
            "/api/1/sso",
            &f.t.admin,
            json!({"metadata_xml": f.idp.get("/metadata").await, "jit": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let s = start(&f, "/dashboard/").await;
    let response = mint(&f, Some(&s.id), json!({"email": "new@shop.example"})).await;
    let a = post_acs(&f, &response, Some(&s.cookie), "").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.body.contains("not a member"), "{}", a.body);
    // ...while a member already there signs in.
    let s = start(&f, "/dashboard/").await;
    let response = mint(&f, Some(&s.id), json!({"email": "lead@shop.example"})).await;
    let a = post_acs(&f, &response, Some(&s.cookie), "").await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    // Each start stores a request: a client address may start 60 per 10 minutes.
    let login = format!("{}/api/1/saml/{}/login", f.server.base, f.t.account.id);
    let mut limited = None;
    for _ in 0..60 {
        let res = browser().get(&login).send().await.unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(res.text().await.unwrap());
            break;
        }
        assert_eq!(res.status(), StatusCode::FOUND);
    }
    assert!(limited.expect("limited").contains("Too many sign-ins"));
    f.server.stop().await;
}

async fn idp_initiated_sign_in_only_where_allowed_and_once(backend: Backend) {
    let f = fixture(backend, |_| {}).await;
    let response = mint(&f, None, json!({"email": "lead@shop.example"})).await;
    let a = post_acs(&f, &response, None, "/dashboard/sessions").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(
        a.body.contains("IdP-initiated sign-in is off"),
        "{}",
        a.body
    );
    let (status, _) = f
        .server
        .put(
            "/api/1/sso",
            &f.t.admin,
            json!({"metadata_xml": f.idp.get("/metadata").await, "jit": true, "idp_initiated": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Allowed now; RelayState leads only to our own paths.
    let response = mint(&f, None, json!({"email": "lead@shop.example"})).await;
    let a = post_acs(&f, &response, None, "https://evil.example/").await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.location.as_deref(), Some("/dashboard/"));
    let response = mint(&f, None, json!({"email": "lead@shop.example"})).await;
    let a = post_acs(&f, &response, None, "/dashboard/sessions").await;
    assert_eq!(a.location.as_deref(), Some("/dashboard/sessions"));
    // The same unsolicited response ten times at once: the replay cache lets one through.
    let response = mint(&f, None, json!({"email": "lead@shop.example"})).await;
    let answers =
        futures_util::future::join_all((0..10).map(|_| post_acs(&f, &response, None, ""))).await;
    let accepted = answers.iter().filter(|a| a.session.is_some()).count();
    assert_eq!(accepted, 1, "{answers:?}");
    f.server.stop().await;
}

async fn a_certificate_rollover_keeps_sign_in_working(backend: Backend) {
    let f = fixture(backend, |_| {}).await;
    let certs = f.idp.certs().await;
    // The IdP moves to key b: refused until b is configured...
    f.idp.post("/settings", json!({"active_key": "b"})).await;
    let s = start(&f, "/dashboard/").await;
    let a = post_acs(
        &f,
        &mint(&f, Some(&s.id), json!({})).await,
        Some(&s.cookie),
        "",
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // ...accepted with a and b both configured, for either key...
    let both = json!({
        "idp_entity_id": f.idp.entity_id(),
        "idp_sso_url": format!("{}/sso", f.idp.base),
        "idp_certificates": [certs["a"], certs["b"]],
        "jit": true,
    });
    let (status, _) = f.server.put("/api/1/sso", &f.t.admin, both).await;
    assert_eq!(status, StatusCode::OK);
    for key in ["a", "b"] {
        let s = start(&f, "/dashboard/").await;
        let r = mint(&f, Some(&s.id), json!({"key": key})).await;
        let a = post_acs(&f, &r, Some(&s.cookie), "").await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "key {key}: {}", a.body);
    }
    // ...and a is refused once it is removed.
    let only_b = json!({
        "idp_entity_id": f.idp.entity_id(),
        "idp_sso_url": format!("{}/sso", f.idp.base),
        "idp_certificates": [certs["b"]],
        "jit": true,
    });
    let (status, _) = f.server.put("/api/1/sso", &f.t.admin, only_b).await;
    assert_eq!(status, StatusCode::OK);
    let s = start(&f, "/dashboard/").await;
    let a = post_acs(
        &f,
        &mint(&f, Some(&s.id), json!({"key": "a"})).await,
        Some(&s.cookie),
        "",
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let s = start(&f, "/dashboard/").await;
    let a = post_acs(
        &f,
        &mint(&f, Some(&s.id), json!({"key": "b"})).await,
        Some(&s.cookie),
        "",
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    f.server.stop().await;
}

async fn require_sso_closes_email_links(backend: Backend) {
    let smtp = Smtp::start().await;
    let url = smtp.url();
    let server = Server::start_with(backend, |c| c.smtp_url = url).await;
    let f = fixture_with(server, |c| c["require_sso"] = json!(true)).await;
    // The administrator (a member through JWTs) asks for a link: none comes...
    let ask = || async {
        let res = f
            .server
            .http
            .post(format!("{}/api/1/login/email", f.server.base))
            .json(&json!({"email": "admin@example.com"}))
            .send()
            .await
            .unwrap();
        res.status()
    };
    assert_eq!(ask().await, StatusCode::ACCEPTED);
    tandem_testkit::eventually(5, || async {
        (f.server.metric("tandem_login_links_refused_total").await >= 1.0).then_some(())
    })
    .await;
    assert!(smtp.messages("admin@example.com").is_empty());
    // ...and SSO signs them in to the account.
    let s = start(&f, "/dashboard/").await;
    let r = mint(&f, Some(&s.id), json!({"email": "admin@example.com"})).await;
    let a = post_acs(&f, &r, Some(&s.cookie), "").await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let (_, me) = whoami(&f, &a.session.unwrap()).await;
    assert_eq!(me["account"]["id"], f.t.account.id.as_str());
    // Once SSO is no longer required, links work again.
    let (status, _) = f
        .server
        .put(
            "/api/1/sso",
            &f.t.admin,
            json!({"metadata_xml": f.idp.get("/metadata").await}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ask().await, StatusCode::ACCEPTED);
    smtp.link_token("admin@example.com", 1).await;
    f.server.stop().await;
}

async fn the_forgery_matrix_is_refused(backend: Backend) {
    let f = fixture(backend, |_| {}).await;
    let other = f.server.tenant().await;
    let (status, other_view) = f
        .server
        .put(
            "/api/1/sso",
            &other.admin,
            json!({"metadata_xml": f.idp.get("/metadata").await, "jit": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let refusals_before = f.server.metric("tandem_saml_refusals_total").await;
    // Each case: extra /mint fields for a response to a fresh request of this browser.
    let mut cases = forgeries();
    cases.push((
        "another account's ACS",
        json!({"acs": other_view["sp"]["acs_url"], "audience": other_view["sp"]["entity_id"]}),
    ));
    let mut tried = 0;
    let mut accepted = Vec::new();
    let mut slowest = (Duration::ZERO, "");
    let mut record = |name: &'static str, a: &Answer| {
        tried += 1;
        if a.status == StatusCode::SEE_OTHER || a.session.is_some() {
            accepted.push(format!("{name}: {} {}", a.status, a.body));
        }
        if a.took > slowest.0 {
            slowest = (a.took, name);
        }
    };
    for (name, extra) in &cases {
        let s = start(&f, "/dashboard/").await;
        let forged = mint(&f, Some(&s.id), extra.clone()).await;
        let a = post_acs(&f, &forged, Some(&s.cookie), "").await;
        assert!(
            a.body.contains("Single sign-on did not work"),
            "{name}: {}",
            a.body
        );
        let reason = a
            .body
            .split("<code>")
            .nth(1)
            .and_then(|r| r.split('<').next());
        eprintln!("  {name}: refused ({})", reason.unwrap_or("?"));
        record(name, &a);
    }
    // Behind the prescan, the signature layer holds on its own: a wrapped document either
    // fails or yields the genuinely signed assertion, never the attacker's.
    let certs = f.idp.certs().await;
    let (der, _) = tandem_api::saml::certificate(certs["a"].as_str().unwrap()).unwrap();
    let idp_entity = f.idp.entity_id();
    for (name, extra) in cases
        .iter()
        .filter(|(n, _)| n.starts_with("XSW") || n.starts_with("comment"))
    {
        let mut fields = json!({"acs": f.acs, "audience": f.entity, "in_response_to": "_x"});
        for (k, v) in extra.as_object().unwrap() {
            fields[k] = v.clone();
        }
        let xml = f.idp.mint_xml(fields).await;
        let expected = tandem_api::saml::verify::Expected {
            idp_entity_id: &idp_entity,
            sp_entity_id: &f.entity,
            acs_url: &f.acs,
            certificates: std::slice::from_ref(&der),
            now: chrono::Utc::now(),
        };
        match tandem_api::saml::verify::verify_signed(&xml, &expected) {
            Err(r) => eprintln!("  {name}, signature layer alone: refused ({})", r.reason),
            Ok(v) => {
                assert_eq!(
                    v.name_id, "ann@shop.example",
                    "{name}: read the attacker's assertion"
                );
                eprintln!("  {name}, signature layer alone: read only the signed assertion");
            }
        }
    }
    // Unsolicited while IdP-initiated sign-in is off; a request of no one's; another browser.
    let a = post_acs(&f, &mint(&f, None, json!({})).await, None, "").await;
    record("unsolicited", &a);
    let s = start(&f, "/dashboard/").await;
    let a = post_acs(
        &f,
        &mint(&f, Some("_0123456789abcdef0123456789abcdef"), json!({})).await,
        Some(&s.cookie),
        "",
    )
    .await;
    record("unknown InResponseTo", &a);
    let a = post_acs(&f, &mint(&f, Some(&s.id), json!({})).await, None, "").await;
    record("no browser cookie", &a);
    // Bodies: 10 MB, and not base64.
    let big = format!("SAMLResponse={}", "A".repeat(10 * 1024 * 1024));
    let a = post_raw(&f, big, Some(&s.cookie)).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    record("10 MB body", &a);
    let a = post_raw(&f, "SAMLResponse=%%%".into(), Some(&s.cookie)).await;
    record("not base64", &a);
    // A genuine response replayed 100 times in series: the first signs in, no other.
    let s = start(&f, "/dashboard/").await;
    let genuine = mint(&f, Some(&s.id), json!({})).await;
    let first = post_acs(&f, &genuine, Some(&s.cookie), "").await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    for _ in 0..100 {
        let a = post_acs(&f, &genuine, Some(&s.cookie), "").await;
        record("replay in series", &a);
    }
    // ...and 10 times at once, from the start: exactly one.
    let s = start(&f, "/dashboard/").await;
    let genuine = mint(&f, Some(&s.id), json!({})).await;
    let answers = futures_util::future::join_all(
        (0..10).map(|_| post_acs(&f, &genuine, Some(&s.cookie), "")),
    )
    .await;
    let winners = answers.iter().filter(|a| a.session.is_some()).count();
    assert_eq!(winners, 1, "{answers:?}");
    assert!(
        accepted.is_empty(),
        "accepted forgeries:\n{}",
        accepted.join("\n")
    );
    let refusals = f.server.metric("tandem_saml_refusals_total").await - refusals_before;
    assert!(
        refusals >= tried as f64,
        "{refusals} refusals counted for {tried} tries"
    );
    // The figures for the notes (shown with --nocapture).
    eprintln!(
        "{backend:?}: forgery matrix: {tried} tried, {} accepted, slowest refusal {:.1} ms ({})",
        accepted.len(),
        slowest.0.as_secs_f64() * 1000.0,
        slowest.1
    );
    f.server.stop().await;
}
