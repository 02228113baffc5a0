//! What spot-service logs per RPC: failures as events carrying service, method and client name at
//! the usual `info` level; with `spot_service=debug`, an `rpc` span around each call with the
//! outcome recorded, which the handler's own events inherit.

use std::io::Write;
use std::sync::{Arc, Mutex};

use prost_types::Timestamp;
use spot_service::proto::bosdyn::api::RequestHeader;
use tests_integration::proto::{Behavior, EchoRequest};
use tests_integration::{echo_client, start_spot_echo};
use tracing_subscriber::fmt::MakeWriter;

/// Collects everything the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn request(behavior: Behavior) -> EchoRequest {
    EchoRequest {
        header: Some(RequestHeader {
            request_timestamp: Some(Timestamp::default()),
            client_name: "tracing-client".into(),
            disable_rpc_logging: false,
        }),
        text: "t".into(),
        behavior: behavior as i32,
        ..Default::default()
    }
}

/// Runs calls with the given filter on a current-thread runtime (so the subscriber set as the
/// thread's default sees the server's events too) and returns the captured log.
fn capture(filter: &str, behaviors: &[Behavior]) -> String {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = start_spot_echo().await;
        let mut client = echo_client(server.uri()).await;
        for behavior in behaviors {
            client.echo(request(*behavior)).await.unwrap();
        }
        server.stop().await;
    });
    captured.text()
}

#[test]
fn failures_are_logged_with_their_context_at_info() {
    let log = capture(
        "info",
        &[
            Behavior::Echo,
            Behavior::Invalid,
            Behavior::Fail,
            Behavior::OwnError,
        ],
    );
    let line = |needle: &str| {
        log.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{log}"))
            .to_owned()
    };
    let invalid = line("rejected an invalid request");
    assert!(invalid.contains(" INFO "), "{invalid}");
    for field in [
        "service=\"spot_service.testing.EchoService\"",
        "method=\"Echo\"",
        "client_name=\"tracing-client\"",
        "error=\"text \\\"t\\\" is not allowed\"",
    ] {
        assert!(invalid.contains(field), "{field} missing from {invalid}");
    }
    let failed = line("the sensor is unplugged");
    assert!(
        failed.contains(" WARN ") && failed.contains("handler failed"),
        "{failed}"
    );
    let own = line("set by the handler");
    assert!(
        own.contains("rejected an invalid request"),
        "a handler-set code is an outcome too: {own}"
    );
    assert!(
        !log.contains("answered"),
        "successful calls are quiet at info:\n{log}"
    );
    assert_eq!(log.matches("rpc{").count(), 0, "no span at info:\n{log}");
}

#[test]
fn debug_level_adds_an_rpc_span_with_the_outcome() {
    let log = capture(
        "info,spot_service=debug",
        &[Behavior::Echo, Behavior::Panic],
    );
    let answered = log
        .lines()
        .find(|l| l.contains("answered"))
        .unwrap_or_else(|| panic!("no debug event:\n{log}"));
    assert!(
        answered.contains(
            "rpc{service=\"spot_service.testing.EchoService\" method=\"Echo\" client_name=tracing-client outcome=\"ok\"}"
        ),
        "{answered}"
    );
    let panicked = log
        .lines()
        .find(|l| l.contains("handler panicked"))
        .unwrap_or_else(|| panic!("no panic event:\n{log}"));
    assert!(panicked.contains(" ERROR "), "{panicked}");
    assert!(panicked.contains("outcome=\"panicked\""), "{panicked}");
}
