#[spot_service::spot_service(name = "robot-id", authority = "id.spot.robot")]
struct Service {
    serial: String,
}

fn main() {
    let _ = Service { serial: String::new() }.serial;
}
