//! Keeping a service registered in the robot's directory for as long as it runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::codegen::{Body, Bytes, StdError};

use super::registration::{
    DirectoryRegistrationClient, DirectoryRegistrationError, ServiceRegistration,
};
use crate::client::{check_response, stamp_request};
use crate::health::{HealthReporter, ServingStatus};
use crate::proto::bosdyn::api::fault_service_client::FaultServiceClient;
use crate::proto::bosdyn::api::{
    ClearServiceFaultRequest, ServiceFault, ServiceFaultId, TriggerServiceFaultRequest,
    clear_service_fault_response, service_fault, trigger_service_fault_response,
};

/// The name of the fault a [`DirectoryKeepAlive`] raises while registration fails (the name the
/// official C++ keep-alive uses).
pub const DIRECTORY_REGISTRATION_FAULT_NAME: &str = "Directory Registration Fault";

/// The severity of that fault: `SEVERITY_CRITICAL`, as in the official C++ keep-alive. A service
/// missing from the directory cannot be reached through the robot at all, which is the proto's
/// definition of critical ("not working"), not merely degraded.
pub const DIRECTORY_REGISTRATION_FAULT_SEVERITY: service_fault::Severity =
    service_fault::Severity::Critical;

/// The official keep-alive's re-registration interval: 30 s.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
/// The official keep-alive's liveness timeout: 2.5 × [`DEFAULT_INTERVAL`] = 75 s.
pub const DEFAULT_LIVENESS_TIMEOUT: Duration = Duration::from_secs(75);
/// The default bound on each directory (and fault) call: 10 s. The official keep-alive has no
/// bound, so one hung call would stall it forever.
pub const DEFAULT_RPC_TIMEOUT: Duration = Duration::from_secs(10);
/// The official keep-alive's first retry delay after a failure: 1 s.
pub const DEFAULT_INITIAL_RETRY: Duration = Duration::from_secs(1);

/// The timings of a [`DirectoryKeepAlive`].
///
/// [`Default`] matches the official SDK's `DirectoryRegistrationKeepAlive`: register every 30 s
/// with a 75 s liveness timeout, retry failures after 1 s, doubling up to one interval. Use
/// [`KeepAliveConfig::with_interval`] to change the interval and the values derived from it
/// together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeepAliveConfig {
    /// Time between two heartbeats (Register, then Update if the entry exists) while registered,
    /// measured from the start of one attempt to the start of the next. Default 30 s.
    pub interval: Duration,
    /// Sent as the entry's `liveness_timeout_secs`: the robot considers the service gone after
    /// this long without a heartbeat. Default 75 s (2.5 × interval); `Duration::ZERO` disables
    /// the check.
    pub liveness_timeout: Duration,
    /// Bound on each directory or fault call, and on the unregistration in
    /// [`DirectoryKeepAlive::shutdown`]. Default 10 s.
    pub rpc_timeout: Duration,
    /// First retry delay after a failed attempt. Default 1 s.
    pub initial_retry: Duration,
    /// Longest retry delay: retries back off exponentially (×2 each time, plus random jitter of
    /// up to +100 %) from `initial_retry`, never waiting longer than this. Default 30 s (one
    /// interval).
    pub max_retry: Duration,
}

impl Default for KeepAliveConfig {
    fn default() -> Self {
        Self {
            interval: DEFAULT_INTERVAL,
            liveness_timeout: DEFAULT_LIVENESS_TIMEOUT,
            rpc_timeout: DEFAULT_RPC_TIMEOUT,
            initial_retry: DEFAULT_INITIAL_RETRY,
            max_retry: DEFAULT_INTERVAL,
        }
    }
}

impl KeepAliveConfig {
    /// The timings for another interval, derived as the official SDK does: liveness timeout
    /// 2.5 × interval, longest retry delay one interval. The first retry delay is 1 s and the RPC
    /// timeout 10 s, each capped at one interval.
    pub fn with_interval(interval: Duration) -> Self {
        Self {
            interval,
            liveness_timeout: interval.mul_f64(2.5),
            rpc_timeout: DEFAULT_RPC_TIMEOUT.min(interval),
            initial_retry: DEFAULT_INITIAL_RETRY.min(interval),
            max_retry: interval,
        }
    }

