//! Talking to the robot's lease service: [`LeaseClient`] (acquire, take, return, retain, list)
//! and [`LeaseKeepAlive`], which retains a lease from a [`LeaseWallet`] in the background
//! (`LeaseClient` and `LeaseKeepAlive` of the official SDK).
//!
//! The robot expects a lease holder to check in regularly; a holder that stops doing so loses
//! its lease (the robot treats it as a communication loss). A [`LeaseKeepAlive`] sends
//! `RetainLease` for one resource every [`interval`](LeaseKeepAliveConfig::interval) (2 s, the
//! official `rpc_interval_seconds`) with the wallet's current lease, feeds every answer to the
//! wallet, and stops once the wallet no longer owns the lease.
//!
//! ```no_run
//! # async fn f(channel: tonic::transport::Channel) -> Result<(), Box<dyn std::error::Error>> {
//! use spot_service::lease::LeaseWallet;
//! use spot_service::lease::keepalive::{LeaseClient, LeaseKeepAlive, LeaseKeepAliveConfig};
//!
//! let wallet = LeaseWallet::with_client_name("my-service");
//! let mut client = LeaseClient::new(channel).with_wallet(wallet.clone());
//! client.acquire("body").await?; // added to the wallet
//! let keep_alive = LeaseKeepAlive::spawn(
//!     client,
//!     wallet.clone(),
//!     "body",
//!     LeaseKeepAliveConfig::default().with_return_on_shutdown(true),
//! );
//! // ... command the robot with wallet.get_lease("body")? ...
//! keep_alive.shutdown().await?; // stops retaining and returns the lease
//! # Ok(()) }
//! ```

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tonic::codegen::{Body, Bytes, StdError};

use super::{Lease, LeaseError, LeaseStatus, LeaseUseError, LeaseWallet, check_lease_use_result};
use crate::client::{CallError, default_client_name, unary_call};
use crate::proto::bosdyn::api::lease_service_client::LeaseServiceClient;
use crate::proto::bosdyn::api::{
    self, AcquireLeaseRequest, LeaseOwner, LeaseResource, LeaseUseResult, ListLeasesRequest,
    ListLeasesResponse, RetainLeaseRequest, ReturnLeaseRequest, TakeLeaseRequest,
    acquire_lease_response, return_lease_response, take_lease_response,
};
use crate::proto::{SpotRequest, SpotResponse};

/// The directory name of the robot's lease service.
pub const LEASE_SERVICE_NAME: &str = "lease";
/// The gRPC type of the robot's lease service.
pub const LEASE_SERVICE_TYPE: &str = "bosdyn.api.LeaseService";
/// The authority under which the robot serves leases.
pub const LEASE_AUTHORITY: &str = "api.spot.robot";

/// The official keep-alive's interval between two `RetainLease` calls
/// (`LeaseKeepAlive(rpc_interval_seconds=2)`).
pub const DEFAULT_RETAIN_INTERVAL: Duration = Duration::from_secs(2);

