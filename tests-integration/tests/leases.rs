//! The emulator's lease service (`EmulatedLease`) hosted with `ServiceRunner` on loopback h2c,
//! driven by spot-service's `LeaseClient` and `LeaseKeepAlive`: the statuses of every RPC,
//! epochs and sequences, sub-leases, takeovers seen through retains and the wallet, staleness,
//! and the keep-alive's life cycle (retaining, losing the lease, shutting down with a return).

use std::time::Duration;

use spot_service::ServiceRunner;
use spot_service::client::CallError;
use spot_service::emulator::services::lease::{
    DEFAULT_STALE_TIMEOUT, EmulatedLease, EmulatedLeaseConfig, default_resource_tree,
};
use spot_service::emulator::state::{EmulatorConfig, EmulatorState};
use spot_service::lease::keepalive::{
    DEFAULT_RETAIN_INTERVAL, KeepAliveStatus, LeaseClient, LeaseClientError, LeaseKeepAlive,
    LeaseKeepAliveConfig,
};
use spot_service::lease::{
    Lease, LeaseComparison, LeaseError, LeaseStatus, LeaseUseError, LeaseWallet,
};
use spot_service::proto::bosdyn::api::lease_service_client::LeaseServiceClient;
use spot_service::proto::bosdyn::api::lease_use_result::Status as UseStatus;
use spot_service::proto::bosdyn::api::{self, LeaseOwner, LeaseResource};
use tests_integration::{RunningServer, channel, spawn};
use tonic::transport::Channel;

/// Upper bound for anything a test waits for: no test can hang.
const PATIENCE: Duration = Duration::from_secs(10);
/// A short staleness for the tests that watch leases go stale.
const STALE: Duration = Duration::from_secs(1);
/// A keep-alive interval well under [`STALE`].
const RETAIN: Duration = Duration::from_millis(100);

/// Bounds a future by [`PATIENCE`].
async fn bounded<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(PATIENCE, future)
        .await
        .expect("took longer than the test's patience")
}

/// The lease service on a loopback port.
struct Robot {
    lease: EmulatedLease,
    state: EmulatorState,
    server: RunningServer,
    channel: Channel,
}

impl Robot {
    async fn start(config: EmulatedLeaseConfig) -> Self {
        let state = EmulatorState::new(
            EmulatorConfig::default().with_user("admin", "correct horse battery staple"),
        )
        .expect("state");
        let lease = EmulatedLease::with_config(state.clone(), config);
        let runner = ServiceRunner::builder()
            .host("127.0.0.1")
            .add_service(lease.clone())
            .build()
            .await
            .expect("runner builds");
        let server = spawn(runner);
        let channel = bounded(channel(server.uri())).await;
        Self {
            lease,
            state,
            server,
            channel,
        }
    }

    async fn default() -> Self {
        Self::start(EmulatedLeaseConfig::default()).await
    }

    /// A client named `name`, without a wallet.
    fn client(&self, name: &str) -> LeaseClient<Channel> {
        LeaseClient::new(self.channel.clone())
            .with_client_name(name)
            .with_rpc_timeout(Some(PATIENCE))
    }

    /// A client named `name` with a wallet of the same client name.
    fn client_with_wallet(&self, name: &str) -> (LeaseClient<Channel>, LeaseWallet) {
        let wallet = LeaseWallet::with_client_name(name);
        (self.client(name).with_wallet(wallet.clone()), wallet)
    }

    async fn list(&self) -> Vec<LeaseResource> {
        bounded(self.client("observer").list_leases(true))
            .await
            .expect("ListLeases")
    }
}

fn owner(name: &str) -> LeaseOwner {
    LeaseOwner {
        client_name: name.into(),
        user_name: String::new(),
    }
}

fn lease(resource: &str, epoch: &str, sequence: &[u32]) -> Lease {
    Lease::new(resource, epoch, sequence.to_vec()).expect("valid lease")
}

