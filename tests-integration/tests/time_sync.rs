//! Time sync end to end: the emulated time-sync service, whose robot clock runs 2.5 s ahead of
//! the system clock, hosted with `ServiceRunner` on loopback h2c, and driven by
//! `TimeSyncClient` and `TimeSyncKeeper` with fast intervals (and by the official Python SDK's
//! `TimeSyncThread`): the estimate, conversions between the clocks, status transitions, errors
//! before sync and while the robot is unreachable, and shutdown.

use std::time::{Duration, SystemTime};

use spot_service::emulator::services::time_sync::EmulatedTimeSync;
use spot_service::time_sync::{
    ClockSkew, ConversionError, NotSynced, TimeSyncClient, TimeSyncConfig, TimeSyncError,
    TimeSyncKeeper, TimeSyncStatus, WaitForSyncError,
};
use spot_service::{ServiceRunner, SpotService as _};
use tests_integration::{RunningServer, channel, spawn};
use tonic::transport::Channel;

/// Upper bound for anything a test waits for: no test can hang.
const PATIENCE: Duration = Duration::from_secs(10);
/// The emulated robot's clock offset.
const OFFSET: ClockSkew = ClockSkew::from_nanos(2_500_000_000);
/// How far an estimate may be from [`OFFSET`] on loopback.
const TOLERANCE: Duration = Duration::from_millis(10);

