//! The robot services the emulator answers itself, each a `#[spot_service]` over an
//! [`EmulatorState`]:
//!
//! | Service | Directory name | Authority | Token |
//! | --- | --- | --- | --- |
//! | [`EmulatedAuth`] (`AuthService`) | `auth` | `auth.spot.robot` | no |
//! | [`EmulatedRobotId`] (`RobotIdService`) | `robot-id` | `id.spot.robot` | no |
//! | [`EmulatedDirectory`] (`DirectoryService`) | `directory` | `api.spot.robot` | yes |
//! | [`EmulatedDirectoryRegistration`] (`DirectoryRegistrationService`) | `directory-registration` | `api.spot.robot` | yes |
//! | [`EmulatedPayloadRegistration`] (`PayloadRegistrationService`) | `payload-registration` | `payload-registration.spot.robot` | no |
//!
//! They answer the statuses of the official robot; failures that have no status (a malformed
//! request) are answered with `CODE_INVALID_REQUEST` in the response header. Host them all with
//! [`add_all`]:
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use spot_service::ServiceRunner;
//! use spot_service::emulator::services;
//! use spot_service::emulator::state::{EmulatorConfig, EmulatorState};
//!
//! let state = EmulatorState::new(EmulatorConfig::default().with_user("admin", "secret"))?;
//! let runner = services::add_all(ServiceRunner::builder().host("127.0.0.1"), &state)
//!     .build()
//!     .await?;
//! # Ok(())
//! # }
//! ```

mod auth;
mod directory;
mod directory_registration;
pub mod faults;
pub mod lease;
mod payload_registration;
pub mod power;
mod robot_id;
pub mod time_sync;

pub use auth::EmulatedAuth;
pub use directory::EmulatedDirectory;
pub use directory_registration::EmulatedDirectoryRegistration;
pub use faults::{EmulatedFaultService, EmulatedRobotState, FaultBoard};
pub use payload_registration::EmulatedPayloadRegistration;
pub use robot_id::EmulatedRobotId;
pub use time_sync::EmulatedTimeSync;

use crate::proto::bosdyn::api::{ServiceEntry, service_entry};
use crate::{ServiceMetadata, ServiceRunnerBuilder, SpotService};

use super::state::EmulatorState;

/// Adds the five emulated services, sharing `state`, to a runner.
pub fn add_all(builder: ServiceRunnerBuilder, state: &EmulatorState) -> ServiceRunnerBuilder {
    builder
        .add_service(EmulatedAuth::new(state.clone()))
        .add_service(EmulatedRobotId::new(state.clone()))
        .add_service(EmulatedDirectory::new(state.clone()))
        .add_service(EmulatedDirectoryRegistration::new(state.clone()))
        .add_service(EmulatedPayloadRegistration::new(state.clone()))
}

/// The registration metadata of every service the emulator answers itself: the five above, and
/// the lease, power, time-sync, fault and robot-state services the emulated robot hosts at
/// `api.spot.robot`.
pub fn builtin_metadata() -> [ServiceMetadata; 10] {
    [
        EmulatedAuth::METADATA,
        EmulatedRobotId::METADATA,
        EmulatedDirectory::METADATA,
        EmulatedDirectoryRegistration::METADATA,
        EmulatedPayloadRegistration::METADATA,
        lease::EmulatedLease::METADATA,
        power::EmulatedPower::METADATA,
        EmulatedTimeSync::METADATA,
        EmulatedFaultService::METADATA,
        EmulatedRobotState::METADATA,
    ]
}

/// The directory entries of the services the emulator answers itself
/// ([`builtin_metadata`]), as the directory lists them (the robot's directory lists its own
/// services too, so that `robot.ensure_client("lease")` finds them). `last_update` is left unset.
pub fn builtin_service_entries() -> Vec<ServiceEntry> {
    builtin_metadata()
        .into_iter()
        .map(|metadata| ServiceEntry {
            name: metadata.name.to_owned(),
            service_type: Some(service_entry::ServiceType::Type(
                metadata.service_type.to_owned(),
            )),
            authority: metadata.authority.to_owned(),
            user_token_required: metadata.user_token_required,
            ..Default::default()
        })
        .collect()
}