/// Polls `check` every 20 ms until it holds, bounded by [`PATIENCE`].
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn acquire_take_return_and_list() {
    let robot = Robot::default().await;
    let epoch = robot.lease.epoch();
    let (mut a, wallet_a) = robot.client_with_wallet("client-a");
    let (mut b, wallet_b) = robot.client_with_wallet("client-b");

    // Nobody holds anything yet.
    let listed = robot.list().await;
    let names: Vec<_> = listed.iter().map(|r| r.resource.as_str()).collect();
    assert_eq!(names, ["body", "mobility", "arm", "gripper"]);
    assert!(
        listed
            .iter()
            .all(|r| r.lease_owner.is_none() && r.lease.is_none())
    );

    // A acquires the body: epoch of this boot, first sequence, the wallet holds a sub-lease.
    let first = bounded(a.acquire("body")).await.expect("acquire");
    assert_eq!(first.resource(), "body");
    assert_eq!(first.epoch(), epoch);
    assert_eq!(first.sequence(), &[1]);
    let current = wallet_a.get_lease("body").expect("wallet has it");
    assert_eq!(first.compare(&current), LeaseComparison::SuperLease);
    assert_eq!(current.sequence(), &[1, 0]);
    assert_eq!(robot.lease.holder("body"), Some(owner("client-a")));

    // B cannot acquire the body, nor a part of it; the holder is reported.
    for resource in ["body", "arm"] {
        match bounded(b.acquire(resource)).await {
            Err(LeaseClientError::ResourceAlreadyClaimed {
                resource: r,
                owner: o,
            }) => {
                assert_eq!(r, resource);
                assert_eq!(o, Some(owner("client-a")));
            }
            other => panic!("expected RESOURCE_ALREADY_CLAIMED for {resource}, got {other:?}"),
        }
    }
    assert!(matches!(
        wallet_b.get_lease("body"),
        Err(LeaseError::NoSuchLease { .. })
    ));

    // Unknown resources.
    assert!(matches!(
        bounded(b.acquire("tail")).await,
        Err(LeaseClientError::InvalidResource {
            rpc: "AcquireLease",
            ..
        })
    ));
    assert!(matches!(
        bounded(b.take("tail")).await,
        Err(LeaseClientError::InvalidResource {
            rpc: "TakeLease",
            ..
        })
    ));

    // ListLeases: the whole tree is A's, with the same lease; leases only with full info.
    let full = bounded(robot.client("observer").list_leases_full(true))
        .await
        .expect("ListLeases");
    assert_eq!(full.resource_tree, Some(default_resource_tree()));
    for resource in &full.resources {
        assert_eq!(
            resource.lease_owner,
            Some(owner("client-a")),
            "{}",
            resource.resource
        );
        assert!(!resource.is_stale);
        let held = resource.lease.clone().expect("full lease info");
        assert_eq!(held.resource, resource.resource);
        assert_eq!(held.epoch, epoch);
        assert_eq!(held.sequence, [1]);
    }
    let brief = bounded(robot.client("observer").list_leases(false))
        .await
        .expect("ListLeases");
    assert!(
        brief
            .iter()
            .all(|r| r.lease.is_none() && r.lease_owner.is_some())
    );

    // B takes the body: a newer sequence, B is the owner.
    let taken = bounded(b.take("body")).await.expect("take");
    assert_eq!(taken.epoch(), epoch);
    assert_eq!(taken.sequence(), &[2]);
    assert_eq!(first.compare(&taken), LeaseComparison::Older);
    assert_eq!(robot.lease.holder("gripper"), Some(owner("client-b")));

    // A's lease is no longer the active one.
    match bounded(a.return_lease(&current)).await {
        Err(LeaseClientError::NotActiveLease { lease }) => assert_eq!(lease, current),
        other => panic!("expected NOT_ACTIVE_LEASE, got {other:?}"),
    }
    // Returning removed A's wallet entry, as the official client does.
    assert!(matches!(
        wallet_a.get_lease_state("body"),
        Err(LeaseError::NoSuchLease { .. })
    ));

    // B returns its wallet's sub-lease: everything is free again.
    let b_current = wallet_b.get_lease("body").expect("B's wallet");
    bounded(b.return_lease(&b_current)).await.expect("return");
    let listed = robot.list().await;
    assert!(
        listed
            .iter()
            .all(|r| r.lease_owner.is_none() && r.lease.is_none())
    );
    // A second return is refused; so is a lease for an unknown resource.
    assert!(matches!(
        bounded(b.return_lease(&b_current)).await,
        Err(LeaseClientError::NotActiveLease { .. })
    ));
    assert!(matches!(
        bounded(b.return_lease(&lease("tail", &epoch, &[2]))).await,
        Err(LeaseClientError::InvalidResource {
            rpc: "ReturnLease",
            ..
        })
    ));
    // A lease of another epoch is not the active one either.
    assert!(matches!(
        bounded(b.return_lease(&lease("body", "other-epoch", &[2]))).await,
        Err(LeaseClientError::NotActiveLease { .. })
    ));

    // Free again: A acquires; acquiring again by the same client gives a newer lease.
    let again = bounded(a.acquire("body"))
        .await
        .expect("acquire after return");
    assert_eq!(again.sequence(), &[3]);
    let newer = bounded(a.acquire("body"))
        .await
        .expect("re-acquire by the holder");
    assert_eq!(newer.sequence(), &[4]);

    robot.server.stop().await;
}

