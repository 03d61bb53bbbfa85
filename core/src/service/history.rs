//! A session's history: the pages the customer visited (announced by the device's stream) and
//! when agents joined and left (their stream sockets opening and closing).

use std::collections::HashMap;

use serde::Serialize;
use serde_json::json;

use super::{Caller, Service};
use crate::model::AgentRef;
use crate::store::SessionEvent;
use crate::time::{self, Micros};
use crate::Result;

/// Events kept per session; a history lists at most this many.
const MAX_EVENTS: u32 = 1000;
const MAX_URL: usize = 2048;
const MAX_TITLE: usize = 512;

/// What happened during a session: the pages the customer loaded and the agents' comings and
/// goings.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = SessionHistory)]
pub struct History {
    /// The session's id.
    pub session: String,
    pub pages: Vec<PageVisit>,
    pub agents: Vec<AgentVisit>,
}

/// A page the customer loaded.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PageVisit {
    pub url: String,
    pub title: String,
    /// When the page was loaded.
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub entered: Micros,
    /// How long the page stayed in view: until the next page, the end of the session, or now.
    #[schema(minimum = 0)]
    pub duration_secs: f64,
}

/// An agent's stream socket on the session, from opening to closing.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgentVisit {
    /// The agent, unless their user no longer exists.
    #[schema(required = true)]
    pub agent: Option<AgentRef>,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub joined: Micros,
    /// `null` while the agent is still in the session.
    #[serde(serialize_with = "time::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub left: Option<Micros>,
}

fn cut(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

impl Service {
    async fn add_event(
        &self,
        account_id: &str,
        session_id: &str,
        kind: &str,
        data: serde_json::Value,
    ) -> Result<()> {
        let serde_json::Value::Object(data) = data else {
            unreachable!("history events are objects")
        };
        self.store
            .add_session_event(&SessionEvent {
                account_id: account_id.to_owned(),
                session_id: session_id.to_owned(),
                at: time::now(),
                kind: kind.to_owned(),
                data,
            })
            .await
    }

    /// A page the customer loaded during the session.
    pub async fn record_page(
        &self,
        account_id: &str,
        session_id: &str,
        url: &str,
        title: &str,
    ) -> Result<()> {
        let data = json!({"url": cut(url, MAX_URL), "title": cut(title, MAX_TITLE)});
        self.add_event(account_id, session_id, "page", data).await
    }

    /// An agent's stream opened (`joined`) or closed.
    pub async fn record_agent(
        &self,
        account_id: &str,
        session_id: &str,
        user_id: &str,
        joined: bool,
    ) -> Result<()> {
        let kind = if joined { "agent_joined" } else { "agent_left" };
        self.add_event(account_id, session_id, kind, json!({"user_id": user_id}))
            .await
    }

    /// The history of a session the caller may read.
    pub async fn history(&self, caller: &Caller, session_id: &str) -> Result<History> {
        let session = self.get_session(caller, session_id).await?;
        let events = self
            .store
            .session_events(&session.account_id, &session.id, MAX_EVENTS)
            .await?;
        let end = session.ended.unwrap_or_else(time::now);
        let text = |e: &SessionEvent, k: &str| {
            e.data
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let mut pages: Vec<PageVisit> = Vec::new();
        let mut agents: Vec<(String, AgentVisit)> = Vec::new();
        for e in &events {
            match e.kind.as_str() {
                "page" => {
                    if let Some(last) = pages.last_mut() {
                        last.duration_secs = (e.at - last.entered) as f64 / 1e6;
                    }
                    pages.push(PageVisit {
                        url: text(e, "url"),
                        title: text(e, "title"),
                        entered: e.at,
                        duration_secs: (end - e.at).max(0) as f64 / 1e6,
                    });
                }
                "agent_joined" => agents.push((
                    text(e, "user_id"),
                    AgentVisit {
                        agent: None,
                        joined: e.at,
                        left: None,
                    },
                )),
                "agent_left" => {
                    let user = text(e, "user_id");
                    if let Some((_, open)) = agents
                        .iter_mut()
                        .find(|(u, v)| *u == user && v.left.is_none())
                    {
                        open.left = Some(e.at);
                    }
                }
                _ => {}
            }
        }
        let mut users: HashMap<String, Option<AgentRef>> = HashMap::new();
        for (user_id, visit) in &mut agents {
            if !users.contains_key(user_id.as_str()) {
                let found = self.store.user(&session.account_id, user_id).await.ok();
                users.insert(user_id.clone(), found.as_ref().map(AgentRef::from));
            }
            visit.agent = users[user_id.as_str()].clone();
            if visit.left.is_none() && session.ended.is_some() {
                visit.left = session.ended;
            }
        }
        Ok(History {
            session: session.id,
            pages,
            agents: agents.into_iter().map(|(_, v)| v).collect(),
        })
    }
}
