//! `bosdyn.api.DirectoryRegistrationService`: registering, updating and unregistering services.

use crate::RpcError;
use crate::emulator::state::{DirectoryError, EmulatorState, TokenOwner};
use crate::proto::bosdyn::api::directory_registration_service_server::DirectoryRegistrationService;
use crate::proto::bosdyn::api::{
    RegisterServiceRequest, RegisterServiceResponse, ServiceEntry, UnregisterServiceRequest,
    UnregisterServiceResponse, UpdateServiceRequest, UpdateServiceResponse,
    register_service_response, unregister_service_response, update_service_response,
};

/// The emulated directory registration service (`directory-registration` at
/// `api.spot.robot`). Register and Update are heartbeats: they restart the entry's liveness
/// timeout. A service registered with a payload token gets that payload's GUID as
/// `host_payload_guid` unless the entry names one.
#[derive(Debug, Clone)]
pub struct EmulatedDirectoryRegistration {
    state: EmulatorState,
}

impl EmulatedDirectoryRegistration {
    /// The service over `state`.
    pub fn new(state: EmulatorState) -> Self {
        Self { state }
    }

    /// The entry of a Register/Update request, with `host_payload_guid` filled from the
    /// caller's payload token if it has one.
    fn entry_of<T>(
        &self,
        request: &tonic::Request<T>,
        entry: Option<ServiceEntry>,
    ) -> ServiceEntry {
        let mut entry = entry.unwrap_or_default();
        if entry.host_payload_guid.is_empty()
            && let Some(TokenOwner::Payload(guid)) =
                bearer_token(request).and_then(|token| self.state.token_owner(token))
        {
            entry.host_payload_guid = guid;
        }
        entry
    }
}

/// The token of an `authorization: Bearer <token>` header.
fn bearer_token<T>(request: &tonic::Request<T>) -> Option<&str> {
    let value = request.metadata().get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Directory failures without a status of their own become `CODE_INVALID_REQUEST`.
fn invalid(error: DirectoryError) -> RpcError {
    RpcError::invalid_request(error.to_string())
}

#[crate::spot_service(name = "directory-registration", authority = "api.spot.robot")]
impl DirectoryRegistrationService for EmulatedDirectoryRegistration {
    async fn register_service(
        &self,
        request: tonic::Request<RegisterServiceRequest>,
    ) -> Result<tonic::Response<RegisterServiceResponse>, RpcError> {
        use register_service_response::Status;
        let entry = self.entry_of(&request, request.get_ref().service_entry.clone());
        let endpoint = request.into_inner().endpoint;
        let status = match self.state.register_service(entry, endpoint) {
            Ok(_) => Status::Ok,
            Err(DirectoryError::AlreadyExists(_)) => Status::AlreadyExists,
            Err(error) => return Err(invalid(error)),
        };
        Ok(tonic::Response::new(RegisterServiceResponse {
            header: None,
            status: status as i32,
        }))
    }

    async fn unregister_service(
        &self,
        request: UnregisterServiceRequest,
    ) -> crate::Result<UnregisterServiceResponse> {
        use unregister_service_response::Status;
        let status = match self.state.unregister_service(&request.service_name) {
            Ok(()) => Status::Ok,
            Err(DirectoryError::NonexistentService(_)) => Status::NonexistentService,
            Err(error) => return Err(invalid(error)),
        };
        Ok(UnregisterServiceResponse {
            header: None,
            status: status as i32,
        })
    }

    async fn update_service(
        &self,
        request: tonic::Request<UpdateServiceRequest>,
    ) -> Result<tonic::Response<UpdateServiceResponse>, RpcError> {
        use update_service_response::Status;
        let entry = self.entry_of(&request, request.get_ref().service_entry.clone());
        let endpoint = request.into_inner().endpoint;
        let status = match self.state.update_service(entry, endpoint) {
            Ok(_) => Status::Ok,
            Err(DirectoryError::NonexistentService(_)) => Status::NonexistentService,
            Err(error) => return Err(invalid(error)),
        };
        Ok(tonic::Response::new(UpdateServiceResponse {
            header: None,
            status: status as i32,
        }))
    }
}
