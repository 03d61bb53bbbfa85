//! The account's members and invitations (administrators).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use tandem_core::email::Email;
use tandem_core::model::{Invitation, Member, Role};
use tandem_core::service::Caller;
use utoipa::ToSchema;

use super::doc::{
    BadRequest, Conflict, Errors, Forbidden, NotFound, PayloadTooLarge, ServiceUnavailable,
    Unauthorized, UnsupportedMediaType,
};
use crate::auth::AgentAuth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Bounded};
use crate::mail::Mail;
use crate::AppState;

/// List the account's members
///
/// Everyone who signed in to the dashboard or called the API with a JWT of the account.
#[utoipa::path(
    get,
    path = "/api/1/members",
    tag = "members",
    operation_id = "listMembers",
    security(("agentJwt" = []), ("loginCookie" = [])),
    responses(
        (status = 200, description = "The members, by email.", body = Vec<Member>),
        Errors<(Unauthorized, Forbidden, ServiceUnavailable)>,
    ),
)]
pub async fn list(State(app): State<AppState>, agent: AgentAuth) -> ApiResult<Json<Vec<Member>>> {
    Ok(Json(app.service().members(&agent.into()).await?))
}

/// A new role.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    role: Role,
}

/// Change a member's role
///
/// `409 last_administrator` when the account would be left without one.
#[utoipa::path(
    put,
    path = "/api/1/members/{id}",
    tag = "members",
    operation_id = "setMemberRole",
    security(("agentJwt" = []), ("loginCookie" = [])),
    params(("id" = String, Path, description = "The member's user id.")),
    request_body = RoleChange,
    responses(
        (status = 200, description = "The member with the new role.", body = Member),
        Errors<(BadRequest, PayloadTooLarge, UnsupportedMediaType, Unauthorized, Forbidden, NotFound, Conflict, ServiceUnavailable)>,
    ),
)]
pub async fn set_role(
    State(app): State<AppState>,
    agent: AgentAuth,
    Path(id): Path<String>,
    Body(body): Body<RoleChange>,
) -> ApiResult<Json<Member>> {
    let member = app
        .service()
        .set_member_role(&agent.into(), &id, body.role)
        .await?;
    Ok(Json(member))
}

/// Remove a member
///
/// Their dashboard sign-ins in this account and their sockets end at once. A JWT of theirs
/// makes them a member again (the integration that signs it decides).
#[utoipa::path(
    delete,
    path = "/api/1/members/{id}",
    tag = "members",
    operation_id = "removeMember",
    security(("agentJwt" = []), ("loginCookie" = [])),
    params(("id" = String, Path, description = "The member's user id.")),
    responses(
        (status = 204, description = "Removed."),
        Errors<(Unauthorized, Forbidden, NotFound, Conflict, ServiceUnavailable)>,
    ),
)]
pub async fn remove(
    State(app): State<AppState>,
    agent: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    app.service().remove_member(&agent.into(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct Revoked {
    /// Dashboard sign-ins ended.
    revoked: u64,
}

/// Sign a member out everywhere
///
/// Ends their dashboard sign-ins in this account and closes their sockets.
#[utoipa::path(
    delete,
    path = "/api/1/members/{id}/sessions",
    tag = "members",
    operation_id = "revokeMemberSessions",
    security(("agentJwt" = []), ("loginCookie" = [])),
    params(("id" = String, Path, description = "The member's user id.")),
    responses(
        (status = 200, description = "How many sign-ins ended.", body = Revoked),
        Errors<(Unauthorized, Forbidden, NotFound, ServiceUnavailable)>,
    ),
)]
pub async fn revoke_sessions(
    State(app): State<AppState>,
    agent: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Revoked>> {
    let revoked = app
        .service()
        .revoke_member_logins(&agent.into(), &id)
        .await?;
    Ok(Json(Revoked { revoked }))
}

/// List pending invitations
#[utoipa::path(
    get,
    path = "/api/1/invitations",
    tag = "members",
    operation_id = "listInvitations",
    security(("agentJwt" = []), ("loginCookie" = [])),
    responses(
        (status = 200, description = "Invitations not yet accepted, newest first.", body = Vec<Invitation>),
        Errors<(Unauthorized, Forbidden, ServiceUnavailable)>,
    ),
)]
pub async fn invitations(
    State(app): State<AppState>,
    agent: AgentAuth,
) -> ApiResult<Json<Vec<Invitation>>> {
    Ok(Json(app.service().invitations(&agent.into()).await?))
}