#[tokio::test]
async fn parts_of_the_body_are_leased_separately() {
    let robot = Robot::default().await;
    let (mut a, _) = robot.client_with_wallet("client-a");
    let (mut b, _) = robot.client_with_wallet("client-b");

    let arm = bounded(a.acquire("arm")).await.expect("acquire arm");
    assert_eq!(arm.resource(), "arm");
    // Another part is free; the body (containing A's arm) is not.
    let mobility = bounded(b.acquire("mobility"))
        .await
        .expect("acquire mobility");
    assert_eq!(
        arm.compare_ignoring_resource(&mobility),
        LeaseComparison::Older
    );
    assert!(matches!(
        bounded(b.acquire("body")).await,
        Err(LeaseClientError::ResourceAlreadyClaimed { owner: Some(o), .. }) if o == owner("client-a")
    ));
    let listed = robot.list().await;
    let holder = |name: &str| {
        listed
            .iter()
            .find(|r| r.resource == name)
            .and_then(|r| r.lease_owner.clone())
    };
    assert_eq!(holder("body"), None);
    assert_eq!(holder("arm"), Some(owner("client-a")));
    assert_eq!(holder("mobility"), Some(owner("client-b")));
    assert_eq!(holder("gripper"), None);

    robot.server.stop().await;
}

#[tokio::test]
async fn retain_answers_every_status() {
    let robot = Robot::default().await;
    let epoch = robot.lease.epoch();
    let mut a = robot.client("client-a");
    let issued = bounded(a.acquire("body")).await.expect("acquire");

    let retain = |lease: Lease| {
        let mut client = robot.client("client-a");
        async move {
            bounded(client.retain_lease_result(&lease))
                .await
                .expect("RetainLease")
        }
    };

    // The issued lease, a sub-lease, and a sub-lease of that are all fine.
    let sub = issued.create_sublease(Some("client-a"));
    let subsub = sub.create_sublease(Some("mission"));
    for good in [issued.clone(), sub.clone(), subsub.clone(), sub.clone()] {
        let result = retain(good.clone()).await;
        assert_eq!(result.status, UseStatus::Ok as i32, "{good}");
        assert_eq!(result.attempted_lease.as_ref(), Some(good.as_proto()));
        assert_eq!(result.latest_known_lease.as_ref(), Some(good.as_proto()));
        assert_eq!(result.owner, Some(owner("client-a")));
    }
    // The typed call agrees.
    bounded(a.retain_lease(&sub))
        .await
        .expect("retain sub-lease");

    // Older: a lease from before the current one.
    let result = retain(lease("body", &epoch, &[0, 7])).await;
    assert_eq!(result.status, UseStatus::Older as i32);
    assert_eq!(
        result
            .latest_known_lease
            .as_ref()
            .map(|l| l.sequence.clone()),
        Some(vec![1, 0])
    );
    // Wrong epoch, unmanaged resource, invalid lease.
    let result = retain(lease("body", "another-boot", &[1])).await;
    assert_eq!(result.status, UseStatus::WrongEpoch as i32);
    let result = retain(lease("tail", &epoch, &[1])).await;
    assert_eq!(result.status, UseStatus::Unmanaged as i32);
    let result = retain(Lease::from_proto_unchecked(api::Lease {
        resource: "body".into(),
        epoch: epoch.clone(),
        sequence: Vec::new(),
        client_names: Vec::new(),
    }))
    .await;
    assert_eq!(result.status, UseStatus::InvalidLease as i32);

    // The typed errors name the failure.
    match bounded(a.retain_lease(&lease("body", "another-boot", &[1]))).await {
        Err(LeaseClientError::LeaseUse { error, result }) => {
            assert!(matches!(error, LeaseUseError::WrongEpoch(_)), "{error:?}");
            assert_eq!(result.status, UseStatus::WrongEpoch as i32);
            assert_eq!(
                error.to_string(),
                format!(
                    "lease for body is from epoch \"another-boot\" but the robot's current epoch is \"{epoch}\""
                )
            );
        }
        other => panic!("expected WRONG_EPOCH, got {other:?}"),
    }

    // A returned lease is revoked.
    bounded(a.return_lease(&sub)).await.expect("return");
    let result = retain(sub.clone()).await;
    assert_eq!(result.status, UseStatus::Revoked as i32);

    robot.server.stop().await;
}

