//! Time synchronization with the robot: an estimate of how far the robot's clock is from the
//! local one, so that timestamps sent to the robot can be given in the robot's clock.
//!
//! Like the official SDK's `TimeSyncEndpoint` and `TimeSyncThread`:
//! - each `TimeSyncUpdate` call carries the timestamps of the previous exchange
//!   ([`api::TimeSyncRoundTrip`]: the client's send time, the robot's receive and send times from
//!   the response header, the client's receive time) and the `clock_identifier` the robot handed
//!   out on the first call;
//! - the robot answers its best estimate ([`TimeSyncEstimate`]: round-trip time and clock skew)
//!   and whether it is usable (`STATUS_OK`), still needs samples (`STATUS_MORE_SAMPLES_NEEDED`,
//!   the next update follows at once) or is not ready (`STATUS_SERVICE_NOT_READY`, retried after
//!   5 s);
//! - once synchronized, the estimate is refreshed every 60 s.
//!
//! Robot time = local time + [`ClockSkew`].
//!
//! [`TimeSyncKeeper`] runs that loop in the background and converts times:
//!
//! ```no_run
//! # async fn example(robot: spot_service::robot::Robot) -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::{Duration, SystemTime};
//! use spot_service::time_sync::TimeSyncConfig;
//!
//! let keeper = robot.start_time_sync(TimeSyncConfig::default()).await?;
//! keeper.wait_for_sync(Duration::from_secs(3)).await?;
//! let end_time = keeper.robot_timestamp_from_local(SystemTime::now() + Duration::from_secs(2))?;
//! # let _ = end_time;
//! keeper.shutdown().await;
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prost_types::Timestamp;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::codegen::{Body, Bytes, StdError};

use crate::client::{HeaderError, check_response, default_client_name, stamp_request};
use crate::header::now_timestamp;
use crate::proto::bosdyn::api;
use crate::proto::bosdyn::api::time_sync_service_client::TimeSyncServiceClient;
use crate::proto::bosdyn::api::time_sync_state::Status as ProtoStatus;
use crate::robot::{Robot, RobotError};

/// Directory name of the robot's time-sync service.
pub const TIME_SYNC_SERVICE_NAME: &str = "time-sync";

/// Authority of the robot's time-sync service (a user token is required).
pub const TIME_SYNC_AUTHORITY: &str = "api.spot.robot";

/// Time between updates once synchronized (the official client's 60 s).
pub const DEFAULT_SYNC_INTERVAL: Duration = Duration::from_secs(60);

/// Time between updates while the robot's service is not ready (the official client's 5 s).
pub const DEFAULT_NOT_READY_INTERVAL: Duration = Duration::from_secs(5);

/// Time before retrying after a failed update.
pub const DEFAULT_RETRY_INTERVAL: Duration = Duration::from_secs(5);

/// How long the official client's `wait_for_sync` waits by default (3 s).
pub const DEFAULT_WAIT_FOR_SYNC: Duration = Duration::from_secs(3);

const NANOS_PER_SEC: i128 = 1_000_000_000;

/// Nanoseconds since the Unix epoch of a protobuf timestamp (not necessarily normalized).
fn timestamp_nanos(timestamp: &Timestamp) -> i128 {
    i128::from(timestamp.seconds) * NANOS_PER_SEC + i128::from(timestamp.nanos)
}

/// The normalized timestamp `nanos` after the Unix epoch, saturating at the range of
/// `Timestamp::seconds`.
fn timestamp_from_nanos(nanos: i128) -> Timestamp {
    let seconds = nanos.div_euclid(NANOS_PER_SEC);
    match i64::try_from(seconds) {
        Ok(seconds) => Timestamp {
            seconds,
            // In 0..1e9.
            nanos: nanos.rem_euclid(NANOS_PER_SEC) as i32,
        },
        Err(_) if seconds > 0 => Timestamp {
            seconds: i64::MAX,
            nanos: 999_999_999,
        },
        Err(_) => Timestamp {
            seconds: i64::MIN,
            nanos: 0,
        },
    }
}

/// Nanoseconds since the Unix epoch of a system time (negative before it).
fn system_time_nanos(time: SystemTime) -> i128 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).unwrap_or(i128::MAX),
        Err(before) => i128::try_from(before.duration().as_nanos()).map_or(i128::MIN, |n| -n),
    }
}

/// The system time `nanos` after the Unix epoch, if the platform's clock can represent it.
fn system_time_from_nanos(nanos: i128) -> Option<SystemTime> {
    let magnitude = nanos.unsigned_abs();
    let seconds = u64::try_from(magnitude / NANOS_PER_SEC.unsigned_abs()).ok()?;
    // Below 1e9.
    let subsec = (magnitude % NANOS_PER_SEC.unsigned_abs()) as u32;
    let offset = Duration::new(seconds, subsec);
    if nanos >= 0 {
        UNIX_EPOCH.checked_add(offset)
    } else {
        UNIX_EPOCH.checked_sub(offset)
    }
}

