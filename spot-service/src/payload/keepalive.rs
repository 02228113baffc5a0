//! Keeping a payload registered: the official `PayloadRegistrationKeepAlive`. Registration
//! survives robot reboots, so this is rarely needed; it helps when a robot's payload list may be
//! reset (e.g. by an administrator) while the payload runs.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::codegen::{Body, Bytes, StdError};

use crate::payload::credentials::Secret;
use crate::payload::registration::{PayloadRegistrationClient, PayloadRegistrationError};
use crate::proto::bosdyn::api::Payload;

/// The official keep-alive's interval between registrations.
pub const DEFAULT_PAYLOAD_REGISTRATION_INTERVAL: Duration = Duration::from_secs(30);

/// What the keep-alive last saw.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PayloadKeepAliveStatus {
    /// No answer yet.
    Starting,
    /// The robot has the payload registered (newly, or already).
    Registered,
    /// The last attempt failed; it is retried sooner than the interval.
    Failing {
        /// The error, as text.
        error: String,
    },
    /// The keep-alive stopped.
    Stopped,
}

/// Registers a payload at start and then every interval; "already registered" counts as
/// success. After a failure it retries after 1 s, doubling up to the interval.
#[derive(Debug)]
pub struct PayloadKeepAlive {
    cancel: CancellationToken,
    status: watch::Receiver<PayloadKeepAliveStatus>,
    task: Option<JoinHandle<()>>,
}

impl PayloadKeepAlive {
    /// Starts keeping `payload` (with its `GUID` set) registered with `secret`.
    pub fn spawn<T>(
        mut client: PayloadRegistrationClient<T>,
        payload: Payload,
        secret: Secret,
        interval: Duration,
    ) -> Self
    where
        T: tonic::client::GrpcService<tonic::body::Body> + Send + 'static,
        T::Future: Send,
        T::Error: Into<StdError>,
        T::ResponseBody: Body<Data = Bytes> + Send + 'static,
        <T::ResponseBody as Body>::Error: Into<StdError> + Send,
    {
        let cancel = CancellationToken::new();
        let (tx, status) = watch::channel(PayloadKeepAliveStatus::Starting);
        let stop = cancel.clone();
        let interval = interval.max(Duration::from_millis(1));
        let task = tokio::spawn(async move {
            let first_retry = Duration::from_secs(1).min(interval);
            let mut retry = first_retry;
            loop {
                let result = tokio::select! {
                    () = stop.cancelled() => break,
                    result = client.register_payload(payload.clone(), &secret) => result,
                };
                let delay = match result {
                    Ok(()) | Err(PayloadRegistrationError::AlreadyExists { .. }) => {
                        tx.send_if_modified(|s| {
                            let changed = *s != PayloadKeepAliveStatus::Registered;
                            if changed && matches!(s, PayloadKeepAliveStatus::Failing { .. }) {
                                tracing::info!(guid = %payload.guid, "payload registered again");
                            }
                            *s = PayloadKeepAliveStatus::Registered;
                            changed
                        });
                        retry = first_retry;
                        interval
                    }
                    Err(error) => {
                        tracing::warn!(guid = %payload.guid, %error, retry_in = ?retry, "payload registration failed");
                        tx.send_replace(PayloadKeepAliveStatus::Failing {
                            error: error.to_string(),
                        });
                        let delay = retry;
                        retry = (retry * 2).min(interval);
                        delay
                    }
                };
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(delay) => {}
                }
            }
            tx.send_replace(PayloadKeepAliveStatus::Stopped);
        });
        Self {
            cancel,
            status,
            task: Some(task),
        }
    }

    /// The latest status (and its changes).
    pub fn status(&self) -> watch::Receiver<PayloadKeepAliveStatus> {
        self.status.clone()
    }

    /// Stops the keep-alive and waits for it (the payload stays registered, as with the
    /// official keep-alive).
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for PayloadKeepAlive {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}