#[tokio::test]
async fn takeover_is_seen_by_the_first_clients_retain_and_wallet() {
    let robot = Robot::default().await;
    let (mut a, wallet_a) = robot.client_with_wallet("client-a");
    let mut b = robot.client("client-b");
    bounded(a.acquire("body")).await.expect("acquire");
    let mine = wallet_a.get_lease("body").expect("wallet");
    bounded(a.retain_lease(&mine))
        .await
        .expect("retained while held");

    let theirs = bounded(b.take("body")).await.expect("take");

    // A's next retain: older than B's lease, B is the owner; the wallet drops the lease.
    let err = bounded(a.retain_lease(&mine))
        .await
        .expect_err("lease was taken");
    let LeaseClientError::LeaseUse { error, result } = &err else {
        panic!("expected a lease use error, got {err:?}");
    };
    assert!(matches!(error, LeaseUseError::Older(_)), "{error:?}");
    assert_eq!(error.owner(), Some(&owner("client-b")));
    assert_eq!(error.latest_known_lease(), Some(&theirs));
    assert_eq!(result.previous_lease.as_ref(), Some(theirs.as_proto()));
    let state = wallet_a.get_lease_state("body").expect("entry kept");
    assert_eq!(state.status(), LeaseStatus::OtherOwner);
    assert_eq!(state.owner(), Some(&owner("client-b")));
    match wallet_a.get_lease("body") {
        Err(LeaseError::NotOwned { status, .. }) => assert_eq!(status, LeaseStatus::OtherOwner),
        other => panic!("expected NotOwned, got {other:?}"),
    }

    // B's sub-lease is retained fine.
    bounded(b.retain_lease(&theirs.create_sublease(Some("client-b"))))
        .await
        .expect("B retains");

    robot.server.stop().await;
}

#[tokio::test]
async fn returned_lease_is_revoked_in_the_wallet() {
    let robot = Robot::default().await;
    let (mut a, wallet_a) = robot.client_with_wallet("client-a");
    bounded(a.acquire("body")).await.expect("acquire");
    let mine = wallet_a.get_lease("body").expect("wallet");
    // Someone returns the lease behind the wallet's back (a raw client, no wallet).
    bounded(robot.client("helper").return_lease(&mine))
        .await
        .expect("return");
    let err = bounded(a.retain_lease(&mine)).await.expect_err("returned");
    assert!(
        matches!(err.lease_use_error(), Some(LeaseUseError::Revoked(_))),
        "{err:?}"
    );
    assert_eq!(
        wallet_a.get_lease_state("body").expect("entry").status(),
        LeaseStatus::Revoked
    );

    robot.server.stop().await;
}