/// A protobuf duration of `nanos`, saturating.
fn proto_duration_from_nanos(nanos: i128) -> prost_types::Duration {
    // Truncating division keeps seconds and nanos of the same sign, as the proto requires.
    match i64::try_from(nanos / NANOS_PER_SEC) {
        Ok(seconds) => prost_types::Duration {
            seconds,
            nanos: (nanos % NANOS_PER_SEC) as i32,
        },
        Err(_) if nanos > 0 => prost_types::Duration {
            seconds: i64::MAX,
            nanos: 999_999_999,
        },
        Err(_) => prost_types::Duration {
            seconds: i64::MIN,
            nanos: -999_999_999,
        },
    }
}

fn proto_duration_nanos(duration: &prost_types::Duration) -> i128 {
    i128::from(duration.seconds) * NANOS_PER_SEC + i128::from(duration.nanos)
}

fn saturating_i64(nanos: i128) -> i64 {
    i64::try_from(nanos).unwrap_or(if nanos > 0 { i64::MAX } else { i64::MIN })
}

/// The robot's clock minus the local clock, to the nanosecond: positive when the robot's clock is
/// ahead. Robot time = local time + skew.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockSkew {
    nanos: i64,
}

impl ClockSkew {
    /// No skew: both clocks agree.
    pub const ZERO: Self = Self { nanos: 0 };

    /// A skew of `nanos` nanoseconds (positive: the robot's clock is ahead).
    pub const fn from_nanos(nanos: i64) -> Self {
        Self { nanos }
    }

    /// The robot's clock is `by` ahead of the local one (saturating at about 292 years).
    pub fn ahead(by: Duration) -> Self {
        Self {
            nanos: i64::try_from(by.as_nanos()).unwrap_or(i64::MAX),
        }
    }

    /// The robot's clock is `by` behind the local one (saturating at about 292 years).
    pub fn behind(by: Duration) -> Self {
        Self {
            nanos: -Self::ahead(by).nanos,
        }
    }

    /// The skew from a protobuf duration (`TimeSyncEstimate.clock_skew`), saturating.
    pub fn from_proto(duration: &prost_types::Duration) -> Self {
        Self {
            nanos: saturating_i64(proto_duration_nanos(duration)),
        }
    }

    /// The skew as a protobuf duration.
    pub fn to_proto(self) -> prost_types::Duration {
        proto_duration_from_nanos(i128::from(self.nanos))
    }

    /// The skew in nanoseconds.
    pub const fn as_nanos(self) -> i64 {
        self.nanos
    }

    /// The skew in seconds.
    pub fn as_secs_f64(self) -> f64 {
        self.nanos as f64 / 1e9
    }

    /// The size of the skew, whichever clock is ahead.
    pub fn magnitude(self) -> Duration {
        Duration::from_nanos(self.nanos.unsigned_abs())
    }

    /// How far apart two skews are.
    pub fn abs_diff(self, other: Self) -> Duration {
        Duration::from_nanos(self.nanos.abs_diff(other.nanos))
    }

    /// A local timestamp in the robot's clock.
    pub fn local_to_robot(self, local: &Timestamp) -> Timestamp {
        timestamp_from_nanos(timestamp_nanos(local) + i128::from(self.nanos))
    }

    /// A robot timestamp in the local clock.
    pub fn robot_to_local(self, robot: &Timestamp) -> Timestamp {
        timestamp_from_nanos(timestamp_nanos(robot) - i128::from(self.nanos))
    }

    /// The robot timestamp of the local time `local`.
    pub fn robot_timestamp_from_local(self, local: SystemTime) -> Timestamp {
        timestamp_from_nanos(system_time_nanos(local) + i128::from(self.nanos))
    }

    /// The local time of the robot timestamp `robot`, or `None` if the local clock cannot
    /// represent it.
    pub fn local_time_from_robot(self, robot: &Timestamp) -> Option<SystemTime> {
        system_time_from_nanos(timestamp_nanos(robot) - i128::from(self.nanos))
    }
}

impl std::ops::Neg for ClockSkew {
    type Output = Self;

    fn neg(self) -> Self {
        Self {
            nanos: self.nanos.saturating_neg(),
        }
    }
}

impl fmt::Display for ClockSkew {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.nanos < 0 { '-' } else { '+' };
        let magnitude = self.magnitude();
        write!(
            f,
            "{sign}{}.{:06} s",
            magnitude.as_secs(),
            magnitude.subsec_micros()
        )
    }
}

/// An estimate of the offset between the local and robot clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeSyncEstimate {
    /// Network round-trip time, without the time spent on the robot. The skew is off by at most
    /// half of it.
    pub round_trip_time: Duration,
    /// The robot's clock minus the local clock.
    pub clock_skew: ClockSkew,
}

impl TimeSyncEstimate {
    /// The estimate from one exchange, NTP style: `client_tx` (t0, local clock) the request was
    /// sent, `server_rx` (t1, robot clock) it arrived, `server_tx` (t2, robot clock) the response
    /// was sent, `client_rx` (t3, local clock) it arrived.
    ///
    /// round trip = (t3 − t0) − (t2 − t1) (zero if the timestamps make it negative);
    /// skew = ((t1 − t0) + (t2 − t3)) / 2, rounded toward zero to the nanosecond.
    pub fn from_timestamps(
        client_tx: &Timestamp,
        server_rx: &Timestamp,
        server_tx: &Timestamp,
        client_rx: &Timestamp,
    ) -> Self {
        let t0 = timestamp_nanos(client_tx);
        let t1 = timestamp_nanos(server_rx);
        let t2 = timestamp_nanos(server_tx);
        let t3 = timestamp_nanos(client_rx);
        let round_trip = (t3 - t0) - (t2 - t1);
        let skew = ((t1 - t0) + (t2 - t3)) / 2;
        Self {
            round_trip_time: Duration::from_nanos(
                u64::try_from(round_trip.max(0)).unwrap_or(u64::MAX),
            ),
            clock_skew: ClockSkew::from_nanos(saturating_i64(skew)),
        }
    }

