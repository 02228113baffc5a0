use spot_service::proto::bosdyn::api::{RobotIdRequest, RobotIdResponse, robot_id_service_server};

struct Service;

#[spot_service::spot_service(name = "robot-id", authority = "id.spot.robot")]
impl Service {
    async fn get_robot_id(&self, _request: RobotIdRequest) -> spot_service::Result<RobotIdResponse> {
        Ok(RobotIdResponse::default())
    }
}

fn main() {
    let _ = Service.get_robot_id(RobotIdRequest::default());
    let _ = robot_id_service_server::RobotIdServiceServer::new(Service);
}
