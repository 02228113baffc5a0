//! Traits implemented by generated code for every message that carries a Spot header.

#![warn(missing_docs)]

use crate::bosdyn::api::{RequestHeader, ResponseHeader};

/// Byte fields longer than this are emptied in the copy of a request that is packed into
/// `ResponseHeader.request` (images and blobs would otherwise be echoed back to the client).
pub const LARGE_BYTES_LIMIT: usize = 1024;

/// A request message with a `bosdyn.api.RequestHeader header = 1` field.
///
/// Implemented by code that `spot-service-build` generates; never implement it by hand.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a Spot request message",
    note = "a Spot request has a `bosdyn.api.RequestHeader header = 1;` field and is compiled with spot-service-build"
)]
pub trait SpotRequest: prost::Message + prost::Name + Clone + Default + 'static {
    /// The request header, if the client sent one.
    fn request_header(&self) -> Option<&RequestHeader>;
    /// Mutable access to the request header (clients fill it before sending).
    fn request_header_mut(&mut self) -> &mut Option<RequestHeader>;
    /// This request packed into an `Any`, with byte fields longer than [`LARGE_BYTES_LIMIT`]
    /// emptied, as stored in `ResponseHeader.request`.
    fn to_logged_any(&self) -> prost_types::Any;
}

/// A response message with a `bosdyn.api.ResponseHeader header = 1` field.
///
/// Implemented by code that `spot-service-build` generates; never implement it by hand.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a Spot response message",
    note = "a Spot response has a `bosdyn.api.ResponseHeader header = 1;` field and is compiled with spot-service-build"
)]
pub trait SpotResponse: prost::Message + prost::Name + Default + 'static {
    /// The response header, if set.
    fn response_header(&self) -> Option<&ResponseHeader>;
    /// Mutable access to the response header.
    fn response_header_mut(&mut self) -> &mut Option<ResponseHeader>;
}

/// Empties byte fields longer than a limit, recursively through message fields.
///
/// Generated for every message that holds `bytes` fields directly or through its message fields
/// (fields inside a `oneof` and map values are left alone).
pub trait StripLargeBytes {
    /// Replaces every byte field longer than `limit` with an empty value.
    fn strip_large_bytes(&mut self, limit: usize);
}

/// Packs a message into an `Any` with its `type.googleapis.com/<full name>` type URL.
pub fn pack_any<M: prost::Message + prost::Name>(message: &M) -> prost_types::Any {
    prost_types::Any {
        type_url: M::type_url(),
        value: message.encode_to_vec(),
    }
}

/// An `Any` larger than the limit loses its payload (its type URL is kept).
impl StripLargeBytes for prost_types::Any {
    fn strip_large_bytes(&mut self, limit: usize) {
        if self.value.len() > limit {
            self.value = Vec::new();
        }
    }
}

/// `google.protobuf.BytesValue`, which prost represents as a plain `Vec<u8>`.
impl StripLargeBytes for Vec<u8> {
    fn strip_large_bytes(&mut self, limit: usize) {
        if self.len() > limit {
            self.clear();
        }
    }
}