/// Bounds a future by [`PATIENCE`].
async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(PATIENCE, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// Polls `condition` every 5 ms until it holds, for at most [`PATIENCE`].
async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    bounded(what, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// Intervals short enough for tests.
fn fast() -> TimeSyncConfig {
    TimeSyncConfig::default()
        .interval(Duration::from_millis(50))
        .not_ready_interval(Duration::from_millis(20))
        .retry_interval(Duration::from_millis(20))
}

/// The emulated service, 2.5 s ahead, on a loopback port.
async fn start(service: EmulatedTimeSync) -> (RunningServer, Channel) {
    let runner = ServiceRunner::builder()
        .host("127.0.0.1")
        .add_service(service)
        .build()
        .await
        .expect("runner builds");
    let server = spawn(runner);
    let channel = channel(server.uri()).await;
    (server, channel)
}

fn emulated() -> EmulatedTimeSync {
    EmulatedTimeSync::new().with_clock_offset(OFFSET)
}

fn keeper(channel: &Channel, config: TimeSyncConfig) -> TimeSyncKeeper {
    let client = TimeSyncClient::new(channel.clone())
        .with_client_name("time-sync-test")
        .with_call_timeout(Duration::from_secs(5));
    TimeSyncKeeper::spawn(client, config)
}

#[test]
fn the_service_registers_like_the_robots() {
    let metadata = EmulatedTimeSync::METADATA;
    assert_eq!(metadata.name, "time-sync");
    assert_eq!(metadata.service_type, "bosdyn.api.TimeSyncService");
    assert_eq!(metadata.authority, "api.spot.robot");
    assert!(metadata.user_token_required);
    assert_eq!(EmulatedTimeSync::GRPC_NAME, "bosdyn.api.TimeSyncService");
}

#[tokio::test]
async fn one_update_carries_robot_clock_stamps() {
    let service = emulated();
    let (server, channel) = start(service.clone()).await;
    let mut client = TimeSyncClient::new(channel);

    let before = SystemTime::now();
    let first = bounded("first update", client.time_sync_update(None, ""))
        .await
        .expect("first update");
    let after = SystemTime::now();
    assert_eq!(
        first.status().expect("status"),
        TimeSyncStatus::MoreSamplesNeeded
    );
    assert!(!first.clock_identifier().is_empty());
    assert_eq!(first.response.previous_estimate, None);

    // The round trip: client stamps in the local clock, server stamps in the robot's.
    let round_trip = first.round_trip;
    let time = |t: Option<prost_types::Timestamp>| {
        SystemTime::try_from(t.expect("stamped")).expect("in range")
    };
    let (client_tx, client_rx) = (time(round_trip.client_tx), time(round_trip.client_rx));
    assert!(before <= client_tx && client_tx <= client_rx && client_rx <= after);
    let (server_rx, server_tx) = (time(round_trip.server_rx), time(round_trip.server_tx));
    assert!(server_rx <= server_tx);
    let robot = |t: SystemTime| time(Some(OFFSET.robot_timestamp_from_local(t)));
    assert!(robot(client_tx) <= server_rx && server_tx <= robot(client_rx));

    let estimate = first.round_trip_estimate().expect("complete round trip");
    assert!(
        estimate.clock_skew.abs_diff(OFFSET)
            <= estimate.round_trip_time / 2 + Duration::from_micros(1),
        "{estimate:?}"
    );

    // The next update reports the estimate from that round trip.
    let second = bounded(
        "second update",
        client.time_sync_update(Some(round_trip), first.clock_identifier()),
    )
    .await
    .expect("second update");
    assert_eq!(second.clock_identifier(), first.clock_identifier());
    let previous = spot_service::time_sync::TimeSyncEstimate::from_proto(
        second
            .response
            .previous_estimate
            .as_ref()
            .expect("previous_estimate"),
    )
    .expect("skew");
    assert_eq!(previous, estimate);
    assert_eq!(service.updates_served(), 2);
    server.stop().await;
}

#[tokio::test]
async fn keeper_syncs_to_the_robot_clock() {
    let service = emulated();
    let (server, channel) = start(service.clone()).await;
    let keeper = keeper(&channel, fast());

    let estimate = bounded("sync", keeper.wait_for_sync(PATIENCE))
        .await
        .expect("synchronized");
    let error = estimate.clock_skew.abs_diff(OFFSET);
    assert!(
        error <= TOLERANCE,
        "skew {} is {error:?} off",
        estimate.clock_skew
    );
    // NTP bound: off by at most half the round trip of the sample.
    assert!(
        error <= estimate.round_trip_time / 2 + Duration::from_micros(1),
        "{estimate:?}"
    );
    assert!(keeper.is_synced());
    assert_eq!(keeper.last_error().map(|e| e.to_string()), None);
    assert!(keeper.clock_identifier().is_some());
    let skew = keeper.clock_skew().expect("skew");
    assert!(skew.abs_diff(OFFSET) <= TOLERANCE);

    // Local to robot time and back, exactly.
    let local = SystemTime::now() + Duration::from_millis(1_234);
    let robot = keeper
        .robot_timestamp_from_local(local)
        .expect("robot time");
    assert_eq!(robot, skew.robot_timestamp_from_local(local));
    assert_eq!(
        keeper.local_time_from_robot(&robot).expect("local time"),
        local
    );

    // The robot's clock, as converted, agrees with the emulated robot's.
    let converted = keeper.robot_now().expect("robot now");
    let actual = service.robot_now();
    let (actual_time, converted_time) = (
        SystemTime::try_from(actual).expect("in range"),
        SystemTime::try_from(converted).expect("in range"),
    );
    let gap = actual_time
        .duration_since(converted_time)
        .unwrap_or_else(|e| e.duration());
    assert!(
        gap <= TOLERANCE,
        "robot now {actual} vs converted {converted}"
    );

    // Once synchronized, the estimate is refreshed every interval.
    let served = service.updates_served();
    eventually("periodic updates", || {
        service.updates_served() >= served + 3
    })
    .await;
    assert!(keeper.is_synced());
    bounded("shutdown", keeper.shutdown()).await;
    server.stop().await;
}

#[tokio::test]
async fn status_goes_from_not_ready_to_synced() {
    let service = emulated();
    service.set_ready(false);
    let (server, channel) = start(service.clone()).await;
    // Slow sampling, so that every status lasts long enough to be seen.
    let keeper = keeper(&channel, fast().sample_interval(Duration::from_millis(30)));
    let mut status = keeper.subscribe();
    let mut seen = vec![status.borrow_and_update().clone()];

    bounded(
        "not ready",
        status.wait_for(|s| *s == TimeSyncStatus::ServiceNotReady),
    )
    .await
    .expect("keeper running");
    seen.push(TimeSyncStatus::ServiceNotReady);

    // Not synchronized: conversions fail, and so does a short wait.
    let not_synced: NotSynced = keeper
        .robot_timestamp_from_local(SystemTime::now())
        .expect_err("not synced");
    assert_eq!(not_synced.status, TimeSyncStatus::ServiceNotReady);
    assert!(
        not_synced.to_string().contains("not time-synchronized"),
        "{not_synced}"
    );
    assert!(matches!(
        keeper.local_time_from_robot(&service.robot_now()),
        Err(ConversionError::NotSynced(_))
    ));
    assert!(keeper.clock_skew().is_err());
    assert!(keeper.robot_now().is_err());
    assert_eq!(keeper.clock_identifier(), None);
    match keeper.wait_for_sync(Duration::from_millis(100)).await {
        Err(WaitForSyncError::TimedOut {
            waited,
            status,
            last_error,
        }) => {
            assert_eq!(waited, Duration::from_millis(100));
            assert_eq!(status, TimeSyncStatus::ServiceNotReady);
            assert!(last_error.is_none(), "{last_error:?}");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }

    service.set_ready(true);
    let collected = bounded("synced", async {
        loop {
            status.changed().await.expect("keeper running");
            let current = status.borrow_and_update().clone();
            let synced = current.is_synced();
            seen.push(current);
            if synced {
                return seen;
            }
        }
    })
    .await;
    let mut kinds: Vec<&str> = collected
        .iter()
        .map(|s| match s {
            TimeSyncStatus::Starting => "starting",
            TimeSyncStatus::ServiceNotReady => "not ready",
            TimeSyncStatus::MoreSamplesNeeded => "more samples",
            TimeSyncStatus::Synced(_) => "synced",
            _ => "other",
        })
        .collect();
    kinds.dedup();
    if kinds.first() == Some(&"starting") {
        kinds.remove(0);
    }
    assert_eq!(kinds, ["not ready", "more samples", "synced"]);
    assert!(keeper.robot_now().is_ok());
    bounded("shutdown", keeper.shutdown()).await;
    server.stop().await;
}

#[tokio::test]
async fn each_client_gets_its_own_clock() {
    let service = emulated();
    let (server, channel) = start(service.clone()).await;
    let a = keeper(&channel, fast());
    let b = keeper(&channel, fast());
    bounded("a syncs", a.wait_for_sync(PATIENCE))
        .await
        .expect("a");
    bounded("b syncs", b.wait_for_sync(PATIENCE))
        .await
        .expect("b");
    let (a_clock, b_clock) = (a.clock_identifier().unwrap(), b.clock_identifier().unwrap());
    assert_ne!(a_clock, b_clock);
    assert_eq!(service.clock_count(), 2);
    // Each keeps its identifier across updates.
    let served = service.updates_served();
    eventually("more updates", || service.updates_served() >= served + 4).await;
    assert_eq!(a.clock_identifier().unwrap(), a_clock);
    assert_eq!(b.clock_identifier().unwrap(), b_clock);
    assert_eq!(service.clock_count(), 2);
    bounded("a stops", a.shutdown()).await;
    bounded("b stops", b.shutdown()).await;
    server.stop().await;
}

#[tokio::test]
async fn default_interval_is_quiet_once_synced() {
    let service = emulated();
    let (server, channel) = start(service.clone()).await;
    // The official timings: nothing more for 60 s once synchronized.
    let keeper = keeper(&channel, TimeSyncConfig::default());
    bounded("sync", keeper.wait_for_sync(PATIENCE))
        .await
        .expect("synchronized");
    // One update to get an identifier, then one per sample the service needs.
    let served = service.updates_served();
    assert_eq!(
        served,
        1 + spot_service::emulator::services::time_sync::DEFAULT_SAMPLES_NEEDED as u64
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(service.updates_served(), served);
    // Shutdown does not wait for the 60 s.
    bounded("shutdown", keeper.shutdown()).await;
    server.stop().await;
}

#[tokio::test]
async fn keeps_the_estimate_while_the_robot_is_unreachable() {
    let service = emulated();
    let (server, channel) = start(service.clone()).await;
    let keeper = keeper(&channel, fast());
    let estimate = bounded("sync", keeper.wait_for_sync(PATIENCE))
        .await
        .expect("synchronized");
    server.stop().await;

    eventually("a failed update", || keeper.last_error().is_some()).await;
    assert!(
        matches!(keeper.last_error(), Some(TimeSyncError::Rpc(_))),
        "{:?}",
        keeper.last_error()
    );
    // The last estimate stays usable.
    assert!(keeper.is_synced());
    let skew = keeper.clock_skew().expect("still synced");
    assert!(skew.abs_diff(estimate.clock_skew) <= TOLERANCE);
    assert!(keeper.robot_now().is_ok());
    bounded("shutdown", keeper.shutdown()).await;
}

#[tokio::test]
async fn wait_for_sync_reports_a_stopped_keeper() {
    let service = emulated();
    service.set_ready(false);
    let (server, channel) = start(service.clone()).await;
    let keeper = keeper(&channel, fast());
    let mut status = keeper.subscribe();
    bounded(
        "not ready",
        status.wait_for(|s| *s == TimeSyncStatus::ServiceNotReady),
    )
    .await
    .expect("keeper running");

    keeper.stop();
    match bounded("wait", keeper.wait_for_sync(PATIENCE)).await {
        Err(WaitForSyncError::Stopped { .. }) => {}
        other => panic!("expected Stopped, got {other:?}"),
    }
    assert_eq!(keeper.status(), TimeSyncStatus::Stopped);
    assert!(keeper.robot_now().is_err());

    // After shutdown, no more updates reach the service.
    bounded("shutdown", keeper.shutdown()).await;
    let served = service.updates_served();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(service.updates_served(), served);
    server.stop().await;
}

#[tokio::test]
async fn dropping_the_keeper_stops_it() {
    let service = emulated();
    let (server, channel) = start(service.clone()).await;
    let keeper = keeper(&channel, fast());
    bounded("sync", keeper.wait_for_sync(PATIENCE))
        .await
        .expect("synchronized");
    let mut status = keeper.subscribe();
    drop(keeper);
    bounded(
        "stopped",
        status.wait_for(|s| *s == TimeSyncStatus::Stopped),
    )
    .await
    .expect("the last status stays readable");
    let served = service.updates_served();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(service.updates_served(), served);
    server.stop().await;
}

/// The official SDK's script: `TimeSyncThread` against the address in argv[1]; prints the
/// skew in nanoseconds and the clock identifier.
const PYTHON_TIME_SYNC: &str = r#"
import sys, grpc
from bosdyn.client.processors import AddRequestHeader
from bosdyn.client.time_sync import TimeSyncClient, TimeSyncThread

client = TimeSyncClient()
client.channel = grpc.insecure_channel(sys.argv[1])
client.request_processors.append(AddRequestHeader(lambda: "official-sdk"))
thread = TimeSyncThread(client)
thread.start()
thread.wait_for_sync(timeout_sec=10)
skew = thread.get_robot_clock_skew()
rtt = thread.endpoint.round_trip_time
print("SKEW_NSEC", skew.seconds * 10**9 + skew.nanos)
print("RTT_NSEC", rtt.seconds * 10**9 + rtt.nanos)
print("CLOCK", thread.endpoint.clock_identifier)
thread.stop()
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_syncs_with_the_emulated_service() {
    // Like every Python-driven test, this fails (with instructions) when the SDK is missing.
    let python = tests_integration::python::sdk_python();
    let service = emulated();
    let (server, _channel) = start(service.clone()).await;
    let address = server.addr.to_string();
    let output = bounded(
        "python",
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(python)
                .args(["-c", PYTHON_TIME_SYNC, &address])
                .env("PYTHONDONTWRITEBYTECODE", "1")
                .output()
                .expect("python starts")
        }),
    )
    .await
    .expect("python task");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "python failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let value = |key: &str| {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {key} in {stdout}"))
            .to_owned()
    };
    let skew = ClockSkew::from_nanos(value("SKEW_NSEC").parse().expect("skew"));
    assert!(
        skew.abs_diff(OFFSET) <= TOLERANCE,
        "official SDK estimated {skew}"
    );
    assert!(value("CLOCK").starts_with("emulated-clock-"));
    assert_eq!(service.clock_count(), 1);
    server.stop().await;
}
