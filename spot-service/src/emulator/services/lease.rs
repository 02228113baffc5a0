//! `bosdyn.api.LeaseService`: handing out, revoking, retaining and listing leases on the
//! emulated robot's resources.
//!
//! The lease rules are those of [`crate::lease`]: every decision about an incoming lease is a
//! [`Lease::compare`] with the lease the emulator issued, turned into a status by
//! [`LeaseComparison::lease_use_status`].
//!
//! # Model
//!
//! The resources form a tree ([`EmulatedLeaseConfig::resource_tree`]; by default `body` with the
//! children `mobility`, `arm` and `gripper`). Holding a resource covers its whole subtree. Each
//! resource remembers the lease last issued for it, who holds it and when that holder last
//! retained it.
//!
//! - **Epoch:** a random string chosen when the service is created (and by
//!   [`EmulatedLease::reset`]), as the robot picks one per boot.
//! - **Sequences:** one counter for the whole tree, so that every resource's leases get newer
//!   with every grant. A grant of `R` issues `R@epoch[n]` and gives each resource `D` below `R`
//!   the lease `D@epoch[n]`, all held by the caller.
//! - **Owner:** the request header's `client_name`, and the user the bearer token belongs to
//!   (empty without a token).
//! - **Staleness:** a holder that has not acquired, taken or retained its lease for
//!   [`EmulatedLeaseConfig::stale_timeout`] is *stale*: `ListLeases` reports `is_stale`, anyone
//!   may acquire the resource, and the stale lease is answered `STATUS_REVOKED` (the robot's
//!   meaning of that status: the holder did not check in regularly enough).
//!
//! # RPCs
//!
//! | RPC | Answer |
//! | --- | --- |
//! | `AcquireLease` | `STATUS_OK` with a new lease if no live holder other than the caller (same client name and user) holds the resource or part of its subtree; otherwise `STATUS_RESOURCE_ALREADY_CLAIMED` with that holder as `lease_owner`. `STATUS_INVALID_RESOURCE` for an unknown resource. |
//! | `TakeLease` | `STATUS_OK` with a new lease, whoever held it (their leases become older than the new one); `STATUS_INVALID_RESOURCE` for an unknown resource. |
//! | `ReturnLease` | `STATUS_OK` if the lease is the issued one or a sub-lease of it and still held; the resource (and the subtree granted with it) becomes free. `STATUS_INVALID_RESOURCE` for an unknown or empty resource; `STATUS_NOT_ACTIVE_LEASE` for any other lease (older, newer, another epoch, already returned). |
//! | `RetainLease` | A `LeaseUseResult`; see below. |
//! | `ListLeases` | Every resource in tree order, with its holder, `is_stale`, `stale_time`, and (with `include_full_lease_info`) its active lease; plus the resource tree. |
//!
//! `RetainLease` answers, in this order: `STATUS_INVALID_LEASE` for a lease without resource or
//! sequence; `STATUS_UNMANAGED` for a resource not in the tree; `STATUS_WRONG_EPOCH` for another
//! epoch; then the comparison with the issued lease: `STATUS_OLDER` for an older lease (e.g. after
//! another client took the resource) or a super-lease; for the same lease, a sub-lease or a newer
//! one, `STATUS_REVOKED` if the resource was returned or its holder went stale, `STATUS_OLDER` if
//! part of the subtree has since been granted to someone else, and `STATUS_OK` otherwise (the
//! holder's retain time is refreshed). `STATUS_NOT_AUTHORITATIVE_SERVICE` is never answered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use crate::emulator::state::{EmulatorState, TokenOwner};
use crate::lease::{BODY_RESOURCE, Lease, LeaseComparison};
use crate::proto::bosdyn::api::lease_service_server::LeaseService;
use crate::proto::bosdyn::api::lease_use_result::Status as UseStatus;
use crate::proto::bosdyn::api::{
    self, AcquireLeaseRequest, AcquireLeaseResponse, LeaseOwner, LeaseResource, LeaseUseResult,
    ListLeasesRequest, ListLeasesResponse, ResourceTree, RetainLeaseRequest, RetainLeaseResponse,
    ReturnLeaseRequest, ReturnLeaseResponse, TakeLeaseRequest, TakeLeaseResponse,
    acquire_lease_response, return_lease_response, take_lease_response,
};