/// Invite someone.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Invite {
    #[schema(value_type = String, format = Email, max_length = 254)]
    email: Bounded<254>,
    role: Role,
}

/// Invite someone to the account
///
/// Emails them a link (good for 7 days) that makes them a member with `role` and signs them
/// in. Inviting the same address again replaces the earlier invitation. When the email cannot
/// be sent, nothing is kept and the answer is `502 email_failed`.
#[utoipa::path(
    post,
    path = "/api/1/invitations",
    tag = "members",
    operation_id = "createInvitation",
    security(("agentJwt" = []), ("loginCookie" = [])),
    request_body = Invite,
    responses(
        (status = 201, description = "The invitation, emailed.", body = Invitation),
        (status = 502, description = "The email could not be sent (`email_failed`); nothing was kept.", body = crate::error::ErrorBody),
        Errors<(BadRequest, PayloadTooLarge, UnsupportedMediaType, Unauthorized, Forbidden, ServiceUnavailable)>,
    ),
)]
pub async fn invite(
    State(app): State<AppState>,
    agent: AgentAuth,
    Body(body): Body<Invite>,
) -> ApiResult<(StatusCode, Json<Invitation>)> {
    let email = Email::parse(&body.email.0)
        .ok_or_else(|| ApiError::bad_request("email: not an email address"))?;
    // Names come from people (an account's name, a JWT's displayName): one line each in the mail.
    let one_line = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect()
    };
    let account_name = one_line(&agent.account.name);
    let inviter = one_line(&agent.user.name);
    let caller: Caller = agent.into();
    let (invitation, token) = app.service().invite(&caller, &email, body.role).await?;
    let link = format!("{}/dashboard/login#token={token}", app.public_base());
    let role = match invitation.role {
        Role::Administrator => "an administrator",
        Role::Agent => "an agent",
    };
    let mail = Mail {
        to: email.as_str().to_owned(),
        subject: format!("{inviter} invited you to {account_name} on Tandem"),
        text: format!(
            "Hello,\n\n{inviter} invited you to join {account_name} on Tandem as {role}, to help \
             customers by co-browsing with them.\n\nAccept the invitation and sign in (the link \
             works once, for 7 days):\n\n{link}\n\nIf you did not expect this, you can ignore \
             this email.\n"
        ),
        link,
    };
    if let Err(e) = app.mailer().send(mail).await {
        app.service()
            .withdraw_invitation(&caller, &invitation.id)
            .await?;
        return Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "email_failed",
            format!("the invitation email could not be sent ({e}); nothing was kept, try again"),
        ));
    }
    Ok((StatusCode::CREATED, Json(invitation)))
}

/// Withdraw an invitation
///
/// Its link stops working.
#[utoipa::path(
    delete,
    path = "/api/1/invitations/{id}",
    tag = "members",
    operation_id = "withdrawInvitation",
    security(("agentJwt" = []), ("loginCookie" = [])),
    params(("id" = String, Path, description = "The invitation's id.")),
    responses(
        (status = 204, description = "Withdrawn."),
        Errors<(Unauthorized, Forbidden, NotFound, ServiceUnavailable)>,
    ),
)]
pub async fn withdraw(
    State(app): State<AppState>,
    agent: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    app.service()
        .withdraw_invitation(&agent.into(), &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
