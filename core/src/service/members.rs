//! What administrators manage: the account's members and invitations, its settings and its
//! signing keys; and what superusers manage: every account. Each method checks the caller's
//! role itself, whatever the pages in front of it show.

use super::login::{micros, INVITATION_TTL};
use super::{Caller, Service};
use crate::email::Email;
use crate::model::{Account, AccountKey, AccountSettings, Invitation, KeyInfo, Member, Role, User};
use crate::time;
use crate::{Error, Result};

impl Caller {
    /// The account and the agent, when the caller is one of its administrators.
    pub fn administrator(&self) -> Result<(&Account, &User)> {
        match self {
            Caller::Agent { account, user, .. } if user.role == Role::Administrator => {
                Ok((account, user))
            }
            _ => Err(Error::Forbidden(
                "only the account's administrators may do this".into(),
            )),
        }
    }
}

/// A change to an account: its name, and settings merged over the current ones.
#[derive(Debug, Default, Clone)]
pub struct AccountPatch {
    pub name: Option<String>,
    pub settings: Option<serde_json::Map<String, serde_json::Value>>,
}

fn valid_name(name: &str) -> Result<&str> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "invalid_name",
            "a name is 1 to 100 characters, on one line",
        ));
    }
    Ok(name)
}

impl Service {
    /// The account's members, with how many dashboard sign-ins each has live.
    pub async fn members(&self, caller: &Caller) -> Result<Vec<Member>> {
        let (account, _) = caller.administrator()?;
        let counts = self
            .store
            .login_session_counts(&account.id, time::now())
            .await?;
        let users = self.store.users(&account.id).await?;
        Ok(users
            .into_iter()
            .map(|user| {
                let login_sessions = counts
                    .iter()
                    .find(|(email, _)| *email == user.email)
                    .map_or(0, |(_, n)| *n);
                Member {
                    user,
                    login_sessions,
                }
            })
            .collect())
    }

    /// Refuses a change that would leave the account with no administrator.
    async fn keep_an_administrator(&self, account: &Account, losing: &User) -> Result<()> {
        if losing.role != Role::Administrator {
            return Ok(());
        }
        let users = self.store.users(&account.id).await?;
        let admins = users
            .iter()
            .filter(|u| u.role == Role::Administrator)
            .count();
        if admins <= 1 {
            return Err(Error::refused(
                "last_administrator",
                "the account needs at least one administrator",
            ));
        }
        Ok(())
    }

    pub async fn set_member_role(&self, caller: &Caller, id: &str, role: Role) -> Result<Member> {
        let (account, _) = caller.administrator()?;
        let member = self.store.user(&account.id, id).await?;
        if role != Role::Administrator {
            self.keep_an_administrator(account, &member).await?;
        }
        let user = self.store.set_user_role(&account.id, id, role).await?;
        tracing::info!(account = %account.id, user = id, role = role.as_str(), "member's role changed");
        let login_sessions = self.member_logins(&account.id, &user.email).await?;
        Ok(Member {
            user,
            login_sessions,
        })
    }

    async fn member_logins(&self, account_id: &str, email: &str) -> Result<i64> {
        let counts = self
            .store
            .login_session_counts(account_id, time::now())
            .await?;
        Ok(counts
            .into_iter()
            .find(|(e, _)| e == email)
            .map_or(0, |(_, n)| n))
    }

    /// Removes a member: their dashboard sign-ins in this account and their sockets end at once.
    pub async fn remove_member(&self, caller: &Caller, id: &str) -> Result<()> {
        let (account, _) = caller.administrator()?;
        let member = self.store.user(&account.id, id).await?;
        self.keep_an_administrator(account, &member).await?;
        self.store.delete_user(&account.id, id).await?;
        self.end_member_access(account, &member).await?;
        tracing::info!(account = %account.id, user = id, "member removed");
        Ok(())
    }

    /// Signs a member out of this account everywhere: dashboard sign-ins and sockets.
    pub async fn revoke_member_logins(&self, caller: &Caller, id: &str) -> Result<u64> {
        let (account, _) = caller.administrator()?;
        let member = self.store.user(&account.id, id).await?;
        self.end_member_access(account, &member).await
    }

    async fn end_member_access(&self, account: &Account, member: &User) -> Result<u64> {
        let ended = self
            .store
            .end_login_sessions(&member.email, &account.id)
            .await?;
        self.revoke_user_tokens(&account.id, &member.id).await?;
        Ok(ended)
    }

    /// Invites `email` with `role`: the invitation, and the token of the link to email them.
    pub async fn invite(
        &self,
        caller: &Caller,
        email: &Email,
        role: Role,
    ) -> Result<(Invitation, String)> {
        let (account, admin) = caller.administrator()?;
        let now = time::now();
        let invitation = Invitation {
            id: uuid::Uuid::new_v4().to_string(),
            account_id: account.id.clone(),
            email: email.as_str().to_owned(),
            role,
            invited_by: admin.email.clone(),
            created: now,
            expires: now + micros(INVITATION_TTL),
        };
        self.store.put_invitation(&invitation).await?;
        let token = self
            .add_link(
                &invitation.email,
                Some(&account.id),
                Some(&invitation.id),
                invitation.expires,
            )
            .await?;
        metrics::counter!("tandem_login_links_sent_total", "kind" => "invitation").increment(1);
        Ok((invitation, token))
    }

