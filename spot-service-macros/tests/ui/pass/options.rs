// Every option: `user_token_required = false`, a `service_type` override and an explicit `server`
// (here, a trait imported by name, whose server is named explicitly).

use spot_service::SpotService;
use spot_service::proto::bosdyn::api::{
    TimeSyncUpdateRequest, TimeSyncUpdateResponse, time_sync_service_server,
    time_sync_service_server::TimeSyncService,
};

struct TimeSync;

#[spot_service::spot_service(
    name = "time-sync",
    authority = "api.spot.robot",
    user_token_required = false,
    service_type = "custom.TimeSync",
    server = time_sync_service_server::TimeSyncServiceServer,
)]
impl TimeSyncService for TimeSync {
    async fn time_sync_update(
        &self,
        _request: TimeSyncUpdateRequest,
    ) -> std::result::Result<TimeSyncUpdateResponse, std::io::Error> {
        Ok(TimeSyncUpdateResponse::default())
    }
}

// A single-segment trait path: the server is found through the `ServerFor` link (an import of
// the server beside it is harmless).
mod derived {
    #[allow(unused_imports)]
    use spot_service::proto::bosdyn::api::robot_id_service_server::{
        RobotIdService, RobotIdServiceServer,
    };
    use spot_service::proto::bosdyn::api::{RobotIdRequest, RobotIdResponse};

    pub struct Id;

    #[spot_service::spot_service(name = "robot-id", authority = "id.spot.robot")]
    impl RobotIdService for Id {
        async fn get_robot_id(&self, _: RobotIdRequest) -> spot_service::Result<RobotIdResponse> {
            Ok(RobotIdResponse::default())
        }
    }
}

fn main() {
    assert_eq!(
        TimeSync::METADATA,
        spot_service::ServiceMetadata {
            name: "time-sync",
            service_type: "custom.TimeSync",
            authority: "api.spot.robot",
            user_token_required: false,
        }
    );
    assert_eq!(
        derived::Id::METADATA.service_type,
        "bosdyn.api.RobotIdService"
    );
}