    /// The retry delays after consecutive failures: exponential from `initial_retry`, with
    /// jitter, capped at `max_retry`. (Zero durations count as 1 ms, so a mistaken config cannot
    /// spin.)
    fn backoff(&self) -> Backoff {
        let max = self.max_retry.max(MIN_DELAY);
        let initial = self.initial_retry.max(MIN_DELAY).min(max);
        Backoff {
            delays: ExponentialBuilder::new()
                .with_min_delay(initial)
                .with_max_delay(max)
                .with_jitter()
                .without_max_times()
                .build(),
            max,
        }
    }
}

const MIN_DELAY: Duration = Duration::from_millis(1);

/// Retry delays: backon's jitter adds up to +100 % to each delay, so each is capped at `max`.
struct Backoff {
    delays: ExponentialBackoff,
    max: Duration,
}

impl Backoff {
    fn next_delay(&mut self) -> Duration {
        self.delays.next().unwrap_or(self.max).min(self.max)
    }
}

/// Where a [`DirectoryKeepAlive`] stands, as seen through [`DirectoryKeepAlive::status`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RegistrationStatus {
    /// Started; the first registration has not completed yet.
    Registering,
    /// The directory holds the entry; the last heartbeat succeeded.
    Registered {
        /// When the registration first succeeded after the last failure (or start).
        since: SystemTime,
    },
    /// The last attempt failed; retrying with back-off.
    Failing {
        /// The last attempt's error.
        error: String,
        /// Consecutive failed attempts so far.
        attempts: u32,
    },
    /// [`DirectoryKeepAlive::shutdown`] removed the entry from the directory.
    Unregistered,
    /// The keep-alive stopped without removing the entry: it was dropped, or shutdown could not
    /// unregister. The robot keeps the entry until its liveness timeout expires (or forever if
    /// the timeout is zero).
    Stopped,
}

impl RegistrationStatus {
    /// Whether the directory holds the entry as of the last heartbeat.
    pub fn is_registered(&self) -> bool {
        matches!(self, Self::Registered { .. })
    }

    /// The health a service in this state has: SERVING only while registered, since the robot
    /// cannot route calls to an unregistered service.
    pub fn serving_status(&self) -> ServingStatus {
        if self.is_registered() {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        }
    }
}

/// Keeps a service registered in the robot's directory, like the official SDK's
/// `DirectoryRegistrationKeepAlive`, but correcting stale entries and retrying with back-off.
///
/// A background task:
///
/// 1. resets the entry at start (unregister, ignoring "does not exist", then register), so a
///    leftover entry from an earlier run (another port, another host) is replaced and its old
///    faults are cleared;
/// 2. then every [`interval`](KeepAliveConfig::interval) sends Register and, when the robot
///    answers `ALREADY_EXISTS`, Update — so the heartbeat refreshes the liveness timer, recreates
///    the entry after the directory was wiped (robot reboot), and corrects an entry someone
///    changed (the official Python keep-alive ignores `ALREADY_EXISTS` and never corrects it;
///    the official C++ one updates, as this one does);
/// 3. after a failure (robot unreachable, error answer, timeout), retries with exponential
///    back-off and jitter ([`initial_retry`](KeepAliveConfig::initial_retry) up to
///    [`max_retry`](KeepAliveConfig::max_retry)) instead of waiting a whole interval; until
///    the first success, it retries the reset;
/// 4. with a fault client, raises [`DIRECTORY_REGISTRATION_FAULT_NAME`] (severity
///    [`DIRECTORY_REGISTRATION_FAULT_SEVERITY`], for the registered service name) while
///    registration fails and clears it after the next success. Fault calls are best-effort:
///    their failures are logged, never fatal, and retried on the next attempt.
///
/// Every change of [`RegistrationStatus`] is published on [`status`](Self::status) and logged
/// (info on success, warn on each failure with its error). [`report_health`](Self::report_health)
/// mirrors it into the gRPC health service.
///
/// [`shutdown`](Self::shutdown) stops the task and unregisters. Dropping the keep-alive stops the
/// task without unregistering (the robot then drops the entry after the liveness timeout).
///
/// Needs a Tokio runtime.
#[derive(Debug)]
pub struct DirectoryKeepAlive {
    cancel: CancellationToken,
    unregister_on_stop: Arc<AtomicBool>,
    task: Option<JoinHandle<Result<(), DirectoryRegistrationError>>>,
    status: watch::Receiver<RegistrationStatus>,
    followers: TaskTracker,
    rpc_timeout: Duration,
}

