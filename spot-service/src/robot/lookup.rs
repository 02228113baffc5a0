//! [`Robot::service_channel`]: reach a service by its directory name, as the official
//! `robot.ensure_client(name)` does.

use super::{AuthenticatedChannel, DIRECTORY_AUTHORITY, Robot, RobotError};
use crate::client::{CallError, unary_call};
use crate::proto::bosdyn::api::GetServiceEntryRequest;
use crate::proto::bosdyn::api::directory_service_client::DirectoryServiceClient;
use crate::proto::bosdyn::api::get_service_entry_response::Status;

/// Why a service could not be looked up in the robot's directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceLookupError {
    /// The directory has no service with this name (not registered, or not yet).
    #[error("service {0:?} is not in the robot's directory")]
    NotFound(String),
    /// The directory answered a status this version does not know.
    #[error("the directory answered status {status} for service {name:?}")]
    UnexpectedStatus {
        /// The service name.
        name: String,
        /// The numeric status.
        status: i32,
    },
    /// The directory call (`GetServiceEntry`) failed: its response header reported an error,
    /// it failed at the gRPC level, or it timed out.
    #[error(transparent)]
    Call(#[from] CallError),
    /// No channel to the directory or to the service's authority.
    #[error(transparent)]
    Robot(#[from] RobotError),
}

impl Robot {
    /// The channel (with this robot's token) to the service registered under `name` in the
    /// robot's directory: looks the service up (`GetServiceEntry`) and connects to its
    /// authority through the robot.
    pub async fn service_channel(
        &self,
        name: &str,
    ) -> Result<AuthenticatedChannel, ServiceLookupError> {
        let directory = DirectoryServiceClient::new(self.intercepted(DIRECTORY_AUTHORITY).await?);
        let request = GetServiceEntryRequest {
            header: None,
            service_name: name.to_owned(),
        };
        let response = unary_call("GetServiceEntry", self.client_name(), None, request, |r| {
            let mut directory = directory.clone();
            async move { directory.get_service_entry(r).await }
        })
        .await?;
        match (Status::try_from(response.status), response.service_entry) {
            (Ok(Status::Ok), Some(entry)) => Ok(self.intercepted(&entry.authority).await?),
            (Ok(Status::Ok | Status::NonexistentService), _) => {
                Err(ServiceLookupError::NotFound(name.to_owned()))
            }
            (_, _) => Err(ServiceLookupError::UnexpectedStatus {
                name: name.to_owned(),
                status: response.status,
            }),
        }
    }
}
