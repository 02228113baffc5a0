//! Image services on a live loopback server: ListImageSources, GetImage in every format and
//! pixel format, every per-image status, the background capture loop, the encode cache,
//! MJPEG pass-through, custom parameters, and capture faults.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use prost::bytes::Bytes;
use spot_service::ServiceRunner;
use spot_service::image::{
    CaptureError, Frame, FrameData, ImageService, ImageSource, PixelFormat, SourceInfo,
};
use spot_service::params::DictParams;
use spot_service::proto::bosdyn::api::custom_param::spec::Spec;
use spot_service::proto::bosdyn::api::image_response::Status;
use spot_service::proto::bosdyn::api::image_service_client::ImageServiceClient;
use spot_service::proto::bosdyn::api::{
    CustomParam, DictParam, DoubleParam, GetImageRequest, ImageRequest, ListImageSourcesRequest,
    ListImageSourcesResponse, custom_param, image,
};
use tests_integration::{RunningServer, channel, spawn};
use tonic::transport::Channel;

#[derive(Debug, Clone, PartialEq, DictParams)]
struct Pattern {
    #[param(display_name = "Contrast", default = 1.0, min = 0.0, max = 255.0)]
    contrast: f64,
}

/// A 64x48 gradient whose brightness scales with `contrast`; fails while `fail` is set;
/// counts its captures.
#[derive(Clone, Default)]
struct Gradient {
    name: &'static str,
    fail: Arc<AtomicBool>,
    captures: Arc<AtomicU32>,
}

const COLS: u32 = 64;
const ROWS: u32 = 48;

impl ImageSource for Gradient {
    type Params = Pattern;

    fn info(&self) -> SourceInfo {
        SourceInfo::visual(
            self.name,
            COLS,
            ROWS,
            [
                PixelFormat::Rgb8,
                PixelFormat::Greyscale8,
                PixelFormat::Rgba8,
            ],
        )
    }

    fn capture(&self, params: &Pattern) -> Result<Frame, CaptureError> {
        self.captures.fetch_add(1, Ordering::SeqCst);
        if self.fail.load(Ordering::SeqCst) {
            return Err("the camera is unplugged".into());
        }
        let mut data = Vec::with_capacity((COLS * ROWS * 3) as usize);
        for row in 0..ROWS {
            for col in 0..COLS {
                let value = ((col + row) as f64 * params.contrast).clamp(0.0, 255.0) as u8;
                data.extend_from_slice(&[value, value / 2, 255 - value]);
            }
        }
        Ok(Frame {
            data: FrameData::Pixels {
                cols: COLS,
                rows: ROWS,
                format: PixelFormat::Rgb8,
                data: Bytes::from(data),
            },
            captured_at: SystemTime::now(),
        })
    }
}

#[spot_service::image_service(name = "test-images", authority = "test-images.spot.robot")]
struct TestImages;

async fn serve(service: ImageService<TestImages>) -> (RunningServer, ImageServiceClient<Channel>) {
    let runner = ServiceRunner::builder()
        .host("127.0.0.1")
        .add_service(service)
        .build()
        .await
        .unwrap();
    let server = spawn(runner);
    let client = ImageServiceClient::new(channel(server.uri()).await)
        .max_decoding_message_size(spot_service::MAX_MESSAGE_SIZE);
    (server, client)
}

fn request(source: &str, format: image::Format, pixel: image::PixelFormat) -> ImageRequest {
    ImageRequest {
        image_source_name: source.into(),
        image_format: format as i32,
        pixel_format: pixel as i32,
        ..Default::default()
    }
}