#[tokio::test]
async fn stale_leases_can_be_acquired_by_others() {
    let robot = Robot::start(EmulatedLeaseConfig::default().with_stale_timeout(STALE)).await;
    let (mut a, wallet_a) = robot.client_with_wallet("client-a");
    let (mut b, _) = robot.client_with_wallet("client-b");
    bounded(a.acquire("body")).await.expect("acquire");

    // Still fresh: claimed.
    assert!(matches!(
        bounded(b.acquire("body")).await,
        Err(LeaseClientError::ResourceAlreadyClaimed { .. })
    ));
    // Not retained: stale after STALE; ListLeases says so, still naming the holder.
    eventually("the body lease to go stale", || async {
        robot.list().await.iter().all(|r| r.is_stale)
    })
    .await;
    let listed = robot.list().await;
    assert!(
        listed
            .iter()
            .all(|r| r.lease_owner == Some(owner("client-a")))
    );

    // Another client may acquire it now.
    let theirs = bounded(b.acquire("body"))
        .await
        .expect("acquire stale lease");
    assert_eq!(theirs.sequence(), &[2]);
    let listed = robot.list().await;
    assert!(
        listed
            .iter()
            .all(|r| !r.is_stale && r.lease_owner == Some(owner("client-b")))
    );

    // A finds out at its next retain.
    let mine = wallet_a
        .get_lease("body")
        .expect("wallet still thinks it owns it");
    let err = bounded(a.retain_lease(&mine)).await.expect_err("lost");
    assert!(
        matches!(err.lease_use_error(), Some(LeaseUseError::Older(_))),
        "{err:?}"
    );
    assert_eq!(
        wallet_a.get_lease_state("body").expect("entry").status(),
        LeaseStatus::OtherOwner
    );

    robot.server.stop().await;
}

#[tokio::test]
async fn a_stale_lease_is_revoked_for_its_holder() {
    let robot = Robot::start(EmulatedLeaseConfig::default().with_stale_timeout(STALE)).await;
    let (mut a, wallet_a) = robot.client_with_wallet("client-a");
    bounded(a.acquire("body")).await.expect("acquire");
    let mine = wallet_a.get_lease("body").expect("wallet");
    tokio::time::sleep(STALE + Duration::from_millis(100)).await;
    let err = bounded(a.retain_lease(&mine)).await.expect_err("stale");
    assert!(
        matches!(err.lease_use_error(), Some(LeaseUseError::Revoked(_))),
        "{err:?}"
    );
    assert_eq!(
        wallet_a.get_lease_state("body").expect("entry").status(),
        LeaseStatus::Revoked
    );
    // The holder may acquire again.
    let again = bounded(a.acquire("body")).await.expect("re-acquire");
    assert_eq!(again.sequence(), &[2]);

    robot.server.stop().await;
}

#[tokio::test]
async fn keep_alive_keeps_the_lease_fresh() {
    let robot = Robot::start(EmulatedLeaseConfig::default().with_stale_timeout(STALE)).await;
    let (mut a, wallet) = robot.client_with_wallet("client-a");
    bounded(a.acquire("body")).await.expect("acquire");
    let keep_alive = LeaseKeepAlive::spawn(
        a,
        wallet.clone(),
        "body",
        LeaseKeepAliveConfig::default().with_interval(RETAIN),
    );
    assert_eq!(keep_alive.resource(), "body");

    let mut status = keep_alive.status();
    bounded(status.wait_for(|s| *s == KeepAliveStatus::Retained))
        .await
        .expect("retained");
    // Two staleness periods later the lease is fresh and still claimed.
    tokio::time::sleep(STALE * 2).await;
    assert!(robot.list().await.iter().all(|r| !r.is_stale));
    let mut b = robot.client("client-b");
    assert!(matches!(
        bounded(b.acquire("body")).await,
        Err(LeaseClientError::ResourceAlreadyClaimed { .. })
    ));
    assert!(keep_alive.is_alive());
    assert_eq!(*keep_alive.status().borrow(), KeepAliveStatus::Retained);
    assert_eq!(
        wallet.get_lease_state("body").expect("entry").status(),
        LeaseStatus::SelfOwner
    );

    // Shut down without returning: the robot still lists A, and the lease goes stale.
    bounded(keep_alive.shutdown()).await.expect("shutdown");
    assert_eq!(robot.lease.holder("body"), Some(owner("client-a")));
    assert!(wallet.get_lease("body").is_ok());
    eventually("the lease to go stale after shutdown", || async {
        robot.list().await.iter().all(|r| r.is_stale)
    })
    .await;

    robot.server.stop().await;
}

