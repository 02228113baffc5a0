use spot_service::proto::bosdyn::api::robot_id_service_server::RobotIdService;

struct Hello;

#[spot_service::remote_mission(name = "hello", authority = "a")]
impl RobotIdService for Hello {}

#[spot_service::remote_mission(name = "hello", authority = "a")]
struct NotAnImpl;

fn main() {}