async fn get(
    client: &mut ImageServiceClient<Channel>,
    requests: Vec<ImageRequest>,
) -> Vec<spot_service::proto::bosdyn::api::ImageResponse> {
    let response = client
        .get_image(GetImageRequest {
            header: None,
            image_requests: requests,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.header.unwrap().error.unwrap().code, 1, "CODE_OK");
    response.image_responses
}

async fn list(
    client: &mut ImageServiceClient<Channel>,
) -> Vec<spot_service::proto::bosdyn::api::ImageSource> {
    client
        .list_image_sources(ListImageSourcesRequest { header: None })
        .await
        .unwrap()
        .into_inner()
        .image_sources
}

fn contrast(value: f64) -> DictParam {
    DictParam {
        values: [(
            "contrast".to_owned(),
            CustomParam {
                value: Some(custom_param::Value::DoubleValue(DoubleParam { value })),
            },
        )]
        .into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_sources_with_their_formats_and_spec() {
    let service = ImageService::new(TestImages)
        .source(Gradient {
            name: "front",
            ..Default::default()
        })
        .unwrap()
        .source(Gradient {
            name: "back",
            ..Default::default()
        })
        .unwrap();
    let (server, mut client) = serve(service).await;
    let sources = list(&mut client).await;
    let names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["front", "back"]);
    let front = &sources[0];
    assert_eq!((front.cols, front.rows), (64, 48));
    assert_eq!(
        front.image_formats,
        [image::Format::Jpeg as i32, image::Format::Raw as i32]
    );
    assert_eq!(
        front.pixel_formats,
        [
            image::PixelFormat::RgbU8 as i32,
            image::PixelFormat::GreyscaleU8 as i32,
            image::PixelFormat::RgbaU8 as i32
        ]
    );
    assert_eq!(front.custom_params.as_ref(), Some(Pattern::dict_spec()));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_format_and_pixel_format() {
    let service = ImageService::new(TestImages)
        .source(Gradient {
            name: "front",
            ..Default::default()
        })
        .unwrap();
    let (server, mut client) = serve(service).await;
    use image::PixelFormat as P;
    for (format, pixel, bytes_per_pixel) in [
        (image::Format::Raw, P::RgbU8, Some(3)),
        (image::Format::Raw, P::GreyscaleU8, Some(1)),
        (image::Format::Raw, P::RgbaU8, Some(4)),
        (image::Format::Jpeg, P::RgbU8, None),
        (image::Format::Jpeg, P::GreyscaleU8, None),
        (image::Format::Unknown, P::Unknown, None),
    ] {
        let answers = get(&mut client, vec![request("front", format, pixel)]).await;
        let answer = &answers[0];
        assert_eq!(answer.status, Status::Ok as i32, "{format:?} {pixel:?}");
        let image = answer.shot.as_ref().unwrap().image.as_ref().unwrap();
        assert_eq!((image.cols, image.rows), (64, 48));
        match bytes_per_pixel {
            Some(bpp) => assert_eq!(image.data.len(), 64 * 48 * bpp),
            None => {
                assert_eq!(image.format, image::Format::Jpeg as i32);
                assert_eq!(&image.data[..2], &[0xff, 0xd8], "a JPEG");
            }
        }
        let expected_pixel = if pixel == P::Unknown { P::RgbU8 } else { pixel };
        assert_eq!(image.pixel_format, expected_pixel as i32);
        assert!(answer.shot.as_ref().unwrap().acquisition_time.is_some());
        assert_eq!(answer.source.as_ref().unwrap().name, "front");
    }
    // Resized to half.
    let mut half = request("front", image::Format::Raw, P::RgbU8);
    half.resize_ratio = 0.5;
    let answers = get(&mut client, vec![half]).await;
    let image = answers[0].shot.as_ref().unwrap().image.as_ref().unwrap();
    assert_eq!(
        (image.cols, image.rows, image.data.len()),
        (32, 24, 32 * 24 * 3)
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_status_per_image() {
    let service = ImageService::new(TestImages)
        .source(Gradient {
            name: "front",
            ..Default::default()
        })
        .unwrap();
    let (server, mut client) = serve(service).await;
    use image::PixelFormat as P;
    let mut bad_ratio = request("front", image::Format::Jpeg, P::RgbU8);
    bad_ratio.resize_ratio = 1.5;
    let mut negative_ratio = request("front", image::Format::Jpeg, P::RgbU8);
    negative_ratio.resize_ratio = -0.5;
    let mut bad_params = request("front", image::Format::Jpeg, P::RgbU8);
    bad_params.custom_params = Some(contrast(300.0));
    let mut fallback = request("front", image::Format::Raw, P::DepthU16);
    fallback.fallback_formats = vec![P::GreyscaleU16 as i32, P::GreyscaleU8 as i32];
    let answers = get(
        &mut client,
        vec![
            request("nope", image::Format::Jpeg, P::RgbU8),
            bad_ratio,
            negative_ratio,
            bad_params,
            request("front", image::Format::Raw, P::DepthU16),
            request("front", image::Format::Jpeg, P::RgbaU8),
            request("front", image::Format::Rle, P::RgbU8),
            fallback,
            request("front", image::Format::Raw, P::RgbU8),
        ],
    )
    .await;
    let statuses: Vec<i32> = answers.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses,
        [
            Status::UnknownCamera,
            Status::UnsupportedResizeRatioRequested,
            Status::UnsupportedResizeRatioRequested,
            Status::CustomParamsError,
            Status::UnsupportedPixelFormatRequested,
            Status::UnsupportedImageFormatRequested,
            Status::UnsupportedImageFormatRequested,
            Status::Ok,
            Status::Ok,
        ]
        .map(|s| s as i32)
    );
    let error = answers[3].custom_param_error.as_ref().unwrap();
    assert_eq!(
        error.error_messages,
        ["contrast param has error: Value 300.0 above max_bound 255.0"]
    );
    let fallback_image = answers[7].shot.as_ref().unwrap().image.as_ref().unwrap();
    assert_eq!(fallback_image.pixel_format, P::GreyscaleU8 as i32);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contrast_changes_the_image_and_acquisition_times_increase() {
    let service = ImageService::new(TestImages)
        .source(Gradient {
            name: "front",
            ..Default::default()
        })
        .unwrap()
        .with_capture_interval(Some(Duration::from_millis(10)));
    let (server, mut client) = serve(service).await;
    let raw = |c: f64| {
        let mut r = request("front", image::Format::Raw, image::PixelFormat::GreyscaleU8);
        r.custom_params = Some(contrast(c));
        r
    };
    let dim = get(&mut client, vec![raw(0.5)]).await;
    let bright = get(&mut client, vec![raw(2.0)]).await;
    let mean = |answers: &[spot_service::proto::bosdyn::api::ImageResponse]| {
        let data = &answers[0]
            .shot
            .as_ref()
            .unwrap()
            .image
            .as_ref()
            .unwrap()
            .data;
        data.iter().map(|&b| f64::from(b)).sum::<f64>() / data.len() as f64
    };
    assert!(
        mean(&bright) > mean(&dim) * 1.5,
        "{} vs {}",
        mean(&bright),
        mean(&dim)
    );

    let mut last = None;
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(30)).await;
        let answers = get(&mut client, vec![raw(2.0)]).await;
        let time = answers[0].shot.as_ref().unwrap().acquisition_time.unwrap();
        let time = (time.seconds, time.nanos);
        if let Some(last) = last {
            assert!(time > last, "acquisition times increase");
        }
        last = Some(time);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_frame_is_encoded_once_for_concurrent_requests() {
    // The loop's frame, kept fresh for an hour, serves every request. (That the 16 requests
    // share one encoding is checked in the runtime's unit tests, where the buffers are
    // visible.)
    let gradient = Gradient {
        name: "front",
        ..Default::default()
    };
    let captures = gradient.captures.clone();
    let service = ImageService::new(TestImages)
        .source(gradient)
        .unwrap()
        .with_capture_interval(Some(Duration::from_secs(3600)))
        .with_max_frame_age(Duration::from_secs(3600));
    let (server, mut client) = serve(service).await;
    // The first request captures (and starts the loop, whose first tick captures again).
    get(
        &mut client,
        vec![request(
            "front",
            image::Format::Jpeg,
            image::PixelFormat::RgbU8,
        )],
    )
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = captures.load(Ordering::SeqCst);
    let requests = (0..16)
        .map(|_| request("front", image::Format::Jpeg, image::PixelFormat::RgbU8))
        .collect();
    let answers = get(&mut client, requests).await;
    assert_eq!(
        captures.load(Ordering::SeqCst),
        before,
        "served from the latest frame"
    );
    let first = &answers[0]
        .shot
        .as_ref()
        .unwrap()
        .image
        .as_ref()
        .unwrap()
        .data;
    for answer in &answers {
        let data = &answer.shot.as_ref().unwrap().image.as_ref().unwrap().data;
        assert_eq!(data, first, "the same frame, encoded the same");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_capture_is_an_image_data_error_until_it_recovers() {
    let gradient = Gradient {
        name: "front",
        ..Default::default()
    };
    let fail = gradient.fail.clone();
    let service = ImageService::new(TestImages)
        .source(gradient)
        .unwrap()
        .with_capture_interval(None);
    let (server, mut client) = serve(service).await;
    fail.store(true, Ordering::SeqCst);
    let answers = get(
        &mut client,
        vec![request(
            "front",
            image::Format::Jpeg,
            image::PixelFormat::RgbU8,
        )],
    )
    .await;
    assert_eq!(answers[0].status, Status::ImageDataError as i32);
    fail.store(false, Ordering::SeqCst);
    let answers = get(
        &mut client,
        vec![request(
            "front",
            image::Format::Jpeg,
            image::PixelFormat::RgbU8,
        )],
    )
    .await;
    assert_eq!(answers[0].status, Status::Ok as i32);
    server.stop().await;
}

/// A message whose field 2 is a varint, where `GetImageRequest` has its (length-delimited)
/// `image_requests`: not a `GetImageRequest` on the wire.
#[derive(Clone, PartialEq, prost::Message)]
struct NotAnImageRequest {
    #[prost(uint64, tag = "2")]
    image_requests: u64,
}

/// Calls `path` on the service with `message`.
async fn call_raw<M: prost::Message + Default + Send + Sync + 'static>(
    server: &RunningServer,
    path: &'static str,
    message: M,
) -> Result<ListImageSourcesResponse, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel(server.uri()).await);
    grpc.ready().await.unwrap();
    grpc.unary(
        tonic::Request::new(message),
        tonic::codegen::http::uri::PathAndQuery::from_static(path),
        tonic_prost::ProstCodec::<M, ListImageSourcesResponse>::default(),
    )
    .await
    .map(tonic::Response::into_inner)
}

/// The service's own routes answer what tonic's generated servers answer: UNIMPLEMENTED for a
/// method it does not have, INTERNAL for a request that does not decode; and it keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_methods_and_undecodable_requests_get_grpc_errors() {
    let service = ImageService::new(TestImages)
        .source(Gradient {
            name: "a",
            ..Default::default()
        })
        .unwrap();
    let (server, mut client) = serve(service).await;

    let unknown = call_raw(
        &server,
        "/bosdyn.api.ImageService/GetImages",
        ListImageSourcesRequest::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::Unimplemented, "{unknown:?}");

    let garbled = call_raw(
        &server,
        "/bosdyn.api.ImageService/GetImage",
        NotAnImageRequest { image_requests: 7 },
    )
    .await
    .unwrap_err();
    assert_eq!(garbled.code(), tonic::Code::Internal, "{garbled:?}");
    assert!(garbled.message().contains("decode"), "{garbled:?}");

    // Still serving, and ListImageSources through the same raw path decodes as the real one.
    let listed = call_raw(
        &server,
        "/bosdyn.api.ImageService/ListImageSources",
        ListImageSourcesRequest::default(),
    )
    .await
    .unwrap();
    assert_eq!(listed.image_sources.len(), 1);
    let answers = get(
        &mut client,
        vec![request("a", image::Format::Raw, image::PixelFormat::RgbU8)],
    )
    .await;
    assert_eq!(answers[0].status(), Status::Ok);
}

#[derive(Debug, Clone, PartialEq, DictParams)]
struct Tuning {
    #[param(default = 1.0, min = 0.0, max = 255.0)]
    contrast: f64,
    #[param(default = 10, min = 1, max = 1000)]
    exposure: i64,
}

/// An 8x8 grey source with defaults of its own, recording the parameters of every capture.
struct Tuned {
    name: &'static str,
    defaults: Option<Tuning>,
    seen: Arc<std::sync::Mutex<Vec<Tuning>>>,
}

impl ImageSource for Tuned {
    type Params = Tuning;

    fn info(&self) -> SourceInfo {
        SourceInfo::visual(self.name, 8, 8, [PixelFormat::Greyscale8])
    }

    fn capture(&self, params: &Tuning) -> Result<Frame, CaptureError> {
        self.seen.lock().unwrap().push(params.clone());
        Ok(Frame {
            data: FrameData::Pixels {
                cols: 8,
                rows: 8,
                format: PixelFormat::Greyscale8,
                data: Bytes::from(vec![128; 64]),
            },
            captured_at: SystemTime::now(),
        })
    }

    fn default_params(&self) -> Option<Tuning> {
        self.defaults.clone()
    }
}

/// A source's own defaults are advertised, complete each request's parameters and drive the
/// background loop; defaults that do not fit the spec are refused with the parameter named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sources_own_defaults() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let camera_defaults = Tuning {
        contrast: 32.0,
        exposure: 100,
    };
    let service = ImageService::new(TestImages)
        .with_capture_interval(Some(Duration::from_millis(20)))
        .source(Tuned {
            name: "camera",
            defaults: Some(camera_defaults.clone()),
            seen: seen.clone(),
        })
        .unwrap();

    let refused = ImageService::new(TestImages)
        .source(Tuned {
            name: "odd",
            defaults: Some(Tuning {
                contrast: 300.0,
                exposure: 5,
            }),
            seen: Arc::default(),
        })
        .expect_err("defaults outside the spec are refused");
    let message = format!("{:#}", anyhow::Error::from(refused));
    assert!(
        message.contains("\"odd\"")
            && message.contains("contrast param has error: Default Spec Value above allowed"),
        "{message}"
    );

    let (server, mut client) = serve(service).await;
    let sources = list(&mut client).await;
    let spec = sources[0].custom_params.clone().unwrap();
    assert_eq!(
        spot_service::params::default_dict_param(&spec),
        camera_defaults.to_dict_param(),
        "advertised defaults"
    );
    // Only the defaults differ from the type's spec.
    let mut expected_spec = Tuning::dict_spec().clone();
    for child in expected_spec.specs.values_mut() {
        match child.spec.as_mut().and_then(|spec| spec.spec.as_mut()) {
            Some(Spec::DoubleSpec(contrast)) => contrast.default_value = Some(32.0),
            Some(Spec::IntSpec(exposure)) => exposure.default_value = Some(100),
            other => panic!("unexpected spec {other:?}"),
        }
    }
    assert_eq!(spec, expected_spec);

    // Without parameters: the defaults, from the background loop.
    let plain = request(
        "camera",
        image::Format::Raw,
        image::PixelFormat::GreyscaleU8,
    );
    let answers = get(&mut client, vec![plain.clone()]).await;
    assert_eq!(answers[0].status, Status::Ok as i32);
    assert!(seen.lock().unwrap().iter().all(|p| *p == camera_defaults));

    // One key given: the other from the source's defaults, not the spec's.
    let exposure_only = DictParam {
        values: [(
            "exposure".to_owned(),
            CustomParam {
                value: Some(custom_param::Value::IntValue(
                    spot_service::proto::bosdyn::api::Int64Param { value: 7 },
                )),
            },
        )]
        .into(),
    };
    let answers = get(
        &mut client,
        vec![ImageRequest {
            custom_params: Some(exposure_only),
            ..plain.clone()
        }],
    )
    .await;
    assert_eq!(answers[0].status, Status::Ok as i32);
    assert!(seen.lock().unwrap().contains(&Tuning {
        contrast: 32.0,
        exposure: 7,
    }));

    // A bad value is still a per-image CUSTOM_PARAMS_ERROR.
    let answers = get(
        &mut client,
        vec![ImageRequest {
            custom_params: Some(contrast(-1.0)),
            ..plain
        }],
    )
    .await;
    assert_eq!(answers[0].status, Status::CustomParamsError as i32);
    server.stop().await;
}