#[tokio::test]
async fn keep_alive_stops_when_another_client_takes_the_lease() {
    let robot = Robot::default().await;
    let (mut a, wallet) = robot.client_with_wallet("client-a");
    bounded(a.acquire("body")).await.expect("acquire");
    let keep_alive = LeaseKeepAlive::spawn(
        a,
        wallet.clone(),
        "body",
        LeaseKeepAliveConfig::default()
            .with_interval(RETAIN)
            .with_return_on_shutdown(true),
    );
    bounded(
        keep_alive
            .status()
            .wait_for(|s| *s == KeepAliveStatus::Retained),
    )
    .await
    .expect("retained");

    bounded(robot.client("client-b").take("body"))
        .await
        .expect("take");
    let lost = bounded(keep_alive.lost()).await;
    assert_eq!(
        lost,
        KeepAliveStatus::Lost {
            status: Some(LeaseStatus::OtherOwner),
            owner: Some(owner("client-b")),
        }
    );
    eventually("the keep-alive task to end", || {
        let alive = keep_alive.is_alive();
        async move { !alive }
    })
    .await;
    // Nothing to return any more: shutdown succeeds and B keeps the lease.
    bounded(keep_alive.shutdown()).await.expect("shutdown");
    assert_eq!(robot.lease.holder("body"), Some(owner("client-b")));

    robot.server.stop().await;
}

#[tokio::test]
async fn keep_alive_shutdown_returns_the_lease() {
    let robot = Robot::default().await;
    let (mut a, wallet) = robot.client_with_wallet("client-a");
    bounded(a.acquire("body")).await.expect("acquire");
    let keep_alive = LeaseKeepAlive::spawn(
        a,
        wallet.clone(),
        "body",
        LeaseKeepAliveConfig::default()
            .with_interval(RETAIN)
            .with_return_on_shutdown(true),
    );
    bounded(
        keep_alive
            .status()
            .wait_for(|s| *s == KeepAliveStatus::Retained),
    )
    .await
    .expect("retained");
    let status = keep_alive.status();
    bounded(keep_alive.shutdown()).await.expect("shutdown");
    assert_eq!(*status.borrow(), KeepAliveStatus::Stopped);

    // Returned: free on the robot, gone from the wallet, acquirable by anyone.
    assert!(robot.list().await.iter().all(|r| r.lease_owner.is_none()));
    assert!(matches!(
        wallet.get_lease_state("body"),
        Err(LeaseError::NoSuchLease { .. })
    ));
    let theirs = bounded(robot.client("client-b").acquire("body"))
        .await
        .expect("acquire returned lease");
    assert_eq!(theirs.sequence(), &[2]);

    robot.server.stop().await;
}

#[tokio::test]
async fn keep_alive_without_a_lease_stops_at_once() {
    let robot = Robot::default().await;
    let wallet = LeaseWallet::with_client_name("client-a");
    let keep_alive = LeaseKeepAlive::spawn(
        robot.client("client-a"),
        wallet,
        "body",
        LeaseKeepAliveConfig::default(),
    );
    let lost = bounded(keep_alive.lost()).await;
    assert_eq!(
        lost,
        KeepAliveStatus::Lost {
            status: None,
            owner: None
        }
    );
    bounded(keep_alive.shutdown()).await.expect("shutdown");
    robot.server.stop().await;
}

