//! [`PowerClient`]: the robot's power service (`bosdyn.api.PowerService`), for switching the
//! motors on and off with a body lease (the official `bosdyn.client.power.PowerClient`).

use std::time::Duration;

use tonic::codegen::{Body, Bytes, StdError};

use crate::client::{CallError, default_client_name, unary_call};
use crate::lease::{Lease, LeaseUseError, check_lease_use_result};
use crate::proto::bosdyn::api::power_command_request::Request as PowerRequest;
use crate::proto::bosdyn::api::power_service_client::PowerServiceClient;
use crate::proto::bosdyn::api::{
    LeaseUseResult, PowerCommandFeedbackRequest, PowerCommandRequest, PowerCommandStatus,
};
use crate::proto::{SpotRequest, SpotResponse};

/// The authority of the robot's power service.
pub const POWER_AUTHORITY: &str = "api.spot.robot";

/// A power service call that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PowerClientError {
    /// The robot refused the lease sent with the command (`lease_use_result` other than OK).
    #[error("PowerCommand: {error}")]
    LeaseUse {
        /// The result as an error.
        error: LeaseUseError,
        /// The result as received, e.g. to report back to a mission.
        result: Box<LeaseUseResult>,
    },
    /// The command was refused or failed: a status other than `STATUS_IN_PROGRESS` and
    /// `STATUS_SUCCESS` (estopped, faulted, overridden by a newer command, ...).
    #[error("{rpc}: {status} ({code})")]
    Status {
        /// The RPC.
        rpc: &'static str,
        /// The status name, or `"unknown status"`.
        status: &'static str,
        /// The numeric status.
        code: i32,
    },
    /// The call itself failed: the response header reported an error (e.g. an unknown command
    /// id), the call failed at the gRPC level, or it did not finish within the client's RPC
    /// timeout.
    #[error(transparent)]
    Call(#[from] CallError),
}

/// Where a power command is: the id to follow it with, and whether it is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowerCommand {
    /// The id for [`PowerClient::feedback`].
    pub id: u32,
    /// Whether the motors already are in the requested state (`STATUS_SUCCESS`); otherwise
    /// the transition is in progress.
    pub done: bool,
}

/// A client for `bosdyn.api.PowerService`: over a channel for [`POWER_AUTHORITY`] from
/// [`Robot::intercepted`](crate::robot::Robot::intercepted).
#[derive(Debug, Clone)]
pub struct PowerClient<T> {
    inner: PowerServiceClient<T>,
    client_name: String,
    rpc_timeout: Option<Duration>,
}

impl<T> PowerClient<T>
where
    T: tonic::client::GrpcService<tonic::body::Body> + Clone,
    T::Error: Into<StdError>,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    /// A client over `transport`, with the official SDK's client name and no RPC timeout.
    pub fn new(transport: T) -> Self {
        Self {
            inner: PowerServiceClient::new(transport),
            client_name: default_client_name(),
            rpc_timeout: None,
        }
    }

    /// Sets the `client_name` stamped into request headers.
    #[must_use]
    pub fn with_client_name(mut self, client_name: impl Into<String>) -> Self {
        self.client_name = client_name.into();
        self
    }

    /// Bounds each call (sent as `grpc-timeout` too). `None`: no bound.
    #[must_use]
    pub fn with_rpc_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.rpc_timeout = timeout;
        self
    }

    async fn call<Req, Resp, F, Fut>(
        &self,
        rpc: &'static str,
        message: Req,
        send: F,
    ) -> Result<Resp, PowerClientError>
    where
        Req: SpotRequest,
        Resp: SpotResponse,
        F: FnOnce(PowerServiceClient<T>, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        let inner = self.inner.clone();
        unary_call(
            rpc,
            &self.client_name,
            self.rpc_timeout,
            message,
            |request| send(inner, request),
        )
        .await
        .map_err(Into::into)
    }

    /// Sends `PowerCommand` with `lease` (the body lease, or a sub-lease of it).
    pub async fn power_command(
        &self,
        request: PowerRequest,
        lease: &Lease,
    ) -> Result<PowerCommand, PowerClientError> {
        const RPC: &str = "PowerCommand";
        let message = PowerCommandRequest {
            header: None,
            lease: Some(lease.as_proto().clone()),
            request: request as i32,
        };
        let response = self
            .call(
                RPC,
                message,
                |mut c, r| async move { c.power_command(r).await },
            )
            .await?;
        if let Some(result) = response.lease_use_result
            && let Err(error) = check_lease_use_result(&result)
        {
            return Err(PowerClientError::LeaseUse {
                error,
                result: Box::new(result),
            });
        }
        match PowerCommandStatus::try_from(response.status) {
            Ok(PowerCommandStatus::StatusInProgress) => Ok(PowerCommand {
                id: response.power_command_id,
                done: false,
            }),
            Ok(PowerCommandStatus::StatusSuccess) => Ok(PowerCommand {
                id: response.power_command_id,
                done: true,
            }),
            other => Err(status_error(RPC, other.ok(), response.status)),
        }
    }

    /// `PowerCommandFeedback` for a command: `Ok(true)` once it succeeded, `Ok(false)` while in
    /// progress, an error if it failed (e.g. `STATUS_OVERRIDDEN`).
    pub async fn feedback(&self, id: u32) -> Result<bool, PowerClientError> {
        const RPC: &str = "PowerCommandFeedback";
        let message = PowerCommandFeedbackRequest {
            header: None,
            power_command_id: id,
        };
        let response = self
            .call(RPC, message, |mut c, r| async move {
                c.power_command_feedback(r).await
            })
            .await?;
        match PowerCommandStatus::try_from(response.status) {
            Ok(PowerCommandStatus::StatusInProgress) => Ok(false),
            Ok(PowerCommandStatus::StatusSuccess) => Ok(true),
            other => Err(status_error(RPC, other.ok(), response.status)),
        }
    }

    /// Sends `request` and polls its feedback every `poll` until it is done.
    pub async fn power_command_and_wait(
        &self,
        request: PowerRequest,
        lease: &Lease,
        poll: Duration,
    ) -> Result<(), PowerClientError> {
        let command = self.power_command(request, lease).await?;
        if command.done {
            return Ok(());
        }
        while !self.feedback(command.id).await? {
            tokio::time::sleep(poll).await;
        }
        Ok(())
    }
}

fn status_error(
    rpc: &'static str,
    status: Option<PowerCommandStatus>,
    code: i32,
) -> PowerClientError {
    PowerClientError::Status {
        rpc,
        status: status.map_or("unknown status", |s| s.as_str_name()),
        code,
    }
}
