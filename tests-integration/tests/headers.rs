//! Every header rule of spot-service, checked against a real server on a loopback port.

use std::time::{Duration, SystemTime};

use prost::Message as _;
use prost_types::Timestamp;
use spot_service::proto::bosdyn::api::RequestHeader;
use spot_service::proto::bosdyn::api::common_error::Code;
use tests_integration::proto::{Attachment, Behavior, EchoRequest, EchoResponse};
use tests_integration::{echo_client, start_spot_echo};

fn header(client_name: &str) -> RequestHeader {
    RequestHeader {
        request_timestamp: Some(Timestamp::from(SystemTime::now())),
        client_name: client_name.to_owned(),
        disable_rpc_logging: false,
    }
}

fn request(behavior: Behavior, text: &str) -> EchoRequest {
    EchoRequest {
        header: Some(header("header-tests")),
        text: text.to_owned(),
        behavior: behavior as i32,
        ..Default::default()
    }
}

fn to_system_time(ts: &Timestamp) -> SystemTime {
    SystemTime::try_from(*ts).expect("valid timestamp")
}

fn code(response: &EchoResponse) -> Code {
    let error = response
        .header
        .as_ref()
        .expect("response header")
        .error
        .as_ref()
        .expect("error is always set");
    Code::try_from(error.code).expect("known code")
}

fn message(response: &EchoResponse) -> &str {
    &response
        .header
        .as_ref()
        .unwrap()
        .error
        .as_ref()
        .unwrap()
        .message
}

#[tokio::test]
async fn ok_response_echoes_the_request_header_and_stamps_times() {
    let server = start_spot_echo().await;
    let mut client = echo_client(server.uri()).await;
    let before = SystemTime::now();
    let sent = request(Behavior::Echo, "hello");
    let response = client.echo(sent.clone()).await.unwrap().into_inner();
    let after = SystemTime::now();

    assert_eq!(response.text, "hello");
    assert_eq!(code(&response), Code::Ok);
    let header = response.header.as_ref().unwrap();
    assert_eq!(header.request_header, sent.header, "request header echoed");
    let received = to_system_time(header.request_received_timestamp.as_ref().unwrap());
    let answered = to_system_time(header.response_timestamp.as_ref().unwrap());
    assert!(before <= received, "received after the client sent");
    assert!(received <= answered, "answered after it was received");
    assert!(answered <= after, "answered before the client got it");
    server.stop().await;
}

#[tokio::test]
async fn request_is_packed_into_the_header() {
    let server = start_spot_echo().await;
    let mut client = echo_client(server.uri()).await;
    let sent = request(Behavior::Echo, "packed");
    let response = client.echo(sent.clone()).await.unwrap().into_inner();
    let any = response.header.unwrap().request.expect("request packed");
    assert_eq!(
        any.type_url,
        "type.googleapis.com/spot_service.testing.EchoRequest"
    );
    let unpacked = EchoRequest::decode(any.value.as_slice()).unwrap();
    assert_eq!(unpacked, sent);
    server.stop().await;
}

#[tokio::test]
async fn large_byte_fields_are_stripped_from_the_packed_request() {
    let server = start_spot_echo().await;
    let mut client = echo_client(server.uri()).await;
    let big = vec![7u8; 64 * 1024];
    let small = vec![1u8; 100];
    let sent = EchoRequest {
        blob: big.clone().into(),
        attachments: vec![
            Attachment {
                data: big.clone().into(),
                label: "big".into(),
            },
            Attachment {
                data: small.clone().into(),
                label: "small".into(),
            },
        ],
        ..request(Behavior::Echo, "bytes")
    };
    let response = client.echo(sent).await.unwrap().into_inner();
    assert_eq!(
        response.blob_len,
        big.len() as u64,
        "the handler saw all bytes"
    );
    let any = response.header.unwrap().request.unwrap();
    let unpacked = EchoRequest::decode(any.value.as_slice()).unwrap();
    assert!(unpacked.blob.is_empty(), "large top-level bytes stripped");
    assert!(
        unpacked.attachments[0].data.is_empty(),
        "large nested bytes stripped"
    );
    assert_eq!(unpacked.attachments[0].label, "big", "other fields kept");
    assert_eq!(
        unpacked.attachments[1].data.as_ref(),
        small.as_slice(),
        "small bytes kept"
    );
    assert_eq!(unpacked.text, "bytes");
    server.stop().await;
}

#[tokio::test]
async fn missing_or_empty_header_is_accepted() {
    let server = start_spot_echo().await;
    let mut client = echo_client(server.uri()).await;
    for header in [None, Some(RequestHeader::default())] {
        let sent = EchoRequest {
            header,
            text: "no header".into(),
            ..Default::default()
        };
        let response = client.echo(sent).await.unwrap().into_inner();
        assert_eq!(code(&response), Code::Ok);
        assert_eq!(response.text, "no header");
        let header = response.header.unwrap();
        assert_eq!(header.request_header, Some(RequestHeader::default()));
        assert!(header.request_received_timestamp.is_some());
        assert!(header.response_timestamp.is_some());
    }
    server.stop().await;
}

#[tokio::test]
async fn handler_error_is_an_internal_server_error_in_the_header() {
    let server = start_spot_echo().await;
    let mut client = echo_client(server.uri()).await;
    let sent = request(Behavior::Fail, "x");
    let response = client
        .echo(sent.clone())
        .await
        .expect("errors go in the header, not in the gRPC status")
        .into_inner();
    assert_eq!(code(&response), Code::InternalServerError);
    assert_eq!(message(&response), "the sensor is unplugged");
    let header = response.header.unwrap();
    assert_eq!(header.request_header, sent.header);
    assert!(header.response_timestamp.is_some());
    server.stop().await;
}

