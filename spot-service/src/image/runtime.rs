//! One source as served: its background capture loop, its latest frame with the encodings made
//! from it, its fault, and the answer to one `ImageRequest`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::{Duration, SystemTime};

use prost_types::Timestamp;
use tokio::sync::{OnceCell, watch};

use super::encode::{self, EncodeError, EncodeSpec, Encoded, JpegEncoder, ResizeRatio};
use super::frame::{Frame, ImageFormat, PixelFormat};
use super::source::{ImageSource, SourceInfo};
use crate::params::{DictParams, SpecError, dict_spec_with_defaults, merge_dict_param};
use crate::proto::bosdyn::api::image_response::Status;
use crate::proto::bosdyn::api::{
    self, CaptureParameters, DictParam, Image, ImageCapture, ImageRequest, ImageResponse,
    dict_param, image,
};

/// Converts a local capture time into the timestamp sent (robot time, with time sync).
pub(crate) type Clock = Arc<dyn Fn(SystemTime) -> Timestamp + Send + Sync>;

/// Starts reporting one source's fault: returns the sender of its wanted state (`Some(message)`
/// raised, `None` cleared).
pub(crate) type FaultSink = Arc<dyn Fn(&str) -> watch::Sender<Option<String>> + Send + Sync>;

/// What every source of a service shares.
pub(crate) struct ServiceContext {
    pub(crate) jpeg: JpegEncoder,
    pub(crate) clock: Option<Clock>,
    pub(crate) faults: Option<FaultSink>,
    /// Time between background captures; `None`: capture on request only.
    pub(crate) capture_interval: Option<Duration>,
    /// A background frame older than this is not served; the request captures its own.
    pub(crate) max_frame_age: Duration,
}

/// A source as the service holds it, whatever its parameter type.
#[crate::__private::async_trait]
pub(crate) trait ServedSource: Send + Sync {
    /// The `ImageSource` proto listed by `ListImageSources`.
    fn proto(&self) -> &api::ImageSource;

    /// The answer to one request for this source.
    async fn answer(self: Arc<Self>, request: ImageRequest) -> ImageResponse;
}

/// One encoding of a frame: made by the first request that needs it, shared with the others.
type SharedEncoding = Arc<OnceCell<Result<Encoded, EncodeError>>>;

/// A frame and the encodings made from it, each made at most once.
struct Captured<P> {
    frame: Frame,
    params: P,
    encodings: Mutex<HashMap<EncodeSpec, SharedEncoding>>,
}

impl<P> Captured<P> {
    fn new(frame: Frame, params: P) -> Self {
        Self {
            frame,
            params,
            encodings: Mutex::new(HashMap::new()),
        }
    }

    /// The frame encoded per `spec`: the first request for a spec encodes (on a blocking
    /// thread), concurrent and later ones get its result.
    async fn encoded(
        self: &Arc<Self>,
        spec: EncodeSpec,
        jpeg: JpegEncoder,
    ) -> Result<Encoded, EncodeError>
    where
        P: Send + Sync + 'static,
    {
        let cell = self
            .encodings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(spec)
            .or_default()
            .clone();
        cell.get_or_init(|| {
            let captured = self.clone();
            async move {
                tokio::task::spawn_blocking(move || {
                    encode::encode(&captured.frame.data, &spec, jpeg)
                })
                .await
                .unwrap_or_else(|join| {
                    Err(EncodeError::Failed(format!("encoder panicked: {join}")))
                })
            }
        })
        .await
        .clone()
    }
}

/// Whether a source's fault is known to be raised or clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FaultState {
    Unknown,
    Clear,
    Raised,
}

/// A source's own [`ImageSource::default_params`].
pub(crate) struct SourceDefaults<P> {
    /// The parameters' spec, advertising them as its defaults.
    spec: dict_param::Spec,
    params: P,
    /// `params` as a value, under which each request's parameters are merged.
    value: DictParam,
}

