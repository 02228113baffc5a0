//! Registered payloads: registration, credentials, authorization by an operator, attachment,
//! payload tokens. Every change is written to the state file before it takes effect.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::proto::bosdyn::api::{Payload, SoftwareVersion};

use super::auth::TokenOwner;
use super::store::StateError;
use super::{Data, EmulatorState};

/// Why a payload operation failed. The first variants map to statuses of the payload
/// registration service; see each.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// RegisterPayload: the GUID is already registered (`STATUS_ALREADY_EXISTS`).
    #[error("payload {0} is already registered")]
    AlreadyExists(String),
    /// No payload with this GUID is registered (`STATUS_DOES_NOT_EXIST`; `GetPayloadAuthToken`
    /// answers `STATUS_INVALID_CREDENTIALS`, having no such status).
    #[error("no payload {0} is registered")]
    DoesNotExist(String),
    /// The secret does not match the registration (`STATUS_INVALID_CREDENTIALS`).
    #[error("invalid credentials for payload {0}")]
    InvalidCredentials(String),
    /// The payload is not authorized by an operator (`STATUS_PAYLOAD_NOT_AUTHORIZED`).
    #[error("payload {0} is not authorized")]
    NotAuthorized(String),
    /// The request is not usable (answered with `CODE_INVALID_REQUEST`).
    #[error("invalid payload request: {0}")]
    InvalidRequest(String),
    /// The change could not be written to the state file, so it was not made (answered with
    /// `CODE_INTERNAL_SERVER_ERROR`).
    #[error(transparent)]
    Persist(#[from] StateError),
}

/// A registered payload as the operator sees it (without its secret).
#[derive(Debug, Clone, PartialEq)]
pub struct PayloadInfo {
    /// The payload as registered, with `is_authorized` and `is_enabled` reflecting its state
    /// (enabled = authorized and attached) and the latest version it reported.
    pub payload: Payload,
    /// Whether an operator authorized it (or `auto_authorize` did).
    pub authorized: bool,
    /// Whether it is attached (it is at registration; `UpdatePayloadAttached` changes it).
    pub attached: bool,
}

/// A registered payload as the state keeps (and stores) it.
#[derive(Clone, PartialEq)]
pub(super) struct PayloadRecord {
    pub(super) payload: Payload,
    pub(super) secret: String,
    pub(super) authorized: bool,
    pub(super) attached: bool,
}

impl std::fmt::Debug for PayloadRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadRecord")
            .field("payload", &self.payload)
            .field("secret", &"<redacted>")
            .field("authorized", &self.authorized)
            .field("attached", &self.attached)
            .finish()
    }
}

impl PayloadRecord {
    /// Makes the proto's flags match the record.
    pub(super) fn sync_flags(&mut self) {
        self.payload.is_authorized = self.authorized;
        self.payload.is_enabled = self.authorized && self.attached;
    }

    fn info(&self) -> PayloadInfo {
        PayloadInfo {
            payload: self.payload.clone(),
            authorized: self.authorized,
            attached: self.attached,
        }
    }
}

/// Whether a GUID can be stored: non-empty, no whitespace or control characters (the state
/// file is tab-separated and line-based).
pub(super) fn valid_guid(guid: &str) -> bool {
    !guid.is_empty() && !guid.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Checks `guid` and `secret` against the registrations.
fn check_credentials<'a>(
    payloads: &'a BTreeMap<String, PayloadRecord>,
    guid: &str,
    secret: &str,
) -> Result<&'a PayloadRecord, PayloadError> {
    let record = payloads
        .get(guid)
        .ok_or_else(|| PayloadError::DoesNotExist(guid.to_owned()))?;
    if !super::auth::same_secret(&record.secret, secret) {
        return Err(PayloadError::InvalidCredentials(guid.to_owned()));
    }
    Ok(record)
}

