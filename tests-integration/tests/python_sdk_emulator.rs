//! The official Python SDK (bosdyn-client 5.2.0, unmodified) uses the robot emulator as it would
//! a robot: it logs in, lists the directory, registers a payload that the operator (this test)
//! authorizes, authenticates with the payload's credentials, and calls the announce service,
//! hosted here and kept registered in the emulator's directory, through the robot's proxy.
//!
//! The script only trusts the emulator's CA file and uses its port instead of 443; all traffic
//! stays on 127.0.0.1. It prints `AUTHORIZE <guid>` when the payload needs the operator and
//! waits for `OK` on its stdin.

use std::path::Path;
use std::time::Duration;

use announce::Announcer;
use spot_service::directory::{DirectoryRegistrationClient, KeepAliveConfig, RegistrationStatus};
use spot_service::robot::DIRECTORY_REGISTRATION_AUTHORITY;
use spot_service::{ServiceRunner, SpotService as _};
use tests_integration::emulated::{LoggedIn, PASSWORD, USERNAME};
use tests_integration::python::CheckScript;
use tests_integration::{bounded, spawn};

const SCRIPT: &str = "sdk_against_emulator.py";
/// Bound on the whole script (it generates stubs with protoc and makes about 25 calls).
const SCRIPT_PATIENCE: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_uses_the_emulator_like_a_robot() {
    let robot = LoggedIn::start().await;
    let emulator = &robot.emulator;

    // The announce service, kept registered in the directory with a user token.
    let mut runner = ServiceRunner::builder()
        .host("127.0.0.1")
        .add_service(Announcer)
        .build()
        .await
        .unwrap();
    let directory = DirectoryRegistrationClient::new(
        robot
            .robot
            .intercepted(DIRECTORY_REGISTRATION_AUTHORITY)
            .await
            .unwrap(),
    );
    let mut statuses = runner.keep_registered(
        directory,
        None,
        "127.0.0.1",
        KeepAliveConfig {
            initial_retry: Duration::from_millis(20),
            ..KeepAliveConfig::with_interval(Duration::from_secs(2))
        },
    );
    let service = spawn(runner);
    bounded(
        "announce service registered",
        statuses[0].wait_for(RegistrationStatus::is_registered),
    )
    .await
    .expect("status channel open");
    let entry = emulator
        .state()
        .service_entry(Announcer::METADATA.name)
        .expect("announce-service in the emulator's directory");
    assert_eq!(entry.authority, "announce-service.spot.robot");

    // The official SDK, as a child process; authorize its payload when it asks, as the robot's
    // operator would.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path_arg = |path: &Path| path.to_str().expect("UTF-8 path").to_owned();
    let args = [
        emulator.port().to_string(),
        path_arg(&robot.ca_file),
        USERNAME.into(),
        PASSWORD.into(),
        path_arg(&manifest.join("../examples/announce/proto")),
        path_arg(&manifest.join("../protos")),
    ];
    let mut script = CheckScript::start(SCRIPT, &args, SCRIPT_PATIENCE);
    let mut authorized_guid = None;
    while let Some(line) = script.next_line().await {
        if let Some(guid) = line.strip_prefix("AUTHORIZE ") {
            let guid = guid.trim().to_owned();
            let payload = emulator
                .state()
                .payload(&guid)
                .unwrap_or_else(|| panic!("payload {guid} is not registered in the emulator"));
            assert!(!payload.authorized, "payload {guid} authorized too early");
            emulator.state().authorize_payload(&guid).unwrap();
            script.answer("OK");
            authorized_guid = Some(guid);
        }
    }
    script
        .finish()
        .await
        .unwrap_or_else(|failure| panic!("{failure}"));
    let guid = authorized_guid.expect("the script asked for its payload to be authorized");
    assert!(emulator.state().payload(&guid).unwrap().authorized);

    bounded("announce service stops", service.stop()).await;
    assert!(
        !robot.is_registered(Announcer::METADATA.name),
        "unregistered at shutdown"
    );
    robot.stop().await;
}