    /// The estimate from a round trip, or `None` if one of its four timestamps is missing.
    pub fn from_round_trip(round_trip: &api::TimeSyncRoundTrip) -> Option<Self> {
        Some(Self::from_timestamps(
            round_trip.client_tx.as_ref()?,
            round_trip.server_rx.as_ref()?,
            round_trip.server_tx.as_ref()?,
            round_trip.client_rx.as_ref()?,
        ))
    }

    /// The estimate from its protobuf form, or `None` without a `clock_skew`. A missing or
    /// negative `round_trip_time` reads as zero.
    pub fn from_proto(estimate: &api::TimeSyncEstimate) -> Option<Self> {
        let clock_skew = ClockSkew::from_proto(estimate.clock_skew.as_ref()?);
        let round_trip_nanos = estimate
            .round_trip_time
            .as_ref()
            .map_or(0, proto_duration_nanos);
        Some(Self {
            round_trip_time: Duration::from_nanos(
                u64::try_from(round_trip_nanos.max(0)).unwrap_or(u64::MAX),
            ),
            clock_skew,
        })
    }

    /// The estimate in its protobuf form.
    pub fn to_proto(&self) -> api::TimeSyncEstimate {
        api::TimeSyncEstimate {
            round_trip_time: Some(proto_duration_from_nanos(
                i128::try_from(self.round_trip_time.as_nanos()).unwrap_or(i128::MAX),
            )),
            clock_skew: Some(self.clock_skew.to_proto()),
        }
    }
}

/// Where the synchronization with the robot stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeSyncStatus {
    /// No answer from the robot yet.
    Starting,
    /// The robot's time-sync service is not ready (`STATUS_SERVICE_NOT_READY`).
    ServiceNotReady,
    /// The robot needs more round trips before it has an estimate
    /// (`STATUS_MORE_SAMPLES_NEEDED`).
    MoreSamplesNeeded,
    /// Synchronized (`STATUS_OK`), with the robot's best estimate.
    Synced(TimeSyncEstimate),
    /// The keeper has stopped.
    Stopped,
}

impl TimeSyncStatus {
    /// The estimate, when synchronized.
    pub fn estimate(&self) -> Option<&TimeSyncEstimate> {
        match self {
            Self::Synced(estimate) => Some(estimate),
            _ => None,
        }
    }

    /// Whether the estimate is usable.
    pub fn is_synced(&self) -> bool {
        matches!(self, Self::Synced(_))
    }
}

impl fmt::Display for TimeSyncStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Starting => f.write_str("starting"),
            Self::ServiceNotReady => f.write_str("waiting for the robot's time-sync service"),
            Self::MoreSamplesNeeded => f.write_str("collecting samples"),
            Self::Synced(estimate) => write!(
                f,
                "synchronized (skew {}, round trip {:?})",
                estimate.clock_skew, estimate.round_trip_time
            ),
            Self::Stopped => f.write_str("stopped"),
        }
    }
}

/// A failed time-sync update.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TimeSyncError {
    /// The call itself failed (robot unreachable, proxy error, timeout...).
    #[error("TimeSyncUpdate failed: {0}")]
    Rpc(Box<tonic::Status>),
    /// The response header reported an error.
    #[error("TimeSyncUpdate: {0}")]
    Header(HeaderError),
    /// The response lacks something a time-sync answer must have.
    #[error("TimeSyncUpdate response is malformed: {0}")]
    MalformedResponse(&'static str),
    /// The robot answered a status this version does not know (or `STATUS_UNKNOWN`).
    #[error("TimeSyncUpdate answered unknown status {0}")]
    UnknownStatus(i32),
}

/// A conversion needed the estimate, and there is none.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not time-synchronized with the robot (time sync is {status})")]
#[non_exhaustive]
pub struct NotSynced {
    /// Where the synchronization stood.
    pub status: TimeSyncStatus,
}

/// Failure to convert a robot timestamp into local time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConversionError {
    /// There is no estimate yet.
    #[error(transparent)]
    NotSynced(#[from] NotSynced),
    /// The local clock cannot represent the time.
    #[error("robot timestamp {0} is outside the range of the local clock")]
    OutOfRange(Timestamp),
}

