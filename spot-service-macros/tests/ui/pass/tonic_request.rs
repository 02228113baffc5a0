// The whole `tonic::Request` in (for metadata), a `tonic::Response` out, and `RpcError`s.

#[path = "../support/mod.rs"]
mod support;

use spot_service::RpcError;
use spot_service::proto::bosdyn::api::common_error::Code;
use spot_service::proto::bosdyn::api::{GetAuthTokenRequest, GetAuthTokenResponse, auth_service_server};
use tonic::{Request, Response};

struct Auth;

#[spot_service::spot_service(name = "auth", authority = "auth.spot.robot", user_token_required = false)]
impl auth_service_server::AuthService for Auth {
    async fn get_auth_token(
        &self,
        request: Request<GetAuthTokenRequest>,
    ) -> Result<Response<GetAuthTokenResponse>, RpcError> {
        let agent = request
            .metadata()
            .get("user-agent-test")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let message = request.into_inner();
        if message.username.is_empty() {
            return Err(RpcError::invalid_request("no username"));
        }
        Ok(tonic::Response::new(GetAuthTokenResponse {
            token: format!("{agent}:{}", message.username),
            ..Default::default()
        }))
    }
}

fn main() {
    use auth_service_server::AuthService as _;

    let mut request = tonic::Request::new(GetAuthTokenRequest {
        header: support::request_header("tester"),
        username: "user".to_owned(),
        ..Default::default()
    });
    request
        .metadata_mut()
        .insert("user-agent-test", "agent".parse().unwrap());
    let response = support::block_on(Auth.get_auth_token(request))
        .unwrap()
        .into_inner();
    assert_eq!(response.token, "agent:user");
    support::check_header(&response.header, "tester", Code::Ok);

    let request = tonic::Request::new(GetAuthTokenRequest {
        header: support::request_header("tester"),
        ..Default::default()
    });
    let response = support::block_on(Auth.get_auth_token(request))
        .unwrap()
        .into_inner();
    let message = support::check_header(&response.header, "tester", Code::InvalidRequest);
    assert_eq!(message, "no username");
}
