//! [`ImageService`]: any number of [`ImageSource`]s served as `bosdyn.api.ImageService`.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use tonic::codegen::{Body, Bytes, StdError};
use tonic::server::NamedService;
use tonic::{Request, Response};

use super::encode::JpegEncoder;
use super::runtime::{
    Clock, FaultSink, ServedSource, ServiceContext, SourceDefaults, SourceRuntime,
};
use super::source::ImageSource;
use super::wire;
use crate::ServiceRoutes;
use crate::fault::{FaultClient, FaultReporter, fault_id};
use crate::header::{MethodInfo, handle_unary};
use crate::params::SpecError;
use crate::proto::bosdyn::api::image_response::Status as ImageStatus;
use crate::proto::bosdyn::api::{
    GetImageRequest, GetImageResponse, ImageResponse, ListImageSourcesRequest,
    ListImageSourcesResponse, service_fault,
};
use crate::segmented::{SegmentedResult, segmented_route};
use crate::service::{ServiceMetadata, SpotService};
use crate::time_sync::TimeSyncKeeper;

/// The gRPC service name of image services, and their directory service type.
pub const SERVICE_TYPE: &str = "bosdyn.api.ImageService";

/// How often the background loop captures each source by default: every 50 ms, like the
/// official capture thread.
pub const DEFAULT_CAPTURE_INTERVAL: Duration = Duration::from_millis(50);

/// How old a background frame may be and still be served by default: 1 s. An older one (the
/// loop is stuck or failing) makes the request capture its own.
pub const DEFAULT_MAX_FRAME_AGE: Duration = Duration::from_secs(1);

/// The registration of an image service: implemented by
/// [`#[image_service]`](macro@crate::image_service) on a marker type.
pub trait ImageServiceInfo: Send + Sync + 'static {
    /// Directory name, authority, service type ([`SERVICE_TYPE`]).
    const METADATA: ServiceMetadata;
}

/// Why [`ImageService::source`] refused a source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// Another source of this service has the same name.
    #[error("image source {0:?} is already in this service")]
    Duplicate(String),
    /// The source's [`ImageSource::default_params`] do not fit its parameters' spec.
    #[error("the default parameters of image source {name:?} do not fit its spec")]
    Defaults {
        /// The source's name.
        name: String,
        /// What does not fit.
        #[source]
        error: SpecError,
    },
}

type PendingSource = Box<dyn FnOnce(Arc<ServiceContext>) -> Arc<dyn ServedSource> + Send + Sync>;

/// An image service: any number of sources, each with a background capture loop, answering
/// `ListImageSources` and `GetImage` with the official statuses.
///
/// ```no_run
/// # use spot_service::image::{ImageService, ImageSource};
/// # fn f<S: ImageSource>(camera: S) -> Result<(), Box<dyn std::error::Error>> {
/// #[spot_service::image_service(name = "web-cam-service", authority = "robot-web-cam")]
/// struct WebCamService;
///
/// let service = ImageService::new(WebCamService).source(camera)?;
/// spot_service::ServiceRunner::builder().add_service(service);
/// # Ok(()) }
/// ```
pub struct ImageService<I> {
    _info: I,
    names: Vec<String>,
    sources: Vec<PendingSource>,
    jpeg: JpegEncoder,
    clock: Option<Clock>,
    faults: Option<FaultSink>,
    capture_interval: Option<Duration>,
    max_frame_age: Duration,
}

impl<I> fmt::Debug for ImageService<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImageService")
            .field("sources", &self.names)
            .field("jpeg", &self.jpeg)
            .field("capture_interval", &self.capture_interval)
            .field("max_frame_age", &self.max_frame_age)
            .field("robot_time", &self.clock.is_some())
            .field("faults", &self.faults.is_some())
            .finish()
    }
}

