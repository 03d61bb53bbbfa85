//! Accounts, their signing keys and their users (agents).

use async_trait::async_trait;

use super::sql::{json, not_found, parsed, unique_violation, CrossAccount, Scope, SqlStore};
use crate::model::{Account, AccountKey, AccountSettings, KeyInfo, Role, User};
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
    /// Renames an account, or disables or enables it.
    async fn update_account(
        &self,
        id: &str,
        name: Option<&str>,
        disabled: Option<bool>,
    ) -> Result<Account>;
    async fn add_key(&self, key: &AccountKey) -> Result<()>;
    async fn keys(&self, account_id: &str) -> Result<Vec<AccountKey>>;
    /// The account's keys as administrators see them, newest first.
    async fn key_infos(&self, account_id: &str) -> Result<Vec<KeyInfo>>;
    /// Deletes a key; whether there was one.
    async fn delete_key(&self, account_id: &str, kid: &str) -> Result<bool>;
    /// Records that a key verified a token at `now`, unless it did within the last minute.
    async fn touch_key(&self, account_id: &str, kid: &str, now: Micros) -> Result<()>;

    /// Stores `user` on first use of its email in its account; later calls keep the stored id
    /// and colour and refresh name and role. Returns the user as stored.
    async fn upsert_user(&self, user: &User) -> Result<User>;
    async fn user(&self, account_id: &str, id: &str) -> Result<User>;
    /// The account's users, by email.
    async fn users(&self, account_id: &str) -> Result<Vec<User>>;
    /// Every account's user with this email (an email may belong to several accounts).
    async fn users_by_email(&self, email: &str) -> Result<Vec<User>>;
    async fn set_user_role(&self, account_id: &str, id: &str, role: Role) -> Result<User>;
    /// Deletes a user; whether there was one.
    async fn delete_user(&self, account_id: &str, id: &str) -> Result<bool>;
}

const ACCOUNT_COLUMNS: &str = "id, name, license_key, settings, created, disabled";
const KEY_COLUMNS: &str = "account_id, kid, algorithm, public_pem, private_pem, created";
const USER_COLUMNS: &str = "id, account_id, email, name, role, colour, created";

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: String,
    name: String,
    license_key: String,
    settings: String,
    created: Micros,
    disabled: i64,
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
            disabled: r.disabled != 0,
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
            "INSERT INTO accounts (id, name, license_key, settings, created, disabled) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&account.id)
        .bind(&account.name)
        .bind(&account.license_key)
        .bind(json(&account.settings))
        .bind(account.created)
        .bind(i64::from(account.disabled));
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

    async fn update_account(
        &self,
        id: &str,
        name: Option<&str>,
        disabled: Option<bool>,
    ) -> Result<Account> {
        let update = sqlx::query(
            "UPDATE accounts SET name = COALESCE($1, name), disabled = COALESCE($2, disabled) \
             WHERE id = $3",
        )
        .bind(name)
        .bind(disabled.map(i64::from))
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

    async fn key_infos(&self, account_id: &str) -> Result<Vec<KeyInfo>> {
        let q = sqlx::query_as(
            "SELECT kid, algorithm, created, last_used FROM account_keys WHERE account_id = $1 \
             ORDER BY created DESC, kid",
        )
        .bind(account_id);
        self.all(Scope::Account(account_id), q).await
    }

    async fn delete_key(&self, account_id: &str, kid: &str) -> Result<bool> {
        let delete = sqlx::query("DELETE FROM account_keys WHERE account_id = $1 AND kid = $2")
            .bind(account_id)
            .bind(kid);
        let done = self.execute(Scope::Account(account_id), delete).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn touch_key(&self, account_id: &str, kid: &str, now: Micros) -> Result<()> {
        let update = sqlx::query(
            "UPDATE account_keys SET last_used = $1 WHERE account_id = $2 AND kid = $3 \
             AND (last_used IS NULL OR last_used < $4)",
        )
        .bind(now)
        .bind(account_id)
        .bind(kid)
        .bind(now - 60_000_000);
        self.execute(Scope::Account(account_id), update).await?;
        Ok(())
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

    async fn users(&self, account_id: &str) -> Result<Vec<User>> {
        let sql =
            format!("SELECT {USER_COLUMNS} FROM users WHERE account_id = $1 ORDER BY email, id");
        let q = sqlx::query_as::<_, UserRow>(&sql).bind(account_id);
        let rows = self.all(Scope::Account(account_id), q).await?;
        rows.into_iter().map(User::try_from).collect()
    }

    async fn users_by_email(&self, email: &str) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1 ORDER BY created, id");
        let q = sqlx::query_as::<_, UserRow>(&sql).bind(email);
        let rows = self.all(Scope::System(CrossAccount::Login), q).await?;
        rows.into_iter().map(User::try_from).collect()
    }

    async fn set_user_role(&self, account_id: &str, id: &str, role: Role) -> Result<User> {
        let sql = format!(
            "UPDATE users SET role = $1, updated = $2 WHERE account_id = $3 AND id = $4 \
             RETURNING {USER_COLUMNS}"
        );
        let q = sqlx::query_as::<_, UserRow>(&sql)
            .bind(role.as_str())
            .bind(crate::time::now())
            .bind(account_id)
            .bind(id);
        not_found("user")(self.optional(Scope::Account(account_id), q).await?)?.try_into()
    }

    async fn delete_user(&self, account_id: &str, id: &str) -> Result<bool> {
        let delete = sqlx::query("DELETE FROM users WHERE account_id = $1 AND id = $2")
            .bind(account_id)
            .bind(id);
        let done = self.execute(Scope::Account(account_id), delete).await?;
        Ok(done.rows_affected() > 0)
    }
}
