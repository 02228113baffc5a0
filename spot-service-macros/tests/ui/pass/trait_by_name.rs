// A trait imported by its bare name: the server is found through the `ServerFor` link that
// spot-service-build generates, so `RobotIdServiceServer` need not be in scope.
use spot_service::SpotService;
use spot_service::proto::bosdyn::api::robot_id_service_server::RobotIdService;
use spot_service::proto::bosdyn::api::{RobotIdRequest, RobotIdResponse};

struct Service;

#[spot_service::spot_service(name = "robot-id", authority = "id.spot.robot")]
impl RobotIdService for Service {
    async fn get_robot_id(&self, _request: RobotIdRequest) -> spot_service::Result<RobotIdResponse> {
        Ok(RobotIdResponse::default())
    }
}

fn main() {
    assert_eq!(Service::METADATA.service_type, "bosdyn.api.RobotIdService");
    let mut routes = spot_service::ServiceRoutes::default();
    Service.add_to_routes(&mut routes);
}