    pub async fn invitations(&self, caller: &Caller) -> Result<Vec<Invitation>> {
        let (account, _) = caller.administrator()?;
        self.store.invitations(&account.id).await
    }

    /// Withdraws an invitation: its link stops working.
    pub async fn withdraw_invitation(&self, caller: &Caller, id: &str) -> Result<()> {
        let (account, _) = caller.administrator()?;
        if self.store.delete_invitation(&account.id, id).await? {
            Ok(())
        } else {
            Err(Error::NotFound("invitation"))
        }
    }

    /// Renames the caller's account or changes its settings (merged over the current ones and
    /// checked whole). Live customers get the new settings with their next session or refresh.
    pub async fn update_account(&self, caller: &Caller, patch: AccountPatch) -> Result<Account> {
        let (account, _) = caller.administrator()?;
        if let Some(changes) = patch.settings {
            let mut merged = serde_json::to_value(&account.settings)?;
            let object = merged.as_object_mut().expect("settings are an object");
            object.extend(changes);
            let settings: AccountSettings = serde_json::from_value(merged)
                .map_err(|e| Error::invalid("invalid_settings", e.to_string()))?;
            settings
                .validate()
                .map_err(|m| Error::invalid("invalid_settings", m))?;
            self.store
                .update_account_settings(&account.id, &settings)
                .await?;
        }
        if let Some(name) = &patch.name {
            self.store
                .update_account(&account.id, Some(valid_name(name)?), None)
                .await?;
        }
        tracing::info!(account = %account.id, "account updated");
        self.store.account(&account.id).await
    }

    /// The account's signing keys, without their private halves.
    pub async fn key_infos(&self, caller: &Caller) -> Result<Vec<KeyInfo>> {
        let (account, _) = caller.administrator()?;
        self.store.key_infos(&account.id).await
    }

    /// Adds a signing key to the caller's account.
    pub async fn add_account_key(&self, caller: &Caller, key: &AccountKey) -> Result<KeyInfo> {
        let (account, _) = caller.administrator()?;
        if key.account_id != account.id {
            return Err(Error::Forbidden("a key of another account".into()));
        }
        self.store.add_key(key).await?;
        tracing::info!(account = %account.id, kid = %key.kid, "signing key added");
        Ok(KeyInfo {
            kid: key.kid.clone(),
            algorithm: key.algorithm.clone(),
            created: key.created,
            last_used: None,
        })
    }

    /// Revokes a signing key: JWTs it signed are refused from the next request on.
    pub async fn revoke_key(&self, caller: &Caller, kid: &str) -> Result<()> {
        let (account, _) = caller.administrator()?;
        if !self.store.delete_key(&account.id, kid).await? {
            return Err(Error::NotFound("key"));
        }
        tracing::info!(account = %account.id, kid, "signing key revoked");
        Ok(())
    }

    /// Notes that a key verified a token (to the minute).
    pub async fn key_used(&self, account_id: &str, kid: &str) -> Result<()> {
        self.store.touch_key(account_id, kid, time::now()).await
    }

    /// Refuses a superuser-only action to anyone else.
    fn superuser(&self, email: &str) -> Result<()> {
        if self.is_superuser(email) {
            Ok(())
        } else {
            Err(Error::Forbidden(
                "only the instance's superusers may do this".into(),
            ))
        }
    }

    /// Every account, with its member count (superusers).
    pub async fn all_accounts(&self, email: &str) -> Result<Vec<(Account, usize)>> {
        self.superuser(email)?;
        let mut out = Vec::new();
        for account in self.store.accounts().await? {
            let members = self.store.users(&account.id).await?.len();
            out.push((account, members));
        }
        Ok(out)
    }

    /// Creates an account with the superuser as its administrator.
    pub async fn create_account_as(&self, email: &Email, name: &str) -> Result<Account> {
        self.superuser(email.as_str())?;
        let account = self
            .create_account(valid_name(name)?, &AccountSettings::default())
            .await?;
        self.join(&account, email, Role::Administrator).await?;
        tracing::info!(account = %account.id, by = %email, "account created");
        Ok(account)
    }

    /// Renames, disables or enables an account (superusers). Disabling closes the sockets of
    /// every member at once; its JWTs, devices and sign-ins are refused from then on.
    pub async fn admin_update_account(
        &self,
        email: &str,
        id: &str,
        name: Option<&str>,
        disabled: Option<bool>,
    ) -> Result<Account> {
        self.superuser(email)?;
        let name = name.map(valid_name).transpose()?;
        let account = self.store.update_account(id, name, disabled).await?;
        if disabled == Some(true) {
            for user in self.store.users(id).await? {
                self.revoke_user_tokens(id, &user.id).await?;
            }
            tracing::warn!(account = id, by = email, "account disabled");
        }
        Ok(account)
    }

    /// Refuses a disabled account.
    pub(super) fn usable(account: Account) -> Result<Account> {
        if account.disabled {
            return Err(Error::refused(
                "account_disabled",
                "this account is disabled; ask your Tandem operator",
            ));
        }
        Ok(account)
    }
}