impl DirectoryKeepAlive {
    /// Starts keeping `registration` in the directory reached by `client`, raising faults
    /// through `fault_client` if given.
    ///
    /// The entry's liveness timeout is `config.liveness_timeout`, whatever
    /// `registration.liveness_timeout_secs` says. Every call is bounded by `config.rpc_timeout`
    /// (replacing the client's own timeout).
    pub fn spawn<T>(
        client: DirectoryRegistrationClient<T>,
        fault_client: Option<FaultServiceClient<T>>,
        registration: ServiceRegistration,
        config: KeepAliveConfig,
    ) -> Self
    where
        T: tonic::client::GrpcService<tonic::body::Body> + Send + 'static,
        T::Error: Into<StdError>,
        T::Future: Send,
        T::ResponseBody: Body<Data = Bytes> + Send + 'static,
        <T::ResponseBody as Body>::Error: Into<StdError> + Send,
    {
        let (sender, status) = watch::channel(RegistrationStatus::Registering);
        let cancel = CancellationToken::new();
        let unregister_on_stop = Arc::new(AtomicBool::new(false));
        let mut registration = registration;
        registration.liveness_timeout_secs = config.liveness_timeout.as_secs_f64();
        let worker = Worker {
            client: client.with_rpc_timeout(Some(config.rpc_timeout)),
            faults: fault_client.map(|client| FaultReporter {
                client,
                client_name: String::new(),
                raised: false,
                pending_clear: false,
            }),
            registration,
            config,
            status: sender,
        };
        let task = tokio::spawn(worker.run(cancel.clone(), unregister_on_stop.clone()));
        Self {
            cancel,
            unregister_on_stop,
            task: Some(task),
            status,
            followers: TaskTracker::new(),
            rpc_timeout: config.rpc_timeout,
        }
    }

    /// The current status, and every change to it. The channel closes when the keep-alive has
    /// stopped.
    pub fn status(&self) -> watch::Receiver<RegistrationStatus> {
        self.status.clone()
    }

    /// Mirrors the status into the gRPC health service: `service_name` (e.g. the service's
    /// `GRPC_NAME`, or `""` for the whole server) is SERVING while registered and NOT_SERVING
    /// otherwise (registering, failing, unregistered, stopped). Takes effect at once with the
    /// current status.
    pub fn report_health(&self, reporter: HealthReporter, service_name: impl Into<String>) {
        let service_name = service_name.into();
        let mut status = self.status();
        self.followers.spawn(async move {
            loop {
                let serving = status.borrow_and_update().serving_status();
                reporter
                    .set_service_status(service_name.as_str(), serving)
                    .await;
                if status.changed().await.is_err() {
                    break;
                }
            }
        });
    }

    /// Calls `callback` with the current status, then with every change, until the keep-alive
    /// stops (the last call sees [`RegistrationStatus::Unregistered`] or
    /// [`RegistrationStatus::Stopped`]). Quick changes may be coalesced: the callback sees the
    /// latest status, not necessarily every intermediate one.
    pub fn on_status<F>(&self, mut callback: F)
    where
        F: FnMut(&RegistrationStatus) + Send + 'static,
    {
        let mut status = self.status();
        self.followers.spawn(async move {
            loop {
                callback(&status.borrow_and_update());
                if status.changed().await.is_err() {
                    break;
                }
            }
        });
    }

    /// Stops the background task, then unregisters the service (bounded by the RPC timeout) and
    /// waits (with the same bound) for the health and status followers to see the final status.
    ///
    /// # Errors
    ///
    /// The unregistration's failure (the status then ends as
    /// [`Stopped`](RegistrationStatus::Stopped)). An entry that is already gone (e.g. the robot
    /// rebooted) counts as success.
    pub async fn shutdown(mut self) -> Result<(), DirectoryRegistrationError> {
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        self.unregister_on_stop.store(true, Ordering::SeqCst);
        self.cancel.cancel();
        let result = match task.await {
            Ok(result) => result,
            Err(error) => Err(DirectoryRegistrationError::KeepAliveTask(error.to_string())),
        };
        self.followers.close();
        if tokio::time::timeout(self.rpc_timeout, self.followers.wait())
            .await
            .is_err()
        {
            tracing::debug!("directory keep-alive: status followers did not finish in time");
        }
        result
    }
}

