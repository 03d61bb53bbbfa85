//! The test SAML identity provider (tests/saml/idp.py, pysaml2 signing with xmlsec1) in a
//! process of its own: started on a free port, stopped when dropped (its stdin closes).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

use serde_json::{json, Value};

pub struct Idp {
    /// `http://127.0.0.1:<port>`; the entity id is `<base>/metadata`.
    pub base: String,
    http: reqwest::Client,
    child: Child,
    /// Held open: the IdP exits when it closes.
    _stdin: ChildStdin,
    _dir: TempDir,
}

/// A directory for the IdP's generated keys, removed with it.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The venv's Python with pysaml2 (`make saml-venv`): `SAML_IDP_PYTHON`, or the venv's
/// default place.
fn python() -> PathBuf {
    let path = std::env::var_os("SAML_IDP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/tandem-saml-venv/bin/python")
        });
    assert!(
        path.exists(),
        "the SAML tests need the test IdP's Python: run `make saml-venv` (make test does), or set \
         SAML_IDP_PYTHON ({} is missing)",
        path.display()
    );
    path
}

impl Idp {
    pub async fn start() -> Idp {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/saml/idp.py");
        let dir = std::env::temp_dir().join(format!("tandem-idp-{}", uuid_like()));
        std::fs::create_dir_all(&dir).expect("a directory for the IdP");
        let mut child = Command::new(python())
            .arg(&script)
            .args(["--port", "0", "--dir"])
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting the test IdP");
        let stdin = child.stdin.take().expect("the IdP's stdin");
        let stdout = child.stdout.take().expect("the IdP's stdout");
        let base = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout)
                .read_line(&mut line)
                .expect("reading the IdP's READY line");
            line
        })
        .await
        .unwrap();
        let base = base
            .trim()
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("the test IdP did not start: {base:?}"))
            .to_owned();
        Idp {
            base,
            http: reqwest::Client::new(),
            child,
            _stdin: stdin,
            _dir: TempDir(dir),
        }
    }

    /// The IdP's entity id (its Issuer).
    pub fn entity_id(&self) -> String {
        format!("{}/metadata", self.base)
    }

    pub async fn get(&self, path: &str) -> String {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("calling the IdP");
        assert!(
            res.status().is_success(),
            "IdP GET {path}: {}",
            res.status()
        );
        res.text().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .expect("calling the IdP");
        let status = res.status();
        let text = res.text().await.unwrap();
        assert!(status.is_success(), "IdP POST {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// The IdP's certificates by key name (`a`, `b`, `foreign`), PEM.
    pub async fn certs(&self) -> Value {
        serde_json::from_str(&self.get("/certs").await).unwrap()
    }

    /// Registers a service provider by its metadata.
    pub async fn add_sp(&self, metadata: &str) {
        self.post("/sp", json!({ "metadata": metadata })).await;
    }

    /// A response built without a browser (`tests/saml/README.md` lists the fields): the
    /// base64 form, as an ACS receives it.
    pub async fn mint(&self, fields: Value) -> String {
        let v = self.post("/mint", fields).await;
        v["SAMLResponse"]
            .as_str()
            .expect("a SAMLResponse")
            .to_owned()
    }

    /// The same, as the XML document.
    pub async fn mint_xml(&self, fields: Value) -> String {
        let v = self.post("/mint", fields).await;
        v["xml"].as_str().expect("the XML").to_owned()
    }
}

/// The forgery matrix: each case's extra `/mint` fields, applied to a response that would
/// otherwise be genuine (the SAML tests and `make bench-saml` post them all).
pub fn forgeries() -> Vec<(&'static str, Value)> {
    vec![
        ("XSW1", json!({"forge": "xsw1", "sign": "response"})),
        ("XSW2", json!({"forge": "xsw2", "sign": "response"})),
        ("XSW3", json!({"forge": "xsw3", "sign": "assertion"})),
        ("XSW4", json!({"forge": "xsw4", "sign": "assertion"})),
        ("XSW5", json!({"forge": "xsw5", "sign": "assertion"})),
        ("XSW6", json!({"forge": "xsw6", "sign": "assertion"})),
        ("XSW7", json!({"forge": "xsw7", "sign": "assertion"})),
        ("XSW8", json!({"forge": "xsw8", "sign": "assertion"})),
        ("XSW3, both signed", json!({"forge": "xsw3"})),
        ("XSW7, both signed", json!({"forge": "xsw7"})),
        (
            "comment in the NameID",
            json!({"forge": "comment_in_nameid"}),
        ),
        ("unsigned", json!({"sign": "none"})),
        ("signature removed", json!({"forge": "signature_removed"})),
        ("two assertions", json!({"forge": "two_assertions"})),
        ("foreign certificate", json!({"key": "foreign"})),
        ("SHA-1", json!({"algorithm": "rsa-sha1"})),
        (
            "expired",
            json!({"not_before": -900, "not_on_or_after": -600, "confirmation_not_on_or_after": -600}),
        ),
        (
            "confirmation expired",
            json!({"confirmation_not_on_or_after": -600}),
        ),
        (
            "not yet valid",
            json!({"not_before": 600, "not_on_or_after": 900}),
        ),
        (
            "wrong audience",
            json!({"audience": "https://other-sp.example/metadata"}),
        ),
        (
            "wrong destination",
            json!({"destination": "https://other-sp.example/acs"}),
        ),
        (
            "wrong recipient",
            json!({"recipient": "https://other-sp.example/acs"}),
        ),
        (
            "wrong issuer",
            json!({"issuer": "https://other-idp.example/metadata"}),
        ),
        ("DOCTYPE", json!({"forge": "doctype"})),
        ("entity expansion bomb", json!({"forge": "entity_bomb"})),
    ]
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("{}-{nanos}", std::process::id())
}
