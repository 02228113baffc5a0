// The plain shape: the request message in, `spot_service::Result` of the response out.

#[path = "../support/mod.rs"]
mod support;

use spot_service::SpotService;
use spot_service::proto::bosdyn::api::common_error::Code;
use spot_service::proto::bosdyn::api::robot_id_service_server::RobotIdService;
use spot_service::proto::bosdyn::api::{RobotId, RobotIdRequest, RobotIdResponse};

struct MyRobotId {
    serial: String,
}

#[spot_service::spot_service(name = "robot-id", authority = "id.spot.robot")]
impl RobotIdService for MyRobotId
where
    Self: Send,
{
    /// Docs and attributes stay on the handler.
    #[allow(clippy::needless_update)]
    async fn get_robot_id(&self, request: RobotIdRequest) -> spot_service::Result<RobotIdResponse> {
        assert!(request.header.is_some());
        Ok(RobotIdResponse {
            robot_id: Some(RobotId {
                serial_number: self.serial.clone(),
                ..Default::default()
            }),
            ..Default::default()
        })
    }
}

fn main() {
    assert_eq!(
        MyRobotId::METADATA,
        spot_service::ServiceMetadata {
            name: "robot-id",
            service_type: "bosdyn.api.RobotIdService",
            authority: "id.spot.robot",
            user_token_required: true,
        }
    );

    let service = MyRobotId {
        serial: "spot-01".to_owned(),
    };
    let request = tonic::Request::new(RobotIdRequest {
        header: support::request_header("tester"),
    });
    let response = support::block_on(service.get_robot_id(request))
        .unwrap()
        .into_inner();
    assert_eq!(response.robot_id.unwrap().serial_number, "spot-01");
    support::check_header(&response.header, "tester", Code::Ok);

    let mut routes = spot_service::ServiceRoutes::default();
    service.add_to_routes(&mut routes);
}
