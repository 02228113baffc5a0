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
mod image_service;
mod method;
mod params;
mod remote_mission;

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

/// Turns `impl RemoteMission for YourType` into a registered RemoteMission (mission callback)
/// service.
///
/// ```
/// use spot_service::RpcError;
/// use spot_service::remote_mission::{RemoteMission, TickContext, TickStatus};
///
/// struct Hello;
///
/// #[spot_service::remote_mission(name = "hello-world-callback", authority = "remote-mission")]
/// impl RemoteMission for Hello {
///     async fn tick(
///         &self,
///         _session: &mut (),
///         _context: &mut TickContext<'_, ()>,
///     ) -> Result<TickStatus, RpcError> {
///         println!("Hello World!");
///         Ok(TickStatus::Success)
///     }
/// }
///
/// // `Hello` is now a `SpotService`, ready for `ServiceRunner::add_service`.
/// use spot_service::SpotService;
/// assert_eq!(
///     <Hello as SpotService>::METADATA.service_type,
///     "bosdyn.api.mission.RemoteMissionService"
/// );
/// ```
///
/// # Arguments
///
/// | argument | | |
/// |---|---|---|
/// | `name = "..."` | required | The service's directory name, unique on the robot (`"hello-world-callback"`). |
/// | `authority = "..."` | required | The authority clients reach the service at through the robot (`"remote-mission"`). |
/// | `user_token_required = bool` | default `true` | Whether calls must carry a valid user token. |
/// | `leases = ["body", ...]` | default `[]` | The lease resources every `EstablishSession` and `Tick` must carry (`RemoteMission::LEASE_RESOURCES`). |
///
/// # What you write, what is generated
///
/// In the impl, write `async fn tick` and, if you need them, `type Session` (default `()`),
/// `type Params` (default `()`, no parameters; otherwise a `#[derive(DictParams)]` struct),
/// `async fn establish` (default: `Session::default()`), `async fn stop`, `async fn teardown`
/// and `fn custom_params`. The macro adds `METADATA` and `LEASE_RESOURCES` from its arguments,
/// applies `#[async_trait]` (do not add it yourself), and implements `spot_service::SpotService`
/// for your type by serving it through `spot_service::remote_mission::MissionService` with the
/// default settings; build a `MissionService` yourself to change them.
///
/// # Errors
///
/// A missing or unknown argument, a lease list that is not an array of distinct non-empty
/// strings, `METADATA` or `LEASE_RESOURCES` written by hand, a method that is not `async`, or the
/// attribute on anything but `impl RemoteMission for ...`: all reported at once, each pointing at
/// the offending code.
#[proc_macro_attribute]
pub fn remote_mission(attr: TokenStream, item: TokenStream) -> TokenStream {
    remote_mission::expand_or_error_tokens(attr.into(), item.into()).into()
}

/// Derives `spot_service::params::DictParams` (and `Param`) for a struct with named fields: each
/// field is one custom parameter of a `DictParam`, its name the key.
///
/// ```
/// use spot_service::params::{DictParams, OneOfParams};
/// use spot_service::proto::bosdyn::api::DictParam;
///
/// #[derive(Debug, PartialEq, DictParams)]
/// struct Hello {
///     #[param(display_name = "Who", default = "World", options = ["World", "Bob"], editable)]
///     who: String,
///     #[param(key = "toggle_key", display_name = "Repeats")]
///     toggle: Toggle,
/// }
///
/// #[derive(Debug, PartialEq, OneOfParams)]
/// enum Toggle {
///     #[param(key = "toggle_key_enable", display_name = "Enable")]
///     Enable {
///         #[param(default = 1337, min = 1, max = 1337)]
///         repeats: i64,
///     },
///     #[param(key = "toggle_key_disable", display_name = "Disable", default)]
///     Disable,
/// }
///
/// // Missing keys take their defaults.
/// let hello = Hello::from_dict_param(&DictParam::default()).unwrap();
/// assert_eq!(hello, Hello { who: "World".into(), toggle: Toggle::Disable });
///
/// // Values are validated with the official rules, errors name the parameter's path.
/// let mut value = Hello { who: "Bob".into(), toggle: Toggle::Enable { repeats: 0 } }.to_dict_param();
/// let error = Hello::from_dict_param(&value).unwrap_err();
/// assert_eq!(
///     error.messages,
///     ["toggle_key.toggle_key_enable.repeats param has error: Value 0 below min_bound 1"]
/// );
/// value = Hello { who: "Bob".into(), toggle: Toggle::Enable { repeats: 3 } }.to_dict_param();
/// assert_eq!(Hello::from_dict_param(&value).unwrap().toggle, Toggle::Enable { repeats: 3 });
/// ```
///
/// The struct takes `#[params(hidden_by_default)]` (the settings start collapsed); fields take
/// `#[param(...)]`. The options, what is checked at compile time and the validation rules are
/// documented in `spot_service::params`. Every mistake in the attributes is reported at once,
/// pointing at it: unknown or duplicate options, non-literal values, duplicate keys, a default
/// outside `min`..`max` or not among the `options`, and options that do not apply to the
/// field's type (`min` on a `String`, `options` on an `i64`, ...).
#[proc_macro_derive(DictParams, attributes(param, params))]
pub fn derive_dict_params(item: TokenStream) -> TokenStream {
    params::derive_dict_params(item.into()).into()
}

