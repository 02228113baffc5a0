// Streaming methods and associated types are passed through unchanged; unary methods of the same
// service still get the header handling. (The bosdyn services have no streaming RPCs, so the trait
// and its server are written by hand, shaped like tonic's.)

#[path = "../support/mod.rs"]
mod support;

use spot_service::proto::bosdyn::api::common_error::Code;
use spot_service::proto::bosdyn::api::{RobotIdRequest, RobotIdResponse};

#[path = "../support/server.rs"]
#[macro_use]
mod server;

pub mod chunks_server {
    use super::{RobotIdRequest, RobotIdResponse};

    #[tonic::async_trait]
    pub trait Chunks: Send + Sync + 'static {
        async fn get(
            &self,
            request: tonic::Request<RobotIdRequest>,
        ) -> std::result::Result<tonic::Response<RobotIdResponse>, tonic::Status>;

        type WatchStream: Send + 'static;

        async fn watch(
            &self,
            request: tonic::Request<RobotIdRequest>,
        ) -> std::result::Result<tonic::Response<Self::WatchStream>, tonic::Status>;

        async fn upload(
            &self,
            request: tonic::Request<tonic::Streaming<RobotIdRequest>>,
        ) -> std::result::Result<tonic::Response<RobotIdResponse>, tonic::Status>;
    }

    fake_server!(ChunksServer: Chunks = "test.Chunks");
}

struct Service;

#[spot_service::spot_service(name = "chunks", authority = "chunks.spot.robot")]
impl chunks_server::Chunks for Service {
    async fn get(&self, _request: RobotIdRequest) -> spot_service::Result<RobotIdResponse> {
        Ok(RobotIdResponse::default())
    }

    type WatchStream = Vec<RobotIdResponse>;

    async fn watch(
        &self,
        _request: tonic::Request<RobotIdRequest>,
    ) -> Result<tonic::Response<Self::WatchStream>, tonic::Status> {
        Ok(tonic::Response::new(vec![RobotIdResponse::default()]))
    }

    async fn upload(
        &self,
        _request: tonic::Request<tonic::Streaming<RobotIdRequest>>,
    ) -> Result<tonic::Response<RobotIdResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("not yet"))
    }
}

fn main() {
    use chunks_server::Chunks as _;
    use spot_service::SpotService as _;

    assert_eq!(Service::METADATA.service_type, "test.Chunks");

    let request = tonic::Request::new(RobotIdRequest {
        header: support::request_header("tester"),
    });
    let response = support::block_on(Service.get(request)).unwrap().into_inner();
    support::check_header(&response.header, "tester", Code::Ok);

    // Passed through: no header handling.
    let request = tonic::Request::new(RobotIdRequest::default());
    let stream = support::block_on(Service.watch(request)).unwrap().into_inner();
    assert_eq!(stream[0].header, None);

    let mut routes = spot_service::ServiceRoutes::default();
    Service.add_to_routes(&mut routes);
}
