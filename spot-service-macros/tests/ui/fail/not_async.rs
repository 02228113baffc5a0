use spot_service::proto::bosdyn::api::{RobotIdRequest, RobotIdResponse, robot_id_service_server};

struct Service;

#[spot_service::spot_service(name = "robot-id", authority = "id.spot.robot")]
impl robot_id_service_server::RobotIdService for Service {
    fn get_robot_id(&self, _request: RobotIdRequest) -> spot_service::Result<RobotIdResponse> {
        Ok(RobotIdResponse::default())
    }
}

fn main() {
    // Still a service: no follow-on errors here.
    let _ = spot_service::ServiceRunner::builder;
    let _ = <Service as spot_service::SpotService>::METADATA;
}
