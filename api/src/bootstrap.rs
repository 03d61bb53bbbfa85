//! First start and every start: the first account, its administrator, and on every start the
//! two URLs to co-browse with (what `make run` prints): the demo customer page with the
//! account's license key, and a fresh sign-in link for the administrator that lands on the
//! console's code page.

use std::sync::Arc;

use tandem_core::email::Email;
use tandem_core::model::{Account, AccountSettings, Role};
use tandem_core::service::{Service, LINK_TTL};

use crate::keys::{self, TokenSpec};
use crate::mail::{Mail, Mailer};
use crate::Config;

/// On first start (no accounts yet) creates the first account with a generated key and prints
/// a one-hour administrator token signed with it. The key's private half is then dropped: it
/// is never stored, so more tokens need a key of the operator's (`tandem keys generate --out`).
/// Returns the bootstrap account (on later starts, the one named `name`, else the oldest).
pub async fn bootstrap(
    service: &Arc<Service>,
    name: &str,
    admin_email: &str,
) -> anyhow::Result<Option<Account>> {
    let admin_email = if admin_email.is_empty() {
        "admin@example.com".to_owned()
    } else {
        admin_email.to_owned()
    };
    let accounts = service.accounts().await?;
    if !accounts.is_empty() {
        let named = accounts.iter().find(|a| a.name == name && !a.disabled);
        return Ok(named.or(accounts.first()).cloned());
    }
    let account = service
        .create_account(name, &AccountSettings::default())
        .await?;
    let pair = tokio::task::spawn_blocking({
        let id = account.id.clone();
        move || keys::generate(&id)
    })
    .await??;
    service.add_key(&pair.key).await?;
    if let Some(email) = Email::parse(&admin_email) {
        service
            .add_member(&account, &email, Role::Administrator)
            .await?;
    }
    let token = keys::mint(
        &pair.key.kid,
        &pair.private_pem,
        &TokenSpec {
            license_key: account.license_key.clone(),
            email: admin_email.clone(),
            audience: "tandem".into(),
            ttl_secs: 3600,
            display_name: Some("Administrator".into()),
            role: Some("administrator".into()),
            policy: None,
        },
    )?;
    tracing::info!(
        account = %account.id,
        license_key = %account.license_key,
        "created the first account; an administrator token (1 hour) follows"
    );
    println!(
        "\nFirst account created. License key: {license}\nAdministrator token (valid 1 hour):\n{token}\n\n\
         Mint more tokens with a key of your own (its private half is written to key.pem, never stored):\n  \
         tandem keys generate --account {license} --out key.pem\n  \
         tandem token --account {license} --key key.pem --email you@example.com --role administrator",
        license = account.license_key
    );
    Ok(Some(account))
}

/// Prints, on every start, how to co-browse between two tabs: the demo customer page of the
/// bootstrap `account`, and a fresh sign-in link for its administrator that lands on the
/// console's code page (emailed instead when SMTP is set up, since links are theirs alone).
pub async fn banner(
    service: &Arc<Service>,
    mailer: &Mailer,
    config: &Config,
    account: Option<&Account>,
    public_base: &str,
) -> anyhow::Result<()> {
    println!("\nTandem is running at {public_base}/");
    if let Some(account) = account {
        println!(
            "  Customer: {public_base}/demo?license={}\n            (click \"Get a support code\")",
            account.license_key
        );
    }
    let Some(email) = Email::parse(&config.bootstrap_admin_email) else {
        println!("  Agent:    {public_base}/dashboard (sign in, then \"Enter a code\")\n");
        return Ok(());
    };
    let Some(token) = service.operator_login_link(&email).await? else {
        println!("  Agent:    {public_base}/dashboard (sign in, then \"Enter a code\")\n");
        return Ok(());
    };
    if mailer.sends() {
        let link = format!("{public_base}/dashboard/login#token={token}");
        match mailer.send(sign_in_mail(&email, &link)).await {
            Ok(()) => println!("  Agent:    a sign-in link was emailed to {email}\n"),
            Err(e) => println!("  Agent:    could not email a sign-in link to {email}: {e}\n"),
        }
    } else {
        println!(
            "  Agent:    {public_base}/dashboard/login?next=/dashboard/code#token={token}\n            \
             (a sign-in link for {email}: one use, {} minutes, a new one on every start)\n  \
             Email:    no smtp_url is set, so the sign-in links people ask for are written to \
             this log\n",
            LINK_TTL.as_secs() / 60
        );
    }
    Ok(())
}

/// The email that carries a sign-in link.
pub fn sign_in_mail(email: &Email, link: &str) -> Mail {
    Mail {
        to: email.as_str().to_owned(),
        subject: "Your Tandem sign-in link".into(),
        text: format!(
            "Hello,\n\nUse this link to sign in to Tandem. It works once, for {} minutes:\n\n{link}\n\n\
             If you did not ask to sign in, you can ignore this email: nobody can sign in \
             without the link.\n",
            LINK_TTL.as_secs() / 60
        ),
        link: link.to_owned(),
    }
}
