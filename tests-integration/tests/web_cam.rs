//! The web cam example (its test pattern) against the in-process robot emulator: registered in
//! the directory as `web-cam-service`, called through the robot's proxy (list, JPEG, RAW, the
//! "Contrast" parameter), and its capture faults raised and cleared in the robot state.

use std::future::Future;
use std::time::Duration;

use spot_service::client::{check_response, stamp_request};
use spot_service::fault::fault_id;
use spot_service::image::ImageService;
use spot_service::proto::bosdyn::api::image_response::Status;
use spot_service::proto::bosdyn::api::image_service_client::ImageServiceClient;
use spot_service::proto::bosdyn::api::robot_state_service_client::RobotStateServiceClient;
use spot_service::proto::bosdyn::api::{
    CustomParam, DictParam, DoubleParam, GetImageRequest, ImageRequest, ImageResponse,
    ListImageSourcesRequest, RobotStateRequest, ServiceFaultId, ServiceFaultState, custom_param,
    image,
};
use spot_service::robot::AuthenticatedChannel;
use tests_integration::Served;
use tests_integration::emulated::LoggedIn;
use web_cam::{FailureSwitch, TestPattern, WebCamService};

/// Upper bound for anything a test waits for: no test can hang.
const PATIENCE: Duration = Duration::from_secs(30);
/// Where the robot state service is.
const ROBOT_STATE_AUTHORITY: &str = "api.spot.robot";

