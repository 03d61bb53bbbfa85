//! Presence: a device is present while it holds a notification socket on some replica; each
//! replica records its own devices' first open and last close, and renews their lease.

use std::sync::Arc;

use tandem_core::service::PRESENCE_TTL;

use super::{until_stopped, Hub};

impl Hub {
    /// A device's notification socket opened: the first one on this replica makes it present.
    pub(crate) async fn device_opened(&self, account_id: &str, device_id: &str) {
        let first = {
            let mut devices = self.devices.lock().expect("devices lock");
            let n = devices
                .entry((account_id.to_owned(), device_id.to_owned()))
                .or_insert(0);
            *n += 1;
            *n == 1
        };
        if first {
            self.record_presence(account_id, device_id, true).await;
        }
    }

    pub(crate) async fn device_closed(&self, account_id: &str, device_id: &str) {
        let last = {
            let mut devices = self.devices.lock().expect("devices lock");
            let key = (account_id.to_owned(), device_id.to_owned());
            match devices.get_mut(&key) {
                Some(n) if *n > 1 => {
                    *n -= 1;
                    false
                }
                Some(_) => {
                    devices.remove(&key);
                    true
                }
                None => false,
            }
        };
        if last {
            self.record_presence(account_id, device_id, false).await;
        }
    }

    async fn record_presence(&self, account_id: &str, device_id: &str, present: bool) {
        let recorded = self
            .service
            .device_presence(account_id, device_id, present)
            .await;
        if let Err(e) = recorded {
            let what = if present { "presence" } else { "absence" };
            tracing::warn!(error = %e, device = device_id, "could not record {what}");
        }
    }

    /// Renews the presence lease of this replica's devices, a few times per lease.
    pub(super) async fn heartbeat(self: Arc<Self>) {
        let mut stop = self.stopping();
        let mut tick = tokio::time::interval(PRESENCE_TTL / 3);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while until_stopped(&mut stop, tick.tick()).await.is_some() {
            let held: Vec<(String, String)> = self
                .devices
                .lock()
                .expect("devices lock")
                .keys()
                .cloned()
                .collect();
            if let Err(e) = self.service.refresh_presence(&held).await {
                tracing::warn!(error = %e, "could not renew device presence");
            }
        }
    }
}