/// Derives `spot_service::params::OneOfParams` (and `Param`) for an enum: a choice among keys,
/// one per variant (a `OneOfParam`).
///
/// ```
/// use spot_service::params::{DictParams, OneOfParams};
///
/// #[derive(Debug, PartialEq, DictParams)]
/// struct Custom {
///     #[param(default = 0.5, min = 0.0, max = 1.0, units = "m/s")]
///     speed: f64,
/// }
///
/// #[derive(Debug, PartialEq, OneOfParams)]
/// enum Mode {
///     /// Key `fast` (the variant's name in snake_case): an empty dict.
///     Fast,
///     /// A struct-like variant: its fields are the dict's parameters.
///     #[param(display_name = "Careful", default)]
///     Careful {
///         #[param(default = 3, min = 1)]
///         retries: i64,
///     },
///     /// A newtype variant: the wrapped `DictParams` struct is the dict.
///     Custom(Custom),
/// }
///
/// assert_eq!(Mode::one_of_spec().default_key, "careful");
/// let value = Mode::Custom(Custom { speed: 0.25 }).to_one_of_param();
/// assert_eq!(value.key, "custom");
/// assert_eq!(Mode::from_one_of_param(&value).unwrap(), Mode::Custom(Custom { speed: 0.25 }));
/// ```
///
/// Variants take `#[param(key = "...", display_name = "...", description = "...",
/// display_order = N, default)]`; `default` makes a variant the default choice (else the first
/// variant is). Fields of struct-like variants take the same options as `DictParams` fields.
#[proc_macro_derive(OneOfParams, attributes(param))]
pub fn derive_one_of_params(item: TokenStream) -> TokenStream {
    params::derive_one_of_params(item.into()).into()
}

/// Names an image service: put it on a struct, and build the service with
/// `spot_service::image::ImageService::new(YourStruct)`.
///
/// ```
/// #[spot_service::image_service(name = "web-cam-service", authority = "robot-web-cam")]
/// struct WebCamService;
///
/// use spot_service::image::ImageServiceInfo;
/// assert_eq!(WebCamService::METADATA.name, "web-cam-service");
/// assert_eq!(WebCamService::METADATA.service_type, "bosdyn.api.ImageService");
/// ```
///
/// # Arguments
///
/// | argument | | |
/// |---|---|---|
/// | `name = "..."` | required | The service's directory name, unique on the robot (`"web-cam-service"`). |
/// | `authority = "..."` | required | The authority clients reach the service at through the robot (`"robot-web-cam"`). |
/// | `user_token_required = bool` | default `true` | Whether calls must carry a valid user token. |
///
/// It implements `spot_service::image::ImageServiceInfo` for the struct (the directory
/// registration, with service type `bosdyn.api.ImageService`), and keeps the struct as written.
#[proc_macro_attribute]
pub fn image_service(attr: TokenStream, item: TokenStream) -> TokenStream {
    image_service::expand_or_error_tokens(attr.into(), item.into()).into()
}