async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(PATIENCE, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// Polls `check` every 50 ms until it returns `Some`, for at most [`PATIENCE`].
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    bounded(what, async {
        loop {
            if let Some(value) = check().await {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
}

/// The emulator, a robot logged in to it, and the web cam (a 640x480 test pattern) served by
/// `web_cam::serve` and registered with it.
struct Setup {
    robot: LoggedIn,
    failure: FailureSwitch,
    served: Served,
}

impl Setup {
    async fn start() -> Self {
        let robot = LoggedIn::start().await;
        let pattern = TestPattern::default();
        let failure = pattern.failure_switch();
        let service = ImageService::new(WebCamService).source(pattern).unwrap();
        let served = {
            let robot = robot.robot.clone();
            Served::start(move |ready, stop| async move {
                web_cam::serve(Some(&robot), service, "127.0.0.1", 0, ready, stop).await
            })
            .await
        };
        Self {
            robot,
            failure,
            served,
        }
    }

    /// A client of the web cam through the robot, once it is in the directory.
    async fn client(&self) -> ImageServiceClient<AuthenticatedChannel> {
        let channel = eventually("web-cam-service in the directory", || async {
            self.robot
                .robot
                .service_channel(web_cam::DIRECTORY_NAME)
                .await
                .ok()
        })
        .await;
        ImageServiceClient::new(channel).max_decoding_message_size(spot_service::MAX_MESSAGE_SIZE)
    }

    /// The service fault state, from `GetRobotState` through the robot.
    async fn fault_state(&self) -> ServiceFaultState {
        let channel = self
            .robot
            .robot
            .intercepted(ROBOT_STATE_AUTHORITY)
            .await
            .unwrap();
        let mut client = RobotStateServiceClient::new(channel);
        let mut request = RobotStateRequest { header: None };
        stamp_request(&mut request, "web-cam-test");
        let response = bounded("GetRobotState", client.get_robot_state(request))
            .await
            .expect("GetRobotState answers")
            .into_inner();
        check_response(response)
            .expect("GetRobotState header is OK")
            .robot_state
            .expect("robot_state is set")
            .service_fault_state
            .expect("service_fault_state is set")
    }

    async fn stop(self) {
        self.served.stop().await;
        self.robot.stop().await;
    }
}

fn capture_fault() -> ServiceFaultId {
    fault_id("Image Capture Failure for test-pattern", "web-cam-service")
}

fn request(format: image::Format, pixel: image::PixelFormat) -> ImageRequest {
    ImageRequest {
        image_source_name: "test-pattern".into(),
        image_format: format as i32,
        pixel_format: pixel as i32,
        ..Default::default()
    }
}

fn with_contrast(mut request: ImageRequest, value: f64) -> ImageRequest {
    request.custom_params = Some(DictParam {
        values: [(
            "Contrast".to_owned(),
            CustomParam {
                value: Some(custom_param::Value::DoubleValue(DoubleParam { value })),
            },
        )]
        .into(),
    });
    request
}

async fn get(
    client: &mut ImageServiceClient<AuthenticatedChannel>,
    requests: Vec<ImageRequest>,
) -> Vec<ImageResponse> {
    let response = bounded(
        "GetImage",
        client.get_image(GetImageRequest {
            header: None,
            image_requests: requests,
        }),
    )
    .await
    .expect("GetImage answers")
    .into_inner();
    assert_eq!(response.header.unwrap().error.unwrap().code, 1, "CODE_OK");
    response.image_responses
}

fn image_of(answer: &ImageResponse) -> &spot_service::proto::bosdyn::api::Image {
    answer
        .shot
        .as_ref()
        .expect("shot")
        .image
        .as_ref()
        .expect("image")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_the_test_pattern_and_serves_jpeg_and_raw_through_the_robot() {
    let setup = Setup::start().await;
    let mut client = setup.client().await;

    let sources = bounded(
        "ListImageSources",
        client.list_image_sources(ListImageSourcesRequest { header: None }),
    )
    .await
    .expect("ListImageSources answers")
    .into_inner()
    .image_sources;
    assert_eq!(sources.len(), 1, "{sources:?}");
    let source = &sources[0];
    assert_eq!(source.name, "test-pattern");
    assert_eq!((source.cols, source.rows), (640, 480));
    assert_eq!(
        source.pixel_formats,
        [
            image::PixelFormat::RgbU8 as i32,
            image::PixelFormat::GreyscaleU8 as i32
        ]
    );
    let spec = source.custom_params.as_ref().expect("a parameter spec");
    assert!(spec.specs.contains_key("Contrast"), "{spec:?}");

    use image::{Format as F, PixelFormat as P};
    let answers = get(
        &mut client,
        vec![
            request(F::Jpeg, P::RgbU8),
            request(F::Raw, P::RgbU8),
            request(F::Raw, P::GreyscaleU8),
            with_contrast(request(F::Raw, P::RgbU8), 0.0),
        ],
    )
    .await;
    let statuses: Vec<i32> = answers.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Status::Ok as i32; 4]);

    let jpeg = image_of(&answers[0]);
    assert_eq!((jpeg.cols, jpeg.rows), (640, 480));
    assert_eq!(jpeg.format, F::Jpeg as i32);
    assert_eq!(&jpeg.data[..2], &[0xff, 0xd8], "a JPEG");

    let rgb = image_of(&answers[1]);
    assert_eq!(
        (rgb.cols, rgb.rows, rgb.format, rgb.pixel_format),
        (640, 480, F::Raw as i32, P::RgbU8 as i32)
    );
    assert_eq!(rgb.data.len(), 640 * 480 * 3);
    assert!(
        rgb.data.iter().any(|&v| v != rgb.data[0]),
        "colour bars, not a flat image"
    );

    let grey = image_of(&answers[2]);
    assert_eq!(grey.pixel_format, P::GreyscaleU8 as i32);
    assert_eq!(grey.data.len(), 640 * 480);

    // Contrast 0: every value is mid-grey.
    let flat = image_of(&answers[3]);
    assert_eq!(flat.data.len(), 640 * 480 * 3);
    assert!(
        flat.data.iter().all(|&v| v == 128),
        "contrast 0 is flat grey"
    );

    assert!(answers[0].shot.as_ref().unwrap().acquisition_time.is_some());
    setup.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_capture_raises_the_fault_on_the_robot_until_it_recovers() {
    let setup = Setup::start().await;
    let mut client = setup.client().await;
    let fault = capture_fault();
    use image::{Format as F, PixelFormat as P};

    // Working: images, and no fault.
    let answers = get(&mut client, vec![request(F::Jpeg, P::RgbU8)]).await;
    assert_eq!(answers[0].status, Status::Ok as i32);

    // The camera fails: requests answer IMAGE_DATA_ERROR, the robot shows the fault.
    setup.failure.fail();
    eventually("IMAGE_DATA_ERROR", || {
        let mut client = client.clone();
        async move {
            let answers = get(&mut client, vec![request(F::Jpeg, P::RgbU8)]).await;
            (answers[0].status == Status::ImageDataError as i32).then_some(())
        }
    })
    .await;
    let raised = eventually("the fault in the robot state", || async {
        let state = setup.fault_state().await;
        state
            .faults
            .into_iter()
            .find(|f| f.fault_id.as_ref() == Some(&fault))
    })
    .await;
    assert!(
        raised.error_message.contains("switched to fail"),
        "{raised:?}"
    );
    let answers = get(&mut client, vec![request(F::Raw, P::RgbU8)]).await;
    assert_eq!(answers[0].status, Status::ImageDataError as i32);

    // It recovers: images again, and the fault is cleared.
    setup.failure.recover();
    eventually("images again", || {
        let mut client = client.clone();
        async move {
            let answers = get(&mut client, vec![request(F::Jpeg, P::RgbU8)]).await;
            (answers[0].status == Status::Ok as i32).then_some(())
        }
    })
    .await;
    eventually("the fault cleared", || async {
        let state = setup.fault_state().await;
        (!state
            .faults
            .iter()
            .any(|f| f.fault_id.as_ref() == Some(&fault)))
        .then_some(())
    })
    .await;
    assert!(!setup.robot.emulator.faults().is_active(&fault));
    setup.stop().await;
}