impl<P: DictParams> SourceDefaults<P> {
    /// `source`'s default parameters, if it has its own.
    ///
    /// # Errors
    ///
    /// They do not fit the spec (see [`dict_spec_with_defaults`]).
    pub(crate) fn of<S: ImageSource<Params = P>>(source: &S) -> Result<Option<Self>, SpecError> {
        let Some(params) = source.default_params() else {
            return Ok(None);
        };
        let value = params.to_dict_param();
        let spec = dict_spec_with_defaults(P::dict_spec(), &value)?;
        Ok(Some(Self {
            spec,
            params,
            value,
        }))
    }
}

/// One source of a service.
pub(crate) struct SourceRuntime<S: ImageSource> {
    source: Arc<S>,
    info: SourceInfo,
    proto: api::ImageSource,
    context: Arc<ServiceContext>,
    latest: Mutex<Option<Arc<Captured<S::Params>>>>,
    /// The parameters of the background captures; `None` until known (the spec's defaults do
    /// not parse only for a broken hand-written spec; the first request then sets them).
    loop_params: Mutex<Option<S::Params>>,
    /// The source's [`ImageSource::default_params`], under which each request's parameters
    /// are merged; `None` when the spec's defaults are the source's.
    request_defaults: Option<DictParam>,
    loop_started: OnceLock<()>,
    /// Held while capturing: one capture at a time per source (a camera is one device), and
    /// requests that arrive together share one capture instead of each holding its own frame.
    capturing: tokio::sync::Mutex<()>,
    fault: Mutex<FaultState>,
    fault_sender: OnceLock<watch::Sender<Option<String>>>,
}

impl<S: ImageSource> SourceRuntime<S> {
    /// Serves `source`, described by `info` (its [`ImageSource::info`], read once), with its
    /// own `defaults` if any, and `context`.
    pub(crate) fn new(
        source: S,
        info: SourceInfo,
        defaults: Option<SourceDefaults<S::Params>>,
        context: Arc<ServiceContext>,
    ) -> Self {
        let mut proto = info.to_proto();
        let native = info.pixel_formats.first().copied();
        proto.image_formats = [ImageFormat::Jpeg, ImageFormat::Raw]
            .into_iter()
            .filter(|format| {
                native.is_some_and(|native| {
                    info.pixel_formats
                        .iter()
                        .any(|&pf| encode::can_encode(native, *format, pf))
                })
            })
            .map(|format| format.to_proto() as i32)
            .collect();
        let (spec, loop_params, request_defaults) = match defaults {
            Some(defaults) => (defaults.spec, Some(defaults.params), Some(defaults.value)),
            None => (
                S::Params::dict_spec().clone(),
                S::Params::from_dict_param(&DictParam::default()).ok(),
                None,
            ),
        };
        proto.custom_params = Some(spec);
        Self {
            source: Arc::new(source),
            info,
            proto,
            context,
            latest: Mutex::new(None),
            loop_params: Mutex::new(loop_params),
            request_defaults,
            loop_started: OnceLock::new(),
            capturing: tokio::sync::Mutex::new(()),
            fault: Mutex::new(FaultState::Unknown),
            fault_sender: OnceLock::new(),
        }
    }

    fn fault_name(&self) -> String {
        format!("Image Capture Failure for {}", self.info.name)
    }

    /// Records a capture or encode outcome, raising or clearing the source's fault when it
    /// changes (the first outcome always reports, clearing a fault left by an earlier run).
    fn report(&self, problem: Option<String>) {
        let wanted = if problem.is_some() {
            FaultState::Raised
        } else {
            FaultState::Clear
        };
        {
            let mut state = self.fault.lock().unwrap_or_else(PoisonError::into_inner);
            if *state == wanted {
                return;
            }
            *state = wanted;
        }
        match &problem {
            Some(message) => {
                tracing::warn!(source = %self.info.name, %message, "image capture failed")
            }
            None => tracing::debug!(source = %self.info.name, "image capture works"),
        }
        if let Some(sink) = &self.context.faults {
            let name = self.fault_name();
            let sender = self.fault_sender.get_or_init(|| sink(&name));
            sender.send_replace(problem);
        }
    }