#[tokio::test]
async fn keep_alive_reports_failures_and_shuts_down_in_bounded_time() {
    let robot = Robot::default().await;
    let (mut a, wallet) = robot.client_with_wallet("client-a");
    bounded(a.acquire("body")).await.expect("acquire");
    // A client over a port where nothing listens.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
            .expect("uri")
            .connect_timeout(Duration::from_millis(200))
            .connect_lazy()
    };
    let keep_alive = LeaseKeepAlive::spawn(
        LeaseClient::new(dead).with_client_name("client-a"),
        wallet.clone(),
        "body",
        LeaseKeepAliveConfig::default()
            .with_interval(RETAIN)
            .with_return_on_shutdown(true),
    );
    bounded(
        keep_alive
            .status()
            .wait_for(|s| matches!(s, KeepAliveStatus::Failing { attempts, .. } if *attempts >= 2)),
    )
    .await
    .expect("failing");
    // The wallet still owns the lease: failures to reach the robot do not lose it.
    assert!(wallet.get_lease("body").is_ok());
    // Shutdown tries to return the lease, fails to reach the robot, and says so, in bounded time.
    let started = std::time::Instant::now();
    let err = bounded(keep_alive.shutdown())
        .await
        .expect_err("unreachable");
    assert!(
        matches!(
            err,
            LeaseClientError::Call(
                CallError::Rpc {
                    rpc: "ReturnLease",
                    ..
                } | CallError::Timeout {
                    rpc: "ReturnLease",
                    ..
                }
            )
        ),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // The robot still lists A (the return never arrived).
    assert_eq!(robot.lease.holder("body"), Some(owner("client-a")));

    robot.server.stop().await;
}

#[tokio::test]
async fn a_new_epoch_makes_old_leases_unowned() {
    let robot = Robot::default().await;
    let (mut a, wallet) = robot.client_with_wallet("client-a");
    let before = bounded(a.acquire("body")).await.expect("acquire");
    let keep_alive = LeaseKeepAlive::spawn(
        a,
        wallet.clone(),
        "body",
        LeaseKeepAliveConfig::default().with_interval(RETAIN),
    );
    bounded(
        keep_alive
            .status()
            .wait_for(|s| *s == KeepAliveStatus::Retained),
    )
    .await
    .expect("retained");

    // The lease service "reboots": new epoch, nothing held.
    robot.lease.reset();
    assert_ne!(robot.lease.epoch(), before.epoch());
    let lost = bounded(keep_alive.lost()).await;
    assert_eq!(
        lost,
        KeepAliveStatus::Lost {
            status: Some(LeaseStatus::Unowned),
            owner: None
        }
    );
    let fresh = bounded(robot.client("client-b").acquire("body"))
        .await
        .expect("acquire after reset");
    assert_eq!(fresh.sequence(), &[1]);
    assert_eq!(fresh.epoch(), robot.lease.epoch());
    bounded(keep_alive.shutdown()).await.expect("shutdown");

    robot.server.stop().await;
}

#[tokio::test]
async fn owner_carries_the_user_of_the_token_over_any_transport() {
    let robot = Robot::default().await;
    let token = robot
        .state
        .login("admin", "correct horse battery staple")
        .expect("login");
    let bearer: tonic::metadata::MetadataValue<_> =
        format!("Bearer {token}").parse().expect("header value");
    let authenticated = tonic::service::interceptor::InterceptedService::new(
        robot.channel.clone(),
        move |mut request: tonic::Request<()>| {
            request
                .metadata_mut()
                .insert("authorization", bearer.clone());
            Ok(request)
        },
    );
    let mut client =
        LeaseClient::from_client(LeaseServiceClient::new(authenticated)).with_client_name("tablet");
    assert_eq!(client.client_name(), "tablet");
    bounded(client.acquire("body")).await.expect("acquire");
    let expected = LeaseOwner {
        client_name: "tablet".into(),
        user_name: "admin".into(),
    };
    assert_eq!(robot.lease.holder("body"), Some(expected.clone()));
    match bounded(robot.client("other").acquire("body")).await {
        Err(err @ LeaseClientError::ResourceAlreadyClaimed { .. }) => {
            assert_eq!(
                err.to_string(),
                "resource \"body\" is already claimed; held by \"tablet\" (user \"admin\")"
            );
        }
        other => panic!("expected RESOURCE_ALREADY_CLAIMED, got {other:?}"),
    }

    robot.server.stop().await;
}

#[test]
fn defaults() {
    assert_eq!(DEFAULT_RETAIN_INTERVAL, Duration::from_secs(2));
    assert_eq!(DEFAULT_STALE_TIMEOUT, Duration::from_secs(3));
    let config = EmulatedLeaseConfig::default();
    assert_eq!(config.stale_timeout, DEFAULT_STALE_TIMEOUT);
    assert_eq!(config.resource_tree, default_resource_tree());
}