impl EmulatorState {
    /// Applies `change` to a copy of the payloads, writes the copy to the state file (if any)
    /// and only then makes it current, so memory and file always agree. Changes another process
    /// made to the file are merged first (see [`refresh_from_file`](Self::refresh_from_file)).
    fn change_payloads<T>(
        &self,
        data: &mut Data,
        change: impl FnOnce(&mut BTreeMap<String, PayloadRecord>) -> Result<T, PayloadError>,
    ) -> Result<T, PayloadError> {
        self.persist(data, |data| {
            let mut payloads = data.payloads.clone();
            let result = change(&mut payloads)?;
            for record in payloads.values_mut() {
                record.sync_flags();
            }
            Ok((payloads, result))
        })
        .inspect_err(|error| {
            if let PayloadError::Persist(error) = error {
                tracing::error!(%error, "could not write the emulator state file; change not made");
            }
        })
    }

    /// `RegisterPayload`: records `payload` (its GUID must be set) with `secret`. It is
    /// unauthorized (`is_authorized` and `is_enabled` false, whatever the request says) until an
    /// operator calls [`authorize_payload`](Self::authorize_payload), unless the configuration's
    /// `auto_authorize` is set; it starts attached.
    ///
    /// # Errors
    ///
    /// [`PayloadError::AlreadyExists`], [`PayloadError::InvalidRequest`] (empty GUID or GUID with
    /// whitespace, empty secret), [`PayloadError::Persist`].
    pub fn register_payload(&self, payload: Payload, secret: &str) -> Result<(), PayloadError> {
        let guid = payload.guid.clone();
        if !valid_guid(&guid) {
            tracing::warn!(guid, "payload registration refused: invalid GUID");
            return Err(PayloadError::InvalidRequest(format!(
                "payload GUID {guid:?} is empty or contains whitespace or control characters"
            )));
        }
        if secret.is_empty() {
            tracing::warn!(guid, "payload registration refused: empty secret");
            return Err(PayloadError::InvalidRequest(
                "payload_secret is empty".to_owned(),
            ));
        }
        let auto_authorize = self.inner.config.auto_authorize;
        let mut data = self.lock();
        self.change_payloads(&mut data, |payloads| {
            if payloads.contains_key(&guid) {
                return Err(PayloadError::AlreadyExists(guid.clone()));
            }
            payloads.insert(
                guid.clone(),
                PayloadRecord {
                    payload,
                    secret: secret.to_owned(),
                    authorized: auto_authorize,
                    attached: true,
                },
            );
            Ok(())
        })
        .inspect_err(|error| {
            if let PayloadError::AlreadyExists(_) = error {
                tracing::debug!(guid, "payload registration: already registered");
            }
        })?;
        let name = data
            .payloads
            .get(&guid)
            .map(|r| r.payload.name.clone())
            .unwrap_or_default();
        if auto_authorize {
            tracing::info!(
                guid,
                name,
                "payload registered and authorized (auto-authorize)"
            );
        } else {
            tracing::info!(
                guid,
                name,
                "payload registered: waiting for an operator to authorize it"
            );
        }
        Ok(())
    }

    /// `UpdatePayloadVersion`: records the version the payload reports.
    ///
    /// # Errors
    ///
    /// [`PayloadError::DoesNotExist`], [`PayloadError::InvalidCredentials`],
    /// [`PayloadError::Persist`].
    pub fn update_payload_version(
        &self,
        guid: &str,
        secret: &str,
        version: Option<SoftwareVersion>,
    ) -> Result<(), PayloadError> {
        let mut data = self.lock();
        self.change_payloads(&mut data, |payloads| {
            check_credentials(payloads, guid, secret)?;
            if let Some(record) = payloads.get_mut(guid) {
                record.payload.version = version;
            }
            Ok(())
        })
        .inspect_err(|error| tracing::warn!(guid, %error, "payload version update refused"))?;
        tracing::info!(guid, ?version, "payload version updated");
        Ok(())
    }

    /// `UpdatePayloadAttached`: records whether the payload is attached.
    ///
    /// # Errors
    ///
    /// [`PayloadError::DoesNotExist`], [`PayloadError::InvalidCredentials`],
    /// [`PayloadError::NotAuthorized`], [`PayloadError::Persist`].
    pub fn update_payload_attached(
        &self,
        guid: &str,
        secret: &str,
        attached: bool,
    ) -> Result<(), PayloadError> {
        let mut data = self.lock();
        self.change_payloads(&mut data, |payloads| {
            if !check_credentials(payloads, guid, secret)?.authorized {
                return Err(PayloadError::NotAuthorized(guid.to_owned()));
            }
            if let Some(record) = payloads.get_mut(guid) {
                record.attached = attached;
            }
            Ok(())
        })
        .inspect_err(|error| tracing::warn!(guid, %error, "payload attach/detach refused"))?;
        tracing::info!(
            guid,
            attached,
            "payload {}",
            if attached { "attached" } else { "detached" }
        );
        Ok(())
    }