    /// Captures with `params` on a blocking thread.
    async fn capture(&self, params: S::Params) -> Result<Arc<Captured<S::Params>>, String> {
        let source = self.source.clone();
        let result = tokio::task::spawn_blocking(move || {
            let frame = source.capture(&params);
            (frame, params)
        })
        .await;
        match result {
            Ok((Ok(frame), params)) => Ok(Arc::new(Captured::new(frame, params))),
            Ok((Err(error), _)) => Err(error.to_string()),
            Err(join) => Err(format!("capture panicked: {join}")),
        }
    }

    /// Starts the background capture loop, once, if the service has one.
    fn start_loop(self: &Arc<Self>) {
        let Some(interval) = self.context.capture_interval else {
            return;
        };
        self.loop_started.get_or_init(|| {
            tokio::spawn(capture_loop(Arc::downgrade(self), interval));
        });
    }

    /// A frame captured with `params`: the loop's latest when it used the same parameters and
    /// is fresh, else a new capture (and the loop switches to `params`, as the official capture
    /// thread does).
    async fn frame(
        self: &Arc<Self>,
        params: &S::Params,
    ) -> Result<Arc<Captured<S::Params>>, String> {
        self.start_loop();
        if let Some(latest) = self.fresh_latest(params) {
            return Ok(latest);
        }
        let _capturing = self.capturing.lock().await;
        // A capture that finished while this request waited may be the one it needs.
        if let Some(latest) = self.fresh_latest(params) {
            return Ok(latest);
        }
        {
            let mut loop_params = self
                .loop_params
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if loop_params.as_ref() != Some(params) {
                *loop_params = Some(params.clone());
            }
        }
        let captured = self.capture(params.clone()).await;
        match &captured {
            Ok(captured) => {
                self.report(None);
                *self.latest.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some(captured.clone());
            }
            Err(error) => self.report(Some(error.clone())),
        }
        captured
    }

    /// The latest frame, if it was captured with `params` and is fresh enough to serve.
    fn fresh_latest(&self, params: &S::Params) -> Option<Arc<Captured<S::Params>>> {
        let latest = self
            .latest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()?;
        let fresh = latest
            .frame
            .captured_at
            .elapsed()
            .map_or(true, |age| age <= self.context.max_frame_age);
        (fresh && latest.params == *params).then_some(latest)
    }

    fn timestamp(&self, local: SystemTime) -> Timestamp {
        match &self.context.clock {
            Some(clock) => clock(local),
            None => Timestamp::from(local),
        }
    }
}

/// Captures every `interval` while the source is served.
async fn capture_loop<S: ImageSource>(source: Weak<SourceRuntime<S>>, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Some(source) = source.upgrade() else {
            return;
        };
        let params = source
            .loop_params
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let Some(params) = params else {
            continue;
        };
        let capturing = source.capturing.lock().await;
        let captured = source.capture(params).await;
        drop(capturing);
        match captured {
            Ok(captured) => {
                source.report(None);
                *source.latest.lock().unwrap_or_else(PoisonError::into_inner) = Some(captured);
            }
            Err(error) => source.report(Some(error)),
        }
    }
}

/// An answer with only a status (and the source, when known).
fn status_only(status: Status, source: Option<&api::ImageSource>) -> ImageResponse {
    ImageResponse {
        status: status as i32,
        source: source.cloned(),
        ..Default::default()
    }
}

/// The pixel format and image format to produce, or the status refusing the request.
fn choose_formats(
    info: &SourceInfo,
    request: &ImageRequest,
) -> Result<(PixelFormat, ImageFormat), Status> {
    let format = match image::Format::try_from(request.image_format) {
        Ok(image::Format::Unknown | image::Format::Jpeg) => ImageFormat::Jpeg,
        Ok(image::Format::Raw) => ImageFormat::Raw,
        _ => return Err(Status::UnsupportedImageFormatRequested),
    };
    let native = *info
        .pixel_formats
        .first()
        .ok_or(Status::UnsupportedPixelFormatRequested)?;
    let requested = match PixelFormat::from_proto(request.pixel_format) {
        Some(format) => Some(format),
        None if request.pixel_format == image::PixelFormat::Unknown as i32 => Some(native),
        None => None,
    };
    let candidates = requested.into_iter().chain(
        request
            .fallback_formats
            .iter()
            .filter_map(|&f| PixelFormat::from_proto(f)),
    );
    let mut supported_any = false;
    for pixel_format in candidates {
        if !info.pixel_formats.contains(&pixel_format) {
            continue;
        }
        supported_any = true;
        if encode::can_encode(native, format, pixel_format) {
            return Ok((pixel_format, format));
        }
    }
    Err(if supported_any {
        Status::UnsupportedImageFormatRequested
    } else {
        Status::UnsupportedPixelFormatRequested
    })
}