impl<I: ImageServiceInfo> ImageService<I> {
    /// A service with no source yet, registered as `info` says.
    pub fn new(info: I) -> Self {
        Self {
            _info: info,
            names: Vec::new(),
            sources: Vec::new(),
            jpeg: JpegEncoder::default(),
            clock: None,
            faults: None,
            capture_interval: Some(DEFAULT_CAPTURE_INTERVAL),
            max_frame_age: DEFAULT_MAX_FRAME_AGE,
        }
    }

    /// Adds a source.
    ///
    /// # Errors
    ///
    /// Another source of this service has the same name, or the source's
    /// [`default_params`](ImageSource::default_params) do not fit its spec.
    pub fn source<S: ImageSource>(mut self, source: S) -> Result<Self, SourceError> {
        let info = source.info();
        if self.names.contains(&info.name) {
            return Err(SourceError::Duplicate(info.name));
        }
        let defaults = SourceDefaults::of(&source).map_err(|error| SourceError::Defaults {
            name: info.name.clone(),
            error,
        })?;
        self.names.push(info.name.clone());
        self.sources.push(Box::new(move |context| {
            Arc::new(SourceRuntime::new(source, info, defaults, context)) as Arc<dyn ServedSource>
        }));
        Ok(self)
    }

    /// Uses `encoder` for JPEG (default: the fastest compiled in).
    #[must_use]
    pub fn with_jpeg_encoder(mut self, encoder: JpegEncoder) -> Self {
        self.jpeg = encoder;
        self
    }

    /// Sets the background capture interval; `None` captures on request only.
    #[must_use]
    pub fn with_capture_interval(mut self, interval: Option<Duration>) -> Self {
        self.capture_interval = interval.map(|i| i.max(Duration::from_millis(1)));
        self
    }

    /// Sets how old a background frame may be and still be served.
    #[must_use]
    pub fn with_max_frame_age(mut self, age: Duration) -> Self {
        self.max_frame_age = age;
        self
    }

    /// Stamps acquisition times in robot time through `time_sync` (local time while it is not
    /// synchronized, with a warning).
    #[must_use]
    pub fn with_time_sync(mut self, time_sync: Arc<TimeSyncKeeper>) -> Self {
        // Warned once per loss of sync, not for every frame (the loop captures 20 times a
        // second).
        let warned = std::sync::atomic::AtomicBool::new(false);
        self.clock = Some(Arc::new(move |local: SystemTime| {
            use std::sync::atomic::Ordering;
            match time_sync.robot_timestamp_from_local(local) {
                Ok(robot) => {
                    warned.store(false, Ordering::Relaxed);
                    robot
                }
                Err(_) => {
                    if !warned.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            "time sync not established: acquisition times are local time until it is"
                        );
                    }
                    prost_types::Timestamp::from(local)
                }
            }
        }));
        self
    }

    /// Raises a service fault "Image Capture Failure for <source>" (severity WARN) through
    /// `client` while a source fails to capture or encode, and clears it once it works again.
    #[must_use]
    pub fn with_fault_client<T>(mut self, client: FaultClient<T>) -> Self
    where
        T: tonic::client::GrpcService<tonic::body::Body> + Clone + Send + Sync + 'static,
        T::Error: Into<StdError>,
        T::Future: Send,
        T::ResponseBody: Body<Data = Bytes> + Send + 'static,
        <T::ResponseBody as Body>::Error: Into<StdError> + Send,
    {
        let service_name = I::METADATA.name;
        self.faults = Some(Arc::new(move |fault_name: &str| {
            let (sender, receiver) = watch::channel(None);
            let reporter = FaultReporter::new(
                client.clone(),
                fault_id(fault_name, service_name),
                service_fault::Severity::Warn,
            );
            tokio::spawn(report_faults(reporter, receiver));
            sender
        }));
        self
    }

    /// [`with_fault_client`](Self::with_fault_client) through `robot`'s fault service.
    pub fn with_robot_faults(
        self,
        robot: &crate::robot::Robot,
    ) -> Result<Self, crate::robot::RobotError> {
        let channel = robot.lazy_intercepted(crate::fault::FAULT_SERVICE_AUTHORITY)?;
        Ok(self.with_fault_client(FaultClient::new(channel)))
    }

    fn into_server(self) -> ImageServer {
        let context = Arc::new(ServiceContext {
            jpeg: self.jpeg,
            clock: self.clock,
            faults: self.faults,
            capture_interval: self.capture_interval,
            max_frame_age: self.max_frame_age,
        });
        let sources: Vec<(String, Arc<dyn ServedSource>)> = self
            .names
            .into_iter()
            .zip(self.sources)
            .map(|(name, make)| (name, make(context.clone())))
            .collect();
        ImageServer {
            sources: wire::encode_sources(sources.iter().map(|(_, s)| s.proto().clone()).collect()),
            by_name: sources.into_iter().collect(),
        }
    }
}