    /// `GetPayloadAuthToken`: a payload token (valid like a user token, for the configured
    /// lifetime, while the payload stays authorized).
    ///
    /// # Errors
    ///
    /// [`PayloadError::DoesNotExist`] (the service answers `STATUS_INVALID_CREDENTIALS`),
    /// [`PayloadError::InvalidCredentials`], [`PayloadError::NotAuthorized`].
    pub fn payload_token(&self, guid: &str, secret: &str) -> Result<String, PayloadError> {
        let now = Instant::now();
        let mut data = self.lock();
        let authorized = check_credentials(&data.payloads, guid, secret)
            .inspect_err(|error| tracing::warn!(guid, %error, "payload token refused"))?
            .authorized;
        if !authorized {
            tracing::info!(
                guid,
                "payload token refused: not authorized yet (authorize it as the operator)"
            );
            return Err(PayloadError::NotAuthorized(guid.to_owned()));
        }
        let token = self.issue_token(&mut data, TokenOwner::Payload(guid.to_owned()), now);
        tracing::info!(guid, "payload token issued");
        Ok(token)
    }

    /// What an administrator does in the robot's admin web page: authorizes a registered
    /// payload, so it can get tokens. Authorizing an authorized payload changes nothing.
    ///
    /// # Errors
    ///
    /// [`PayloadError::DoesNotExist`], [`PayloadError::Persist`].
    pub fn authorize_payload(&self, guid: &str) -> Result<(), PayloadError> {
        self.set_authorized(guid, true)
    }

    /// Withdraws a payload's authorization: it gets no more tokens, and the tokens it has stop
    /// being valid.
    ///
    /// # Errors
    ///
    /// [`PayloadError::DoesNotExist`], [`PayloadError::Persist`].
    pub fn revoke_payload(&self, guid: &str) -> Result<(), PayloadError> {
        self.set_authorized(guid, false)
    }

    fn set_authorized(&self, guid: &str, authorized: bool) -> Result<(), PayloadError> {
        let mut data = self.lock();
        self.change_payloads(&mut data, |payloads| {
            let record = payloads
                .get_mut(guid)
                .ok_or_else(|| PayloadError::DoesNotExist(guid.to_owned()))?;
            record.authorized = authorized;
            Ok(())
        })
        .inspect_err(|error| tracing::warn!(guid, %error, "payload authorization change failed"))?;
        if authorized {
            tracing::info!(guid, "payload authorized by the operator");
        } else {
            tracing::info!(
                guid,
                "payload authorization revoked by the operator; its tokens are no longer valid"
            );
        }
        Ok(())
    }

    /// Forgets a payload registration altogether (the "delete" of the admin web page); its
    /// tokens stop being valid and it may register again.
    ///
    /// # Errors
    ///
    /// [`PayloadError::DoesNotExist`], [`PayloadError::Persist`].
    pub fn forget_payload(&self, guid: &str) -> Result<(), PayloadError> {
        let mut data = self.lock();
        self.change_payloads(&mut data, |payloads| {
            payloads
                .remove(guid)
                .map(drop)
                .ok_or_else(|| PayloadError::DoesNotExist(guid.to_owned()))
        })
        .inspect_err(|error| tracing::warn!(guid, %error, "payload removal failed"))?;
        // Its tokens go too: they must not come back to life if it registers again.
        data.tokens
            .retain(|_, record| !matches!(&record.owner, TokenOwner::Payload(g) if g == guid));
        tracing::info!(guid, "payload registration removed by the operator");
        Ok(())
    }

    /// The registered payload with this GUID.
    pub fn payload(&self, guid: &str) -> Option<PayloadInfo> {
        self.lock().payloads.get(guid).map(PayloadRecord::info)
    }

    /// Every registered payload, sorted by GUID.
    pub fn payloads(&self) -> Vec<PayloadInfo> {
        self.lock()
            .payloads
            .values()
            .map(PayloadRecord::info)
            .collect()
    }
}