/// A lease service call that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LeaseClientError {
    /// `AcquireLease` answered `STATUS_RESOURCE_ALREADY_CLAIMED`: another client holds the
    /// resource (`ResourceAlreadyClaimedError`); take it with [`LeaseClient::take`] instead.
    #[error("resource {resource:?} is already claimed{}", super::owner_suffix(owner.as_ref()))]
    ResourceAlreadyClaimed {
        /// The resource asked for.
        resource: String,
        /// Its holder, as the robot reported it.
        owner: Option<LeaseOwner>,
    },
    /// `STATUS_INVALID_RESOURCE`: the lease service knows no such resource.
    #[error("{rpc}: the lease service knows no resource {resource:?}")]
    InvalidResource {
        /// The RPC.
        rpc: &'static str,
        /// The resource.
        resource: String,
    },
    /// `STATUS_NOT_AUTHORITATIVE_SERVICE`: this lease service does not own the resource's
    /// leases.
    #[error("{rpc}: the lease service is not authoritative for resource {resource:?}")]
    NotAuthoritativeService {
        /// The RPC.
        rpc: &'static str,
        /// The resource.
        resource: String,
    },
    /// `ReturnLease` answered `STATUS_NOT_ACTIVE_LEASE`: the lease is not the active one (older,
    /// already returned, taken by someone else...).
    #[error("cannot return lease {lease}: it is not the active lease")]
    NotActiveLease {
        /// The lease that was returned.
        lease: Lease,
    },
    /// `RetainLease` answered a `LeaseUseResult` other than `STATUS_OK`.
    #[error("RetainLease: {error}")]
    LeaseUse {
        /// The result as an error.
        error: LeaseUseError,
        /// The result as received.
        result: Box<LeaseUseResult>,
    },
    /// The response carried a status this version does not know (or `STATUS_UNKNOWN`).
    #[error("{rpc} answered {status} ({code})")]
    UnexpectedStatus {
        /// The RPC.
        rpc: &'static str,
        /// The status name from the proto, or `"unknown status"`.
        status: &'static str,
        /// The numeric status.
        code: i32,
    },
    /// The response said OK but lacks what OK promises (e.g. a valid lease).
    #[error("{rpc} answered an invalid response: {reason}")]
    InvalidResponse {
        /// The RPC.
        rpc: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The call itself failed: the response header reported an error (or no outcome at all),
    /// the call failed at the gRPC level (robot unreachable, proxy error, ...), or it did not
    /// finish within the client's RPC timeout.
    #[error(transparent)]
    Call(#[from] CallError),
    /// The wallet has no usable lease to send (e.g. [`LeaseKeepAlive::shutdown`] found it lost).
    #[error(transparent)]
    Wallet(#[from] LeaseError),
    /// The keep-alive's background task ended abnormally (it panicked or had to be aborted).
    #[error("lease keep-alive task failed: {0}")]
    KeepAliveTask(String),
}

impl LeaseClientError {
    /// The gRPC status, for calls that failed at the gRPC level ([`CallError::Rpc`]).
    pub fn grpc_status(&self) -> Option<&tonic::Status> {
        match self {
            Self::Call(error) => error.status(),
            _ => None,
        }
    }

    /// The lease use error, for [`LeaseUse`](Self::LeaseUse) errors.
    pub fn lease_use_error(&self) -> Option<&LeaseUseError> {
        match self {
            Self::LeaseUse { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// A client of the robot's lease service (`LeaseClient` in the official SDK), over any tonic
/// transport `T` (a plain `Channel`, an authenticated robot channel for
/// [`LEASE_AUTHORITY`], ...).
///
/// Every request gets a stamped request header and every response header is checked
/// ([`check_response`](crate::client::check_response)). With a wallet ([`with_wallet`](Self::with_wallet)) it keeps the wallet
/// up to date as the SDK client does: acquired and taken leases are added, a returned lease's
/// entry is removed, and every `RetainLease` answer is fed to
/// [`LeaseWallet::on_lease_use_result`]. Cloning is cheap when `T` is.
#[derive(Debug, Clone)]
pub struct LeaseClient<T> {
    inner: LeaseServiceClient<T>,
    client_name: String,
    rpc_timeout: Option<Duration>,
    wallet: Option<LeaseWallet>,
}

impl<T> LeaseClient<T>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    /// A client over `transport`, with the official SDK's client name
    /// ([`default_client_name`]), no RPC timeout and no wallet.
    pub fn new(transport: T) -> Self {
        Self::from_client(LeaseServiceClient::new(transport))
    }

    /// Wraps a generated client (e.g. one built `with_origin`); sets spot-service's message
    /// size limits.
    pub fn from_client(inner: LeaseServiceClient<T>) -> Self {
        Self {
            inner: inner
                .max_decoding_message_size(crate::MAX_MESSAGE_SIZE)
                .max_encoding_message_size(crate::MAX_MESSAGE_SIZE),
            client_name: default_client_name(),
            rpc_timeout: None,
            wallet: None,
        }
    }

    /// Sets the `client_name` stamped into request headers (the robot reports it as the
    /// lease's owner).
    #[must_use]
    pub fn with_client_name(mut self, client_name: impl Into<String>) -> Self {
        self.client_name = client_name.into();
        self
    }

    /// Bounds every call: the deadline is sent to the server (`grpc-timeout`) and enforced
    /// locally ([`CallError::Timeout`] in [`LeaseClientError::Call`]). `None` (the default)
    /// waits as long as the transport allows.
    #[must_use]
    pub fn with_rpc_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.rpc_timeout = timeout;
        self
    }

    /// Keeps `wallet` up to date with this client's calls (see the type's docs).
    #[must_use]
    pub fn with_wallet(mut self, wallet: LeaseWallet) -> Self {
        self.wallet = Some(wallet);
        self
    }

    /// The client name stamped into request headers.
    pub fn client_name(&self) -> &str {
        &self.client_name
    }

    /// The RPC timeout (see [`with_rpc_timeout`](Self::with_rpc_timeout)).
    pub fn rpc_timeout(&self) -> Option<Duration> {
        self.rpc_timeout
    }

    /// The wallet this client updates, if any.
    pub fn wallet(&self) -> Option<&LeaseWallet> {
        self.wallet.as_ref()
    }

    /// Leases `resource` if nobody else holds it (`AcquireLease`), and adds the lease to the
    /// wallet, if any. Returns the lease the robot issued (the wallet's current lease is a
    /// sub-lease of it).
    ///
    /// # Errors
    ///
    /// [`LeaseClientError::ResourceAlreadyClaimed`] if another client holds it,
    /// [`LeaseClientError::InvalidResource`], [`LeaseClientError::NotAuthoritativeService`], or
    /// any call failure.
    pub async fn acquire(&mut self, resource: &str) -> Result<Lease, LeaseClientError> {
        const RPC: &str = "AcquireLease";
        use acquire_lease_response::Status;
        let request = AcquireLeaseRequest {
            header: None,
            resource: resource.to_owned(),
        };
        let (timeout, name) = (self.rpc_timeout, self.client_name.clone());
        let response = call(RPC, timeout, &name, request, |r| {
            self.inner.acquire_lease(r)
        })
        .await?;
        let resource = resource.to_owned();
        match Status::try_from(response.status) {
            Ok(Status::Ok) => self.issued(RPC, response.lease),
            Ok(Status::ResourceAlreadyClaimed) => Err(LeaseClientError::ResourceAlreadyClaimed {
                resource,
                owner: response.lease_owner,
            }),
            Ok(Status::InvalidResource) => {
                Err(LeaseClientError::InvalidResource { rpc: RPC, resource })
            }
            Ok(Status::NotAuthoritativeService) => {
                Err(LeaseClientError::NotAuthoritativeService { rpc: RPC, resource })
            }
            other => Err(unexpected(
                RPC,
                other.ok().map(|s| s.as_str_name()),
                response.status,
            )),
        }
    }

    /// Leases `resource` whoever holds it (`TakeLease`), revoking the holder, and adds the lease
    /// to the wallet, if any. Returns the lease the robot issued.
    ///
    /// # Errors
    ///
    /// [`LeaseClientError::InvalidResource`], [`LeaseClientError::NotAuthoritativeService`], or
    /// any call failure.
    pub async fn take(&mut self, resource: &str) -> Result<Lease, LeaseClientError> {
        const RPC: &str = "TakeLease";
        use take_lease_response::Status;
        let request = TakeLeaseRequest {
            header: None,
            resource: resource.to_owned(),
        };
        let (timeout, name) = (self.rpc_timeout, self.client_name.clone());
        let response = call(RPC, timeout, &name, request, |r| self.inner.take_lease(r)).await?;
        let resource = resource.to_owned();
        match Status::try_from(response.status) {
            Ok(Status::Ok) => self.issued(RPC, response.lease),
            Ok(Status::InvalidResource) => {
                Err(LeaseClientError::InvalidResource { rpc: RPC, resource })
            }
            Ok(Status::NotAuthoritativeService) => {
                Err(LeaseClientError::NotAuthoritativeService { rpc: RPC, resource })
            }
            other => Err(unexpected(
                RPC,
                other.ok().map(|s| s.as_str_name()),
                response.status,
            )),
        }
    }

    /// The lease of an OK acquire/take answer, added to the wallet.
    fn issued(
        &self,
        rpc: &'static str,
        lease: Option<api::Lease>,
    ) -> Result<Lease, LeaseClientError> {
        let lease = Lease::from_proto(lease.unwrap_or_default()).map_err(|error| {
            LeaseClientError::InvalidResponse {
                rpc,
                reason: error.to_string(),
            }
        })?;
        if let Some(wallet) = &self.wallet {
            wallet.add(lease.clone())?;
        }
        Ok(lease)
    }

    /// Gives `lease` back (`ReturnLease`). As in the official SDK, the wallet's entry for the
    /// lease's resource is removed first, whatever the answer.
    ///
    /// # Errors
    ///
    /// [`LeaseClientError::NotActiveLease`] if the lease is not the active one,
    /// [`LeaseClientError::InvalidResource`], [`LeaseClientError::NotAuthoritativeService`], or
    /// any call failure.
    pub async fn return_lease(&mut self, lease: &Lease) -> Result<(), LeaseClientError> {
        const RPC: &str = "ReturnLease";
        use return_lease_response::Status;
        if let Some(wallet) = &self.wallet {
            wallet.remove(lease.resource());
        }
        let request = ReturnLeaseRequest {
            header: None,
            lease: Some(lease.as_proto().clone()),
        };
        let (timeout, name) = (self.rpc_timeout, self.client_name.clone());
        let response = call(RPC, timeout, &name, request, |r| self.inner.return_lease(r)).await?;
        let resource = lease.resource().to_owned();
        match Status::try_from(response.status) {
            Ok(Status::Ok) => Ok(()),
            Ok(Status::NotActiveLease) => Err(LeaseClientError::NotActiveLease {
                lease: lease.clone(),
            }),
            Ok(Status::InvalidResource) => {
                Err(LeaseClientError::InvalidResource { rpc: RPC, resource })
            }
            Ok(Status::NotAuthoritativeService) => {
                Err(LeaseClientError::NotAuthoritativeService { rpc: RPC, resource })
            }
            other => Err(unexpected(
                RPC,
                other.ok().map(|s| s.as_str_name()),
                response.status,
            )),
        }
    }

    /// Tells the robot the holder of `lease` is still active (`RetainLease`) and returns the
    /// robot's `LeaseUseResult`, whatever its status; the wallet, if any, is updated from it.
    ///
    /// # Errors
    ///
    /// Call failures only ([`Call`](LeaseClientError::Call), or
    /// [`InvalidResponse`](LeaseClientError::InvalidResponse) for a response without a result).
    pub async fn retain_lease_result(
        &mut self,
        lease: &Lease,
    ) -> Result<LeaseUseResult, LeaseClientError> {
        const RPC: &str = "RetainLease";
        let request = RetainLeaseRequest {
            header: None,
            lease: Some(lease.as_proto().clone()),
        };
        let (timeout, name) = (self.rpc_timeout, self.client_name.clone());
        let response = call(RPC, timeout, &name, request, |r| self.inner.retain_lease(r)).await?;
        let result =
            response
                .lease_use_result
                .ok_or_else(|| LeaseClientError::InvalidResponse {
                    rpc: RPC,
                    reason: "no lease_use_result".to_owned(),
                })?;
        if let Some(wallet) = &self.wallet {
            wallet.on_lease_use_result_for(lease.resource(), &result);
        }
        Ok(result)
    }

    /// [`retain_lease_result`](Self::retain_lease_result), with every status other than
    /// `STATUS_OK` as [`LeaseClientError::LeaseUse`] (the official `retain_lease`).
    ///
    /// # Errors
    ///
    /// The lease was not accepted, or the call failed.
    pub async fn retain_lease(&mut self, lease: &Lease) -> Result<(), LeaseClientError> {
        let result = self.retain_lease_result(lease).await?;
        check_lease_use_result(&result).map_err(|error| LeaseClientError::LeaseUse {
            error,
            result: Box::new(result),
        })
    }

    /// Every leasable resource and its holder (`ListLeases`); with `include_full_lease_info`
    /// also the active leases.
    ///
    /// # Errors
    ///
    /// Any call failure.
    pub async fn list_leases(
        &mut self,
        include_full_lease_info: bool,
    ) -> Result<Vec<LeaseResource>, LeaseClientError> {
        Ok(self
            .list_leases_full(include_full_lease_info)
            .await?
            .resources)
    }

    /// The whole `ListLeasesResponse`, including the resource tree.
    ///
    /// # Errors
    ///
    /// Any call failure.
    pub async fn list_leases_full(
        &mut self,
        include_full_lease_info: bool,
    ) -> Result<ListLeasesResponse, LeaseClientError> {
        const RPC: &str = "ListLeases";
        let request = ListLeasesRequest {
            header: None,
            include_full_lease_info,
        };
        let (timeout, name) = (self.rpc_timeout, self.client_name.clone());
        call(RPC, timeout, &name, request, |r| self.inner.list_leases(r)).await
    }
}

fn unexpected(rpc: &'static str, status: Option<&'static str>, code: i32) -> LeaseClientError {
    LeaseClientError::UnexpectedStatus {
        rpc,
        status: status.unwrap_or("unknown status"),
        code,
    }
}

/// Stamps the header, sends with the optional timeout, checks the response header.
async fn call<Req, Resp, F, Fut>(
    rpc: &'static str,
    timeout: Option<Duration>,
    client_name: &str,
    message: Req,
    send: F,
) -> Result<Resp, LeaseClientError>
where
    Req: SpotRequest,
    Resp: SpotResponse,
    F: FnOnce(tonic::Request<Req>) -> Fut,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
{
    unary_call(rpc, client_name, timeout, message, send)
        .await
        .map_err(Into::into)
}

/// The timings and shutdown behaviour of a [`LeaseKeepAlive`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeaseKeepAliveConfig {
    /// Time between the starts of two `RetainLease` calls. Default [`DEFAULT_RETAIN_INTERVAL`]
    /// (2 s, as the official keep-alive). Must be non-zero (zero is treated as 1 ms).
    pub interval: Duration,
    /// Bound on each call (replacing the client's own timeout), and on the wait for the task in
    /// [`LeaseKeepAlive::shutdown`]. Default: one interval (2 s). The official keep-alive has no
    /// bound on retains.
    pub rpc_timeout: Duration,
    /// Whether [`LeaseKeepAlive::shutdown`] returns the lease (the official `return_at_exit`).
    /// Default `false`.
    pub return_on_shutdown: bool,
}

impl Default for LeaseKeepAliveConfig {
    fn default() -> Self {
        Self {
            interval: DEFAULT_RETAIN_INTERVAL,
            rpc_timeout: DEFAULT_RETAIN_INTERVAL,
            return_on_shutdown: false,
        }
    }
}

impl LeaseKeepAliveConfig {
    /// Retains every `interval`, with calls bounded by the same duration.
    #[must_use]
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self.rpc_timeout = interval;
        self
    }

    /// Sets [`rpc_timeout`](Self::rpc_timeout).
    #[must_use]
    pub fn with_rpc_timeout(mut self, rpc_timeout: Duration) -> Self {
        self.rpc_timeout = rpc_timeout;
        self
    }

    /// Sets [`return_on_shutdown`](Self::return_on_shutdown).
    #[must_use]
    pub fn with_return_on_shutdown(mut self, return_on_shutdown: bool) -> Self {
        self.return_on_shutdown = return_on_shutdown;
        self
    }
}

/// What a [`LeaseKeepAlive`] is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeepAliveStatus {
    /// No answer yet.
    Starting,
    /// The last `RetainLease` was accepted (`STATUS_OK`).
    Retained,
    /// The last attempt failed without losing the lease (robot unreachable, header error,
    /// timeout, or a lease use result that leaves the wallet owning the lease, such as
    /// `STATUS_UNMANAGED`); the keep-alive keeps trying.
    Failing {
        /// What went wrong.
        error: String,
        /// Failed attempts in a row.
        attempts: u32,
    },
    /// The wallet no longer owns the lease: revoked (returned elsewhere, gone stale), held by
    /// another client, or from an old epoch (`status`), or its entry was removed (`status` is
    /// `None`). The keep-alive has stopped.
    Lost {
        /// The wallet entry's status, or `None` if the wallet has no entry for the resource.
        status: Option<LeaseStatus>,
        /// The holder the robot reported, if any.
        owner: Option<LeaseOwner>,
    },
    /// Stopped by [`LeaseKeepAlive::shutdown`] (or by dropping it) while the lease was owned.
    Stopped,
}

impl KeepAliveStatus {
    /// Whether the lease was lost ([`KeepAliveStatus::Lost`]).
    pub fn is_lost(&self) -> bool {
        matches!(self, Self::Lost { .. })
    }
}

/// Retains one resource's lease in the background (`LeaseKeepAlive` in the official SDK).
///
/// Every [`interval`](LeaseKeepAliveConfig::interval), from the start of one attempt to the
/// start of the next, it takes the wallet's current lease for the resource
/// ([`LeaseWallet::get_lease`]), sends `RetainLease` (bounded by
/// [`rpc_timeout`](LeaseKeepAliveConfig::rpc_timeout)), and feeds the answer to
/// [`LeaseWallet::on_lease_use_result_for`]. The first retain is sent at once.
///
/// - When the wallet no longer owns the lease (the robot answered `STATUS_REVOKED` or
///   `STATUS_WRONG_EPOCH` for it, or `STATUS_OLDER` because another client took it; or the
///   entry is gone or lost before a retain), it publishes [`KeepAliveStatus::Lost`] and stops.
///   The official keep-alive keeps calling (and failing) until shut down.
/// - Other failures are published as [`KeepAliveStatus::Failing`], logged, and retried at the
///   next interval.
///
/// [`shutdown`](Self::shutdown) stops the task and, if configured, returns the lease. Dropping
/// the keep-alive stops the task without returning the lease. Needs a Tokio runtime.
///
/// Unlike the official keep-alive, it does not acquire the lease when the wallet has none:
/// acquire (or take) it first, e.g. with [`LeaseClient::acquire`] on a client with the wallet.
#[derive(Debug)]
pub struct LeaseKeepAlive {
    resource: String,
    wallet: LeaseWallet,
    cancel: CancellationToken,
    return_on_stop: Arc<AtomicBool>,
    task: Option<JoinHandle<Result<(), LeaseClientError>>>,
    status: watch::Receiver<KeepAliveStatus>,
    rpc_timeout: Duration,
}

impl LeaseKeepAlive {
    /// Starts retaining the wallet's lease for `resource` through `client` (whose own wallet
    /// and timeout are replaced by `wallet` and `config.rpc_timeout`).
    pub fn spawn<T>(
        client: LeaseClient<T>,
        wallet: LeaseWallet,
        resource: impl Into<String>,
        config: LeaseKeepAliveConfig,
    ) -> Self
    where
        T: tonic::client::GrpcService<tonic::body::Body> + Send + 'static,
        T::Error: Into<StdError>,
        T::Future: Send,
        T::ResponseBody: Body<Data = Bytes> + Send + 'static,
        <T::ResponseBody as Body>::Error: Into<StdError> + Send,
    {
        let resource = resource.into();
        let config = LeaseKeepAliveConfig {
            interval: config.interval.max(Duration::from_millis(1)),
            ..config
        };
        let (sender, status) = watch::channel(KeepAliveStatus::Starting);
        let cancel = CancellationToken::new();
        let return_on_stop = Arc::new(AtomicBool::new(config.return_on_shutdown));
        let mut client = client.with_rpc_timeout(Some(config.rpc_timeout));
        // The worker feeds the wallet itself (once per answer).
        client.wallet = None;
        let worker = Worker {
            client,
            wallet: wallet.clone(),
            resource: resource.clone(),
            config,
            status: sender,
        };
        let task = tokio::spawn(worker.run(cancel.clone(), return_on_stop.clone()));
        Self {
            resource,
            wallet,
            cancel,
            return_on_stop,
            task: Some(task),
            status,
            rpc_timeout: config.rpc_timeout,
        }
    }

    /// The resource whose lease is retained.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The wallet the lease comes from.
    pub fn wallet(&self) -> &LeaseWallet {
        &self.wallet
    }

    /// The current status, and every change to it. The sender closes when the task ends (the
    /// last status stays readable).
    pub fn status(&self) -> watch::Receiver<KeepAliveStatus> {
        self.status.clone()
    }

    /// Whether the background task is still running (it ends when the lease is lost).
    pub fn is_alive(&self) -> bool {
        self.task.as_ref().is_some_and(|task| !task.is_finished())
    }

    /// Waits until the lease is lost (the task has stopped by itself) and returns the final
    /// status; waits forever while the lease stays owned.
    pub async fn lost(&self) -> KeepAliveStatus {
        let mut status = self.status();
        loop {
            let current = status.borrow_and_update().clone();
            if current.is_lost() {
                return current;
            }
            if status.changed().await.is_err() {
                return status.borrow().clone();
            }
        }
    }

    /// Stops retaining and, if [`return_on_shutdown`](LeaseKeepAliveConfig::return_on_shutdown)
    /// is set and the wallet still owns the lease, returns it and removes the wallet's entry.
    /// Bounded: the task gets one [`rpc_timeout`](LeaseKeepAliveConfig::rpc_timeout) (plus a
    /// margin) to stop and return the lease, and is aborted after that.
    ///
    /// # Errors
    ///
    /// The return's failure, except the ones that mean the lease is no longer ours
    /// (`NOT_ACTIVE_LEASE`, `INVALID_RESOURCE`, no lease in the wallet), which count as success,
    /// as in the official SDK; or [`LeaseClientError::KeepAliveTask`] if the task panicked or
    /// had to be aborted.
    pub async fn shutdown(mut self) -> Result<(), LeaseClientError> {
        let Some(mut task) = self.task.take() else {
            return Ok(());
        };
        self.cancel.cancel();
        let bound = self.rpc_timeout + Duration::from_millis(500);
        match tokio::time::timeout(bound, &mut task).await {
            Ok(Ok(result)) => result,
            Ok(Err(error)) => Err(LeaseClientError::KeepAliveTask(error.to_string())),
            Err(_) => {
                task.abort();
                Err(LeaseClientError::KeepAliveTask(format!(
                    "did not stop within {bound:?}; aborted"
                )))
            }
        }
    }
}

impl Drop for LeaseKeepAlive {
    fn drop(&mut self) {
        if self.task.is_some() {
            // Stops the loop without returning the lease (no-op after `shutdown`).
            self.return_on_stop.store(false, Ordering::SeqCst);
            self.cancel.cancel();
        }
    }
}

/// The background task's state.
struct Worker<T> {
    client: LeaseClient<T>,
    wallet: LeaseWallet,
    resource: String,
    config: LeaseKeepAliveConfig,
    status: watch::Sender<KeepAliveStatus>,
}

impl<T> Worker<T>
where
    T: tonic::client::GrpcService<tonic::body::Body> + Send + 'static,
    T::Error: Into<StdError>,
    T::Future: Send,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    async fn run(
        mut self,
        cancel: CancellationToken,
        return_on_stop: Arc<AtomicBool>,
    ) -> Result<(), LeaseClientError> {
        tracing::info!(resource = %self.resource, interval = ?self.config.interval, "lease keep-alive started");
        let mut failures = 0u32;
        loop {
            let started = Instant::now();
            let outcome = tokio::select! {
                () = cancel.cancelled() => None,
                outcome = self.check_in(&mut failures) => Some(outcome),
            };
            match outcome {
                None => break,
                Some(Continue::Yes) => {}
                Some(Continue::No) => return Ok(()),
            }
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep_until(started + self.config.interval) => {}
            }
        }
        let result = if return_on_stop.load(Ordering::SeqCst) {
            self.return_lease().await
        } else {
            Ok(())
        };
        self.status.send_if_modified(|status| {
            if status.is_lost() {
                false
            } else {
                *status = KeepAliveStatus::Stopped;
                true
            }
        });
        tracing::info!(resource = %self.resource, "lease keep-alive stopped");
        result
    }

    /// One retain; publishes the outcome.
    async fn check_in(&mut self, failures: &mut u32) -> Continue {
        let lease = match self.wallet.get_lease(&self.resource) {
            Ok(lease) => lease,
            Err(error) => return self.lost(&error.to_string()),
        };
        match self.client.retain_lease_result(&lease).await {
            Ok(result) => {
                let state = self.wallet.on_lease_use_result_for(&self.resource, &result);
                match check_lease_use_result(&result) {
                    Ok(()) => {
                        if *failures > 0 {
                            tracing::info!(resource = %self.resource, "lease retained again");
                        }
                        *failures = 0;
                        self.status.send_replace(KeepAliveStatus::Retained);
                        Continue::Yes
                    }
                    Err(error) if state != Some(LeaseStatus::SelfOwner) => {
                        self.lost(&error.to_string())
                    }
                    Err(error) => self.failed(failures, error.to_string()),
                }
            }
            Err(error) => self.failed(failures, error.to_string()),
        }
    }

    fn failed(&self, failures: &mut u32, error: String) -> Continue {
        *failures = failures.saturating_add(1);
        tracing::warn!(resource = %self.resource, attempts = *failures, %error, "lease retain failed");
        self.status.send_replace(KeepAliveStatus::Failing {
            error,
            attempts: *failures,
        });
        Continue::Yes
    }

    fn lost(&self, reason: &str) -> Continue {
        let (status, owner) = match self.wallet.get_lease_state(&self.resource) {
            Ok(state) => (Some(state.status()), state.owner().cloned()),
            Err(_) => (None, None),
        };
        tracing::warn!(resource = %self.resource, %reason, "lease lost; keep-alive stopping");
        self.status
            .send_replace(KeepAliveStatus::Lost { status, owner });
        Continue::No
    }

    /// Returns the wallet's lease (if still owned) and removes the entry.
    async fn return_lease(&mut self) -> Result<(), LeaseClientError> {
        let Ok(lease) = self.wallet.get_lease(&self.resource) else {
            return Ok(());
        };
        self.wallet.remove(&self.resource);
        match self.client.return_lease(&lease).await {
            Ok(()) => {
                tracing::info!(%lease, "lease returned");
                Ok(())
            }
            Err(
                LeaseClientError::NotActiveLease { .. } | LeaseClientError::InvalidResource { .. },
            ) => Ok(()),
            Err(error) => {
                tracing::warn!(%lease, %error, "could not return the lease");
                Err(error)
            }
        }
    }
}

/// Whether the loop goes on.
enum Continue {
    Yes,
    No,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_official_keep_alive() {
        let config = LeaseKeepAliveConfig::default();
        assert_eq!(config.interval, Duration::from_secs(2));
        assert_eq!(config.rpc_timeout, Duration::from_secs(2));
        assert!(!config.return_on_shutdown);
        let fast = config
            .with_interval(Duration::from_millis(100))
            .with_return_on_shutdown(true);
        assert_eq!(fast.rpc_timeout, Duration::from_millis(100));
        assert!(fast.return_on_shutdown);
    }

    #[test]
    fn error_messages() {
        let claimed = LeaseClientError::ResourceAlreadyClaimed {
            resource: "body".into(),
            owner: Some(LeaseOwner {
                client_name: "tablet".into(),
                user_name: "admin".into(),
            }),
        };
        assert_eq!(
            claimed.to_string(),
            "resource \"body\" is already claimed; held by \"tablet\" (user \"admin\")"
        );
        let lease = Lease::new("body", "e", [3]).unwrap();
        assert_eq!(
            LeaseClientError::NotActiveLease { lease }.to_string(),
            "cannot return lease body@e[3]: it is not the active lease"
        );
    }
}