#[crate::__private::async_trait]
impl<S: ImageSource> ServedSource for SourceRuntime<S> {
    fn proto(&self) -> &api::ImageSource {
        &self.proto
    }

    async fn answer(self: Arc<Self>, request: ImageRequest) -> ImageResponse {
        let proto = Some(&self.proto);
        let Ok(resize_ratio) = ResizeRatio::from_request(request.resize_ratio) else {
            return status_only(Status::UnsupportedResizeRatioRequested, proto);
        };
        let empty = DictParam::default();
        let custom = request.custom_params.as_ref().unwrap_or(&empty);
        let parsed = match &self.request_defaults {
            Some(defaults) => S::Params::from_dict_param(&merge_dict_param(defaults, custom)),
            None => S::Params::from_dict_param(custom),
        };
        let params = match parsed {
            Ok(params) => params,
            Err(error) => {
                return ImageResponse {
                    custom_param_error: Some(error.to_proto()),
                    ..status_only(Status::CustomParamsError, proto)
                };
            }
        };
        let (pixel_format, format) = match choose_formats(&self.info, &request) {
            Ok(formats) => formats,
            Err(status) => return status_only(status, proto),
        };
        let captured = match self.frame(&params).await {
            Ok(captured) => captured,
            Err(_) => return status_only(Status::ImageDataError, proto),
        };
        let spec = EncodeSpec {
            format,
            pixel_format,
            quality: encode::jpeg_quality(request.quality_percent),
            resize_ratio,
        };
        let encoded = match captured.encoded(spec, self.context.jpeg).await {
            Ok(encoded) => encoded,
            Err(EncodeError::UnsupportedPixelFormat { .. }) => {
                return status_only(Status::UnsupportedPixelFormatRequested, proto);
            }
            Err(EncodeError::UnsupportedImageFormat { .. }) => {
                return status_only(Status::UnsupportedImageFormatRequested, proto);
            }
            Err(error) => {
                self.report(Some(format!("encoding failed: {error}")));
                return status_only(Status::ImageDataError, proto);
            }
        };
        ImageResponse {
            shot: Some(ImageCapture {
                acquisition_time: Some(self.timestamp(captured.frame.captured_at)),
                frame_name_image_sensor: self.info.frame_name.clone(),
                image: Some(Image {
                    cols: i32::try_from(encoded.cols).unwrap_or(i32::MAX),
                    rows: i32::try_from(encoded.rows).unwrap_or(i32::MAX),
                    data: encoded.data,
                    format: encoded.format.to_proto() as i32,
                    pixel_format: encoded.pixel_format.to_proto() as i32,
                }),
                capture_params: Some(CaptureParameters {
                    custom_params: request.custom_params.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            source: Some(self.proto.clone()),
            status: Status::Ok as i32,
            custom_param_error: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::frame::FrameData;
    use prost::bytes::Bytes;

    fn frame() -> Frame {
        let data: Vec<u8> = (0..64 * 48 * 3).map(|i| (i % 251) as u8).collect();
        Frame {
            data: FrameData::Pixels {
                cols: 64,
                rows: 48,
                format: PixelFormat::Rgb8,
                data: Bytes::from(data),
            },
            captured_at: SystemTime::now(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_share_one_encoding_per_spec() {
        let captured = Arc::new(Captured::new(frame(), ()));
        let jpeg = EncodeSpec::jpeg(PixelFormat::Rgb8, 75);
        let grey = EncodeSpec::raw(PixelFormat::Greyscale8);
        let tasks: Vec<_> = (0..32)
            .map(|i| {
                let captured = captured.clone();
                let spec = if i % 2 == 0 { jpeg } else { grey };
                tokio::spawn(
                    async move { (spec, captured.encoded(spec, JpegEncoder::default()).await) },
                )
            })
            .collect();
        let mut buffers: HashMap<EncodeSpec, Bytes> = HashMap::new();
        for task in tasks {
            let (spec, encoded) = task.await.unwrap();
            let data = encoded.unwrap().data;
            let first = buffers.entry(spec).or_insert_with(|| data.clone());
            // One encode per spec: every answer holds the very same buffer.
            assert_eq!(first.as_ptr(), data.as_ptr());
        }
        assert_eq!(buffers.len(), 2);
        assert_eq!(captured.encodings.lock().unwrap().len(), 2);
    }

    /// Counts its captures, each taking a while.
    struct SlowSource(std::sync::atomic::AtomicUsize);

    impl ImageSource for SlowSource {
        type Params = ();

        fn info(&self) -> SourceInfo {
            SourceInfo::visual("slow", 64, 48, [PixelFormat::Rgb8])
        }

        fn capture(&self, (): &()) -> Result<Frame, crate::image::CaptureError> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(30));
            Ok(frame())
        }
    }

    /// Requests that arrive together while there is no fresh frame share one capture, instead
    /// of each capturing (and holding) its own frame.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_share_one_capture() {
        let source = SlowSource(0.into());
        let info = source.info();
        let context = Arc::new(ServiceContext {
            jpeg: JpegEncoder::default(),
            clock: None,
            faults: None,
            capture_interval: None,
            max_frame_age: Duration::from_secs(60),
        });
        let runtime = Arc::new(SourceRuntime::new(source, info, None, context));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let runtime = runtime.clone();
                tokio::spawn(async move { runtime.frame(&()).await.unwrap() })
            })
            .collect();
        let mut frames = Vec::new();
        for task in tasks {
            frames.push(task.await.unwrap());
        }
        assert_eq!(
            runtime.source.0.load(std::sync::atomic::Ordering::SeqCst),
            1
        );
        assert!(frames.iter().all(|f| Arc::ptr_eq(f, &frames[0])));
    }

    #[test]
    fn formats_follow_the_official_rules() {
        let info = SourceInfo::visual("s", 4, 4, [PixelFormat::Rgb8, PixelFormat::Greyscale8]);
        let request = |format: image::Format,
                       pixel: image::PixelFormat,
                       fallbacks: &[image::PixelFormat]| ImageRequest {
            image_format: format as i32,
            pixel_format: pixel as i32,
            fallback_formats: fallbacks.iter().map(|&f| f as i32).collect(),
            ..Default::default()
        };
        use image::{Format as F, PixelFormat as P};
        assert_eq!(
            choose_formats(&info, &request(F::Unknown, P::Unknown, &[])),
            Ok((PixelFormat::Rgb8, ImageFormat::Jpeg))
        );
        assert_eq!(
            choose_formats(&info, &request(F::Raw, P::GreyscaleU8, &[])),
            Ok((PixelFormat::Greyscale8, ImageFormat::Raw))
        );
        assert_eq!(
            choose_formats(&info, &request(F::Raw, P::DepthU16, &[])),
            Err(Status::UnsupportedPixelFormatRequested)
        );
        assert_eq!(
            choose_formats(
                &info,
                &request(F::Raw, P::DepthU16, &[P::RgbaU8, P::GreyscaleU8])
            ),
            Ok((PixelFormat::Greyscale8, ImageFormat::Raw))
        );
        assert_eq!(
            choose_formats(&info, &request(F::Rle, P::RgbU8, &[])),
            Err(Status::UnsupportedImageFormatRequested)
        );
        let rgba = SourceInfo::visual("s", 4, 4, [PixelFormat::Rgb8, PixelFormat::Rgba8]);
        assert_eq!(
            choose_formats(&rgba, &request(F::Jpeg, P::RgbaU8, &[])),
            Err(Status::UnsupportedImageFormatRequested)
        );
        assert_eq!(
            choose_formats(&rgba, &request(F::Jpeg, P::RgbaU8, &[P::RgbU8])),
            Ok((PixelFormat::Rgb8, ImageFormat::Jpeg))
        );
    }
}
