//! URLs in settings: passwords kept out of what is shown, SQLite paths made absolute, the
//! public URL's origin.

use std::path::Path;

use super::ConfigError;

/// `scheme://user:password@host…` with the password replaced; other URLs as they are.
pub(super) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    let user = userinfo.split(':').next().unwrap_or("");
    if userinfo.contains(':') {
        format!("{scheme}://{user}:<redacted>@{host}")
    } else {
        format!("{scheme}://{user}@{host}")
    }
}

/// A SQLite URL with a relative path made absolute against the working directory; other URLs
/// (and in-memory databases) as they are.
pub(super) fn absolute_sqlite(url: &str) -> Result<String, ConfigError> {
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return Ok(url.to_owned());
    };
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path.is_empty() || path.starts_with(':') || Path::new(path).is_absolute() {
        return Ok(url.to_owned());
    }
    let cwd = std::env::current_dir()
        .map_err(|e| ConfigError(format!("the working directory cannot be read: {e}")))?;
    let absolute = cwd.join(path);
    Ok(match query {
        Some(q) => format!("sqlite://{}?{q}", absolute.display()),
        None => format!("sqlite://{}", absolute.display()),
    })
}

/// The origin (scheme, host and port) of a public URL.
pub fn origin_of(public_base: &str) -> &str {
    match public_base.find("://") {
        Some(i) => match public_base[i + 3..].find('/') {
            Some(j) => &public_base[..i + 3 + j],
            None => public_base,
        },
        None => public_base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact_url("postgres://tandem:s3cret@db:5432/tandem"),
            "postgres://tandem:<redacted>@db:5432/tandem"
        );
        assert_eq!(
            redact_url("smtps://mail.example:465"),
            "smtps://mail.example:465"
        );
        assert_eq!(
            redact_url("redis://:pw@cache:6379"),
            "redis://:<redacted>@cache:6379"
        );
    }

    #[test]
    fn sqlite_paths_become_absolute() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            absolute_sqlite("sqlite://data/tandem.db").unwrap(),
            format!("sqlite://{}", cwd.join("data/tandem.db").display())
        );
        assert_eq!(
            absolute_sqlite("sqlite:///var/t.db").unwrap(),
            "sqlite:///var/t.db"
        );
        assert_eq!(
            absolute_sqlite("sqlite::memory:").unwrap(),
            "sqlite::memory:"
        );
        assert_eq!(
            absolute_sqlite("postgres://h/db").unwrap(),
            "postgres://h/db"
        );
        assert_eq!(origin_of("https://t.example/base"), "https://t.example");
    }
}