/// [`TimeSyncKeeper::wait_for_sync`] did not get an estimate.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum WaitForSyncError {
    /// Still not synchronized when the time was up.
    #[error(
        "not time-synchronized with the robot after {waited:?} (time sync is {status}{})",
        describe_last_error(.last_error)
    )]
    TimedOut {
        /// How long it waited.
        waited: Duration,
        /// Where the synchronization stood.
        status: TimeSyncStatus,
        /// The last failed update, if the last update failed.
        last_error: Option<TimeSyncError>,
    },
    /// The keeper stopped before synchronizing.
    #[error("the time-sync keeper stopped{}", describe_last_error(.last_error))]
    Stopped {
        /// The last failed update, if the last update failed.
        last_error: Option<TimeSyncError>,
    },
}

fn describe_last_error(error: &Option<TimeSyncError>) -> String {
    error
        .as_ref()
        .map(|e| format!("; last update: {e}"))
        .unwrap_or_default()
}

/// One answered `TimeSyncUpdate`: the response and the round trip to send with the next update.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TimeSyncUpdate {
    /// The robot's response (header `CODE_OK`).
    pub response: api::TimeSyncUpdateResponse,
    /// This exchange's timestamps, completed with the local receive time: the
    /// `previous_round_trip` of the next update.
    pub round_trip: api::TimeSyncRoundTrip,
}

impl TimeSyncUpdate {
    /// The identifier the robot gave this client's clock (empty if the service is not ready).
    pub fn clock_identifier(&self) -> &str {
        &self.response.clock_identifier
    }

    /// The robot's synchronization state: [`TimeSyncStatus::Synced`] with its best estimate for
    /// `STATUS_OK`.
    pub fn status(&self) -> Result<TimeSyncStatus, TimeSyncError> {
        let state = self
            .response
            .state
            .as_ref()
            .ok_or(TimeSyncError::MalformedResponse("no state"))?;
        match ProtoStatus::try_from(state.status) {
            Ok(ProtoStatus::Ok) => state
                .best_estimate
                .as_ref()
                .and_then(TimeSyncEstimate::from_proto)
                .map(TimeSyncStatus::Synced)
                .ok_or(TimeSyncError::MalformedResponse(
                    "STATUS_OK without a best_estimate clock_skew",
                )),
            Ok(ProtoStatus::MoreSamplesNeeded) => Ok(TimeSyncStatus::MoreSamplesNeeded),
            Ok(ProtoStatus::ServiceNotReady) => Ok(TimeSyncStatus::ServiceNotReady),
            Ok(ProtoStatus::Unknown) | Err(_) => Err(TimeSyncError::UnknownStatus(state.status)),
        }
    }

    /// The estimate from this exchange alone, computed locally.
    pub fn round_trip_estimate(&self) -> Option<TimeSyncEstimate> {
        TimeSyncEstimate::from_round_trip(&self.round_trip)
    }
}

/// Client of `bosdyn.api.TimeSyncService`, over any tonic transport (an authenticated robot
/// channel for `api.spot.robot`, or a plain channel in tests).
#[derive(Debug, Clone)]
pub struct TimeSyncClient<T> {
    inner: TimeSyncServiceClient<T>,
    client_name: String,
    call_timeout: Option<Duration>,
}

impl<T> TimeSyncClient<T>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    /// A client over `transport`, with spot-service's message size limits.
    pub fn new(transport: T) -> Self {
        Self {
            inner: TimeSyncServiceClient::new(transport)
                .max_decoding_message_size(crate::MAX_MESSAGE_SIZE)
                .max_encoding_message_size(crate::MAX_MESSAGE_SIZE),
            client_name: default_client_name(),
            call_timeout: None,
        }
    }

    /// Sets the `client_name` sent in request headers.
    pub fn with_client_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = name.into();
        self
    }

    /// Gives each call this deadline (sent as `grpc-timeout`); by default the transport's.
    pub fn with_call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = Some(timeout);
        self
    }

    /// One `TimeSyncUpdate`: sends `previous_round_trip` (the [`TimeSyncUpdate::round_trip`] of
    /// the previous update; `None` on the first call) and `clock_identifier` (empty on the first
    /// call), and returns the response with this exchange's round trip.
    ///
    /// The response header must carry the three timestamps a round trip needs (the robot's
    /// header handling, and spot-service's, always fill them).
    pub async fn time_sync_update(
        &mut self,
        previous_round_trip: Option<api::TimeSyncRoundTrip>,
        clock_identifier: &str,
    ) -> Result<TimeSyncUpdate, TimeSyncError> {
        let mut message = api::TimeSyncUpdateRequest {
            header: None,
            previous_round_trip,
            clock_identifier: clock_identifier.to_owned(),
        };
        stamp_request(&mut message, &self.client_name);
        let sent = message.header.as_ref().and_then(|h| h.request_timestamp);
        let mut request = tonic::Request::new(message);
        if let Some(timeout) = self.call_timeout {
            request.set_timeout(timeout);
        }
        let result = self.inner.time_sync_update(request).await;
        let received = now_timestamp();
        let response = result
            .map_err(|status| TimeSyncError::Rpc(Box::new(status)))?
            .into_inner();
        let response = check_response(response).map_err(TimeSyncError::Header)?;
        let header = response
            .header
            .as_ref()
            .ok_or(TimeSyncError::MalformedResponse("no header"))?;
        let client_tx = header
            .request_header
            .as_ref()
            .and_then(|h| h.request_timestamp)
            .or(sent);
        let server_rx =
            header
                .request_received_timestamp
                .ok_or(TimeSyncError::MalformedResponse(
                    "no request_received_timestamp in the response header",
                ))?;
        let server_tx = header
            .response_timestamp
            .ok_or(TimeSyncError::MalformedResponse(
                "no response_timestamp in the response header",
            ))?;
        let round_trip = api::TimeSyncRoundTrip {
            client_tx,
            server_rx: Some(server_rx),
            server_tx: Some(server_tx),
            client_rx: Some(received),
        };
        Ok(TimeSyncUpdate {
            response,
            round_trip,
        })
    }
}

