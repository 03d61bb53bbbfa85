//! Accounts, their signing keys and their users (agents).

use async_trait::async_trait;

use super::sql::{json, not_found, parsed, unique_violation, CrossAccount, Scope, SqlStore};
use crate::model::{Account, AccountKey, AccountSettings, Role, User};
use crate::time::Micros;
use crate::{Error, Result};

#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Stores a new account as the service made it (its id and license key included).
    async fn create_account(&self, account: &Account) -> Result<()>;
    async fn account(&self, id: &str) -> Result<Account>;
    async fn account_by_license(&self, license_key: &str) -> Result<Account>;
    async fn accounts(&self) -> Result<Vec<Account>>;
    async fn update_account_settings(
        &self,
        id: &str,
        settings: &AccountSettings,
    ) -> Result<Account>;
    async fn add_key(&self, key: &AccountKey) -> Result<()>;
    async fn keys(&self, account_id: &str) -> Result<Vec<AccountKey>>;

    /// Stores `user` on first use of its email in its account; later calls keep the stored id
    /// and colour and refresh name and role. Returns the user as stored.
    async fn upsert_user(&self, user: &User) -> Result<User>;
    async fn user(&self, account_id: &str, id: &str) -> Result<User>;
}

const ACCOUNT_COLUMNS: &str = "id, name, license_key, settings, created";
const KEY_COLUMNS: &str = "account_id, kid, algorithm, public_pem, private_pem, created";
const USER_COLUMNS: &str = "id, account_id, email, name, role, colour, created";

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: String,
    name: String,
    license_key: String,
    settings: String,
    created: Micros,
}

impl TryFrom<AccountRow> for Account {
    type Error = Error;
    fn try_from(r: AccountRow) -> Result<Self> {
        Ok(Account {
            id: r.id,
            name: r.name,
            license_key: r.license_key,
            settings: serde_json::from_str(&r.settings)?,
            created: r.created,
        })
    }
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    account_id: String,
    email: String,
    name: String,
    role: String,
    colour: String,
    created: Micros,
}

impl TryFrom<UserRow> for User {
    type Error = Error;
    fn try_from(r: UserRow) -> Result<Self> {
        Ok(User {
            role: parsed("role", &r.role, Role::parse)?,
            id: r.id,
            account_id: r.account_id,
            email: r.email,
            name: r.name,
            colour: r.colour,
            created: r.created,
        })
    }
}

impl SqlStore {
    async fn account_where(&self, scope: Scope<'_>, col: &str, value: &str) -> Result<Account> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE {col} = $1");
        let row = self
            .optional(scope, sqlx::query_as::<_, AccountRow>(&sql).bind(value))
            .await?;
        not_found("account")(row)?.try_into()
    }
}

#[async_trait]
impl AccountStore for SqlStore {
    async fn create_account(&self, account: &Account) -> Result<()> {
        let insert = sqlx::query(
            "INSERT INTO accounts (id, name, license_key, settings, created) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&account.id)
        .bind(&account.name)
        .bind(&account.license_key)
        .bind(json(&account.settings))
        .bind(account.created);
        self.execute(Scope::Account(&account.id), insert).await?;
        Ok(())
    }

    async fn account(&self, id: &str) -> Result<Account> {
        self.account_where(Scope::Account(id), "id", id).await
    }

    async fn account_by_license(&self, license_key: &str) -> Result<Account> {
        let scope = Scope::System(CrossAccount::AccountByLicense);
        self.account_where(scope, "license_key", license_key).await
    }

    async fn accounts(&self) -> Result<Vec<Account>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY created, id");
        let scope = Scope::System(CrossAccount::Accounts);
        let rows = self
            .all(scope, sqlx::query_as::<_, AccountRow>(&sql))
            .await?;
        rows.into_iter().map(Account::try_from).collect()
    }

    async fn update_account_settings(
        &self,
        id: &str,
        settings: &AccountSettings,
    ) -> Result<Account> {
        let update = sqlx::query("UPDATE accounts SET settings = $1 WHERE id = $2")
            .bind(json(settings))
            .bind(id);
        let done = self.execute(Scope::Account(id), update).await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound("account"));
        }
        self.account(id).await
    }

    async fn add_key(&self, key: &AccountKey) -> Result<()> {
        let insert = sqlx::query(
            "INSERT INTO account_keys (account_id, kid, algorithm, public_pem, private_pem, created) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&key.account_id)
        .bind(&key.kid)
        .bind(&key.algorithm)
        .bind(&key.public_pem)
        .bind(key.private_pem.as_deref())
        .bind(key.created);
        self.once(Scope::Account(&key.account_id), async |c| {
            insert.execute(c).await.map_err(|e| {
                if unique_violation(&e) {
                    Error::Conflict(format!(
                        "the account already has a key with kid {:?}",
                        key.kid
                    ))
                } else {
                    e.into()
                }
            })
        })
        .await?;
        Ok(())
    }

    async fn keys(&self, account_id: &str) -> Result<Vec<AccountKey>> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM account_keys WHERE account_id = $1 ORDER BY created DESC, kid"
        );
        let q = sqlx::query_as(&sql).bind(account_id);
        self.all(Scope::Account(account_id), q).await
    }

    async fn upsert_user(&self, user: &User) -> Result<User> {
        let sql = format!(
            "INSERT INTO users (id, account_id, email, name, role, colour, created, updated) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (account_id, email) DO UPDATE SET name = $4, role = $5, updated = $7 \
             RETURNING {USER_COLUMNS}"
        );
        let upsert = sqlx::query_as::<_, UserRow>(&sql)
            .bind(&user.id)
            .bind(&user.account_id)
            .bind(&user.email)
            .bind(&user.name)
            .bind(user.role.as_str())
            .bind(&user.colour)
            .bind(user.created);
        let row = self
            .once(Scope::Account(&user.account_id), async |c| {
                Ok(upsert.fetch_one(c).await?)
            })
            .await?;
        row.try_into()
    }

    async fn user(&self, account_id: &str, id: &str) -> Result<User> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE account_id = $1 AND id = $2");
        let row: UserRow = self.in_account(&sql, account_id, id, "user").await?;
        row.try_into()
    }
}
