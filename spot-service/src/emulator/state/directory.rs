//! The emulated robot's service directory: registered services, their endpoints, heartbeats and
//! liveness timeouts, and routing by authority.

use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use crate::emulator::routing::ServiceRoute;
use crate::proto::bosdyn::api::{Endpoint, ServiceEntry, service_entry};
use crate::robot::normalize_authority;

use super::{Data, EmulatorState};

/// Why a directory change was refused. Each variant maps to one answer of the directory
/// registration service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// Register: a service with this name is already registered (`STATUS_ALREADY_EXISTS`).
    #[error("service {0:?} is already registered")]
    AlreadyExists(String),
    /// Update or Unregister: no service with this name is registered
    /// (`STATUS_NONEXISTENT_SERVICE`).
    #[error("service {0:?} is not registered")]
    NonexistentService(String),
    /// The entry or endpoint is not usable (answered with `CODE_INVALID_REQUEST`).
    #[error("invalid service registration: {0}")]
    InvalidRequest(String),
    /// Update or Unregister of one of the emulator's own services (answered with
    /// `CODE_INVALID_REQUEST`).
    #[error("service {0:?} is built into the robot and cannot be changed")]
    BuiltIn(String),
}

/// A registered service.
#[derive(Debug, Clone)]
pub(super) struct DirectoryRecord {
    entry: ServiceEntry,
    endpoint: Endpoint,
    /// Last Register or Update (heartbeat).
    last_heartbeat: Instant,
    /// Dropped when this passes without a heartbeat; `None` never.
    liveness_timeout: Option<Duration>,
}

impl DirectoryRecord {
    /// Whether `entry` (validated) and `endpoint` say the same as this record.
    fn same_registration(&self, entry: &ServiceEntry, endpoint: &Endpoint) -> bool {
        let unstamped = |e: &ServiceEntry| ServiceEntry {
            last_update: None,
            ..e.clone()
        };
        unstamped(&self.entry) == unstamped(entry)
            && self.endpoint.host_ip == endpoint.host_ip.trim()
            && self.endpoint.port == endpoint.port
    }

    fn expired(&self, now: Instant) -> bool {
        self.liveness_timeout
            .is_some_and(|timeout| now.saturating_duration_since(self.last_heartbeat) > timeout)
    }
}

/// Drops the services whose liveness timeout passed; returns their names.
pub(super) fn sweep(data: &mut Data, now: Instant) -> Vec<String> {
    let expired: Vec<String> = data
        .directory
        .iter()
        .filter(|(_, record)| record.expired(now))
        .map(|(name, _)| name.clone())
        .collect();
    for name in &expired {
        if let Some(record) = data.directory.remove(name) {
            tracing::info!(
                service = %name,
                authority = %record.entry.authority,
                liveness_timeout_secs = record.entry.liveness_timeout_secs,
                "service missed its liveness timeout: dropped from the directory"
            );
        }
    }
    expired
}

