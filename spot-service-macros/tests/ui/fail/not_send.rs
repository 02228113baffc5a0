use std::sync::Mutex;

use spot_service::proto::bosdyn::api::{RobotIdRequest, RobotIdResponse, robot_id_service_server};

struct Service {
    count: Mutex<u32>,
}

async fn tick() {}

#[spot_service::spot_service(name = "robot-id", authority = "id.spot.robot")]
impl robot_id_service_server::RobotIdService for Service {
    async fn get_robot_id(&self, _request: RobotIdRequest) -> spot_service::Result<RobotIdResponse> {
        let count = self.count.lock().unwrap();
        tick().await;
        drop(count);
        Ok(RobotIdResponse::default())
    }
}

fn main() {}
