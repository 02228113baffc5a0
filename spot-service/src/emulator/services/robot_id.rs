//! `bosdyn.api.RobotIdService`: who the robot is.

use crate::emulator::state::{EMULATED_SOFTWARE_VERSION, EmulatorState};
use crate::proto::bosdyn::api::robot_id_service_server::RobotIdService;
use crate::proto::bosdyn::api::{
    RobotId, RobotIdRequest, RobotIdResponse, RobotSoftwareRelease, SoftwareVersion,
};

/// The emulated robot-id service (`robot-id` at `id.spot.robot`, no token needed): a Spot with
/// the configured serial number and nickname, running software 5.2.0.
#[derive(Debug, Clone)]
pub struct EmulatedRobotId {
    state: EmulatorState,
}

impl EmulatedRobotId {
    /// The service over `state`.
    pub fn new(state: EmulatorState) -> Self {
        Self { state }
    }

    /// The identity it answers.
    pub fn robot_id(&self) -> RobotId {
        let config = self.state.config();
        let (major, minor, patch) = EMULATED_SOFTWARE_VERSION;
        RobotId {
            serial_number: config.serial_number.clone(),
            species: "spot".to_owned(),
            version: "V3".to_owned(),
            software_release: Some(RobotSoftwareRelease {
                version: Some(SoftwareVersion {
                    major_version: major,
                    minor_version: minor,
                    patch_level: patch,
                }),
                name: format!("{major}.{minor}.{patch}"),
                r#type: "spot-emulator".to_owned(),
                api_version: format!("{major}.{minor}.{patch}"),
                build_information: concat!("spot-service emulator ", env!("CARGO_PKG_VERSION"))
                    .to_owned(),
                ..Default::default()
            }),
            nickname: config.nickname.clone(),
            computer_serial_number: format!("{}-cpu", config.serial_number),
        }
    }
}

#[crate::spot_service(
    name = "robot-id",
    authority = "id.spot.robot",
    user_token_required = false
)]
impl RobotIdService for EmulatedRobotId {
    async fn get_robot_id(&self, _request: RobotIdRequest) -> crate::Result<RobotIdResponse> {
        Ok(RobotIdResponse {
            header: None,
            robot_id: Some(self.robot_id()),
        })
    }
}