/// Checks a Register/Update request and returns the entry to store (authority normalized,
/// `last_update` set) and the port.
fn validate(entry: &ServiceEntry, endpoint: Option<&Endpoint>) -> Result<ServiceEntry, String> {
    if entry.name.trim().is_empty() {
        return Err("service_entry.name is empty".into());
    }
    if entry.name.chars().any(char::is_control) {
        return Err(format!(
            "service_entry.name {:?} contains control characters",
            entry.name
        ));
    }
    match &entry.service_type {
        Some(service_entry::ServiceType::Type(t)) if !t.trim().is_empty() => {}
        _ => return Err("service_entry.type is empty".into()),
    }
    let authority = normalize_authority(&entry.authority);
    if authority.is_empty() {
        return Err("service_entry.authority is empty".into());
    }
    let valid_label = |label: &str| {
        !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !authority.split('.').all(valid_label) {
        return Err(format!(
            "service_entry.authority {:?} is not a host name (give e.g. `my-service` or \
             `my-service.spot.robot`, without scheme, port or path)",
            entry.authority
        ));
    }
    if !entry.liveness_timeout_secs.is_finite() || entry.liveness_timeout_secs < 0.0 {
        return Err(format!(
            "service_entry.liveness_timeout_secs {} is not a non-negative number of seconds",
            entry.liveness_timeout_secs
        ));
    }
    let Some(endpoint) = endpoint else {
        return Err("endpoint is missing".into());
    };
    if endpoint.host_ip.trim().is_empty() {
        return Err("endpoint.host_ip is empty".into());
    }
    if endpoint.host_ip.trim().parse::<IpAddr>().is_err() {
        return Err(format!(
            "endpoint.host_ip {:?} is not an IP address",
            endpoint.host_ip
        ));
    }
    if !(1..=i32::from(u16::MAX)).contains(&endpoint.port) {
        return Err(format!(
            "endpoint.port {} is not a TCP port (1-65535)",
            endpoint.port
        ));
    }
    Ok(ServiceEntry {
        authority,
        last_update: Some(prost_types::Timestamp::from(SystemTime::now())),
        ..entry.clone()
    })
}

fn record(entry: ServiceEntry, endpoint: &Endpoint, now: Instant) -> DirectoryRecord {
    let liveness_timeout = (entry.liveness_timeout_secs > 0.0)
        .then(|| Duration::try_from_secs_f64(entry.liveness_timeout_secs).unwrap_or(Duration::MAX));
    DirectoryRecord {
        entry,
        endpoint: Endpoint {
            host_ip: endpoint.host_ip.trim().to_owned(),
            port: endpoint.port,
        },
        last_heartbeat: now,
        liveness_timeout,
    }
}

fn type_of(entry: &ServiceEntry) -> &str {
    match &entry.service_type {
        Some(service_entry::ServiceType::Type(t)) => t,
        None => "",
    }
}

impl EmulatorState {
    fn is_builtin(&self, name: &str) -> bool {
        self.inner.builtins.iter().any(|entry| entry.name == name)
    }

    /// `RegisterService`: adds a service to the directory. The authority is stored normalized
    /// (lower case, a bare label `x` becomes `x.spot.robot`), `last_update` is set to now and
    /// counts as the first heartbeat. Returns the stored entry.
    ///
    /// # Errors
    ///
    /// [`DirectoryError::AlreadyExists`] if the name is taken (also by a built-in service). If
    /// the request is identical to the stored registration (the official Python keep-alive
    /// re-sends Register and ignores this answer), it still counts as a heartbeat;
    /// [`DirectoryError::InvalidRequest`] for an empty name, type or authority, a missing
    /// endpoint, a host that is not an IP address, port 0, or a negative liveness timeout.
    pub fn register_service(
        &self,
        entry: ServiceEntry,
        endpoint: Option<Endpoint>,
    ) -> Result<ServiceEntry, DirectoryError> {
        let now = Instant::now();
        let mut data = self.lock();
        sweep(&mut data, now);
        let stored = validate(&entry, endpoint.as_ref()).map_err(|reason| {
            tracing::warn!(service = %entry.name, %reason, "service registration refused");
            DirectoryError::InvalidRequest(reason)
        })?;
        let endpoint = endpoint.unwrap_or_default();
        if self.is_builtin(&entry.name) {
            tracing::debug!(service = %entry.name, "service registration: built-in name");
            return Err(DirectoryError::AlreadyExists(entry.name));
        }
        if let Some(existing) = data.directory.get_mut(&entry.name) {
            // The official Python keep-alive re-sends Register and ignores ALREADY_EXISTS, so a
            // Register identical to the stored entry is a heartbeat; a different one is not (it
            // must not keep a stale entry alive).
            if existing.same_registration(&stored, &endpoint) {
                existing.last_heartbeat = now;
                existing.entry.last_update = stored.last_update;
                tracing::debug!(
                    service = %entry.name,
                    "service registration: already exists (identical: counted as a heartbeat)"
                );
            } else {
                tracing::debug!(
                    service = %entry.name,
                    "service registration: already exists (different entry or endpoint)"
                );
            }
            return Err(DirectoryError::AlreadyExists(entry.name));
        }
        warn_shared_authority(&data, &stored);
        tracing::info!(
            service = %stored.name,
            service_type = type_of(&stored),
            authority = %stored.authority,
            host_ip = %endpoint.host_ip,
            port = endpoint.port,
            liveness_timeout_secs = stored.liveness_timeout_secs,
            user_token_required = stored.user_token_required,
            "service registered"
        );
        data.directory
            .insert(stored.name.clone(), record(stored.clone(), &endpoint, now));
        Ok(stored)
    }

    /// `UpdateService`: replaces the entry and endpoint of the registered service with the
    /// entry's name; counts as a heartbeat. Returns the stored entry.
    ///
    /// # Errors
    ///
    /// [`DirectoryError::NonexistentService`] if no service has that name (a service dropped
    /// for missing its liveness timeout no longer exists); [`DirectoryError::BuiltIn`] for the
    /// emulator's own services; [`DirectoryError::InvalidRequest`] as for
    /// [`register_service`](Self::register_service).
    pub fn update_service(
        &self,
        entry: ServiceEntry,
        endpoint: Option<Endpoint>,
    ) -> Result<ServiceEntry, DirectoryError> {
        let now = Instant::now();
        let mut data = self.lock();
        sweep(&mut data, now);
        let stored = validate(&entry, endpoint.as_ref()).map_err(|reason| {
            tracing::warn!(service = %entry.name, %reason, "service update refused");
            DirectoryError::InvalidRequest(reason)
        })?;
        let endpoint = endpoint.unwrap_or_default();
        if self.is_builtin(&entry.name) {
            tracing::warn!(service = %entry.name, "update of a built-in service refused");
            return Err(DirectoryError::BuiltIn(entry.name));
        }
        if !data.directory.contains_key(&entry.name) {
            tracing::debug!(service = %entry.name, "service update: no such service");
            return Err(DirectoryError::NonexistentService(entry.name));
        }
        warn_shared_authority(&data, &stored);
        tracing::info!(
            service = %stored.name,
            service_type = type_of(&stored),
            authority = %stored.authority,
            host_ip = %endpoint.host_ip,
            port = endpoint.port,
            liveness_timeout_secs = stored.liveness_timeout_secs,
            user_token_required = stored.user_token_required,
            "service updated"
        );
        data.directory
            .insert(stored.name.clone(), record(stored.clone(), &endpoint, now));
        Ok(stored)
    }

    /// `UnregisterService`: removes a service from the directory.
    ///
    /// # Errors
    ///
    /// [`DirectoryError::NonexistentService`] if no service has that name;
    /// [`DirectoryError::BuiltIn`] for the emulator's own services.
    pub fn unregister_service(&self, name: &str) -> Result<(), DirectoryError> {
        let now = Instant::now();
        let mut data = self.lock();
        sweep(&mut data, now);
        if self.is_builtin(name) {
            tracing::warn!(service = %name, "unregistration of a built-in service refused");
            return Err(DirectoryError::BuiltIn(name.to_owned()));
        }
        match data.directory.remove(name) {
            Some(record) => {
                tracing::info!(
                    service = %name,
                    authority = %record.entry.authority,
                    "service unregistered"
                );
                Ok(())
            }
            None => {
                tracing::debug!(service = %name, "service unregistration: no such service");
                Err(DirectoryError::NonexistentService(name.to_owned()))
            }
        }
    }

    /// `GetServiceEntry`: the entry of the service named `name` (registered or built in).
    pub fn service_entry(&self, name: &str) -> Option<ServiceEntry> {
        if let Some(entry) = self.inner.builtins.iter().find(|e| e.name == name) {
            return Some(entry.clone());
        }
        let mut data = self.lock();
        sweep(&mut data, Instant::now());
        data.directory.get(name).map(|record| record.entry.clone())
    }

    /// `ListServiceEntries`: the emulator's own services, then the registered ones, each group
    /// sorted by name.
    pub fn service_entries(&self) -> Vec<ServiceEntry> {
        let mut data = self.lock();
        sweep(&mut data, Instant::now());
        let mut builtins = self.inner.builtins.clone();
        builtins.sort_by(|a, b| a.name.cmp(&b.name));
        builtins.extend(data.directory.values().map(|record| record.entry.clone()));
        builtins
    }

    /// The registered services (not the built-in ones) with their endpoints, sorted by name.
    pub fn registered_services(&self) -> Vec<(ServiceEntry, Endpoint)> {
        let mut data = self.lock();
        sweep(&mut data, Instant::now());
        data.directory
            .values()
            .map(|record| (record.entry.clone(), record.endpoint.clone()))
            .collect()
    }

    /// The directory entries of the emulator's own services.
    pub fn builtin_entries(&self) -> &[ServiceEntry] {
        &self.inner.builtins
    }

    /// Where calls for `authority` go: the registered service with that (normalized) authority.
    /// If several services share it, the one with the latest heartbeat wins.
    pub(super) fn route_authority(&self, authority: &str) -> Option<ServiceRoute> {
        let authority = normalize_authority(authority);
        let mut data = self.lock();
        sweep(&mut data, Instant::now());
        data.directory
            .values()
            .filter(|record| record.entry.authority == authority)
            .max_by_key(|record| record.last_heartbeat)
            .and_then(|record| {
                Some(ServiceRoute {
                    name: record.entry.name.clone(),
                    host_ip: record.endpoint.host_ip.clone(),
                    port: u16::try_from(record.endpoint.port).ok()?,
                    user_token_required: record.entry.user_token_required,
                })
            })
    }
}

/// Logs when another registered service already uses the entry's authority: the front routes by
/// authority alone, so only one of them is reachable.
fn warn_shared_authority(data: &Data, entry: &ServiceEntry) {
    if let Some(other) = data
        .directory
        .values()
        .find(|r| r.entry.name != entry.name && r.entry.authority == entry.authority)
    {
        tracing::warn!(
            service = %entry.name,
            other = %other.entry.name,
            authority = %entry.authority,
            "two registered services share an authority: calls go to the one registered or \
             updated last"
        );
    }
}