impl Drop for DirectoryKeepAlive {
    fn drop(&mut self) {
        // Stops the loop without unregistering (no-op after `shutdown`).
        self.cancel.cancel();
    }
}

/// The fault client and what the keep-alive knows about its fault.
struct FaultReporter<T> {
    client: FaultServiceClient<T>,
    client_name: String,
    /// The robot confirmed the fault is active.
    raised: bool,
    /// A trigger was attempted and no clear has succeeded since.
    pending_clear: bool,
}

/// The background task's state.
struct Worker<T> {
    client: DirectoryRegistrationClient<T>,
    faults: Option<FaultReporter<T>>,
    registration: ServiceRegistration,
    config: KeepAliveConfig,
    status: watch::Sender<RegistrationStatus>,
}

impl<T> Worker<T>
where
    T: tonic::client::GrpcService<tonic::body::Body> + Send + 'static,
    T::Error: Into<StdError>,
    T::Future: Send,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    async fn run(
        mut self,
        cancel: CancellationToken,
        unregister_on_stop: Arc<AtomicBool>,
    ) -> Result<(), DirectoryRegistrationError> {
        let name = self.registration.name.clone();
        let client_name = self.client.client_name().to_owned();
        if let Some(faults) = &mut self.faults {
            faults.client_name = client_name;
        }
        tracing::info!(
            service = %name,
            endpoint = %format_args!("{}:{}", self.registration.host_ip, self.registration.port),
            interval = ?self.config.interval,
            "directory keep-alive started"
        );
        let mut reset_done = false;
        let mut backoff: Option<Backoff> = None;
        let mut failures: u32 = 0;
        let mut next_attempt = Instant::now();
        loop {
            tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                () = tokio::time::sleep_until(next_attempt) => {}
            }
            let started = Instant::now();
            let outcome = tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                outcome = self.attempt(reset_done) => outcome,
            };
            match outcome {
                Ok(()) => {
                    reset_done = true;
                    backoff = None;
                    if failures > 0 {
                        tracing::info!(
                            service = %name,
                            failed_attempts = failures,
                            "registered in the robot directory after failed attempts"
                        );
                    }
                    failures = 0;
                    self.status.send_if_modified(|status| {
                        if status.is_registered() {
                            tracing::debug!(service = %name, "directory heartbeat sent");
                            false
                        } else {
                            if !matches!(status, RegistrationStatus::Failing { .. }) {
                                tracing::info!(service = %name, "registered in the robot directory");
                            }
                            *status = RegistrationStatus::Registered {
                                since: SystemTime::now(),
                            };
                            true
                        }
                    });
                    tokio::select! {
                        biased;
                        () = cancel.cancelled() => break,
                        () = self.clear_fault() => {},
                    }
                    next_attempt = started + self.config.interval.max(MIN_DELAY);
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    let delay = backoff
                        .get_or_insert_with(|| self.config.backoff())
                        .next_delay();
                    tracing::warn!(
                        service = %name,
                        attempts = failures,
                        retry_in = ?delay,
                        error = %error,
                        "robot directory registration failed"
                    );
                    let message = error.to_string();
                    self.status.send_replace(RegistrationStatus::Failing {
                        error: message.clone(),
                        attempts: failures,
                    });
                    tokio::select! {
                        biased;
                        () = cancel.cancelled() => break,
                        () = self.raise_fault(&message) => {},
                    }
                    next_attempt = started + delay;
                }
            }
        }
        if unregister_on_stop.load(Ordering::SeqCst) {
            self.unregister().await
        } else {
            tracing::info!(
                service = %name,
                "directory keep-alive stopped without unregistering"
            );
            self.status.send_replace(RegistrationStatus::Stopped);
            Ok(())
        }
    }

    /// One registration attempt: the reset until it has succeeded once, then a heartbeat.
    async fn attempt(&mut self, reset_done: bool) -> Result<(), DirectoryRegistrationError> {
        let entry = self.registration.entry();
        let endpoint = self.registration.endpoint();
        if reset_done {
            self.client.register_or_update(entry, endpoint).await
        } else {
            self.client.reset(entry, endpoint).await
        }
    }

    async fn unregister(mut self) -> Result<(), DirectoryRegistrationError> {
        let name = self.registration.name.clone();
        match self.client.unregister(&name).await {
            Ok(()) | Err(DirectoryRegistrationError::DoesNotExist { .. }) => {
                tracing::info!(service = %name, "unregistered from the robot directory");
                // The robot clears a service's faults when it is unregistered; clear ours
                // explicitly too, in case the robot does not.
                self.clear_fault().await;
                self.status.send_replace(RegistrationStatus::Unregistered);
                Ok(())
            }
            Err(error) => {
                tracing::warn!(
                    service = %name,
                    error = %error,
                    "could not unregister from the robot directory"
                );
                self.status.send_replace(RegistrationStatus::Stopped);
                Err(error)
            }
        }
    }

    fn fault_id(&self) -> ServiceFaultId {
        ServiceFaultId {
            fault_name: DIRECTORY_REGISTRATION_FAULT_NAME.to_owned(),
            service_name: self.registration.name.clone(),
            payload_guid: String::new(),
        }
    }

    /// Raises the fault unless the robot already confirmed it. Best-effort.
    async fn raise_fault(&mut self, error: &str) {
        let fault_id = self.fault_id();
        let timeout = self.config.rpc_timeout;
        let name = self.registration.name.clone();
        let Some(faults) = self.faults.as_mut().filter(|f| !f.raised) else {
            return;
        };
        let mut request = TriggerServiceFaultRequest {
            header: None,
            fault: Some(ServiceFault {
                fault_id: Some(fault_id),
                error_message: format!(
                    "service {name:?} could not register in the robot directory: {error}"
                ),
                attributes: Vec::new(),
                severity: DIRECTORY_REGISTRATION_FAULT_SEVERITY as i32,
                onset_timestamp: None,
                duration: None,
            }),
        };
        stamp_request(&mut request, &faults.client_name);
        faults.pending_clear = true;
        let mut request = tonic::Request::new(request);
        request.set_timeout(timeout);
        let result =
            match tokio::time::timeout(timeout, faults.client.trigger_service_fault(request)).await
            {
                Err(_) => Err(format!("timed out after {timeout:?}")),
                Ok(Err(status)) => Err(format!(
                    "gRPC status {:?}: {}",
                    status.code(),
                    status.message()
                )),
                Ok(Ok(response)) => check_response(response.into_inner())
                    .map_err(|e| e.to_string())
                    .and_then(|response| {
                        use trigger_service_fault_response::Status;
                        match Status::try_from(response.status) {
                            Ok(Status::Ok | Status::FaultAlreadyActive) => Ok(()),
                            other => Err(format!(
                                "answered {} ({})",
                                other.map_or("unknown status", |s| s.as_str_name()),
                                response.status
                            )),
                        }
                    }),
            };
        match result {
            Ok(()) => {
                faults.raised = true;
                tracing::info!(service = %name, fault = DIRECTORY_REGISTRATION_FAULT_NAME, "service fault raised");
            }
            Err(error) => tracing::warn!(
                service = %name,
                fault = DIRECTORY_REGISTRATION_FAULT_NAME,
                %error,
                "could not raise service fault"
            ),
        }
    }

    /// Clears the fault if one may be active. Best-effort: retried after the next success.
    async fn clear_fault(&mut self) {
        let fault_id = self.fault_id();
        let timeout = self.config.rpc_timeout;
        let name = self.registration.name.clone();
        let Some(faults) = self.faults.as_mut().filter(|f| f.pending_clear) else {
            return;
        };
        let mut request = ClearServiceFaultRequest {
            header: None,
            fault_id: Some(fault_id),
            clear_all_service_faults: false,
            clear_all_payload_faults: false,
        };
        stamp_request(&mut request, &faults.client_name);
        let mut request = tonic::Request::new(request);
        request.set_timeout(timeout);
        let result =
            match tokio::time::timeout(timeout, faults.client.clear_service_fault(request)).await {
                Err(_) => Err(format!("timed out after {timeout:?}")),
                Ok(Err(status)) => Err(format!(
                    "gRPC status {:?}: {}",
                    status.code(),
                    status.message()
                )),
                Ok(Ok(response)) => check_response(response.into_inner())
                    .map_err(|e| e.to_string())
                    .and_then(|response| {
                        use clear_service_fault_response::Status;
                        match Status::try_from(response.status) {
                            Ok(Status::Ok | Status::FaultNotActive) => Ok(()),
                            other => Err(format!(
                                "answered {} ({})",
                                other.map_or("unknown status", |s| s.as_str_name()),
                                response.status
                            )),
                        }
                    }),
            };
        match result {
            Ok(()) => {
                faults.raised = false;
                faults.pending_clear = false;
                tracing::info!(service = %name, fault = DIRECTORY_REGISTRATION_FAULT_NAME, "service fault cleared");
            }
            Err(error) => tracing::warn!(
                service = %name,
                fault = DIRECTORY_REGISTRATION_FAULT_NAME,
                %error,
                "could not clear service fault"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_keepalive_defaults_match_the_official_sdk() {
        let config = KeepAliveConfig::default();
        assert_eq!(config.interval, Duration::from_secs(30));
        assert_eq!(config.liveness_timeout, Duration::from_secs(75));
        assert_eq!(config.initial_retry, Duration::from_secs(1));
        assert_eq!(config.max_retry, Duration::from_secs(30));
        assert_eq!(config.rpc_timeout, Duration::from_secs(10));
        assert_eq!(KeepAliveConfig::with_interval(DEFAULT_INTERVAL), config);
    }

    #[test]
    fn directory_keepalive_with_interval_derives_the_rest() {
        let config = KeepAliveConfig::with_interval(Duration::from_millis(100));
        assert_eq!(config.liveness_timeout, Duration::from_millis(250));
        assert_eq!(config.max_retry, Duration::from_millis(100));
        assert_eq!(config.initial_retry, Duration::from_millis(100));
        assert_eq!(config.rpc_timeout, Duration::from_millis(100));
        let long = KeepAliveConfig::with_interval(Duration::from_secs(120));
        assert_eq!(long.liveness_timeout, Duration::from_secs(300));
        assert_eq!(long.initial_retry, Duration::from_secs(1));
        assert_eq!(long.rpc_timeout, Duration::from_secs(10));
    }

    #[test]
    fn directory_keepalive_backoff_grows_with_jitter_and_stays_capped() {
        let config = KeepAliveConfig::default();
        let mut backoff = config.backoff();
        let delays: Vec<Duration> = (0..12).map(|_| backoff.next_delay()).collect();
        // Un-jittered: 1, 2, 4, 8, 16, 30, 30...; jitter adds [0, 100 %), then the cap applies.
        let bases = [1u64, 2, 4, 8, 16];
        for (delay, base) in delays.iter().zip(bases) {
            let base = Duration::from_secs(base);
            assert!(*delay >= base && *delay < base * 2, "{delay:?} vs {base:?}");
        }
        for delay in &delays[5..] {
            assert!(*delay >= Duration::from_secs(16) && *delay <= config.max_retry);
        }
        assert!(delays.iter().all(|d| *d <= config.max_retry));
    }

    #[test]
    fn directory_keepalive_backoff_never_spins_on_zero_durations() {
        let config = KeepAliveConfig {
            initial_retry: Duration::ZERO,
            max_retry: Duration::ZERO,
            ..KeepAliveConfig::default()
        };
        let mut backoff = config.backoff();
        assert_eq!(backoff.next_delay(), MIN_DELAY);
    }

    #[test]
    fn directory_keepalive_handle_is_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<DirectoryKeepAlive>();
        check::<RegistrationStatus>();
    }

    #[test]
    fn directory_keepalive_status_maps_to_health() {
        let registered = RegistrationStatus::Registered {
            since: SystemTime::now(),
        };
        assert!(registered.is_registered());
        assert_eq!(registered.serving_status(), ServingStatus::Serving);
        for status in [
            RegistrationStatus::Registering,
            RegistrationStatus::Failing {
                error: "down".into(),
                attempts: 1,
            },
            RegistrationStatus::Unregistered,
            RegistrationStatus::Stopped,
        ] {
            assert!(!status.is_registered());
            assert_eq!(status.serving_status(), ServingStatus::NotServing);
        }
    }
}