/// How long a holder may go without retaining before its lease goes stale, by default: 3 s.
pub const DEFAULT_STALE_TIMEOUT: Duration = Duration::from_secs(3);

/// The resources under `body` in the default tree.
pub const DEFAULT_BODY_CHILDREN: [&str; 3] = ["mobility", "arm", "gripper"];

/// The default resource tree: `body` with the children `mobility`, `arm` and `gripper`.
pub fn default_resource_tree() -> ResourceTree {
    ResourceTree {
        resource: BODY_RESOURCE.to_owned(),
        sub_resources: DEFAULT_BODY_CHILDREN
            .iter()
            .map(|name| ResourceTree {
                resource: (*name).to_owned(),
                sub_resources: Vec::new(),
            })
            .collect(),
    }
}

/// The behaviour of an [`EmulatedLease`].
#[derive(Debug, Clone, PartialEq)]
pub struct EmulatedLeaseConfig {
    /// A holder that has not acquired, taken or retained its lease for this long is stale (see
    /// the [module docs](self)). Default [`DEFAULT_STALE_TIMEOUT`].
    pub stale_timeout: Duration,
    /// The leasable resources ([`default_resource_tree`] by default). Resource names should be
    /// unique and non-empty; a repeated name is managed at its first place in the tree only, and
    /// empty names are skipped with their subtrees.
    pub resource_tree: ResourceTree,
}

impl Default for EmulatedLeaseConfig {
    fn default() -> Self {
        Self {
            stale_timeout: DEFAULT_STALE_TIMEOUT,
            resource_tree: default_resource_tree(),
        }
    }
}

impl EmulatedLeaseConfig {
    /// Sets [`stale_timeout`](Self::stale_timeout).
    #[must_use]
    pub fn with_stale_timeout(mut self, stale_timeout: Duration) -> Self {
        self.stale_timeout = stale_timeout;
        self
    }

    /// Sets [`resource_tree`](Self::resource_tree).
    #[must_use]
    pub fn with_resource_tree(mut self, resource_tree: ResourceTree) -> Self {
        self.resource_tree = resource_tree;
        self
    }
}

/// The emulated lease service (`lease` at `api.spot.robot`, token needed); see the
/// [module docs](self) for its rules.
///
/// Cheap to clone: clones share one lease book. It uses the [`EmulatorState`] only to find the
/// user a bearer token belongs to.
#[derive(Debug, Clone)]
pub struct EmulatedLease {
    state: EmulatorState,
    book: Arc<Mutex<Book>>,
    config: Arc<EmulatedLeaseConfig>,
}

impl EmulatedLease {
    /// The service with the default configuration (3 s staleness, `body` tree).
    pub fn new(state: EmulatorState) -> Self {
        Self::with_config(state, EmulatedLeaseConfig::default())
    }

