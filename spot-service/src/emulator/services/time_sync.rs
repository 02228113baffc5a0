//! `bosdyn.api.TimeSyncService`: the robot's side of time synchronization, with an artificial
//! robot clock.
//!
//! The emulated robot's clock is the system clock plus a configurable offset
//! ([`EmulatedTimeSync::with_clock_offset`]), so a client's estimate can be checked against a
//! known skew. Like the robot, the service:
//! - hands a new `clock_identifier` to every client that sends none (and to one whose identifier
//!   it does not know, e.g. after a restart);
//! - estimates each client's skew from the `previous_round_trip` the client sends, keeping the
//!   estimate with the smallest round-trip time among the recent ones;
//! - answers `STATUS_MORE_SAMPLES_NEEDED` until it has [`EmulatedTimeSync::with_samples_needed`]
//!   round trips from that clock, then `STATUS_OK` with its best estimate;
//! - answers `STATUS_SERVICE_NOT_READY` (and no clock identifier) while
//!   [`EmulatedTimeSync::set_ready`] is off;
//! - rejects a round trip sent without a clock identifier, or with a timestamp missing, with
//!   `CODE_INVALID_REQUEST`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime};

use crate::proto::bosdyn::api::time_sync_service_server::{TimeSyncService, TimeSyncServiceServer};
use crate::proto::bosdyn::api::time_sync_state::Status;
use crate::proto::bosdyn::api::{
    TimeSyncRoundTrip, TimeSyncState, TimeSyncUpdateRequest, TimeSyncUpdateResponse,
};
use crate::time_sync::{ClockSkew, TimeSyncEstimate};
use crate::{RpcError, ServiceMetadata, SpotService};

/// Round trips a clock needs before the service answers `STATUS_OK`, by default.
pub const DEFAULT_SAMPLES_NEEDED: usize = 3;

/// Recent estimates kept per clock; the best of them is answered.
const SAMPLE_WINDOW: usize = 16;

/// Clocks tracked at once; the least recently used is forgotten beyond this.
const MAX_CLOCKS: usize = 1024;

/// One client clock.
#[derive(Debug)]
struct ClockState {
    samples: VecDeque<TimeSyncEstimate>,
    accepted: usize,
    last_used: Instant,
}

impl ClockState {
    fn new() -> Self {
        Self {
            samples: VecDeque::with_capacity(SAMPLE_WINDOW),
            accepted: 0,
            last_used: Instant::now(),
        }
    }

    fn add(&mut self, estimate: TimeSyncEstimate) {
        if self.samples.len() == SAMPLE_WINDOW {
            self.samples.pop_front();
        }
        self.samples.push_back(estimate);
        self.accepted += 1;
    }

    /// The recent estimate with the smallest round trip (the latest among equals).
    fn best(&self) -> Option<TimeSyncEstimate> {
        self.samples
            .iter()
            .rev()
            .min_by_key(|estimate| estimate.round_trip_time)
            .copied()
    }
}

#[derive(Debug)]
struct Shared {
    offset_nanos: AtomicI64,
    ready: AtomicBool,
    samples_needed: AtomicUsize,
    updates: AtomicU64,
    clocks: Mutex<HashMap<String, ClockState>>,
}

impl Shared {
    fn offset(&self) -> ClockSkew {
        ClockSkew::from_nanos(self.offset_nanos.load(Ordering::Relaxed))
    }

    fn robot_now(&self) -> prost_types::Timestamp {
        self.offset().robot_timestamp_from_local(SystemTime::now())
    }

