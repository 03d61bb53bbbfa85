//! Devices: registration and refresh by their own token, authentication, reads and lists.

use std::sync::Arc;

use super::{scoped, Caller, DeviceRegistration, Service};
use crate::bus::Event;
use crate::custom_data;
use crate::model::{Account, Device, Json};
use crate::query::{DeviceFilter, DeviceQuery};
use crate::secrets;
use crate::time;
use crate::{Error, Result};

pub(super) fn validate_device_info(info: &Json) -> Result<()> {
    let size = serde_json::to_string(info)
        .map(|s| s.len())
        .unwrap_or(usize::MAX);
    if size > custom_data::MAX_TOTAL_BYTES {
        return Err(Error::invalid(
            "invalid_device",
            format!(
                "device is larger than {} bytes",
                custom_data::MAX_TOTAL_BYTES
            ),
        ));
    }
    if info.values().any(|v| v.is_object() || v.is_array()) {
        return Err(Error::invalid(
            "invalid_device",
            "device must be a flat object of strings, numbers and booleans",
        ));
    }
    Ok(())
}

fn valid_device_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

impl Service {
    /// Registers a device (first call, returns its new bearer token) or refreshes it (the caller
    /// must present that token). The license key has already chosen the account.
    pub async fn register_device(
        &self,
        account: &Account,
        id: &str,
        token: Option<&str>,
        reg: DeviceRegistration,
    ) -> Result<(Device, Option<String>)> {
        if !valid_device_id(id) {
            return Err(Error::invalid(
                "invalid_device_id",
                "a device id is 1-128 letters, digits, '-', '_', '.' or ':'",
            ));
        }
        if let Some(cd) = &reg.custom_data {
            custom_data::validate(cd)?;
        }
        if let Some(info) = &reg.device {
            validate_device_info(info)?;
        }
        let now = time::now();
        match self.store.device(&account.id, id).await {
            Ok(mut d) => {
                let presented = token.map(secrets::hash_token);
                if !presented.is_some_and(|h| secrets::constant_time_eq(&h, &d.token_hash)) {
                    return Err(Error::Forbidden(
                        "this device is registered; present its device token".into(),
                    ));
                }
                if let Some(info) = reg.device {
                    d.device = info;
                }
                if let Some(cd) = reg.custom_data {
                    d.custom_data = cd;
                }
                d.last_active = now;
                d.updated = now;
                self.store.save_device(&d).await?;
                self.bus.publish(Event::Device(Arc::new(d.clone())));
                Ok((d, None))
            }
            Err(Error::NotFound(_)) => {
                let token = secrets::bearer_token();
                let d = Device {
                    id: id.to_owned(),
                    account_id: account.id.clone(),
                    device: reg.device.unwrap_or_default(),
                    custom_data: reg.custom_data.unwrap_or_default(),
                    connectable: true,
                    online: false,
                    online_until: 0,
                    notification_token: secrets::bearer_token(),
                    token_hash: secrets::hash_token(&token),
                    last_active: now,
                    created: now,
                    updated: now,
                };
                self.store.insert_device(&d).await?;
                self.bus.publish(Event::Device(Arc::new(d.clone())));
                Ok((d, Some(token)))
            }
            Err(e) => Err(e),
        }
    }

    /// Authenticates a device by its bearer token.
    pub async fn authenticate_device(
        &self,
        account: &Account,
        id: &str,
        token: &str,
    ) -> Result<Device> {
        let d = self.store.device(&account.id, id).await?;
        if secrets::constant_time_eq(&secrets::hash_token(token), &d.token_hash) {
            Ok(d)
        } else {
            Err(Error::NotFound("device"))
        }
    }

    pub async fn get_device(&self, caller: &Caller, id: &str) -> Result<Device> {
        let d = match caller {
            Caller::Device { device, .. } if device.id == id => return Ok(device.clone()),
            Caller::Device { .. } => return Err(Error::NotFound("device")),
            Caller::Agent { account, .. } => self.store.device(&account.id, id).await?,
        };
        if caller.policy_allows("devices", "read", &d.id, &d.custom_data) {
            Ok(d)
        } else {
            Err(Error::NotFound("device"))
        }
    }

    pub async fn list_devices(&self, caller: &Caller, query: DeviceQuery) -> Result<Vec<Device>> {
        let Caller::Agent {
            account, policy, ..
        } = caller
        else {
            return Err(Error::Forbidden("devices cannot list devices".into()));
        };
        let Some((filters, ids)) = scoped(policy.as_ref(), "devices", query.filters) else {
            return Ok(vec![]);
        };
        let filter = DeviceFilter {
            filters,
            ids,
            page: query.page,
        };
        self.store.list_devices(&account.id, &filter).await
    }
}
