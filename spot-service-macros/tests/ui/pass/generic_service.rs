// A generic service type: the impl's generics and where clause apply to every generated item.

#[path = "../support/mod.rs"]
mod support;

use spot_service::SpotService;
use spot_service::proto::bosdyn::api::common_error::Code;
use spot_service::proto::bosdyn::api::{
    RobotId, RobotIdRequest, RobotIdResponse, robot_id_service_server,
};

trait Identity {
    fn serial(&self) -> String;
}

struct Fixed;

impl Identity for Fixed {
    fn serial(&self) -> String {
        "fixed".to_owned()
    }
}

struct IdService<I, const N: usize> {
    identity: I,
}

#[spot_service::spot_service(name = "robot-id", authority = "id.spot.robot")]
impl<I, const N: usize> robot_id_service_server::RobotIdService for IdService<I, N>
where
    I: Identity + Send + Sync + 'static,
{
    async fn get_robot_id(&self, _: RobotIdRequest) -> spot_service::Result<RobotIdResponse> {
        Ok(RobotIdResponse {
            robot_id: Some(RobotId {
                serial_number: format!("{}-{N}", self.identity.serial()),
                ..Default::default()
            }),
            ..Default::default()
        })
    }
}

fn main() {
    use robot_id_service_server::RobotIdService as _;

    assert_eq!(
        <IdService<Fixed, 3>>::METADATA.service_type,
        "bosdyn.api.RobotIdService"
    );
    let service = IdService::<Fixed, 3> { identity: Fixed };
    let request = tonic::Request::new(RobotIdRequest {
        header: support::request_header("tester"),
    });
    let response = support::block_on(service.get_robot_id(request))
        .unwrap()
        .into_inner();
    assert_eq!(response.robot_id.unwrap().serial_number, "fixed-3");
    support::check_header(&response.header, "tester", Code::Ok);
}
