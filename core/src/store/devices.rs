//! Devices: their row, registration and refresh, lookups, the filter rows that index them and
//! their list. (Presence leases are the reaper's business, in `reaper`.)

use async_trait::async_trait;
use sqlx::{AnyConnection, QueryBuilder};

use super::sql::{json, json_object, push_in, unique_violation, Plan, Scope, SqlStore};
use crate::custom_data;
use crate::model::Device;
use crate::query::DeviceFilter;
use crate::time::Micros;
use crate::{Error, Result};

#[async_trait]
pub trait DeviceStore: Send + Sync {
    async fn insert_device(&self, device: &Device) -> Result<()>;
    async fn device(&self, account_id: &str, id: &str) -> Result<Device>;
    async fn device_by_notification_token(&self, account_id: &str, token: &str) -> Result<Device>;
    async fn save_device(&self, device: &Device) -> Result<()>;
    async fn list_devices(&self, account_id: &str, filter: &DeviceFilter) -> Result<Vec<Device>>;
}

const DEVICE_COLUMNS: &str = "d.account_id, d.id, d.info, d.custom_data, d.token_hash, \
     d.notification_token, d.connectable, d.last_active, d.created, d.updated, d.online_until";

/// A row of [`DEVICE_COLUMNS`].
#[derive(sqlx::FromRow)]
struct DeviceRow {
    account_id: String,
    id: String,
    info: String,
    custom_data: String,
    token_hash: String,
    notification_token: String,
    connectable: i64,
    last_active: Micros,
    created: Micros,
    updated: Micros,
    online_until: Micros,
}

impl TryFrom<DeviceRow> for Device {
    type Error = Error;
    fn try_from(r: DeviceRow) -> Result<Self> {
        Ok(Device {
            account_id: r.account_id,
            id: r.id,
            device: json_object(&r.info)?,
            custom_data: json_object(&r.custom_data)?,
            token_hash: r.token_hash,
            notification_token: r.notification_token,
            connectable: r.connectable != 0,
            online: r.online_until > crate::time::now(),
            online_until: r.online_until,
            last_active: r.last_active,
            created: r.created,
            updated: r.updated,
        })
    }
}

impl SqlStore {
    async fn device_where(&self, account_id: &str, col: &str, value: &str) -> Result<Device> {
        let sql = format!(
            "SELECT {DEVICE_COLUMNS} FROM devices d WHERE d.account_id = $1 AND d.{col} = $2"
        );
        let row: DeviceRow = self.in_account(&sql, account_id, value, "device").await?;
        row.try_into()
    }
}

async fn write_device_filters(tx: &mut AnyConnection, d: &Device) -> Result<()> {
    sqlx::query("DELETE FROM device_filters WHERE account_id = $1 AND device_id = $2")
        .bind(&d.account_id)
        .bind(&d.id)
        .execute(&mut *tx)
        .await?;
    for (k, v) in custom_data::filter_pairs(&d.custom_data) {
        sqlx::query(
            "INSERT INTO device_filters (account_id, device_id, key, value) VALUES ($1, $2, $3, $4)",
        )
        .bind(&d.account_id)
        .bind(&d.id)
        .bind(k)
        .bind(v)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

#[async_trait]
impl DeviceStore for SqlStore {
    async fn insert_device(&self, d: &Device) -> Result<()> {
        self.scoped(Scope::Account(&d.account_id), async |tx| {
            let inserted = sqlx::query(
                "INSERT INTO devices (account_id, id, info, custom_data, token_hash, \
                 notification_token, connectable, last_active, created, updated) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&d.account_id)
            .bind(&d.id)
            .bind(json(&d.device))
            .bind(json(&d.custom_data))
            .bind(&d.token_hash)
            .bind(&d.notification_token)
            .bind(i64::from(d.connectable))
            .bind(d.last_active)
            .bind(d.created)
            .bind(d.updated)
            .execute(&mut *tx)
            .await;
            match inserted {
                Err(e) if unique_violation(&e) => {
                    return Err(Error::Conflict(format!(
                        "device {} is already registered",
                        d.id
                    )))
                }
                other => other?,
            };
            write_device_filters(tx, d).await
        })
        .await
    }

    async fn device(&self, account_id: &str, id: &str) -> Result<Device> {
        self.device_where(account_id, "id", id).await
    }

    async fn device_by_notification_token(&self, account_id: &str, token: &str) -> Result<Device> {
        self.device_where(account_id, "notification_token", token)
            .await
    }

    async fn save_device(&self, d: &Device) -> Result<()> {
        self.scoped(Scope::Account(&d.account_id), async |tx| {
            let done = sqlx::query(
                "UPDATE devices SET info = $1, custom_data = $2, connectable = $3, \
                 last_active = $4, updated = $5 WHERE account_id = $6 AND id = $7",
            )
            .bind(json(&d.device))
            .bind(json(&d.custom_data))
            .bind(i64::from(d.connectable))
            .bind(d.last_active)
            .bind(d.updated)
            .bind(&d.account_id)
            .bind(&d.id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(Error::NotFound("device"));
            }
            write_device_filters(tx, d).await
        })
        .await
    }

    async fn list_devices(&self, account_id: &str, f: &DeviceFilter) -> Result<Vec<Device>> {
        if f.ids.as_ref().is_some_and(|ids| ids.is_empty()) {
            return Ok(vec![]);
        }
        let mut qb = QueryBuilder::new(format!(
            "SELECT {DEVICE_COLUMNS} FROM devices d WHERE d.account_id = "
        ));
        qb.push_bind(account_id);
        for (k, v) in &f.filters {
            qb.push(
                " AND EXISTS (SELECT 1 FROM device_filters f WHERE f.account_id = d.account_id \
                      AND f.device_id = d.id AND f.key = ",
            )
            .push_bind(k.as_str())
            .push(" AND f.value = ")
            .push_bind(v.as_str())
            .push(")");
        }
        if let Some(ids) = &f.ids {
            push_in(&mut qb, "d.id", ids);
        }
        if let Some(before) = f.page.before {
            qb.push(" AND d.last_active < ").push_bind(before);
        }
        if let Some(after) = f.page.after {
            qb.push(" AND d.last_active > ").push_bind(after);
        }
        qb.push(" ORDER BY d.last_active DESC, d.id DESC LIMIT ")
            .push_bind(i64::from(f.page.limit));
        let scope = Scope::Account(account_id);
        let rows: Vec<DeviceRow> = self.built(scope, qb, Plan::PerCall).await?;
        rows.into_iter().map(Device::try_from).collect()
    }
}