    /// The service with `config`.
    pub fn with_config(state: EmulatorState, config: EmulatedLeaseConfig) -> Self {
        let book = Book::new(&config.resource_tree);
        Self {
            state,
            book: Arc::new(Mutex::new(book)),
            config: Arc::new(config),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &EmulatedLeaseConfig {
        &self.config
    }

    /// The current epoch.
    pub fn epoch(&self) -> String {
        self.lock().epoch.clone()
    }

    /// The current holder of `resource`, if any (stale holders included); `None` for a free or
    /// unknown resource.
    pub fn holder(&self, resource: &str) -> Option<LeaseOwner> {
        let book = self.lock();
        let index = *book.index.get(resource)?;
        book.slots[index].holder.as_ref().map(|h| h.owner.clone())
    }

    /// Emulates a reboot of the lease service: a new epoch, every resource free, the sequence
    /// counter back at zero. Leases issued before answer `STATUS_WRONG_EPOCH`.
    pub fn reset(&self) {
        let mut book = self.lock();
        *book = Book::new(&self.config.resource_tree);
        tracing::info!(epoch = %book.epoch, "emulated lease service reset");
    }

    fn lock(&self) -> MutexGuard<'_, Book> {
        // Every change is a few field assignments that cannot panic halfway.
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The caller: the header's client name and the user of the bearer token, if any.
    fn owner<R: crate::proto::SpotRequest>(&self, request: &tonic::Request<R>) -> LeaseOwner {
        let client_name = request
            .get_ref()
            .request_header()
            .map(|h| h.client_name.clone())
            .unwrap_or_default();
        let user_name = request
            .metadata()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .and_then(|token| self.state.token_owner(token.trim()))
            .map(|owner| match owner {
                TokenOwner::User(name) => name,
                TokenOwner::Payload(guid) => guid,
            })
            .unwrap_or_default();
        LeaseOwner {
            client_name,
            user_name,
        }
    }
}

/// One resource of the tree.
#[derive(Debug)]
struct Node {
    name: String,
    children: Vec<usize>,
}

/// What the service knows about one resource.
#[derive(Debug, Default)]
struct Slot {
    /// The lease last issued for the resource (by a grant of it or of an ancestor).
    issued: Option<Lease>,
    /// Who holds it; `None` when free (never granted, or returned).
    holder: Option<Holder>,
    /// The last lease accepted by `RetainLease` for it, since the last grant.
    last_used: Option<Lease>,
}

#[derive(Debug, Clone)]
struct Holder {
    owner: LeaseOwner,
    /// When the holder last acquired, took or retained the lease.
    last_retain: Instant,
}

/// The lease book: the tree, the epoch and the state of every resource.
#[derive(Debug)]
struct Book {
    epoch: String,
    counter: u32,
    /// Nodes in pre-order; the root (if any) is 0.
    nodes: Vec<Node>,
    slots: Vec<Slot>,
    index: HashMap<String, usize>,
    tree: ResourceTree,
}

/// Why a claim failed.
enum Refusal {
    Unknown,
    Claimed(LeaseOwner),
}

impl Book {
    fn new(tree: &ResourceTree) -> Self {
        let mut book = Self {
            epoch: new_epoch(),
            counter: 0,
            nodes: Vec::new(),
            slots: Vec::new(),
            index: HashMap::new(),
            tree: ResourceTree::default(),
        };
        book.tree = book.add_tree(tree).unwrap_or_default();
        book
    }

    /// Adds `tree` in pre-order; returns the tree as managed (duplicates and empty names
    /// removed), or `None` if its root is skipped.
    fn add_tree(&mut self, tree: &ResourceTree) -> Option<ResourceTree> {
        if tree.resource.is_empty() || self.index.contains_key(&tree.resource) {
            return None;
        }
        let at = self.nodes.len();
        self.nodes.push(Node {
            name: tree.resource.clone(),
            children: Vec::new(),
        });
        self.slots.push(Slot::default());
        self.index.insert(tree.resource.clone(), at);
        let mut managed = ResourceTree {
            resource: tree.resource.clone(),
            sub_resources: Vec::new(),
        };
        for child in &tree.sub_resources {
            let child_at = self.nodes.len();
            if let Some(sub) = self.add_tree(child) {
                self.nodes[at].children.push(child_at);
                managed.sub_resources.push(sub);
            }
        }
        Some(managed)
    }

    /// `index` and every resource below it, in pre-order.
    fn subtree(&self, index: usize) -> Vec<usize> {
        let mut out = vec![index];
        let mut i = 0;
        while i < out.len() {
            out.extend(self.nodes[out[i]].children.iter().copied());
            i += 1;
        }
        out
    }

    fn is_stale(holder: &Holder, now: Instant, timeout: Duration) -> bool {
        now.saturating_duration_since(holder.last_retain) > timeout
    }

    /// The live (not stale) holder of `index`, if any.
    fn live_holder(&self, index: usize, now: Instant, timeout: Duration) -> Option<&Holder> {
        self.slots[index]
            .holder
            .as_ref()
            .filter(|h| !Self::is_stale(h, now, timeout))
    }

    /// Grants `index` and its subtree to `owner` with a new sequence; returns the lease issued
    /// for `index`.
    fn grant(&mut self, index: usize, owner: &LeaseOwner, now: Instant) -> Lease {
        self.counter = self.counter.saturating_add(1);
        let client_names: Vec<String> = if owner.client_name.is_empty() {
            Vec::new()
        } else {
            vec![owner.client_name.clone()]
        };
        for j in self.subtree(index) {
            let lease = Lease::from_proto_unchecked(api::Lease {
                resource: self.nodes[j].name.clone(),
                epoch: self.epoch.clone(),
                sequence: vec![self.counter],
                client_names: client_names.clone(),
            });
            let slot = &mut self.slots[j];
            if let Some(previous) = &slot.holder
                && previous.owner != *owner
            {
                tracing::info!(
                    resource = %self.nodes[j].name,
                    from = %previous.owner.client_name,
                    to = %owner.client_name,
                    "lease changes hands"
                );
            }
            slot.issued = Some(lease);
            slot.holder = Some(Holder {
                owner: owner.clone(),
                last_retain: now,
            });
            slot.last_used = None;
        }
        self.slots[index]
            .issued
            .clone()
            .expect("just issued a lease for it")
    }

    fn acquire(
        &mut self,
        resource: &str,
        owner: &LeaseOwner,
        now: Instant,
        timeout: Duration,
    ) -> Result<Lease, Refusal> {
        let index = *self.index.get(resource).ok_or(Refusal::Unknown)?;
        let anonymous = owner.client_name.is_empty();
        for j in self.subtree(index) {
            if let Some(holder) = self.live_holder(j, now, timeout)
                && (anonymous || holder.owner != *owner)
            {
                return Err(Refusal::Claimed(holder.owner.clone()));
            }
        }
        Ok(self.grant(index, owner, now))
    }

    fn take(&mut self, resource: &str, owner: &LeaseOwner, now: Instant) -> Option<Lease> {
        let index = *self.index.get(resource)?;
        Some(self.grant(index, owner, now))
    }

    fn return_lease(&mut self, lease: &api::Lease) -> return_lease_response::Status {
        use return_lease_response::Status;
        let Some(&index) = self.index.get(&lease.resource) else {
            return Status::InvalidResource;
        };
        let Some(issued) = self.slots[index].issued.clone() else {
            return Status::NotActiveLease;
        };
        if self.slots[index].holder.is_none() {
            return Status::NotActiveLease;
        }
        let incoming = Lease::from_proto_unchecked(lease.clone());
        if !incoming.is_valid()
            || !matches!(
                incoming.compare(&issued),
                LeaseComparison::Same | LeaseComparison::SubLease
            )
        {
            return Status::NotActiveLease;
        }
        for j in self.subtree(index) {
            let slot = &mut self.slots[j];
            let same_grant = slot
                .issued
                .as_ref()
                .is_some_and(|l| l.sequence() == issued.sequence());
            if same_grant {
                slot.holder = None;
                slot.last_used = None;
            }
        }
        Status::Ok
    }

    fn retain(&mut self, lease: &api::Lease, now: Instant, timeout: Duration) -> LeaseUseResult {
        let mut result = LeaseUseResult {
            attempted_lease: Some(lease.clone()),
            ..Default::default()
        };
        let incoming = Lease::from_proto_unchecked(lease.clone());
        if !incoming.is_valid() {
            result.status = UseStatus::InvalidLease as i32;
            return result;
        }
        let Some(&index) = self.index.get(incoming.resource()) else {
            result.status = UseStatus::Unmanaged as i32;
            return result;
        };
        let subtree = self.subtree(index);
        result.latest_resources = subtree
            .iter()
            .filter(|&&j| self.nodes[j].children.is_empty())
            .filter_map(|&j| self.slots[j].issued.as_ref())
            .map(|l| l.as_proto().clone())
            .collect();
        let slot = &self.slots[index];
        result.owner = slot.holder.as_ref().map(|h| h.owner.clone());
        result.previous_lease = slot
            .last_used
            .as_ref()
            .or(slot.issued.as_ref())
            .map(|l| l.as_proto().clone());
        let latest = match (&slot.issued, &slot.last_used) {
            (Some(issued), Some(used))
                if matches!(
                    used.compare(issued),
                    LeaseComparison::SubLease | LeaseComparison::Newer
                ) =>
            {
                Some(used.clone())
            }
            (issued, _) => issued.clone(),
        };
        result.latest_known_lease = latest.as_ref().map(|l| l.as_proto().clone());

        if incoming.epoch() != self.epoch {
            result.status = UseStatus::WrongEpoch as i32;
            return result;
        }
        let Some(issued) = slot.issued.clone() else {
            // Nothing was ever issued for it in this epoch.
            result.status = UseStatus::Revoked as i32;
            return result;
        };
        let status = incoming.compare(&issued).lease_use_status(false);
        if status != UseStatus::Ok {
            result.status = status as i32;
            return result;
        }
        match &slot.holder {
            None => {
                result.status = UseStatus::Revoked as i32;
                return result;
            }
            Some(holder) if Self::is_stale(holder, now, timeout) => {
                result.status = UseStatus::Revoked as i32;
                return result;
            }
            Some(_) => {}
        }
        // Part of the subtree granted to someone since?
        for &j in &subtree[1..] {
            let Some(issued_j) = &self.slots[j].issued else {
                continue;
            };
            if incoming.compare_ignoring_resource(issued_j) == LeaseComparison::Older {
                result.status = UseStatus::Older as i32;
                result.owner = self.slots[j].holder.as_ref().map(|h| h.owner.clone());
                return result;
            }
        }
        // Accepted: refresh the holder of the subtree granted with this lease.
        for &j in &subtree {
            let slot = &mut self.slots[j];
            let same_grant = slot
                .issued
                .as_ref()
                .is_some_and(|l| l.sequence() == issued.sequence());
            if same_grant && let Some(holder) = &mut slot.holder {
                holder.last_retain = now;
            }
        }
        self.slots[index].last_used = Some(incoming);
        result.latest_known_lease = Some(lease.clone());
        result.status = UseStatus::Ok as i32;
        result
    }

    #[allow(deprecated)] // `stale_time` is deprecated but still filled in, as the robot does.
    fn list(
        &self,
        include_full_lease_info: bool,
        now: Instant,
        timeout: Duration,
    ) -> Vec<LeaseResource> {
        let wall_now = SystemTime::now();
        self.nodes
            .iter()
            .zip(&self.slots)
            .map(|(node, slot)| {
                let holder = slot.holder.as_ref();
                let stale_time = holder.map(|h| {
                    let stale_at = h.last_retain + timeout;
                    let when = match stale_at.checked_duration_since(now) {
                        Some(ahead) => wall_now + ahead,
                        None => wall_now - now.saturating_duration_since(stale_at),
                    };
                    prost_types::Timestamp::from(when)
                });
                LeaseResource {
                    resource: node.name.clone(),
                    lease: holder
                        .and(slot.issued.as_ref())
                        .filter(|_| include_full_lease_info)
                        .map(|l| l.as_proto().clone()),
                    lease_owner: holder.map(|h| h.owner.clone()),
                    stale_time,
                    is_stale: holder.is_some_and(|h| Self::is_stale(h, now, timeout)),
                }
            })
            .collect()
    }
}

/// A random epoch: 16 letters, as the robot's epochs look.
fn new_epoch() -> String {
    const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // Fall back on a UUID's randomness (never expected to be needed).
        bytes.copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    bytes
        .iter()
        .map(|b| char::from(LETTERS[usize::from(*b) % LETTERS.len()]))
        .collect()
}

#[crate::spot_service(name = "lease", authority = "api.spot.robot")]
impl LeaseService for EmulatedLease {
    async fn acquire_lease(
        &self,
        request: tonic::Request<AcquireLeaseRequest>,
    ) -> crate::Result<AcquireLeaseResponse> {
        use acquire_lease_response::Status;
        let owner = self.owner(&request);
        let resource = &request.get_ref().resource;
        let result =
            self.lock()
                .acquire(resource, &owner, Instant::now(), self.config.stale_timeout);
        let (status, lease, lease_owner) = match result {
            Ok(lease) => {
                tracing::info!(%lease, client = %owner.client_name, "lease acquired");
                (Status::Ok, Some(lease.into_proto()), Some(owner))
            }
            Err(Refusal::Claimed(holder)) => (Status::ResourceAlreadyClaimed, None, Some(holder)),
            Err(Refusal::Unknown) => (Status::InvalidResource, None, None),
        };
        Ok(AcquireLeaseResponse {
            header: None,
            status: status as i32,
            lease,
            lease_owner,
        })
    }

    async fn take_lease(
        &self,
        request: tonic::Request<TakeLeaseRequest>,
    ) -> crate::Result<TakeLeaseResponse> {
        use take_lease_response::Status;
        let owner = self.owner(&request);
        let resource = &request.get_ref().resource;
        let taken = self.lock().take(resource, &owner, Instant::now());
        let (status, lease, lease_owner) = match taken {
            Some(lease) => {
                tracing::info!(%lease, client = %owner.client_name, "lease taken");
                (Status::Ok, Some(lease.into_proto()), Some(owner))
            }
            None => (Status::InvalidResource, None, None),
        };
        Ok(TakeLeaseResponse {
            header: None,
            status: status as i32,
            lease,
            lease_owner,
        })
    }

    async fn return_lease(
        &self,
        request: ReturnLeaseRequest,
    ) -> crate::Result<ReturnLeaseResponse> {
        let lease = request.lease.unwrap_or_default();
        let status = self.lock().return_lease(&lease);
        if status == return_lease_response::Status::Ok {
            tracing::info!(lease = %Lease::from_proto_unchecked(lease), "lease returned");
        }
        Ok(ReturnLeaseResponse {
            header: None,
            status: status as i32,
        })
    }

    async fn list_leases(&self, request: ListLeasesRequest) -> crate::Result<ListLeasesResponse> {
        let book = self.lock();
        let resources = book.list(
            request.include_full_lease_info,
            Instant::now(),
            self.config.stale_timeout,
        );
        Ok(ListLeasesResponse {
            header: None,
            resources,
            resource_tree: Some(book.tree.clone()),
        })
    }

    async fn retain_lease(
        &self,
        request: RetainLeaseRequest,
    ) -> crate::Result<RetainLeaseResponse> {
        let lease = request.lease.unwrap_or_default();
        let result = self
            .lock()
            .retain(&lease, Instant::now(), self.config.stale_timeout);
        Ok(RetainLeaseResponse {
            header: None,
            lease_use_result: Some(result),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(3);

    fn owner(name: &str) -> LeaseOwner {
        LeaseOwner {
            client_name: name.into(),
            user_name: String::new(),
        }
    }

    fn book() -> Book {
        Book::new(&default_resource_tree())
    }

    #[test]
    fn tree_and_epoch() {
        let b = book();
        let names: Vec<_> = b.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["body", "mobility", "arm", "gripper"]);
        assert_eq!(b.subtree(0), [0, 1, 2, 3]);
        assert_eq!(b.subtree(2), [2]);
        assert_eq!(b.epoch.len(), 16);
        assert_ne!(b.epoch, book().epoch);
        assert_eq!(b.tree, default_resource_tree());
    }

    #[test]
    fn duplicate_and_empty_names_are_skipped() {
        let tree = ResourceTree {
            resource: "a".into(),
            sub_resources: vec![
                ResourceTree {
                    resource: "a".into(),
                    sub_resources: vec![],
                },
                ResourceTree {
                    resource: String::new(),
                    sub_resources: vec![],
                },
                ResourceTree {
                    resource: "b".into(),
                    sub_resources: vec![],
                },
            ],
        };
        let b = Book::new(&tree);
        assert_eq!(b.nodes.len(), 2);
        assert_eq!(b.tree.sub_resources.len(), 1);
        assert_eq!(b.subtree(0), [0, 1]);
    }

    #[test]
    fn child_claims_block_parent_acquire() {
        let mut b = book();
        let now = Instant::now();
        b.acquire("arm", &owner("a"), now, T).ok().unwrap();
        assert!(matches!(
            b.acquire("body", &owner("b"), now, T),
            Err(Refusal::Claimed(o)) if o == owner("a")
        ));
        // The mobility part is free.
        assert!(b.acquire("mobility", &owner("b"), now, T).is_ok());
    }

    #[test]
    fn taking_a_child_makes_the_parent_lease_older() {
        let mut b = book();
        let now = Instant::now();
        let body = b.acquire("body", &owner("a"), now, T).ok().unwrap();
        let sub = body.create_sublease(Some("a"));
        assert_eq!(
            b.retain(sub.as_proto(), now, T).status,
            UseStatus::Ok as i32
        );
        b.take("arm", &owner("b"), now).unwrap();
        let res = b.retain(sub.as_proto(), now, T);
        assert_eq!(res.status, UseStatus::Older as i32);
        assert_eq!(res.owner, Some(owner("b")));
    }

    #[test]
    fn stale_leases_are_revoked_and_free() {
        let mut b = book();
        let now = Instant::now();
        let lease = b.acquire("body", &owner("a"), now, T).ok().unwrap();
        let later = now + T + Duration::from_millis(1);
        assert_eq!(
            b.retain(lease.as_proto(), later, T).status,
            UseStatus::Revoked as i32
        );
        let listed = b.list(false, later, T);
        assert!(listed.iter().all(|r| r.is_stale));
        let newer = b.acquire("body", &owner("b"), later, T).ok().unwrap();
        assert_eq!(lease.compare(&newer), LeaseComparison::Older);
    }
}
