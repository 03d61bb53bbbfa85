//! The session state machine, in one place: which state changes are legal, and who may make them.
//!
//! ```text
//! pending ──► authorizing ──► active ──► ended
//!    └────────────────────────►┘           ▲
//!    └──────────────┴────────────┴─────────┘   (any live state can end; ended is final)
//! ```
//! `remote_control` and `full_device` go `off → requested → on | rejected`; the agent asks, only
//! the customer accepts or rejects, and either side can turn them off.

use crate::model::{SessionState, Toggle};
use crate::{Error, Result};

/// Who is asking for a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// An agent (or integration) authenticated with a JWT.
    Agent,
    /// The customer's device.
    Device,
    /// Tandem itself: the inactivity reaper, code expiry.
    System,
}

fn conflict(message: String) -> Error {
    Error::Conflict(message)
}

/// Checks a state change. Returns `Ok(false)` when nothing changes (same state).
pub fn check_state(
    actor: Actor,
    from: SessionState,
    to: SessionState,
    require_consent: bool,
) -> Result<bool> {
    use SessionState::*;
    if from == Ended {
        return Err(conflict(
            "the session has ended; an ended session cannot change".into(),
        ));
    }
    if from == to {
        return Ok(false);
    }
    let legal = matches!(
        (from, to),
        (Pending, Authorizing) | (Pending, Active) | (Authorizing, Active) | (_, Ended)
    );
    if !legal {
        return Err(conflict(format!(
            "a session cannot go from {} to {}",
            from.as_str(),
            to.as_str()
        )));
    }
    match (actor, to) {
        (Actor::Agent, Active) if require_consent => Err(conflict(
            "the customer must accept before the session becomes active".into(),
        )),
        (Actor::Device, Authorizing) => Err(conflict(
            "only an agent joining moves a session to authorizing".into(),
        )),
        _ => Ok(true),
    }
}

/// Checks a change of `remote_control` or `full_device`. Returns `Ok(false)` when unchanged.
pub fn check_toggle(actor: Actor, name: &str, from: Toggle, to: Toggle) -> Result<bool> {
    use Toggle::*;
    if from == to {
        return Ok(false);
    }
    let allowed = match (actor, to) {
        (_, Off) => true,
        (Actor::Agent, Requested) => matches!(from, Off | Rejected),
        (Actor::Device, On | Rejected) => from == Requested,
        // The device SDK may also offer control itself (e.g. full device from the customer).
        (Actor::Device, Requested) => matches!(from, Off | Rejected),
        _ => false,
    };
    if allowed {
        Ok(true)
    } else {
        Err(conflict(match (actor, to) {
            (Actor::Agent, On | Rejected) => {
                format!(
                    "{name} can only be accepted or rejected by the customer; request it instead"
                )
            }
            _ => format!("{name} cannot go from {} to {}", from.as_str(), to.as_str()),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SessionState::*;

    #[test]
    fn ended_is_final() {
        for to in SessionState::ALL {
            assert!(check_state(Actor::Agent, Ended, to, false).is_err());
            assert!(check_state(Actor::System, Ended, to, false).is_err());
        }
    }

    #[test]
    fn only_forward_moves() {
        assert!(check_state(Actor::Agent, Active, Pending, false).is_err());
        assert!(check_state(Actor::Agent, Active, Authorizing, false).is_err());
        assert!(check_state(Actor::Agent, Authorizing, Pending, false).is_err());
        assert!(check_state(Actor::Agent, Pending, Authorizing, true).unwrap());
        assert!(check_state(Actor::Device, Authorizing, Active, true).unwrap());
        assert!(check_state(Actor::Agent, Pending, Active, false).unwrap());
        assert!(!check_state(Actor::Agent, Active, Active, false).unwrap());
        for from in [Pending, Authorizing, Active] {
            assert!(check_state(Actor::System, from, Ended, true).unwrap());
        }
    }

    #[test]
    fn consent_belongs_to_the_customer() {
        assert!(check_state(Actor::Agent, Authorizing, Active, true).is_err());
        assert!(check_toggle(
            Actor::Agent,
            "remote_control",
            Toggle::Requested,
            Toggle::On
        )
        .is_err());
        assert!(check_toggle(Actor::Agent, "remote_control", Toggle::Off, Toggle::On).is_err());
        assert!(check_toggle(
            Actor::Agent,
            "remote_control",
            Toggle::Off,
            Toggle::Requested
        )
        .unwrap());
        assert!(check_toggle(
            Actor::Device,
            "remote_control",
            Toggle::Requested,
            Toggle::On
        )
        .unwrap());
        assert!(check_toggle(Actor::Device, "remote_control", Toggle::Off, Toggle::On).is_err());
        assert!(check_toggle(Actor::Agent, "remote_control", Toggle::On, Toggle::Off).unwrap());
        assert!(check_toggle(Actor::Device, "remote_control", Toggle::On, Toggle::Off).unwrap());
    }
}
