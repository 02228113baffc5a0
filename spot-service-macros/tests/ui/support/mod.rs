//! Helpers shared by the pass tests (included with `#[path]`).

#![allow(dead_code)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use spot_service::proto::bosdyn::api::{RequestHeader, ResponseHeader, common_error::Code};

/// Runs a future that never waits on I/O (a handler called in-process) to completion.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// A request header from `client`.
pub fn request_header(client: &str) -> Option<RequestHeader> {
    Some(RequestHeader {
        client_name: client.to_owned(),
        ..Default::default()
    })
}

/// Checks that the response header echoes the request from `client` and carries `code`; returns
/// the error message.
pub fn check_header(header: &Option<ResponseHeader>, client: &str, code: Code) -> String {
    let header = header.as_ref().expect("response header");
    assert_eq!(header.request_header.as_ref().unwrap().client_name, client);
    assert!(header.request_received_timestamp.is_some());
    assert!(header.response_timestamp.is_some());
    let error = header.error.as_ref().expect("header error");
    assert_eq!(error.code, code as i32, "{error:?}");
    error.message.clone()
}
