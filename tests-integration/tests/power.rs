//! The emulator's power service (`EmulatedPower`) hosted with `ServiceRunner` on loopback h2c next
//! to the lease service it shares: motor power on and off with the body lease, the feedback of
//! each command, commands overriding each other, lease refusals and unknown command ids.

use std::time::Duration;

use spot_service::ServiceRunner;
use spot_service::emulator::services::lease::EmulatedLease;
use spot_service::emulator::services::power::{EmulatedPower, PowerState};
use spot_service::emulator::state::{EmulatorConfig, EmulatorState};
use spot_service::lease::Lease;
use spot_service::lease::keepalive::LeaseClient;
use spot_service::proto::bosdyn::api::common_error::Code;
use spot_service::proto::bosdyn::api::lease_use_result::Status as UseStatus;
use spot_service::proto::bosdyn::api::power_command_request::Request;
use spot_service::proto::bosdyn::api::power_service_client::PowerServiceClient;
use spot_service::proto::bosdyn::api::{
    self, PowerCommandFeedbackRequest, PowerCommandFeedbackResponse, PowerCommandRequest,
    PowerCommandResponse, PowerCommandStatus,
};
use tests_integration::{RunningServer, channel, spawn};
use tonic::transport::Channel;

/// Upper bound for anything a test waits for: no test can hang.
const PATIENCE: Duration = Duration::from_secs(10);
/// The power transition time of the tests: short, yet long enough to see a command in progress.
const TRANSITION: Duration = Duration::from_millis(250);

/// Bounds a future by [`PATIENCE`].
async fn bounded<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(PATIENCE, future)
        .await
        .expect("took longer than the test's patience")
}

/// The lease and power services on a loopback port.
struct Robot {
    lease: EmulatedLease,
    power: EmulatedPower,
    _server: RunningServer,
    channel: Channel,
}

impl Robot {
    async fn start() -> Self {
        let state = EmulatorState::new(EmulatorConfig::default()).expect("state");
        let lease = EmulatedLease::new(state);
        let power = EmulatedPower::new(lease.clone()).with_transition_time(TRANSITION);
        let runner = ServiceRunner::builder()
            .host("127.0.0.1")
            .add_service(lease.clone())
            .add_service(power.clone())
            .build()
            .await
            .expect("runner builds");
        let server = spawn(runner);
        let channel = bounded(channel(server.uri())).await;
        Self {
            lease,
            power,
            _server: server,
            channel,
        }
    }

    fn lease_client(&self, name: &str) -> LeaseClient<Channel> {
        LeaseClient::new(self.channel.clone())
            .with_client_name(name)
            .with_rpc_timeout(Some(PATIENCE))
    }

    /// The body lease, acquired by a client named `name`.
    async fn body_lease(&self, name: &str) -> Lease {
        bounded(self.lease_client(name).acquire("body"))
            .await
            .expect("acquires the body lease")
    }

    async fn command(&self, request: Request, lease: Option<api::Lease>) -> PowerCommandResponse {
        let mut client = PowerServiceClient::new(self.channel.clone());
        bounded(client.power_command(PowerCommandRequest {
            header: Some(header()),
            lease,
            request: request as i32,
        }))
        .await
        .expect("PowerCommand answers")
        .into_inner()
    }

    async fn feedback(&self, id: u32) -> PowerCommandFeedbackResponse {
        let mut client = PowerServiceClient::new(self.channel.clone());
        bounded(client.power_command_feedback(PowerCommandFeedbackRequest {
            header: Some(header()),
            power_command_id: id,
        }))
        .await
        .expect("PowerCommandFeedback answers")
        .into_inner()
    }

