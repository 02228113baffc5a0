//! `bosdyn.api.PayloadRegistrationService`: registering payloads and getting payload tokens.

use crate::RpcError;
use crate::emulator::state::{EmulatorState, PayloadError};
use crate::proto::bosdyn::api::payload_registration_service_server::PayloadRegistrationService;
use crate::proto::bosdyn::api::{
    GetPayloadAuthTokenRequest, GetPayloadAuthTokenResponse, PayloadCredentials,
    RegisterPayloadRequest, RegisterPayloadResponse, UpdatePayloadAttachedRequest,
    UpdatePayloadAttachedResponse, UpdatePayloadVersionRequest, UpdatePayloadVersionResponse,
    get_payload_auth_token_response, register_payload_response, update_payload_attached_request,
    update_payload_attached_response, update_payload_version_response,
};

/// The emulated payload registration service (`payload-registration` at
/// `payload-registration.spot.robot`, no token needed). Registered payloads wait for an operator
/// ([`EmulatorState::authorize_payload`]) unless `auto_authorize` is configured.
#[derive(Debug, Clone)]
pub struct EmulatedPayloadRegistration {
    state: EmulatorState,
}

impl EmulatedPayloadRegistration {
    /// The service over `state`.
    pub fn new(state: EmulatorState) -> Self {
        Self { state }
    }
}

/// Failures without a status of their own: a malformed request, or a state file that cannot be
/// written.
fn unanswerable(error: PayloadError) -> RpcError {
    match error {
        PayloadError::Persist(error) => RpcError::internal(error.to_string()),
        other => RpcError::invalid_request(other.to_string()),
    }
}

fn credentials(credentials: Option<PayloadCredentials>) -> PayloadCredentials {
    credentials.unwrap_or_default()
}

#[crate::spot_service(
    name = "payload-registration",
    authority = "payload-registration.spot.robot",
    user_token_required = false
)]
impl PayloadRegistrationService for EmulatedPayloadRegistration {
    async fn register_payload(
        &self,
        request: RegisterPayloadRequest,
    ) -> crate::Result<RegisterPayloadResponse> {
        use register_payload_response::Status;
        let Some(payload) = request.payload else {
            return Err(RpcError::invalid_request("payload is missing"));
        };
        let status = match self
            .state
            .register_payload(payload, &request.payload_secret)
        {
            Ok(()) => Status::Ok,
            Err(PayloadError::AlreadyExists(_)) => Status::AlreadyExists,
            Err(error) => return Err(unanswerable(error)),
        };
        Ok(RegisterPayloadResponse {
            header: None,
            status: status as i32,
        })
    }

    async fn update_payload_version(
        &self,
        request: UpdatePayloadVersionRequest,
    ) -> crate::Result<UpdatePayloadVersionResponse> {
        use update_payload_version_response::Status;
        let creds = credentials(request.payload_credentials);
        let status = match self.state.update_payload_version(
            &creds.guid,
            &creds.secret,
            request.updated_version,
        ) {
            Ok(()) => Status::Ok,
            Err(PayloadError::DoesNotExist(_)) => Status::DoesNotExist,
            Err(PayloadError::InvalidCredentials(_)) => Status::InvalidCredentials,
            Err(error) => return Err(unanswerable(error)),
        };
        Ok(UpdatePayloadVersionResponse {
            header: None,
            status: status as i32,
        })
    }

    async fn get_payload_auth_token(
        &self,
        request: GetPayloadAuthTokenRequest,
    ) -> crate::Result<GetPayloadAuthTokenResponse> {
        use get_payload_auth_token_response::Status;
        let creds = credentials(request.payload_credentials);
        let (status, token) = match self.state.payload_token(&creds.guid, &creds.secret) {
            Ok(token) => (Status::Ok, token),
            Err(PayloadError::DoesNotExist(_) | PayloadError::InvalidCredentials(_)) => {
                (Status::InvalidCredentials, String::new())
            }
            Err(PayloadError::NotAuthorized(_)) => (Status::PayloadNotAuthorized, String::new()),
            Err(error) => return Err(unanswerable(error)),
        };
        Ok(GetPayloadAuthTokenResponse {
            header: None,
            status: status as i32,
            token,
        })
    }

    async fn update_payload_attached(
        &self,
        request: UpdatePayloadAttachedRequest,
    ) -> crate::Result<UpdatePayloadAttachedResponse> {
        use update_payload_attached_request::Request;
        use update_payload_attached_response::Status;
        let attached = match Request::try_from(request.request) {
            Ok(Request::Attach) => true,
            Ok(Request::Detach) => false,
            _ => {
                return Err(RpcError::invalid_request(format!(
                    "request must be REQUEST_ATTACH or REQUEST_DETACH, not {}",
                    request.request
                )));
            }
        };
        let creds = credentials(request.payload_credentials);
        let status = match self
            .state
            .update_payload_attached(&creds.guid, &creds.secret, attached)
        {
            Ok(()) => Status::Ok,
            Err(PayloadError::DoesNotExist(_)) => Status::DoesNotExist,
            Err(PayloadError::InvalidCredentials(_)) => Status::InvalidCredentials,
            Err(PayloadError::NotAuthorized(_)) => Status::PayloadNotAuthorized,
            Err(error) => return Err(unanswerable(error)),
        };
        Ok(UpdatePayloadAttachedResponse {
            header: None,
            status: status as i32,
        })
    }
}