/// Sends a source's wanted fault state to the robot, in order, until the service is dropped.
async fn report_faults<T>(
    mut reporter: FaultReporter<T>,
    mut wanted: watch::Receiver<Option<String>>,
) where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    while wanted.changed().await.is_ok() {
        let problem = wanted.borrow_and_update().clone();
        if let Err(error) = reporter.set(problem.as_deref()).await {
            tracing::warn!(%error, "could not update an image capture fault");
        }
    }
}

/// The server made from an [`ImageService`].
struct ImageServer {
    /// The `image_sources` of every ListImageSources answer, encoded once.
    sources: Bytes,
    by_name: HashMap<String, Arc<dyn ServedSource>>,
}

const fn method(name: &'static str) -> MethodInfo {
    MethodInfo {
        service: SERVICE_TYPE,
        method: name,
    }
}

impl ImageServer {
    async fn list_image_sources(
        &self,
        request: Request<ListImageSourcesRequest>,
    ) -> SegmentedResult {
        let response = handle_unary(method("ListImageSources"), request, |_| async {
            Ok(Response::new(ListImageSourcesResponse::default()))
        })
        .await?;
        Ok(response.map(|header| wire::list_image_sources_response(&header, &self.sources)))
    }

    async fn get_image(&self, request: Request<GetImageRequest>) -> SegmentedResult {
        let response = handle_unary(method("GetImage"), request, |request| async move {
            let requests = request.into_inner().image_requests;
            let answers = requests.into_iter().map(|request| {
                let source = self.by_name.get(&request.image_source_name).cloned();
                async move {
                    match source {
                        Some(source) => source.answer(request).await,
                        None => ImageResponse {
                            status: ImageStatus::UnknownCamera as i32,
                            ..Default::default()
                        },
                    }
                }
            });
            Ok(Response::new(GetImageResponse {
                image_responses: futures_util::future::join_all(answers).await,
                ..Default::default()
            }))
        })
        .await?;
        Ok(response.map(wire::get_image_response))
    }
}

/// Names the gRPC service that [`ImageServer`] is served as.
struct ImageServiceName;

impl NamedService for ImageServiceName {
    const NAME: &'static str = SERVICE_TYPE;
}

impl<I: ImageServiceInfo> SpotService for ImageService<I> {
    const GRPC_NAME: &'static str = SERVICE_TYPE;
    const METADATA: ServiceMetadata = I::METADATA;

    fn add_to_routes(self, routes: &mut ServiceRoutes) {
        // Answered by the runner's server directly, with segmented responses: image data goes to
        // the socket without a copy.
        let server = Arc::new(self.into_server());
        let lister = server.clone();
        routes
            .add_segmented::<ImageServiceName>(
                "ListImageSources",
                segmented_route(move |request| {
                    let server = lister.clone();
                    async move { server.list_image_sources(request).await }
                }),
            )
            .add_segmented::<ImageServiceName>(
                "GetImage",
                segmented_route(move |request| {
                    let server = server.clone();
                    async move { server.get_image(request).await }
                }),
            );
    }
}
