use spot_service::remote_mission::RemoteMission;

struct Hello;

#[spot_service::remote_mission(name = "hello", authority = "a")]
impl RemoteMission for Hello {}

fn main() {}