    fn update(&self, request: TimeSyncUpdateRequest) -> Result<TimeSyncUpdateResponse, RpcError> {
        self.updates.fetch_add(1, Ordering::Relaxed);
        if !self.ready.load(Ordering::Relaxed) {
            return Ok(TimeSyncUpdateResponse {
                header: None,
                previous_estimate: None,
                state: Some(TimeSyncState {
                    best_estimate: None,
                    status: Status::ServiceNotReady as i32,
                    measurement_time: None,
                }),
                clock_identifier: String::new(),
            });
        }

        let round_trip = request
            .previous_round_trip
            .filter(|rt| *rt != TimeSyncRoundTrip::default());
        let sample = match &round_trip {
            None => None,
            Some(_) if request.clock_identifier.is_empty() => {
                return Err(RpcError::invalid_request(
                    "previous_round_trip was sent without the clock_identifier the service \
                     returned",
                ));
            }
            Some(round_trip) => Some(TimeSyncEstimate::from_round_trip(round_trip).ok_or_else(
                || {
                    RpcError::invalid_request(
                        "previous_round_trip lacks one of its four timestamps",
                    )
                },
            )?),
        };

        let mut clocks = self.clocks.lock().unwrap_or_else(PoisonError::into_inner);
        let known =
            !request.clock_identifier.is_empty() && clocks.contains_key(&request.clock_identifier);
        let (clock_identifier, sample) = if known {
            (request.clock_identifier, sample)
        } else {
            if !request.clock_identifier.is_empty() {
                tracing::debug!(
                    clock_identifier = %request.clock_identifier,
                    "unknown clock identifier; handing out a new one"
                );
            }
            if clocks.len() >= MAX_CLOCKS
                && let Some(oldest) = clocks
                    .iter()
                    .min_by_key(|(_, clock)| clock.last_used)
                    .map(|(id, _)| id.clone())
            {
                clocks.remove(&oldest);
            }
            let id = format!("emulated-clock-{}", uuid::Uuid::new_v4().simple());
            clocks.insert(id.clone(), ClockState::new());
            // A round trip of an unknown clock is not trusted.
            (id, None)
        };
        let clock = clocks
            .get_mut(&clock_identifier)
            .expect("the clock was just looked up or inserted");
        clock.last_used = Instant::now();
        if let Some(sample) = sample {
            clock.add(sample);
        }
        let best = clock.best();
        let synced = clock.accepted >= self.samples_needed.load(Ordering::Relaxed).max(1);
        drop(clocks);

        let status = if synced {
            Status::Ok
        } else {
            Status::MoreSamplesNeeded
        };
        Ok(TimeSyncUpdateResponse {
            header: None,
            previous_estimate: sample.map(|s| s.to_proto()),
            state: Some(TimeSyncState {
                best_estimate: best.map(|b| b.to_proto()),
                status: status as i32,
                measurement_time: best.map(|_| self.robot_now()),
            }),
            clock_identifier,
        })
    }
}

/// The header handling, through `#[spot_service]`. It stamps the header with the system clock;
/// [`EmulatedTimeSync`] moves those stamps to the robot's clock.
#[derive(Debug, Clone)]
struct TimeSyncCore {
    shared: Arc<Shared>,
}

#[crate::spot_service(name = "time-sync", authority = "api.spot.robot")]
impl TimeSyncService for TimeSyncCore {
    async fn time_sync_update(
        &self,
        request: TimeSyncUpdateRequest,
    ) -> crate::Result<TimeSyncUpdateResponse> {
        self.shared.update(request)
    }
}

/// The emulated time-sync service (`time-sync` at `api.spot.robot`, token needed): see the
/// [module docs](self). Clones share their clocks and settings.
///
/// It is a [`SpotService`] with `#[spot_service]`'s header handling (the trait is implemented
/// by an inner `#[spot_service]` type); on top of it, the response header's
/// `request_received_timestamp` and `response_timestamp` are given in the robot's clock, as
/// the robot does, instead of the system clock.
#[derive(Debug, Clone)]
pub struct EmulatedTimeSync {
    core: TimeSyncCore,
}

impl Default for EmulatedTimeSync {
    fn default() -> Self {
        Self::new()
    }
}

impl EmulatedTimeSync {
    /// A ready service whose robot clock is the system clock, needing
    /// [`DEFAULT_SAMPLES_NEEDED`] round trips per client.
    pub fn new() -> Self {
        Self {
            core: TimeSyncCore {
                shared: Arc::new(Shared {
                    offset_nanos: AtomicI64::new(0),
                    ready: AtomicBool::new(true),
                    samples_needed: AtomicUsize::new(DEFAULT_SAMPLES_NEEDED),
                    updates: AtomicU64::new(0),
                    clocks: Mutex::new(HashMap::new()),
                }),
            },
        }
    }

    fn shared(&self) -> &Shared {
        &self.core.shared
    }

