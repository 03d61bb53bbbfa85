//! An SMTP server for tests, in this process: it takes every message the server sends (plain
//! SMTP, as lettre speaks it to `smtp://`) and keeps it, so a test can follow the links in them.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::eventually;

/// One message as received: its recipients and its raw text (headers and body).
#[derive(Debug, Clone)]
pub struct Received {
    pub to: Vec<String>,
    pub text: String,
}

pub struct Smtp {
    pub port: u16,
    inbox: Arc<Mutex<Vec<Received>>>,
}

impl Smtp {
    pub async fn start() -> Smtp {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding SMTP");
        let port = listener.local_addr().unwrap().port();
        let inbox = Arc::new(Mutex::new(Vec::new()));
        let kept = inbox.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, kept.clone()));
            }
        });
        Smtp { port, inbox }
    }

    /// `smtp://127.0.0.1:<port>`, for `smtp_url`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Messages received so far for `to`.
    pub fn messages(&self, to: &str) -> Vec<Received> {
        self.inbox
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to)))
            .cloned()
            .collect()
    }

    /// Waits for the `n`th message (1-based) to `to` and returns the token of the dashboard link
    /// it carries (`…/dashboard/login#token=<token>`).
    pub async fn link_token(&self, to: &str, n: usize) -> String {
        let text = eventually(10, || async {
            self.messages(to).get(n - 1).map(|m| m.text.clone())
        })
        .await;
        let text = quoted_printable(&text);
        let at = text
            .find("#token=")
            .expect("the email holds a sign-in link")
            + 7;
        text[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    }
}

async fn session(stream: tokio::net::TcpStream, inbox: Arc<Mutex<Vec<Received>>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut to = Vec::new();
    if write.write_all(b"220 test SMTP ready\r\n").await.is_err() {
        return;
    }
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250-test\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(line[8..].trim().trim_matches(['<', '>']).to_owned());
            b"250 OK\r\n"
        } else if upper.starts_with("DATA") {
            if write.write_all(b"354 go on\r\n").await.is_err() {
                return;
            }
            let mut text = String::new();
            while let Ok(Some(l)) = lines.next_line().await {
                if l == "." {
                    break;
                }
                text.push_str(&l);
                text.push_str("\r\n");
            }
            inbox.lock().unwrap().push(Received {
                to: std::mem::take(&mut to),
                text,
            });
            b"250 queued\r\n"
        } else if upper.starts_with("QUIT") {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"250 OK\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

/// Undoes quoted-printable (soft line breaks, `=XX` bytes), as a mail client shows the text.
fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
