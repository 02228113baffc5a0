//! Procedural macros for [spot-service](https://docs.rs/spot-service).
//!
//! Use them through the `spot-service` crate (`spot_service::spot_service`), not directly: the
//! generated code refers to `::spot_service`.
//!
//! - [`macro@spot_service`] turns the impl of a tonic-generated service trait into a Spot
//!   service: Spot header handling on every unary RPC, plus the directory metadata and routes.

mod args;
mod diag;
mod expand;
mod method;

use proc_macro::TokenStream;

/// Turns the impl of a tonic-generated service trait into a Spot service.
///
/// ```
/// use spot_service::SpotService;
/// use spot_service::proto::bosdyn::api::{RobotId, RobotIdRequest, RobotIdResponse};
/// use spot_service::proto::bosdyn::api::robot_id_service_server;
///
/// struct MyRobotId {
///     serial: String,
/// }
///
/// #[spot_service::spot_service(name = "robot-id", authority = "id.spot.robot")]
/// impl robot_id_service_server::RobotIdService for MyRobotId {
///     async fn get_robot_id(&self, _request: RobotIdRequest) -> spot_service::Result<RobotIdResponse> {
///         Ok(RobotIdResponse {
///             robot_id: Some(RobotId { serial_number: self.serial.clone(), ..Default::default() }),
///             ..Default::default()
///         })
///     }
/// }
///
/// // `MyRobotId` is now a `SpotService`, ready for `ServiceRunner::add_service`.
/// assert_eq!(MyRobotId::METADATA.service_type, "bosdyn.api.RobotIdService");
/// ```
///
/// Handlers are written like the trait's methods, but with plain messages and errors: the macro
/// echoes the request header into the response header, stamps its timestamps, sets `CODE_OK`
/// (unless the handler set another code), and turns a returned error or a panic into the header's
/// error (see `spot_service::header` and `spot_service::RpcError`).
///
/// # Arguments
///
/// | argument | | |
/// |---|---|---|
/// | `name = "..."` | required | The service's directory name, unique on the robot (`"robot-id"`). |
/// | `authority = "..."` | required | The authority clients reach the service at through the robot (`"id.spot.robot"`). |
/// | `user_token_required = bool` | default `true` | Whether calls must carry a valid user token. |
/// | `service_type = "..."` | default: the gRPC service name | The service type given to the directory; by default `NamedService::NAME` of the server (`"bosdyn.api.RobotIdService"`). Also the `service` logged for each call. |
/// | `server = path::FooServer` | default: found | The tonic-generated server struct. With a path such as `robot_id_service_server::RobotIdService`, it is the same path with `Server` appended (`robot_id_service_server::RobotIdServiceServer`). With a trait imported by name (`impl RobotIdService for ...`), it is found through the link `spot-service-build` generates for every service without streaming methods; give `server = ...` (or the trait's module path) for streaming services. |
///
/// # Methods
///
/// Each RPC method is an `async fn` taking `&self` and one request parameter, and returning a
/// `Result`:
///
/// - **Parameter:** the request message (`request: RobotIdRequest`; any pattern works), or the
///   whole `tonic::Request<RobotIdRequest>` (also written `Request<...>`) for its metadata,
///   extensions or remote address.
/// - **Return type:** any `Result` (a path ending in `Result`, such as `spot_service::Result<R>`,
///   `anyhow::Result<R>` or `std::result::Result<R, E>`) whose success type is the response
///   message or a `tonic::Response` of it, and whose error converts into
///   `spot_service::RpcError`: `RpcError` itself, any `std::error::Error + Send + Sync + 'static`,
///   or `anyhow::Error`. So `?` works on most errors. Errors become `CODE_INTERNAL_SERVER_ERROR`
///   in the response header; return `RpcError::invalid_request(..)` for `CODE_INVALID_REQUEST`,
///   or `RpcError::status(..)` to answer with a real gRPC status instead. (A `tonic::Status`
///   returned as the error is an ordinary error: it becomes `CODE_INTERNAL_SERVER_ERROR`.)
///
/// Method attributes (docs, lint levels, `#[tracing::instrument]`, ...) stay on the method's
/// body; `#[cfg]` also applies to the generated trait method.
///
/// **Streaming RPCs** are not handled: a method with a parameter mentioning `Streaming`, or a
/// return type mentioning `Self::` (`Self::WatchStream`), is kept exactly as written, with the
/// trait's own signature and no header handling. So are associated types
/// (`type WatchStream = ...;`).
///
/// # What is generated
///
/// For `impl Trait for Ty`:
///
/// - `impl Ty { async fn __spot_service_<method>(...) }`: each unary method's body with the
///   signature you wrote (hidden; the service type must therefore be a type of your crate, as
///   `SpotService` requires anyway);
/// - `#[async_trait] impl Trait for Ty`: each unary method takes the `tonic::Request`, runs the
///   body inside spot-service's header handling and returns the `tonic::Response`; streaming
///   methods and associated types as written;
/// - `impl spot_service::SpotService for Ty`: the `ServiceMetadata` from the arguments, and
///   `add_to_routes`, which adds the tonic server for `Ty` with spot-service's message size
///   limits.
///
/// The impl's generics and `where` clause apply to all three; its attributes go on the trait
/// impl (lint levels and `#[cfg]` on all of them). Do not add `#[async_trait]` yourself.
///
/// # Errors
///
/// Problems (a missing or unknown argument, a method that is not `async`, does not take `&self`
/// and one request, or does not return a `Result`, or the attribute on anything but a trait impl)
/// are all reported at once, each pointing at the offending code.
#[proc_macro_attribute]
pub fn spot_service(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand_or_error_tokens(attr.into(), item.into()).into()
}
