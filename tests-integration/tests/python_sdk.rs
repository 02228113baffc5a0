//! The official Python SDK (bosdyn-client 5.2.0) calls spot-service services on a loopback port:
//! its clients accept our headers and raise its own exceptions for our header errors.

use std::path::Path;

use spot_service::ServiceRunner;
use tests_integration::python::{assert_success, run_script};
use tests_integration::{FixedRobotId, SpotEcho, spawn};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_clients_talk_to_spot_service() {
    let runner = ServiceRunner::builder()
        .host("127.0.0.1")
        .add_service(SpotEcho)
        .add_service(FixedRobotId)
        .build()
        .await
        .unwrap();
    let server = spawn(runner);
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let address = server.addr.to_string();
    let proto_dir = manifest.join("proto");
    let bosdyn_dir = manifest.join("../protos");
    let output = tokio::task::spawn_blocking(move || {
        run_script(
            "sdk_client_wire.py",
            &[
                &address,
                &proto_dir.to_string_lossy(),
                &bosdyn_dir.to_string_lossy(),
            ],
        )
    })
    .await
    .unwrap();
    println!("{}", String::from_utf8_lossy(&output.stdout));
    assert_success("sdk_client_wire.py", &output);
    server.stop().await;
}