    /// Sets the robot clock to the system clock plus `offset` (the skew clients should find).
    #[must_use]
    pub fn with_clock_offset(self, offset: ClockSkew) -> Self {
        self.set_clock_offset(offset);
        self
    }

    /// Sets how many round trips a clock needs before `STATUS_OK` (at least one).
    #[must_use]
    pub fn with_samples_needed(self, samples: usize) -> Self {
        self.shared()
            .samples_needed
            .store(samples.max(1), Ordering::Relaxed);
        self
    }

    /// Moves the robot clock to the system clock plus `offset`, from now on.
    pub fn set_clock_offset(&self, offset: ClockSkew) {
        self.shared()
            .offset_nanos
            .store(offset.as_nanos(), Ordering::Relaxed);
    }

    /// The robot clock's offset from the system clock.
    pub fn clock_offset(&self) -> ClockSkew {
        self.shared().offset()
    }

    /// Makes the service answer `STATUS_SERVICE_NOT_READY` (`false`) or serve (`true`).
    pub fn set_ready(&self, ready: bool) {
        self.shared().ready.store(ready, Ordering::Relaxed);
    }

    /// The robot clock now.
    pub fn robot_now(&self) -> prost_types::Timestamp {
        self.shared().robot_now()
    }

    /// How many `TimeSyncUpdate` calls reached the service.
    pub fn updates_served(&self) -> u64 {
        self.shared().updates.load(Ordering::Relaxed)
    }

