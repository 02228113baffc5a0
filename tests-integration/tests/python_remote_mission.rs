//! The official Python SDK (bosdyn-client and bosdyn-mission 5.2.0, unmodified) drives both
//! RemoteMission examples, `hello-world` and `power-off`, with its `RemoteClient` and with the raw
//! `RemoteMissionServiceStub`: directly (plain h2c to the service's port) and through the robot
//! emulator (TLS, authority routing, a logged-in user), as the robot's mission service would.
//!
//! `tests-integration/python/sdk_remote_mission.py` does the checking: the spec, establish, ticks
//! with parameters, stop and teardown; unknown session ids, missing leases, bad parameter values
//! and unknown keys, each compared with what the official validator says about the same value;
//! the header rules on every raw response; and, for power-off, the robot's motors switched off
//! with the mission's body lease (and a refused lease reported back).
//!
//! Each example gets an emulator of its own. All traffic stays on 127.0.0.1.

use std::time::Duration;

use hello_world::HelloWorld;
use power_off::PowerOff;
use spot_service::ServiceRunner;
use spot_service::remote_mission::RemoteMission;
use spot_service::robot::normalize_authority;
use tests_integration::emulated::LoggedIn;
use tests_integration::python::run_checks;
use tests_integration::{Served, bounded, spawn};

const SCRIPT: &str = "sdk_remote_mission.py";
/// Bound on one run of the script (a few dozen calls; power-off waits for three power
/// transitions of the emulator, about 1 s each).
const SCRIPT_PATIENCE: Duration = Duration::from_secs(120);

/// Runs the script with `args`.
async fn run_script(args: &[String]) -> Result<String, String> {
    run_checks(SCRIPT, args, SCRIPT_PATIENCE).await
}

/// Panics with every failed run's report, or returns the outputs.
fn all_passed(runs: Vec<Result<String, String>>) -> Vec<String> {
    let failures: Vec<&String> = runs.iter().filter_map(|run| run.as_ref().err()).collect();
    assert!(
        failures.is_empty(),
        "{}",
        failures
            .iter()
            .map(|failure| failure.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    runs.into_iter().map(Result::unwrap_or_default).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdk_drives_hello_world_directly() {
    let runner = ServiceRunner::builder()
        .host("127.0.0.1")
        .add_service(HelloWorld)
        .build()
        .await
        .unwrap();
    let server = spawn(runner);
    let run = run_script(&[
        "direct".into(),
        "--service".into(),
        "hello".into(),
        "--port".into(),
        server.addr.port().to_string(),
    ])
    .await;
    bounded("hello-world stops", server.stop()).await;
    let output = all_passed(vec![run]).remove(0);
    assert!(
        output.contains("ok: hello-world-callback direct: 0 repeats"),
        "{output}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdk_drives_hello_world_through_the_emulator() {
    let robot = LoggedIn::start().await;
    let served = {
        let robot = robot.robot.clone();
        Served::start(move |ready, stop| async move {
            hello_world::serve(Some(&robot), "127.0.0.1", 0, ready, stop).await
        })
        .await
    };
    let authority = normalize_authority(<HelloWorld as RemoteMission>::METADATA.authority);
    robot
        .until_registered(hello_world::DIRECTORY_NAME, &authority, served.addr)
        .await;

    let run = run_script(&robot.script_args("hello", &authority)).await;

    served.stop().await;
    assert!(
        !robot.is_registered(hello_world::DIRECTORY_NAME),
        "unregistered at shutdown"
    );
    robot.stop().await;
    let output = all_passed(vec![run]).remove(0);
    assert!(
        output.contains("ok: hello-world-callback via robot: 0 repeats"),
        "{output}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdk_drives_power_off_directly_and_through_the_emulator() {
    let robot = LoggedIn::start().await;
    let served = {
        let robot = robot.robot.clone();
        Served::start(move |ready, stop| async move {
            power_off::serve(&robot, "127.0.0.1", 0, ready, stop).await
        })
        .await
    };
    let authority = normalize_authority(<PowerOff as RemoteMission>::METADATA.authority);
    robot
        .until_registered(power_off::DIRECTORY_NAME, &authority, served.addr)
        .await;
    let port = served.addr.port().to_string();

    // Directly, without the robot's leases: a lease of another epoch is refused by the robot.
    let direct = run_script(&[
        "direct".into(),
        "--service".into(),
        "power-off".into(),
        "--port".into(),
        port.clone(),
    ])
    .await;

    // Through the robot with its body lease, then directly with the same lease.
    let mut args = robot.script_args("power-off", &authority);
    args.extend(["--direct-port".into(), port]);
    let through_robot = run_script(&args).await;

    served.stop().await;
    assert!(
        !robot.is_registered(power_off::DIRECTORY_NAME),
        "unregistered at shutdown"
    );
    robot.stop().await;
    let output = all_passed(vec![direct, through_robot]).remove(1);
    assert!(
        output.contains("ok: power-off-callback via robot: with the body lease")
            && output.contains("ok: power-off-callback direct with the robot's lease: with the"),
        "{output}"
    );
}