#[tokio::test]
async fn rejected_request_is_an_invalid_request_in_the_header() {
    let server = start_spot_echo().await;
    let mut client = echo_client(server.uri()).await;
    let response = client
        .echo(request(Behavior::Invalid, "bad"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&response), Code::InvalidRequest);
    assert_eq!(message(&response), "text \"bad\" is not allowed");
    server.stop().await;
}

#[tokio::test]
async fn handler_panic_is_an_internal_server_error_and_the_service_keeps_serving() {
    let server = start_spot_echo().await;
    let mut client = echo_client(server.uri()).await;
    for _ in 0..3 {
        let response = client
            .echo(request(Behavior::Panic, "kaboom"))
            .await
            .expect("a panic is answered in the header, not as gRPC UNKNOWN")
            .into_inner();
        assert_eq!(code(&response), Code::InternalServerError);
        assert_eq!(message(&response), "handler panicked: boom: kaboom");
        let after = client
            .echo(request(Behavior::Echo, "still here"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code(&after), Code::Ok);
        assert_eq!(after.text, "still here");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_code_set_by_the_handler_is_kept() {
    let server = start_spot_echo().await;
    let mut client = echo_client(server.uri()).await;
    let sent = request(Behavior::OwnError, "x");
    let response = client.echo(sent.clone()).await.unwrap().into_inner();
    assert_eq!(code(&response), Code::InvalidRequest);
    assert_eq!(message(&response), "set by the handler");
    let header = response.header.unwrap();
    assert_eq!(header.request_header, sent.header, "still stamped");
    assert!(header.request_received_timestamp.is_some());
    server.stop().await;
}

#[tokio::test]
async fn an_explicit_grpc_status_is_passed_through() {
    let server = start_spot_echo().await;
    let mut client = echo_client(server.uri()).await;
    let status = client
        .echo(request(Behavior::GrpcStatus, "x"))
        .await
        .expect_err("the handler chose a gRPC status");
    assert_eq!(status.code(), tonic::Code::Unimplemented);
    assert_eq!(status.message(), "not yet");
    server.stop().await;
}

#[tokio::test]
async fn response_timestamp_is_taken_when_the_answer_leaves() {
    let server = start_spot_echo().await;
    let mut client = echo_client(server.uri()).await;
    let sent = EchoRequest {
        delay_ms: 50,
        ..request(Behavior::Slow, "slow")
    };
    let response = client.echo(sent).await.unwrap().into_inner();
    let header = response.header.unwrap();
    let received = to_system_time(header.request_received_timestamp.as_ref().unwrap());
    let answered = to_system_time(header.response_timestamp.as_ref().unwrap());
    assert!(
        answered.duration_since(received).unwrap() >= Duration::from_millis(50),
        "the handler's time lies between the two stamps"
    );
    server.stop().await;
}

#[tokio::test]
async fn client_helpers_stamp_and_check_headers() {
    use spot_service::client::{HeaderError, check_response, stamp_request};
    let server = start_spot_echo().await;
    let mut client = echo_client(server.uri()).await;

    let mut ok = EchoRequest {
        text: "hi".into(),
        ..Default::default()
    };
    stamp_request(&mut ok, "helper-client");
    let response = client.echo(ok).await.unwrap().into_inner();
    let response = check_response(response).expect("CODE_OK");
    let echoed = response.header.unwrap().request_header.unwrap();
    assert_eq!(echoed.client_name, "helper-client");
    assert!(echoed.request_timestamp.is_some());

    let mut bad = request(Behavior::Invalid, "nope");
    stamp_request(&mut bad, "helper-client");
    let response = client.echo(bad).await.unwrap().into_inner();
    assert_eq!(
        check_response(response).unwrap_err(),
        HeaderError::InvalidRequest("text \"nope\" is not allowed".into())
    );
    assert_eq!(
        check_response(EchoResponse::default()).unwrap_err(),
        HeaderError::MissingHeader
    );
    server.stop().await;
}

#[tokio::test]
async fn tonic_shaped_handlers_keep_metadata_and_get_headers() {
    use tests_integration::{MetadataEcho, spawn};
    let runner = spot_service::ServiceRunner::builder()
        .host("127.0.0.1")
        .add_service(MetadataEcho)
        .build()
        .await
        .unwrap();
    let server = spawn(runner);
    let mut client = echo_client(server.uri()).await;
    let mut call = tonic::Request::new(request(Behavior::Echo, "meta"));
    call.metadata_mut()
        .insert("x-caller", "header-tests".parse().unwrap());
    let response = client.echo(call).await.unwrap();
    assert_eq!(
        response.metadata().get("x-greeting").unwrap(),
        "hello header-tests",
        "metadata set by the handler reaches the client"
    );
    let response = response.into_inner();
    assert_eq!(response.text, "meta");
    assert_eq!(code(&response), Code::Ok);
    assert!(response.header.unwrap().response_timestamp.is_some());
    server.stop().await;
}

#[tokio::test]
async fn messages_above_tonics_4_mib_default_are_accepted() {
    let server = start_spot_echo().await;
    let mut client = echo_client(server.uri()).await;
    let blob = vec![42u8; 12 * 1024 * 1024];
    let response = client
        .echo(EchoRequest {
            blob: blob.into(),
            ..request(Behavior::Echo, "big")
        })
        .await
        .expect("a 12 MiB request is within the 100 MiB limit")
        .into_inner();
    assert_eq!(response.blob_len, 12 * 1024 * 1024);
    assert_eq!(code(&response), Code::Ok);
    server.stop().await;
}
