//! `tandem check`: is this configuration one the server can start with? The settings are valid
//! (they were checked at load), the database answers, and so do Redis and the SMTP server when
//! they are configured. Nothing is changed: no migration runs, no file is created.

use std::time::Duration;

use crate::mail::Mailer;
use crate::Config;

/// Prints one line per check and fails with the reasons when any check fails.
pub async fn run(config: &Config) -> anyhow::Result<()> {
    let mut failures = Vec::new();
    let mut report = |what: String, outcome: Result<String, String>| match outcome {
        Ok(note) => println!("ok    {what}{note}"),
        Err(why) => {
            println!("FAIL  {what}: {why}");
            failures.push(what);
        }
    };
    report("configuration".into(), Ok(String::new()));
    let database = config.database_shown();
    let db = tandem_core::probe_database(&config.database_url)
        .await
        .map(|backend| format!(" ({})", backend.as_str()))
        .map_err(|e| e.to_string());
    report(format!("database {database}"), db);
    if config.redis_url.is_empty() {
        report("redis".into(), Ok(" not configured (one process)".into()));
    } else {
        let redis = tandem_realtime::probe_redis(&config.redis_url)
            .await
            .map(|()| String::new());
        report("redis".into(), redis);
    }
    match Mailer::from_config(config) {
        Ok(Mailer::Smtp { transport, .. }) => {
            let answer =
                tokio::time::timeout(Duration::from_secs(10), transport.test_connection()).await;
            let smtp = match answer {
                Ok(Ok(true)) => Ok(String::new()),
                Ok(Ok(false)) => Err("the server did not accept a connection".into()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("no answer within 10 seconds".into()),
            };
            report("smtp".into(), smtp);
        }
        Ok(Mailer::Log) => report(
            "smtp".into(),
            Ok(" not configured (sign-in links go to the log)".into()),
        ),
        Err(e) => report("smtp".into(), Err(e)),
    }
    if failures.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("tandem check failed: {}", failures.join(", "))
    }
}