    /// How many client clocks the service tracks.
    pub fn clock_count(&self) -> usize {
        self.shared()
            .clocks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[async_trait::async_trait]
impl TimeSyncService for EmulatedTimeSync {
    async fn time_sync_update(
        &self,
        request: tonic::Request<TimeSyncUpdateRequest>,
    ) -> Result<tonic::Response<TimeSyncUpdateResponse>, tonic::Status> {
        let mut response = TimeSyncService::time_sync_update(&self.core, request).await?;
        let offset = self.clock_offset();
        if let Some(header) = response.get_mut().header.as_mut() {
            for stamp in [
                &mut header.request_received_timestamp,
                &mut header.response_timestamp,
            ]
            .into_iter()
            .flatten()
            {
                *stamp = offset.local_to_robot(stamp);
            }
        }
        Ok(response)
    }
}

impl SpotService for EmulatedTimeSync {
    const GRPC_NAME: &'static str = <TimeSyncCore as SpotService>::GRPC_NAME;
    const METADATA: ServiceMetadata = <TimeSyncCore as SpotService>::METADATA;

    fn add_to_routes(self, routes: &mut crate::ServiceRoutes) {
        routes.add_service(
            TimeSyncServiceServer::new(self)
                .max_decoding_message_size(crate::MAX_MESSAGE_SIZE)
                .max_encoding_message_size(crate::MAX_MESSAGE_SIZE),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use prost_types::Timestamp;

    use super::*;
    use crate::proto::bosdyn::api::common_error::Code;

    fn ts(seconds: i64, nanos: i32) -> Timestamp {
        Timestamp { seconds, nanos }
    }

    fn request(round_trip: Option<TimeSyncRoundTrip>, clock: &str) -> TimeSyncUpdateRequest {
        TimeSyncUpdateRequest {
            header: None,
            previous_round_trip: round_trip,
            clock_identifier: clock.to_owned(),
        }
    }

    /// A round trip with a 2 s skew and a round trip of `rtt_ms`.
    fn round_trip(rtt_ms: i32) -> TimeSyncRoundTrip {
        let half = rtt_ms * 500_000;
        TimeSyncRoundTrip {
            client_tx: Some(ts(100, 0)),
            server_rx: Some(ts(102, half)),
            server_tx: Some(ts(102, half)),
            client_rx: Some(ts(100, 2 * half)),
        }
    }

    fn status(response: &TimeSyncUpdateResponse) -> Status {
        Status::try_from(response.state.as_ref().expect("state").status).expect("known status")
    }

    #[test]
    fn more_samples_then_best_estimate() {
        let service = EmulatedTimeSync::new().with_samples_needed(2);
        let shared = service.shared();
        let first = shared.update(request(None, "")).expect("first");
        assert_eq!(status(&first), Status::MoreSamplesNeeded);
        let clock = first.clock_identifier.clone();
        assert!(!clock.is_empty());

        let second = shared
            .update(request(Some(round_trip(10)), &clock))
            .expect("second");
        assert_eq!(status(&second), Status::MoreSamplesNeeded);
        assert_eq!(second.clock_identifier, clock);
        let previous = TimeSyncEstimate::from_proto(second.previous_estimate.as_ref().unwrap())
            .expect("previous estimate");
        assert_eq!(previous.clock_skew, ClockSkew::from_nanos(2_000_000_000));
        assert_eq!(previous.round_trip_time, Duration::from_millis(10));

        let third = shared
            .update(request(Some(round_trip(4)), &clock))
            .expect("third");
        assert_eq!(status(&third), Status::Ok);
        let fourth = shared
            .update(request(Some(round_trip(30)), &clock))
            .expect("fourth");
        assert_eq!(status(&fourth), Status::Ok);
        let state = fourth.state.expect("state");
        let best = TimeSyncEstimate::from_proto(&state.best_estimate.expect("best"))
            .expect("best estimate");
        // The sample with the smallest round trip.
        assert_eq!(best.round_trip_time, Duration::from_millis(4));
        assert!(state.measurement_time.is_some());
        assert_eq!(service.updates_served(), 4);
    }

    #[test]
    fn new_identifier_per_client_and_for_unknown_clocks() {
        let service = EmulatedTimeSync::new();
        let shared = service.shared();
        let a = shared
            .update(request(None, ""))
            .expect("a")
            .clock_identifier;
        let b = shared
            .update(request(None, ""))
            .expect("b")
            .clock_identifier;
        assert_ne!(a, b);
        let unknown = shared
            .update(request(Some(round_trip(1)), "not-a-clock"))
            .expect("unknown");
        assert_ne!(unknown.clock_identifier, "not-a-clock");
        assert_eq!(status(&unknown), Status::MoreSamplesNeeded);
        assert_eq!(unknown.previous_estimate, None);
        assert_eq!(service.clock_count(), 3);
    }

    #[test]
    fn malformed_round_trips_are_invalid() {
        let service = EmulatedTimeSync::new();
        let shared = service.shared();
        let error = shared
            .update(request(Some(round_trip(1)), ""))
            .expect_err("round trip without clock");
        assert_eq!(error.code(), Some(Code::InvalidRequest));
        let clock = shared
            .update(request(None, ""))
            .expect("a")
            .clock_identifier;
        let mut partial = round_trip(1);
        partial.client_rx = None;
        let error = shared
            .update(request(Some(partial), &clock))
            .expect_err("partial round trip");
        assert_eq!(error.code(), Some(Code::InvalidRequest));
        // An empty round trip counts as none.
        let empty = shared
            .update(request(Some(TimeSyncRoundTrip::default()), &clock))
            .expect("empty round trip");
        assert_eq!(empty.clock_identifier, clock);
        assert_eq!(empty.previous_estimate, None);
    }

    #[test]
    fn not_ready() {
        let service = EmulatedTimeSync::new();
        service.set_ready(false);
        let response = service.shared().update(request(None, "")).expect("answer");
        assert_eq!(status(&response), Status::ServiceNotReady);
        assert!(response.clock_identifier.is_empty());
        service.set_ready(true);
        let response = service.shared().update(request(None, "")).expect("answer");
        assert_eq!(status(&response), Status::MoreSamplesNeeded);
    }

    #[test]
    fn robot_clock_is_offset() {
        let service =
            EmulatedTimeSync::new().with_clock_offset(ClockSkew::ahead(Duration::from_secs(100)));
        let robot = service.robot_now();
        let local = Timestamp::from(SystemTime::now());
        let diff = robot.seconds - local.seconds;
        assert!((99..=100).contains(&diff), "robot clock {robot} vs {local}");
        assert_eq!(
            EmulatedTimeSync::METADATA,
            ServiceMetadata {
                name: "time-sync",
                service_type: "bosdyn.api.TimeSyncService",
                authority: "api.spot.robot",
                user_token_required: true,
            }
        );
    }
}
