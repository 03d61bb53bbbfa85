//! First start and every start: the first account, its administrator, and a sign-in link for
//! them (what `make run` prints).

use std::sync::Arc;

use tandem_core::email::Email;
use tandem_core::model::{AccountSettings, Role};
use tandem_core::service::{Service, LINK_TTL};

use crate::keys::{self, TokenSpec};
use crate::mail::{Mail, Mailer};
use crate::Config;

/// On first start (no accounts yet) creates the first account with a generated key and prints
/// a one-hour administrator token signed with it. The key's private half is then dropped: it
/// is never stored, so more tokens need a key of the operator's (`tandem keys generate --out`).
pub async fn bootstrap(
    service: &Arc<Service>,
    name: &str,
    admin_email: &str,
    public_base: &str,
) -> anyhow::Result<()> {
    let admin_email = if admin_email.is_empty() {
        "admin@example.com".to_owned()
    } else {
        admin_email.to_owned()
    };
    if !service.accounts().await?.is_empty() {
        return Ok(());
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
         Co-browse between two browser tabs:\n  \
         customer: {public_base}/demo?license={license}   (click \"Get a support code\")\n  \
         agent:    {public_base}/code?token={token}&end_action=code   (enter the code)\n\n\
         Mint more tokens with a key of your own (its private half is written to key.pem, never stored):\n  \
         tandem keys generate --account {license} --out key.pem\n  \
         tandem token --account {license} --key key.pem --email you@example.com --role administrator\n",
        license = account.license_key
    );
    Ok(())
}

/// Sends (or, without SMTP, logs and prints) a sign-in link for the bootstrap administrator,
/// so that a fresh `make run` can open the dashboard at once.
pub async fn sign_in_link(
    service: &Arc<Service>,
    mailer: &Mailer,
    config: &Config,
    public_base: &str,
) -> anyhow::Result<()> {
    let Some(email) = Email::parse(&config.bootstrap_admin_email) else {
        return Ok(());
    };
    let Some(token) = service.operator_login_link(&email).await? else {
        return Ok(());
    };
    let link = format!("{public_base}/dashboard/login#token={token}");
    if mailer.sends() {
        let sent = mailer.send(sign_in_mail(&email, &link)).await;
        match sent {
            Ok(()) => println!("\nA dashboard sign-in link for {email} was emailed to them."),
            Err(e) => println!("\nCould not email a sign-in link to {email}: {e}"),
        }
    } else {
        println!(
            "\nDashboard sign-in for {email} (one use, {} minutes; no smtp_url is set, so sign-in \
             links go to the server log):\n  {link}\n",
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
