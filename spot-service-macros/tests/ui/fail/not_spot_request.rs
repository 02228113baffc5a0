// A message without a Spot header (or compiled without spot-service-build) cannot be served.

#[path = "../support/server.rs"]
#[macro_use]
mod server;

use spot_service::proto::bosdyn::api::{RobotIdRequest, RobotIdResponse};
use spot_service::proto::prost_types::Duration;

pub mod plain_server {
    use super::{Duration, RobotIdRequest, RobotIdResponse};

    #[tonic::async_trait]
    pub trait Plain: Send + Sync + 'static {
        async fn get(
            &self,
            request: tonic::Request<Duration>,
        ) -> std::result::Result<tonic::Response<RobotIdResponse>, tonic::Status>;

        async fn put(
            &self,
            request: tonic::Request<RobotIdRequest>,
        ) -> std::result::Result<tonic::Response<Duration>, tonic::Status>;
    }

    fake_server!(PlainServer: Plain = "test.Plain");
}

struct Service;

#[spot_service::spot_service(name = "plain", authority = "plain.spot.robot")]
impl plain_server::Plain for Service {
    async fn get(&self, _request: Duration) -> spot_service::Result<RobotIdResponse> {
        Ok(RobotIdResponse::default())
    }

    async fn put(&self, _request: RobotIdRequest) -> spot_service::Result<Duration> {
        Ok(Duration::default())
    }
}

fn main() {}