/// How often a [`TimeSyncKeeper`] updates its estimate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TimeSyncConfig {
    /// Between updates once synchronized (default 60 s).
    pub interval: Duration,
    /// Between updates while the robot needs more samples (default zero: at once, like the
    /// official client).
    pub sample_interval: Duration,
    /// Between updates while the robot's service is not ready (default 5 s).
    pub not_ready_interval: Duration,
    /// Before retrying a failed update (default 5 s).
    pub retry_interval: Duration,
}

impl Default for TimeSyncConfig {
    fn default() -> Self {
        Self {
            interval: DEFAULT_SYNC_INTERVAL,
            sample_interval: Duration::ZERO,
            not_ready_interval: DEFAULT_NOT_READY_INTERVAL,
            retry_interval: DEFAULT_RETRY_INTERVAL,
        }
    }
}

impl TimeSyncConfig {
    /// Sets [`TimeSyncConfig::interval`].
    #[must_use]
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Sets [`TimeSyncConfig::sample_interval`].
    #[must_use]
    pub fn sample_interval(mut self, interval: Duration) -> Self {
        self.sample_interval = interval;
        self
    }

    /// Sets [`TimeSyncConfig::not_ready_interval`].
    #[must_use]
    pub fn not_ready_interval(mut self, interval: Duration) -> Self {
        self.not_ready_interval = interval;
        self
    }

    /// Sets [`TimeSyncConfig::retry_interval`].
    #[must_use]
    pub fn retry_interval(mut self, interval: Duration) -> Self {
        self.retry_interval = interval;
        self
    }
}

/// What the keeper knows besides its status.
#[derive(Debug, Default)]
struct Details {
    clock_identifier: String,
    last_error: Option<TimeSyncError>,
}

/// The keeper task's side: publishes the status, and `Stopped` when the task ends however it
/// ends (cancelled, panicked, or dropped with its runtime).
struct Publisher {
    status: watch::Sender<TimeSyncStatus>,
    details: Arc<Mutex<Details>>,
}

impl Publisher {
    fn details(&self) -> std::sync::MutexGuard<'_, Details> {
        self.details.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.status.send_replace(TimeSyncStatus::Stopped);
    }
}

