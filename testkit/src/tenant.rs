//! Fresh tenants: an account with a generated key, whose private half the test keeps as an
//! integrator would, and tokens minted with it.

use tandem_api::keys::{self, TokenSpec};
use tandem_core::model::{Account, AccountKey, AccountSettings};

use crate::Server;

pub struct Tenant {
    pub account: Account,
    /// The account's key as stored (public half only).
    pub key: AccountKey,
    /// Its private half, which the test keeps as an integrator would.
    pub private_pem: String,
    /// An administrator's token (`admin@example.com`).
    pub admin: String,
}

impl Server {
    /// A new account with a generated key and an administrator token.
    pub async fn tenant(&self) -> Tenant {
        self.tenant_with(AccountSettings::default()).await
    }

    pub async fn tenant_with(&self, settings: AccountSettings) -> Tenant {
        let account = tandem_core::service::new_account("test", &settings);
        self.store
            .create_account(&account)
            .await
            .expect("creating an account");
        let pair = keys::generate(&account.id).expect("generating a key");
        self.store
            .add_key(&pair.key)
            .await
            .expect("storing the key");
        let mut tenant = Tenant {
            account,
            key: pair.key,
            private_pem: pair.private_pem,
            admin: String::new(),
        };
        tenant.admin = tenant.token("admin@example.com", Some("administrator"));
        tenant
    }
}

impl Tenant {
    /// What a token for `email` says, valid for ten minutes.
    pub fn spec(&self, email: &str, role: Option<&str>) -> TokenSpec {
        TokenSpec {
            license_key: self.account.license_key.clone(),
            email: email.into(),
            audience: "tandem".into(),
            ttl_secs: 600,
            display_name: None,
            role: role.map(str::to_owned),
            policy: None,
        }
    }
    pub fn token(&self, email: &str, role: Option<&str>) -> String {
        self.token_with(&self.spec(email, role))
    }
    pub fn token_with(&self, spec: &TokenSpec) -> String {
        keys::mint(&self.key.kid, &self.private_pem, spec).expect("minting a token")
    }
}
