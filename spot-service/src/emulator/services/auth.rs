//! `bosdyn.api.AuthService`: logins and token refreshes.

use crate::emulator::state::{AuthFailure, EmulatorState};
use crate::proto::bosdyn::api::auth_service_server::AuthService;
use crate::proto::bosdyn::api::{
    GetAuthTokenRequest, GetAuthTokenResponse, get_auth_token_response::Status,
};

/// The emulated auth service (`auth` at `auth.spot.robot`, no token needed): `GetAuthToken`
/// with a username and password logs in, with a token refreshes it.
#[derive(Debug, Clone)]
pub struct EmulatedAuth {
    state: EmulatorState,
}

impl EmulatedAuth {
    /// The service over `state`.
    pub fn new(state: EmulatorState) -> Self {
        Self { state }
    }
}

#[crate::spot_service(
    name = "auth",
    authority = "auth.spot.robot",
    user_token_required = false
)]
impl AuthService for EmulatedAuth {
    async fn get_auth_token(
        &self,
        request: GetAuthTokenRequest,
    ) -> crate::Result<GetAuthTokenResponse> {
        let result = if request.token.is_empty() {
            self.state.login(&request.username, &request.password)
        } else {
            self.state.refresh_token(&request.token)
        };
        let (status, token) = match result {
            Ok(token) => (Status::Ok, token),
            Err(AuthFailure::InvalidLogin) => (Status::InvalidLogin, String::new()),
            Err(AuthFailure::InvalidToken) => (Status::InvalidToken, String::new()),
            Err(AuthFailure::TemporarilyLockedOut) => (Status::TemporarilyLockedOut, String::new()),
        };
        Ok(GetAuthTokenResponse {
            header: None,
            status: status as i32,
            token,
        })
    }
}
