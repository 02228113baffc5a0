//! The service runner: ports, health, reflection, shutdown hooks, draining and the drain deadline.

use std::time::Duration;

use spot_service::ServiceRunner;
use tests_integration::proto::{Behavior, EchoRequest};
use tests_integration::{SpotEcho, channel, echo_client, spawn, start_spot_echo};
use tokio::sync::oneshot;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const ECHO_SERVICE: &str = "spot_service.testing.EchoService";

async fn health_of(uri: String, service: &str) -> Result<ServingStatus, tonic::Status> {
    let mut client = HealthClient::new(channel(uri).await);
    let response = client
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await?;
    Ok(response.into_inner().status())
}

#[tokio::test]
async fn port_zero_binds_a_free_port_that_serves() {
    let first = start_spot_echo().await;
    let second = start_spot_echo().await;
    assert_ne!(first.addr.port(), 0);
    assert_ne!(first.addr.port(), second.addr.port());
    for server in [first, second] {
        let mut client = echo_client(server.uri()).await;
        let response = client
            .echo(EchoRequest {
                text: "port".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(response.into_inner().text, "port");
        server.stop().await;
    }
}

#[tokio::test]
async fn binding_a_busy_port_is_a_clear_error() {
    let server = start_spot_echo().await;
    let error = ServiceRunner::builder()
        .host("127.0.0.1")
        .port(server.addr.port())
        .add_service(SpotEcho)
        .build()
        .await
        .expect_err("port in use");
    let text = error.to_string();
    assert!(
        text.starts_with(&format!(
            "cannot listen on 127.0.0.1:{}",
            server.addr.port()
        )),
        "{text}"
    );
    server.stop().await;
}

#[tokio::test]
async fn metadata_is_available_at_run_time() {
    use spot_service::SpotService as _;
    let meta = SpotEcho::METADATA;
    assert_eq!(meta.name, "echo-service");
    assert_eq!(meta.service_type, ECHO_SERVICE);
    assert_eq!(meta.authority, "echo.spot.robot");
    assert!(meta.user_token_required);
    let runner = ServiceRunner::builder()
        .host("127.0.0.1")
        .add_service(SpotEcho)
        .build()
        .await
        .unwrap();
    assert_eq!(runner.services(), &[meta]);
}

#[tokio::test]
async fn a_directory_type_override_keeps_the_grpc_name_for_health() {
    use spot_service::SpotService as _;
    use tests_integration::MetadataEcho;
    assert_eq!(MetadataEcho::GRPC_NAME, ECHO_SERVICE);
    assert_eq!(MetadataEcho::METADATA.service_type, "testing.MetadataEcho");
    const { assert!(!MetadataEcho::METADATA.user_token_required) };
    let server = spawn(
        ServiceRunner::builder()
            .host("127.0.0.1")
            .add_service(MetadataEcho)
            .build()
            .await
            .unwrap(),
    );
    assert_eq!(
        health_of(server.uri(), ECHO_SERVICE).await.unwrap(),
        ServingStatus::Serving
    );
    server.stop().await;
}

#[tokio::test]
async fn health_reports_serving_for_the_server_and_each_service() {
    let server = start_spot_echo().await;
    assert_eq!(
        health_of(server.uri(), "").await.unwrap(),
        ServingStatus::Serving
    );
    assert_eq!(
        health_of(server.uri(), ECHO_SERVICE).await.unwrap(),
        ServingStatus::Serving
    );
    let unknown = health_of(server.uri(), "no.such.Service")
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    server.stop().await;
}

#[tokio::test]
async fn reflection_lists_the_hosted_services() {
    use tokio_stream::StreamExt as _;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let runner = ServiceRunner::builder()
        .host("127.0.0.1")
        .add_service(SpotEcho)
        .reflection_descriptor_set(tonic::include_file_descriptor_set!("spot_descriptor_set"))
        .build()
        .await
        .unwrap();
    let server = spawn(runner);
    let mut client = ServerReflectionClient::new(channel(server.uri()).await);
    let requests = tokio_stream::iter([
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        },
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol(format!(
                "{ECHO_SERVICE}.Echo"
            ))),
        },
    ]);
    let mut responses = client
        .server_reflection_info(requests)
        .await
        .unwrap()
        .into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) =
        responses.next().await.unwrap().unwrap().message_response
    else {
        panic!("expected a service list")
    };
    let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            ECHO_SERVICE
        ]
    );
    let Some(MessageResponse::FileDescriptorResponse(files)) =
        responses.next().await.unwrap().unwrap().message_response
    else {
        panic!("expected file descriptors")
    };
    assert!(!files.file_descriptor_proto.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn shutdown_hook_runs_before_the_server_stops() {
    let (tx, rx) = oneshot::channel();
    let runner_builder = ServiceRunner::builder()
        .host("127.0.0.1")
        .add_service(SpotEcho);
    // The hook needs the address, which is known only after binding: use a channel.
    let (addr_tx, addr_rx) = oneshot::channel::<String>();
    let runner = runner_builder
        .on_shutdown(move || async move {
            let uri = addr_rx.await.expect("address sent");
            // The server still answers while hooks run, and reports NOT_SERVING.
            let status = health_of(uri, ECHO_SERVICE).await;
            let _ = tx.send(status);
        })
        .build()
        .await
        .unwrap();
    let server = spawn(runner);
    addr_tx.send(server.uri()).unwrap();
    server.stop().await;
    let status = rx.await.expect("hook ran");
    assert_eq!(status.unwrap(), ServingStatus::NotServing);
}

#[tokio::test]
async fn in_flight_calls_finish_during_a_graceful_shutdown() {
    let server = start_spot_echo().await;
    let mut client = echo_client(server.uri()).await;
    let call = tokio::spawn(async move {
        client
            .echo(EchoRequest {
                behavior: Behavior::Slow as i32,
                delay_ms: 300,
                text: "drained".into(),
                ..Default::default()
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.stop().await;
    let response = call.await.unwrap().expect("the in-flight call completed");
    assert_eq!(response.into_inner().text, "drained");
}

#[tokio::test]
async fn the_drain_deadline_stops_a_server_with_stuck_calls() {
    let runner = ServiceRunner::builder()
        .host("127.0.0.1")
        .add_service(SpotEcho)
        .drain_timeout(Duration::from_millis(200))
        .build()
        .await
        .unwrap();
    let server = spawn(runner);
    let mut client = echo_client(server.uri()).await;
    let stuck = tokio::spawn(async move {
        client
            .echo(EchoRequest {
                behavior: Behavior::Slow as i32,
                delay_ms: 60_000,
                ..Default::default()
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Bounded wait: without the deadline this would take a minute.
    tokio::time::timeout(Duration::from_secs(10), server.stop())
        .await
        .expect("shutdown ended at the drain deadline");
    let result = tokio::time::timeout(Duration::from_secs(10), stuck)
        .await
        .expect("the stuck call ended")
        .unwrap();
    assert!(result.is_err(), "the stuck call was cut off");
}

#[tokio::test]
async fn a_hanging_hook_is_bounded_by_the_hook_timeout() {
    let runner = ServiceRunner::builder()
        .host("127.0.0.1")
        .add_service(SpotEcho)
        .hook_timeout(Duration::from_millis(100))
        .on_shutdown(std::future::pending)
        .build()
        .await
        .unwrap();
    let server = spawn(runner);
    tokio::time::timeout(Duration::from_secs(10), server.stop())
        .await
        .expect("a hanging hook does not block shutdown");
}
