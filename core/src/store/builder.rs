//! SQL text with numbered `$n` placeholders and its arguments, for queries built piece by piece.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;

/// A value bound to a placeholder.
#[derive(Debug, Clone)]
pub(super) enum Arg {
    Text(String),
    Int(i64),
}

/// SQL text with its arguments, numbered as they are pushed.
#[derive(Default)]
pub(super) struct Sql {
    text: String,
    args: Vec<Arg>,
    /// Planned for its arguments on every call (an unnamed statement), never from a cached
    /// generic plan.
    per_call_plan: bool,
}

impl Sql {
    pub(super) fn new(text: &str) -> Self {
        Sql {
            text: text.to_owned(),
            args: vec![],
            per_call_plan: false,
        }
    }
    /// Has the database plan this query for its arguments on every call. For the list queries:
    /// how selective a filter is decides their plan, and PostgreSQL's generic plan for a
    /// prepared statement (used after a few calls) guesses it — behind row-level security's
    /// own conditions it guessed a nested loop that read 16M index entries for one page.
    pub(super) fn planned_per_call(&mut self) -> &mut Self {
        self.per_call_plan = true;
        self
    }
    pub(super) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }
    pub(super) fn arg(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        self.text.push_str(&format!("${}", self.args.len()));
        self
    }
    pub(super) fn text(&mut self, s: &str) -> &mut Self {
        self.arg(Arg::Text(s.to_owned()))
    }
    pub(super) fn int(&mut self, i: i64) -> &mut Self {
        self.arg(Arg::Int(i))
    }
    pub(super) fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        let mut q = sqlx::query(&self.text).persistent(!self.per_call_plan);
        for a in &self.args {
            q = match a {
                Arg::Text(s) => q.bind(s.as_str()),
                Arg::Int(i) => q.bind(*i),
            };
        }
        q
    }
}

/// Appends `AND <col> IN (...)` for a set of ids.
pub(super) fn push_in(sql: &mut Sql, col: &str, ids: &[String]) {
    sql.push(&format!(" AND {col} IN ("));
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.text(id);
    }
    sql.push(")");
}