    /// Polls the feedback of `id` until it is no longer in progress; returns that status.
    async fn settle(&self, id: u32) -> PowerCommandStatus {
        bounded(async {
            loop {
                let status = self.feedback(id).await.status();
                if status != PowerCommandStatus::StatusInProgress {
                    return status;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
    }
}

fn header() -> api::RequestHeader {
    api::RequestHeader {
        client_name: "power-test".into(),
        ..Default::default()
    }
}

fn header_code(header: Option<&api::ResponseHeader>) -> Code {
    header
        .and_then(|h| h.error.as_ref())
        .map_or(Code::Unspecified, |e| e.code())
}

fn use_status(response: &PowerCommandResponse) -> UseStatus {
    response
        .lease_use_result
        .as_ref()
        .expect("a lease use result")
        .status()
}

#[tokio::test]
async fn power_on_then_off_with_the_body_lease() {
    let robot = Robot::start().await;
    assert_eq!(robot.power.state(), PowerState::Off);
    let lease = robot.body_lease("driver").await;

    let on = robot
        .command(Request::OnMotors, Some(lease.as_proto().clone()))
        .await;
    assert_eq!(header_code(on.header.as_ref()), Code::Ok);
    assert_eq!(use_status(&on), UseStatus::Ok);
    assert_eq!(on.status(), PowerCommandStatus::StatusInProgress);
    assert_ne!(on.power_command_id, 0);
    assert_eq!(robot.power.state(), PowerState::PoweringOn);
    let feedback = robot.feedback(on.power_command_id).await;
    assert_eq!(header_code(feedback.header.as_ref()), Code::Ok);
    assert_eq!(feedback.status(), PowerCommandStatus::StatusInProgress);
    assert_eq!(
        robot.settle(on.power_command_id).await,
        PowerCommandStatus::StatusSuccess
    );
    assert_eq!(robot.power.state(), PowerState::On);

    // Powering on again succeeds at once.
    let again = robot
        .command(Request::OnMotors, Some(lease.as_proto().clone()))
        .await;
    assert_eq!(again.status(), PowerCommandStatus::StatusSuccess);
    assert_ne!(again.power_command_id, on.power_command_id);

    // A sub-lease of the body lease (as the SDK's wallet sends) is accepted too.
    let sub = lease.create_sublease(Some("power-test"));
    let off = robot
        .command(Request::OffMotors, Some(sub.into_proto()))
        .await;
    assert_eq!(use_status(&off), UseStatus::Ok);
    assert_eq!(off.status(), PowerCommandStatus::StatusInProgress);
    assert_eq!(robot.power.state(), PowerState::PoweringOff);
    assert_eq!(
        robot.settle(off.power_command_id).await,
        PowerCommandStatus::StatusSuccess
    );
    assert_eq!(robot.power.state(), PowerState::Off);
    // Finished commands keep their outcome.
    assert_eq!(
        robot.feedback(on.power_command_id).await.status(),
        PowerCommandStatus::StatusSuccess
    );
}

#[tokio::test]
async fn a_newer_command_overrides_one_in_progress() {
    let robot = Robot::start().await;
    let lease = robot.body_lease("driver").await;
    let on = robot
        .command(Request::OnMotors, Some(lease.as_proto().clone()))
        .await;
    assert_eq!(on.status(), PowerCommandStatus::StatusInProgress);
    let off = robot
        .command(Request::OffMotors, Some(lease.as_proto().clone()))
        .await;
    assert_eq!(
        robot.feedback(on.power_command_id).await.status(),
        PowerCommandStatus::StatusOverridden
    );
    assert_eq!(
        robot.settle(off.power_command_id).await,
        PowerCommandStatus::StatusSuccess
    );
    assert_eq!(robot.power.state(), PowerState::Off);
}

#[tokio::test]
async fn lease_problems_are_refused() {
    let robot = Robot::start().await;

    // No lease at all.
    let none = robot.command(Request::OnMotors, None).await;
    assert_eq!(header_code(none.header.as_ref()), Code::Ok);
    assert_eq!(use_status(&none), UseStatus::InvalidLease);
    assert_eq!(none.status(), PowerCommandStatus::StatusUnknown);
    assert_eq!(none.power_command_id, 0);

    // A lease on another resource than the body.
    let arm = bounded(robot.lease_client("arm-user").acquire("arm"))
        .await
        .expect("acquires the arm");
    let wrong = robot
        .command(Request::OnMotors, Some(arm.into_proto()))
        .await;
    assert_eq!(use_status(&wrong), UseStatus::InvalidLease);

    // A lease made older by another client's take.
    let mut taker = robot.lease_client("taker");
    let first = bounded(taker.take("body")).await.expect("takes the body");
    let newest = bounded(robot.lease_client("thief").take("body"))
        .await
        .expect("takes the body again");
    let older = robot
        .command(Request::OnMotors, Some(first.as_proto().clone()))
        .await;
    assert_eq!(use_status(&older), UseStatus::Older);
    assert_eq!(older.status(), PowerCommandStatus::StatusUnknown);
    assert_eq!(older.power_command_id, 0);

    // A lease of an earlier epoch (the lease service rebooted).
    robot.lease.reset();
    let stale = robot
        .command(Request::OnMotors, Some(newest.into_proto()))
        .await;
    assert_eq!(use_status(&stale), UseStatus::WrongEpoch);
    assert_eq!(stale.status(), PowerCommandStatus::StatusUnknown);

    // A returned lease.
    let returned = robot.body_lease("returner").await;
    bounded(robot.lease_client("returner").return_lease(&returned))
        .await
        .expect("returns the lease");
    let revoked = robot
        .command(Request::OnMotors, Some(returned.into_proto()))
        .await;
    assert_eq!(use_status(&revoked), UseStatus::Revoked);

    // Nothing moved.
    assert_eq!(robot.power.state(), PowerState::Off);
}

#[tokio::test]
async fn unknown_ids_and_requests_are_invalid() {
    let robot = Robot::start().await;
    for id in [0, 1, 12345] {
        let feedback = robot.feedback(id).await;
        assert_eq!(header_code(feedback.header.as_ref()), Code::InvalidRequest);
        assert_eq!(feedback.status(), PowerCommandStatus::StatusUnknown);
    }
    let lease = robot.body_lease("driver").await;
    for request in [Request::Unknown, Request::OffRobot, Request::OnPayloadPorts] {
        let response = robot.command(request, Some(lease.as_proto().clone())).await;
        assert_eq!(header_code(response.header.as_ref()), Code::InvalidRequest);
        assert_eq!(response.power_command_id, 0);
    }
    // An id is known once issued, and the next one is not.
    let on = robot
        .command(Request::OnMotors, Some(lease.into_proto()))
        .await;
    assert_ne!(
        header_code(robot.feedback(on.power_command_id).await.header.as_ref()),
        Code::InvalidRequest
    );
    assert_eq!(
        header_code(
            robot
                .feedback(on.power_command_id + 1)
                .await
                .header
                .as_ref()
        ),
        Code::InvalidRequest
    );
    assert_eq!(robot.power.state(), PowerState::PoweringOn);
}
