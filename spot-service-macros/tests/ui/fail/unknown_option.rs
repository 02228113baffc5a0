use spot_service::proto::bosdyn::api::{RobotIdRequest, RobotIdResponse, robot_id_service_server};

struct Service;

#[spot_service::spot_service(nmae = "robot-id", authority = "id.spot.robot", port = 50051)]
impl robot_id_service_server::RobotIdService for Service {
    async fn get_robot_id(&self, _request: RobotIdRequest) -> spot_service::Result<RobotIdResponse> {
        Ok(RobotIdResponse::default())
    }
}

fn main() {}