/// Keeps time sync with the robot in the background (the official `TimeSyncThread`): updates
/// the estimate every [`TimeSyncConfig::interval`] once synchronized, at once while the robot
/// needs more samples, every [`TimeSyncConfig::not_ready_interval`] while its service is not
/// ready, and retries failed updates (keeping the last estimate) after
/// [`TimeSyncConfig::retry_interval`].
///
/// Stopped by [`TimeSyncKeeper::shutdown`] or by dropping it; its status is then
/// [`TimeSyncStatus::Stopped`].
#[derive(Debug)]
pub struct TimeSyncKeeper {
    status: watch::Receiver<TimeSyncStatus>,
    details: Arc<Mutex<Details>>,
    cancel: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl TimeSyncKeeper {
    /// Starts keeping time sync through `client`.
    pub fn spawn<T>(client: TimeSyncClient<T>, config: TimeSyncConfig) -> Self
    where
        T: tonic::client::GrpcService<tonic::body::Body> + Send + 'static,
        T::Future: Send,
        T::Error: Into<StdError>,
        T::ResponseBody: Body<Data = Bytes> + Send + 'static,
        <T::ResponseBody as Body>::Error: Into<StdError> + Send,
    {
        let (sender, status) = watch::channel(TimeSyncStatus::Starting);
        let details = Arc::new(Mutex::new(Details::default()));
        let publisher = Publisher {
            status: sender,
            details: details.clone(),
        };
        let cancel = CancellationToken::new();
        let task = tokio::spawn(run(client, config, publisher, cancel.clone()));
        Self {
            status,
            details,
            cancel,
            task: Some(task),
        }
    }

    fn details(&self) -> std::sync::MutexGuard<'_, Details> {
        self.details.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Where the synchronization stands.
    pub fn status(&self) -> TimeSyncStatus {
        self.status.borrow().clone()
    }

    /// A receiver of every status change (it can be kept after the keeper is dropped, and then
    /// reads [`TimeSyncStatus::Stopped`]).
    pub fn subscribe(&self) -> watch::Receiver<TimeSyncStatus> {
        self.status.clone()
    }

    /// Whether the estimate is usable.
    pub fn is_synced(&self) -> bool {
        self.status.borrow().is_synced()
    }

    /// The identifier the robot gave this client's clock, once it has answered.
    pub fn clock_identifier(&self) -> Option<String> {
        let details = self.details();
        (!details.clock_identifier.is_empty()).then(|| details.clock_identifier.clone())
    }

    /// The error of the last update, if it failed.
    pub fn last_error(&self) -> Option<TimeSyncError> {
        self.details().last_error.clone()
    }

    /// Waits until synchronized, for at most `timeout` (the official client waits 3 s,
    /// [`DEFAULT_WAIT_FOR_SYNC`]), and returns the estimate.
    pub async fn wait_for_sync(
        &self,
        timeout: Duration,
    ) -> Result<TimeSyncEstimate, WaitForSyncError> {
        let mut status = self.status.clone();
        let waited = tokio::time::timeout(
            timeout,
            status.wait_for(|s| s.is_synced() || matches!(s, TimeSyncStatus::Stopped)),
        )
        .await;
        match waited {
            Ok(Ok(status)) => {
                if let TimeSyncStatus::Synced(estimate) = &*status {
                    return Ok(*estimate);
                }
            }
            Ok(Err(_)) => {}
            Err(_) => {
                return Err(WaitForSyncError::TimedOut {
                    waited: timeout,
                    status: self.status(),
                    last_error: self.last_error(),
                });
            }
        }
        Err(WaitForSyncError::Stopped {
            last_error: self.last_error(),
        })
    }

    /// The robot's current best estimate.
    pub fn estimate(&self) -> Result<TimeSyncEstimate, NotSynced> {
        let status = self.status.borrow();
        status.estimate().copied().ok_or_else(|| NotSynced {
            status: status.clone(),
        })
    }

    /// The robot's clock minus the local clock.
    pub fn clock_skew(&self) -> Result<ClockSkew, NotSynced> {
        self.estimate().map(|e| e.clock_skew)
    }

    /// The robot timestamp of the local time `local` (e.g. a deadline for a command).
    pub fn robot_timestamp_from_local(&self, local: SystemTime) -> Result<Timestamp, NotSynced> {
        Ok(self.clock_skew()?.robot_timestamp_from_local(local))
    }

    /// The robot's clock now.
    pub fn robot_now(&self) -> Result<Timestamp, NotSynced> {
        self.robot_timestamp_from_local(SystemTime::now())
    }

    /// The local time of the robot timestamp `robot` (e.g. the acquisition time of data the
    /// robot sent).
    pub fn local_time_from_robot(&self, robot: &Timestamp) -> Result<SystemTime, ConversionError> {
        self.clock_skew()?
            .local_time_from_robot(robot)
            .ok_or(ConversionError::OutOfRange(*robot))
    }

    /// Asks the task to stop, without waiting (see [`TimeSyncKeeper::shutdown`]).
    pub fn stop(&self) {
        self.cancel.cancel();
    }

    /// Stops updating and waits for the task to end.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TimeSyncKeeper {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// The keeper's loop (see [`TimeSyncKeeper`]).
async fn run<T>(
    mut client: TimeSyncClient<T>,
    config: TimeSyncConfig,
    publisher: Publisher,
    cancel: CancellationToken,
) where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    let mut clock_identifier = String::new();
    let mut previous_round_trip: Option<api::TimeSyncRoundTrip> = None;
    let mut failing = false;
    loop {
        // Like the official client, a round trip goes only with a clock identifier (the robot
        // rejects one without).
        let round_trip = if clock_identifier.is_empty() {
            None
        } else {
            previous_round_trip
        };
        let result = tokio::select! {
            () = cancel.cancelled() => return,
            result = client.time_sync_update(round_trip, &clock_identifier) => result,
        };
        let outcome = result.and_then(|update| {
            clock_identifier.clone_from(&update.response.clock_identifier);
            previous_round_trip = Some(update.round_trip);
            update.status()
        });
        let delay = match outcome {
            Ok(status) => {
                let was_synced = publisher.status.borrow().is_synced();
                match &status {
                    TimeSyncStatus::Synced(estimate) if !was_synced => tracing::info!(
                        clock_skew = %estimate.clock_skew,
                        round_trip_time = ?estimate.round_trip_time,
                        "time sync with the robot established"
                    ),
                    TimeSyncStatus::Synced(estimate) => tracing::debug!(
                        clock_skew = %estimate.clock_skew,
                        round_trip_time = ?estimate.round_trip_time,
                        "time sync updated"
                    ),
                    other if was_synced => {
                        tracing::warn!(status = %other, "time sync with the robot lost")
                    }
                    other => tracing::debug!(status = %other, "time sync update"),
                }
                if failing {
                    tracing::info!("time sync updates succeed again");
                    failing = false;
                }
                let delay = match &status {
                    TimeSyncStatus::Synced(_) => config.interval,
                    TimeSyncStatus::ServiceNotReady => config.not_ready_interval,
                    _ => config.sample_interval,
                };
                {
                    let mut details = publisher.details();
                    details.clock_identifier.clone_from(&clock_identifier);
                    details.last_error = None;
                }
                publisher.status.send_if_modified(|current| {
                    let changed = *current != status;
                    *current = status;
                    changed
                });
                delay
            }
            Err(error) => {
                if let TimeSyncError::Header(_) = error {
                    // The robot rejected the request (an unknown clock, say): start afresh.
                    clock_identifier.clear();
                    previous_round_trip = None;
                }
                if failing {
                    tracing::debug!(%error, retry_in = ?config.retry_interval, "time sync update failed");
                } else {
                    tracing::warn!(%error, retry_in = ?config.retry_interval, "time sync update failed");
                    failing = true;
                }
                publisher.details().last_error = Some(error);
                config.retry_interval
            }
        };
        if delay.is_zero() {
            tokio::task::yield_now().await;
            if cancel.is_cancelled() {
                return;
            }
        } else {
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
        }
    }
}

impl Robot {
    /// Starts keeping time sync with the robot (`time-sync` at `api.spot.robot`, with this
    /// robot's token; authenticate first). The official `Robot.start_time_sync`.
    pub async fn start_time_sync(
        &self,
        config: TimeSyncConfig,
    ) -> Result<TimeSyncKeeper, RobotError> {
        let channel = self.intercepted(TIME_SYNC_AUTHORITY).await?;
        let client = TimeSyncClient::new(channel).with_client_name(self.client_name());
        Ok(TimeSyncKeeper::spawn(client, config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(seconds: i64, nanos: i32) -> Timestamp {
        Timestamp { seconds, nanos }
    }

    #[test]
    fn estimate_from_one_round_trip() {
        // Sent at 100.000 (local), received at 102.510 and answered at 102.530 (robot), back at
        // 100.050 (local): 50 ms in flight, 20 ms of which on the robot.
        let estimate = TimeSyncEstimate::from_timestamps(
            &ts(100, 0),
            &ts(102, 510_000_000),
            &ts(102, 530_000_000),
            &ts(100, 50_000_000),
        );
        assert_eq!(estimate.round_trip_time, Duration::from_millis(30));
        // ((2.510) + (2.480)) / 2
        assert_eq!(estimate.clock_skew, ClockSkew::from_nanos(2_495_000_000));
        assert_eq!(estimate.clock_skew.to_string(), "+2.495000 s");
    }

    #[test]
    fn estimate_with_robot_behind() {
        // Robot 10 s behind, symmetric 4 ms each way, 2 ms on the robot.
        let estimate = TimeSyncEstimate::from_timestamps(
            &ts(1_000, 0),
            &ts(990, 4_000_000),
            &ts(990, 6_000_000),
            &ts(1_000, 10_000_000),
        );
        assert_eq!(estimate.round_trip_time, Duration::from_millis(8));
        assert_eq!(
            estimate.clock_skew,
            ClockSkew::behind(Duration::from_secs(10))
        );
        assert_eq!(estimate.clock_skew.to_string(), "-10.000000 s");
        // An odd number of nanoseconds is rounded toward zero.
        let odd = TimeSyncEstimate::from_timestamps(&ts(0, 0), &ts(0, 1), &ts(0, 2), &ts(0, 2));
        assert_eq!(odd.clock_skew, ClockSkew::ZERO);
        assert_eq!(odd.round_trip_time, Duration::from_nanos(1));
    }

    #[test]
    fn impossible_round_trip_reads_as_zero() {
        // More time on the robot than in flight (clocks stepped): the round trip is clamped.
        let estimate =
            TimeSyncEstimate::from_timestamps(&ts(10, 0), &ts(20, 0), &ts(25, 0), &ts(11, 0));
        assert_eq!(estimate.round_trip_time, Duration::ZERO);
        assert_eq!(
            estimate.clock_skew,
            ClockSkew::ahead(Duration::from_secs(12))
        );
    }

    #[test]
    fn round_trip_needs_all_four_timestamps() {
        let mut round_trip = api::TimeSyncRoundTrip {
            client_tx: Some(ts(1, 0)),
            server_rx: Some(ts(3, 0)),
            server_tx: Some(ts(3, 500_000_000)),
            client_rx: Some(ts(2, 0)),
        };
        let estimate = TimeSyncEstimate::from_round_trip(&round_trip).expect("complete");
        assert_eq!(estimate.round_trip_time, Duration::from_millis(500));
        assert_eq!(estimate.clock_skew, ClockSkew::from_nanos(1_750_000_000));
        round_trip.server_tx = None;
        assert_eq!(TimeSyncEstimate::from_round_trip(&round_trip), None);
    }

    #[test]
    fn proto_round_trips() {
        for nanos in [
            0,
            1,
            -1,
            2_500_000_000,
            -2_500_000_000,
            -999_999_999,
            i64::MAX,
            i64::MIN + 1,
        ] {
            let skew = ClockSkew::from_nanos(nanos);
            let proto = skew.to_proto();
            assert!(
                (proto.seconds >= 0 && proto.nanos >= 0)
                    || (proto.seconds <= 0 && proto.nanos <= 0),
                "{proto:?} mixes signs"
            );
            assert_eq!(ClockSkew::from_proto(&proto), skew);
        }
        assert_eq!(
            ClockSkew::from_nanos(-2_500_000_000).to_proto(),
            prost_types::Duration {
                seconds: -2,
                nanos: -500_000_000
            }
        );
        let estimate = TimeSyncEstimate {
            round_trip_time: Duration::from_micros(1_234),
            clock_skew: ClockSkew::from_nanos(-42),
        };
        assert_eq!(
            TimeSyncEstimate::from_proto(&estimate.to_proto()),
            Some(estimate)
        );
        assert_eq!(
            TimeSyncEstimate::from_proto(&api::TimeSyncEstimate {
                round_trip_time: None,
                clock_skew: None
            }),
            None
        );
    }

    #[test]
    fn conversions_between_clocks() {
        let skew = ClockSkew::from_nanos(2_500_000_001);
        let local = UNIX_EPOCH + Duration::new(1_700_000_000, 999_999_999);
        let robot = skew.robot_timestamp_from_local(local);
        assert_eq!(robot, ts(1_700_000_003, 500_000_000));
        assert_eq!(skew.local_time_from_robot(&robot), Some(local));
        assert_eq!(skew.robot_to_local(&robot), Timestamp::from(local));
        assert_eq!(skew.local_to_robot(&Timestamp::from(local)), robot);

        // Negative skews and times before the epoch.
        let behind = -skew;
        let early = UNIX_EPOCH - Duration::new(1, 250_000_000);
        let robot = behind.robot_timestamp_from_local(early);
        assert_eq!(robot, ts(-4, 249_999_999));
        assert_eq!(behind.local_time_from_robot(&robot), Some(early));

        // Non-normalized timestamps are read by value.
        assert_eq!(
            ClockSkew::ZERO.local_time_from_robot(&ts(2, -500_000_000)),
            Some(UNIX_EPOCH + Duration::from_millis(1_500))
        );
        // Saturation instead of overflow.
        assert_eq!(
            ClockSkew::from_nanos(i64::MAX).local_to_robot(&ts(i64::MAX, 0)),
            ts(i64::MAX, 999_999_999)
        );
    }

    #[test]
    fn skew_helpers() {
        let ahead = ClockSkew::ahead(Duration::from_millis(2_500));
        assert_eq!(ahead.as_nanos(), 2_500_000_000);
        assert!((ahead.as_secs_f64() - 2.5).abs() < 1e-12);
        assert_eq!(ahead.magnitude(), Duration::from_millis(2_500));
        assert_eq!(
            ahead.abs_diff(ClockSkew::behind(Duration::from_millis(500))),
            Duration::from_secs(3)
        );
        assert_eq!(ClockSkew::ahead(Duration::MAX).as_nanos(), i64::MAX);
        assert_eq!(
            ClockSkew::behind(Duration::from_nanos(1)).to_string(),
            "-0.000000 s"
        );
    }

    fn update_with(state: Option<api::TimeSyncState>) -> TimeSyncUpdate {
        TimeSyncUpdate {
            response: api::TimeSyncUpdateResponse {
                state,
                clock_identifier: "clock".into(),
                ..Default::default()
            },
            round_trip: api::TimeSyncRoundTrip::default(),
        }
    }

    #[test]
    fn statuses_from_responses() {
        let state = |status: ProtoStatus, best_estimate| {
            Some(api::TimeSyncState {
                best_estimate,
                status: status as i32,
                measurement_time: None,
            })
        };
        let estimate = TimeSyncEstimate {
            round_trip_time: Duration::from_millis(1),
            clock_skew: ClockSkew::from_nanos(5),
        };
        assert_eq!(
            update_with(state(ProtoStatus::Ok, Some(estimate.to_proto())))
                .status()
                .expect("ok"),
            TimeSyncStatus::Synced(estimate)
        );
        assert_eq!(
            update_with(state(ProtoStatus::MoreSamplesNeeded, None))
                .status()
                .expect("more samples"),
            TimeSyncStatus::MoreSamplesNeeded
        );
        assert_eq!(
            update_with(state(ProtoStatus::ServiceNotReady, None))
                .status()
                .expect("not ready"),
            TimeSyncStatus::ServiceNotReady
        );
        assert!(matches!(
            update_with(state(ProtoStatus::Ok, None)).status(),
            Err(TimeSyncError::MalformedResponse(_))
        ));
        assert!(matches!(
            update_with(state(ProtoStatus::Unknown, None)).status(),
            Err(TimeSyncError::UnknownStatus(0))
        ));
        assert!(matches!(
            update_with(None).status(),
            Err(TimeSyncError::MalformedResponse(_))
        ));
        let mut unknown = update_with(state(ProtoStatus::Ok, None));
        unknown.response.state.as_mut().expect("state").status = 42;
        assert!(matches!(
            unknown.status(),
            Err(TimeSyncError::UnknownStatus(42))
        ));
    }

    #[test]
    fn error_messages() {
        let not_synced = NotSynced {
            status: TimeSyncStatus::MoreSamplesNeeded,
        };
        assert_eq!(
            not_synced.to_string(),
            "not time-synchronized with the robot (time sync is collecting samples)"
        );
        let timed_out = WaitForSyncError::TimedOut {
            waited: Duration::from_secs(3),
            status: TimeSyncStatus::Starting,
            last_error: Some(TimeSyncError::UnknownStatus(7)),
        };
        assert_eq!(
            timed_out.to_string(),
            "not time-synchronized with the robot after 3s (time sync is starting; last update: \
             TimeSyncUpdate answered unknown status 7)"
        );
        assert_eq!(
            WaitForSyncError::Stopped { last_error: None }.to_string(),
            "the time-sync keeper stopped"
        );
    }
}
