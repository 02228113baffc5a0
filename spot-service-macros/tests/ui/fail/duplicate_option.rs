use spot_service::proto::bosdyn::api::{RobotIdRequest, RobotIdResponse, robot_id_service_server};

struct Service;

#[spot_service::spot_service(name = "robot-id", authority = "id.spot.robot", name = "other")]
impl robot_id_service_server::RobotIdService for Service {
    async fn get_robot_id(&self, _request: RobotIdRequest) -> spot_service::Result<RobotIdResponse> {
        Ok(RobotIdResponse::default())
    }
}

fn main() {}
