// Any error that converts into `RpcError` works, so `?` does too.

#[path = "../support/mod.rs"]
mod support;

use std::fmt;

use spot_service::proto::bosdyn::api::common_error::Code;
use spot_service::proto::bosdyn::api::robot_id_service_server::{self, RobotIdService as _};
use spot_service::proto::bosdyn::api::{RobotIdRequest, RobotIdResponse};

#[derive(Debug)]
enum IdError {
    NoCamera(std::io::Error),
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdError::NoCamera(_) => f.write_str("no camera"),
        }
    }
}

impl std::error::Error for IdError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            IdError::NoCamera(error) => Some(error),
        }
    }
}

fn read_serial() -> Result<String, std::io::Error> {
    Err(std::io::Error::other("device gone"))
}

struct Failing;

#[spot_service::spot_service(name = "robot-id", authority = "id.spot.robot")]
impl robot_id_service_server::RobotIdService for Failing {
    async fn get_robot_id(&self, _request: RobotIdRequest) -> Result<RobotIdResponse, IdError> {
        let _serial = read_serial().map_err(IdError::NoCamera)?;
        Ok(RobotIdResponse::default())
    }
}

fn main() {
    let request = tonic::Request::new(RobotIdRequest {
        header: support::request_header("tester"),
    });
    let response = support::block_on(Failing.get_robot_id(request))
        .unwrap()
        .into_inner();
    let message = support::check_header(&response.header, "tester", Code::InternalServerError);
    assert_eq!(message, "no camera: device gone");
}
