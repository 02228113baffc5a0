//! [`LeaseWallet`]: the leases a client uses, one per resource, kept up to date from the robot's
//! lease use results.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{Lease, LeaseComparison, LeaseError};
use crate::proto::bosdyn::api::lease_use_result::Status;
use crate::proto::bosdyn::api::{self, LeaseUseResult};

/// Whether a wallet entry's lease can still be used (`LeaseState.Status` in the official SDK).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LeaseStatus {
    /// The robot answered `STATUS_WRONG_EPOCH` for the wallet's current lease: the lease belongs
    /// to an old lease history and nobody in this wallet holds the resource.
    Unowned,
    /// The robot answered `STATUS_REVOKED` for the wallet's current lease (it was returned,
    /// taken, or not retained in time).
    Revoked,
    /// The wallet holds a usable lease.
    SelfOwner,
    /// The robot answered `STATUS_OLDER` and knows a lease newer than the wallet's: another
    /// client holds the resource now.
    OtherOwner,
}

impl fmt::Display for LeaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unowned => "unowned (wrong epoch)",
            Self::Revoked => "revoked",
            Self::SelfOwner => "owned by this wallet",
            Self::OtherOwner => "owned by another client",
        })
    }
}

/// One wallet entry (`LeaseState` in the official SDK).
///
/// Only a [`LeaseStatus::SelfOwner`] entry has leases; the other states record why the lease was
/// dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseState {
    status: LeaseStatus,
    owner: Option<api::LeaseOwner>,
    original: Option<Lease>,
    current: Option<Lease>,
}

impl LeaseState {
    fn owned(original: Lease, current: Lease) -> Self {
        Self {
            status: LeaseStatus::SelfOwner,
            owner: None,
            original: Some(original),
            current: Some(current),
        }
    }

    fn lost(status: LeaseStatus, owner: Option<api::LeaseOwner>) -> Self {
        Self {
            status,
            owner,
            original: None,
            current: None,
        }
    }

    /// The entry's status.
    pub fn status(&self) -> LeaseStatus {
        self.status
    }

    /// For [`LeaseStatus::OtherOwner`], the holder the robot reported.
    pub fn owner(&self) -> Option<&api::LeaseOwner> {
        self.owner.as_ref()
    }

    /// The lease given to [`LeaseWallet::add`] (while the wallet owns it).
    pub fn original_lease(&self) -> Option<&Lease> {
        self.original.as_ref()
    }

    /// The lease to send with requests: a sub-lease of the original, advanced by every
    /// [`LeaseWallet::advance`] (while the wallet owns it).
    pub fn current_lease(&self) -> Option<&Lease> {
        self.current.as_ref()
    }

    /// The new state after the robot answered `result` (`LeaseState.update_from_lease_use_result`),
    /// or `None` if the state does not change. Only an entry with a current lease can change.
    fn updated_by(&self, result: &LeaseUseResult) -> Option<LeaseState> {
        let current = self.current.as_ref()?;
        let attempted_is_current = || {
            result.attempted_lease.as_ref().is_some_and(|attempted| {
                Lease::from_proto_unchecked(attempted.clone()).compare(current)
                    == LeaseComparison::Same
            })
        };
        match Status::try_from(result.status) {
            Ok(Status::Older) => {
                // The robot knows a lease at least as new as ours. If the wallet has moved on to a
                // lease newer than (or equal to) the robot's latest since the attempt, the answer
                // is stale; otherwise someone else holds the resource now.
                let still_ours = result.latest_known_lease.as_ref().is_some_and(|latest| {
                    let latest = Lease::from_proto_unchecked(latest.clone());
                    latest.is_valid()
                        && matches!(
                            current.compare(&latest),
                            LeaseComparison::Newer | LeaseComparison::Same
                        )
                });
                (!still_ours)
                    .then(|| LeaseState::lost(LeaseStatus::OtherOwner, result.owner.clone()))
            }
            Ok(Status::WrongEpoch) => {
                attempted_is_current().then(|| LeaseState::lost(LeaseStatus::Unowned, None))
            }
            Ok(Status::Revoked) => {
                attempted_is_current().then(|| LeaseState::lost(LeaseStatus::Revoked, None))
            }
            _ => None,
        }
    }
}

/// Thread-safe storage of the leases a client uses, one entry per resource (`LeaseWallet` in the
/// official SDK).
///
/// Cloning gives another handle to the same wallet. The rules, as in the SDK:
///
/// - [`add`](Self::add) stores the lease as the entry's original lease and a **sub-lease** of it
///   (named with the wallet's client name, if set) as its current lease, replacing any entry for
///   the resource. Requests carry the current lease.
/// - [`advance`](Self::advance) replaces the current lease with a newer one
///   ([`Lease::create_newer`]).
/// - [`get_lease`](Self::get_lease) and [`advance`](Self::advance) fail unless the entry is
///   [`LeaseStatus::SelfOwner`].
/// - [`on_lease_use_result`](Self::on_lease_use_result) drops the lease when the robot's answer
///   shows it is no longer usable; see there.
///
/// The lock is a `std::sync::Mutex`: every operation is a short map update that never waits, so
/// the wallet can be used from synchronous code (e.g. request interceptors) and from async tasks
/// alike, and no critical section ever spans an `.await`. A poisoned lock is recovered, because
/// each operation replaces an entry in a single step and cannot leave one half-updated.
#[derive(Clone, Default)]
pub struct LeaseWallet {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    states: HashMap<String, LeaseState>,
    client_name: Option<String>,
}

impl fmt::Debug for LeaseWallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("LeaseWallet")
            .field("client_name", &inner.client_name)
            .field("states", &inner.states)
            .finish()
    }
}

impl LeaseWallet {
    /// An empty wallet without a client name.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty wallet whose sub-leases carry `client_name`.
    pub fn with_client_name(client_name: impl Into<String>) -> Self {
        let wallet = Self::new();
        wallet.set_client_name(client_name);
        wallet
    }

    /// Sets the client name appended to the client names of the sub-leases made by later
    /// [`add`](Self::add) calls (`LeaseWallet.set_client_name`).
    pub fn set_client_name(&self, client_name: impl Into<String>) {
        self.lock().client_name = Some(client_name.into());
    }

    /// The client name set with [`set_client_name`](Self::set_client_name), if any.
    pub fn client_name(&self) -> Option<String> {
        self.lock().client_name.clone()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds `lease` for its resource, replacing any entry (`LeaseWallet.add`), and returns the
    /// current lease: `lease.create_sublease(client_name)`.
    ///
    /// Fails with [`LeaseError::Invalid`] if `lease` is not [valid](Lease::is_valid).
    pub fn add(&self, lease: Lease) -> Result<Lease, LeaseError> {
        if !lease.is_valid() {
            return Err(LeaseError::Invalid { lease });
        }
        let mut inner = self.lock();
        let current = lease.create_sublease(inner.client_name.as_deref());
        inner.states.insert(
            lease.resource().to_owned(),
            LeaseState::owned(lease, current.clone()),
        );
        Ok(current)
    }

    /// Removes the entry for `resource`, whatever its state, and returns it (`LeaseWallet.remove`).
    pub fn remove(&self, resource: &str) -> Option<LeaseState> {
        self.lock().states.remove(resource)
    }

    /// The current lease for `resource` (`LeaseWallet.get_lease`).
    ///
    /// Fails with [`LeaseError::NoSuchLease`] if there is no entry and with
    /// [`LeaseError::NotOwned`] if the entry is not [`LeaseStatus::SelfOwner`].
    pub fn get_lease(&self, resource: &str) -> Result<Lease, LeaseError> {
        let inner = self.lock();
        let (_, current) = owned_state(&inner, resource)?;
        Ok(current.clone())
    }

    /// A copy of the entry for `resource`, in any state (`LeaseWallet.get_lease_state`).
    ///
    /// Fails with [`LeaseError::NoSuchLease`] if there is no entry.
    pub fn get_lease_state(&self, resource: &str) -> Result<LeaseState, LeaseError> {
        state(&self.lock(), resource).cloned()
    }

    /// Replaces the current lease for `resource` with a newer one and returns it
    /// (`LeaseWallet.advance`).
    ///
    /// Fails like [`get_lease`](Self::get_lease), or with [`LeaseError::SequenceOverflow`]; the
    /// entry is unchanged on failure.
    pub fn advance(&self, resource: &str) -> Result<Lease, LeaseError> {
        let mut inner = self.lock();
        let (original, current) = owned_state(&inner, resource)?;
        let newer = current.create_newer()?;
        let state = LeaseState::owned(original.clone(), newer.clone());
        inner.states.insert(resource.to_owned(), state);
        Ok(newer)
    }

    /// The resources that have an entry, in any state, sorted.
    pub fn resources(&self) -> Vec<String> {
        let mut resources: Vec<String> = self.lock().states.keys().cloned().collect();
        resources.sort();
        resources
    }

    /// Updates the entry for the attempted lease's resource from the robot's answer
    /// (`LeaseWallet.on_lease_use_result` without `resource`). See
    /// [`on_lease_use_result_for`](Self::on_lease_use_result_for).
    pub fn on_lease_use_result(&self, result: &LeaseUseResult) -> Option<LeaseStatus> {
        let resource = result
            .attempted_lease
            .as_ref()
            .map_or("", |lease| lease.resource.as_str());
        self.on_lease_use_result_for(resource, result)
    }

    /// Updates the entry for `resource` from the robot's answer to a request that carried a lease
    /// for it (`LeaseWallet.on_lease_use_result` / `LeaseState.update_from_lease_use_result`), and
    /// returns the entry's status afterwards, or `None` if there is no entry.
    ///
    /// Only an entry that holds a lease ([`LeaseStatus::SelfOwner`]) changes, and only on:
    ///
    /// - `STATUS_OLDER`: unless the wallet's current lease compares [`Newer`](LeaseComparison::Newer)
    ///   or [`Same`](LeaseComparison::Same) to the result's valid `latest_known_lease` (the wallet
    ///   moved on after the attempt), the entry becomes [`LeaseStatus::OtherOwner`] with the
    ///   result's `owner`. The attempted lease is not looked at.
    /// - `STATUS_WRONG_EPOCH`: if the attempted lease is the [`Same`](LeaseComparison::Same) as the
    ///   current lease, the entry becomes [`LeaseStatus::Unowned`].
    /// - `STATUS_REVOKED`: if the attempted lease is the same as the current lease, the entry
    ///   becomes [`LeaseStatus::Revoked`].
    ///
    /// Every other status (`OK`, `INVALID_LEASE`, `UNMANAGED`, `UNKNOWN`, unrecognized values)
    /// leaves the entry unchanged. A lost entry has no leases left; [`add`](Self::add) a new one.
    ///
    /// Where the SDK would raise `ValueError` (an invalid `latest_known_lease` on `OLDER`, an
    /// invalid `attempted_lease` on `WRONG_EPOCH`/`REVOKED`), this treats the lease as "no match":
    /// `OLDER` then drops the entry, the others leave it alone.
    pub fn on_lease_use_result_for(
        &self,
        resource: &str,
        result: &LeaseUseResult,
    ) -> Option<LeaseStatus> {
        let mut inner = self.lock();
        let state = inner.states.get_mut(resource)?;
        if let Some(updated) = state.updated_by(result) {
            *state = updated;
        }
        Some(state.status)
    }
}

fn state<'a>(inner: &'a Inner, resource: &str) -> Result<&'a LeaseState, LeaseError> {
    inner
        .states
        .get(resource)
        .ok_or_else(|| LeaseError::NoSuchLease {
            resource: resource.to_owned(),
        })
}

/// The original and current leases of an owned entry.
fn owned_state<'a>(inner: &'a Inner, resource: &str) -> Result<(&'a Lease, &'a Lease), LeaseError> {
    let state = state(inner, resource)?;
    match (state.status, &state.original, &state.current) {
        (LeaseStatus::SelfOwner, Some(original), Some(current)) => Ok((original, current)),
        _ => Err(LeaseError::NotOwned {
            resource: resource.to_owned(),
            status: state.status,
            owner: state.owner.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(resource: &str, epoch: &str, sequence: &[u32]) -> Lease {
        Lease::new(resource, epoch, sequence).unwrap()
    }

    fn owner() -> api::LeaseOwner {
        api::LeaseOwner {
            client_name: "foobar".into(),
            user_name: "garbanzo".into(),
        }
    }

    /// A result for `attempted`, with `latest` (default: `attempted`) as the latest known lease,
    /// like the SDK test helper `_create_lease_use_result`.
    fn result(status: Status, attempted: &Lease, latest: Option<&Lease>) -> LeaseUseResult {
        LeaseUseResult {
            status: status as i32,
            owner: Some(owner()),
            attempted_lease: Some(attempted.as_proto().clone()),
            previous_lease: None,
            latest_known_lease: Some(latest.unwrap_or(attempted).as_proto().clone()),
            latest_resources: Vec::new(),
        }
    }

    fn status_of(wallet: &LeaseWallet, resource: &str) -> LeaseStatus {
        wallet.get_lease_state(resource).unwrap().status()
    }

    #[test]
    fn empty_wallet() {
        let wallet = LeaseWallet::new();
        let missing = LeaseError::NoSuchLease {
            resource: "A".into(),
        };
        assert_eq!(wallet.get_lease_state("A").unwrap_err(), missing);
        assert_eq!(missing.to_string(), "no lease for resource \"A\"");
        assert_eq!(wallet.get_lease("A").unwrap_err(), missing);
        assert_eq!(wallet.advance("A").unwrap_err(), missing);
        assert_eq!(wallet.remove("A"), None);
        assert!(wallet.resources().is_empty());
        let ok = result(Status::Ok, &lease("A", "B", &[1, 0]), None);
        assert_eq!(wallet.on_lease_use_result(&ok), None);
        assert_eq!(wallet.get_lease_state("A").unwrap_err(), missing);
    }

    #[test]
    fn add_stores_a_sublease() {
        let wallet = LeaseWallet::new();
        let original = lease("A", "epoch", &[1]);
        let current = wallet.add(original.clone()).unwrap();
        assert_eq!(current.sequence(), &[1, 0]);
        assert!(current.client_names().is_empty());
        assert_eq!(wallet.get_lease("A").unwrap(), current);

        let state = wallet.get_lease_state("A").unwrap();
        assert_eq!(state.status(), LeaseStatus::SelfOwner);
        assert_eq!(state.original_lease(), Some(&original));
        assert_eq!(state.current_lease(), Some(&current));
        assert_eq!(state.owner(), None);
        assert_eq!(wallet.resources(), vec!["A".to_owned()]);
    }

    #[test]
    fn add_uses_the_client_name() {
        let wallet = LeaseWallet::with_client_name("svc");
        assert_eq!(wallet.client_name().as_deref(), Some("svc"));
        let current = wallet.add(lease("body", "e", &[3])).unwrap();
        assert_eq!(current.sequence(), &[3, 0]);
        assert_eq!(current.client_names(), &["svc".to_owned()]);

        wallet.set_client_name("other");
        assert_eq!(wallet.client_name().as_deref(), Some("other"));
        let current = wallet.add(lease("body", "e", &[4])).unwrap();
        assert_eq!(current.client_names(), &["other".to_owned()]);
        assert_eq!(wallet.get_lease("body").unwrap().sequence(), &[4, 0]);
    }

    #[test]
    fn add_rejects_invalid_leases() {
        let wallet = LeaseWallet::new();
        let bad = Lease::from_proto_unchecked(api::Lease {
            resource: "body".into(),
            ..Default::default()
        });
        assert_eq!(
            wallet.add(bad.clone()).unwrap_err(),
            LeaseError::Invalid { lease: bad }
        );
        assert!(wallet.resources().is_empty());
    }

    #[test]
    fn advance_creates_newer_leases() {
        let wallet = LeaseWallet::new();
        let original = lease("llama", "meso", &[500, 20, 9000]);
        wallet.add(original.clone()).unwrap();
        let first = wallet.advance("llama").unwrap();
        assert_eq!(first.sequence(), &[500, 20, 9000, 1]);
        assert_eq!(original.compare(&first), LeaseComparison::SuperLease);
        let second = wallet.advance("llama").unwrap();
        assert_eq!(second.sequence(), &[500, 20, 9000, 2]);
        assert_eq!(first.compare(&second), LeaseComparison::Older);
        assert_eq!(wallet.get_lease("llama").unwrap(), second);
        let state = wallet.get_lease_state("llama").unwrap();
        assert_eq!(state.original_lease(), Some(&original));
        assert_eq!(state.status(), LeaseStatus::SelfOwner);
    }

    #[test]
    fn advance_overflow_leaves_the_entry() {
        let wallet = LeaseWallet::new();
        let sub = wallet.add(lease("arm", "e", &[u32::MAX])).unwrap();
        assert_eq!(sub.sequence(), &[u32::MAX, 0]);
        assert_eq!(wallet.advance("arm").unwrap().sequence(), &[u32::MAX, 1]);

        // A current lease at the top of the counter cannot be reached in a test's lifetime
        // through advance(); put one in place directly.
        let full = lease("arm", "e", &[u32::MAX, u32::MAX]);
        let state = LeaseState::owned(lease("arm", "e", &[u32::MAX]), full.clone());
        wallet.lock().states.insert("arm".into(), state.clone());
        assert_eq!(
            wallet.advance("arm").unwrap_err(),
            LeaseError::SequenceOverflow { lease: full }
        );
        assert_eq!(wallet.get_lease_state("arm").unwrap(), state);
    }

    #[test]
    fn remove_drops_the_entry() {
        let wallet = LeaseWallet::new();
        wallet.add(lease("A", "e", &[1])).unwrap();
        wallet.add(lease("B", "e", &[2])).unwrap();
        assert_eq!(wallet.resources(), vec!["A".to_owned(), "B".to_owned()]);
        let removed = wallet.remove("A").unwrap();
        assert_eq!(removed.current_lease().unwrap().sequence(), &[1, 0]);
        assert_eq!(wallet.resources(), vec!["B".to_owned()]);
        assert!(matches!(
            wallet.get_lease("A"),
            Err(LeaseError::NoSuchLease { .. })
        ));
    }

    #[test]
    fn clones_share_the_wallet() {
        let wallet = LeaseWallet::new();
        let handle = wallet.clone();
        handle.add(lease("body", "e", &[1])).unwrap();
        assert_eq!(wallet.get_lease("body").unwrap().sequence(), &[1, 0]);
    }

    #[test]
    fn ok_result_changes_nothing() {
        let wallet = LeaseWallet::new();
        let original = lease("A", "epoch", &[1]);
        let current = wallet.add(original).unwrap();
        let before = wallet.get_lease_state("A").unwrap();
        let ok = result(Status::Ok, &current, None);
        assert_eq!(
            wallet.on_lease_use_result(&ok),
            Some(LeaseStatus::SelfOwner)
        );
        assert_eq!(wallet.get_lease_state("A").unwrap(), before);
        // Also for an OK about an older lease than the current one.
        wallet.advance("A").unwrap();
        let before = wallet.get_lease_state("A").unwrap();
        assert_eq!(
            wallet.on_lease_use_result(&ok),
            Some(LeaseStatus::SelfOwner)
        );
        assert_eq!(wallet.get_lease_state("A").unwrap(), before);
    }

    #[test]
    fn older_result_for_a_stale_attempt_is_ignored() {
        let wallet = LeaseWallet::new();
        let stale = wallet.add(lease("A", "epoch", &[1])).unwrap();
        let recent = wallet.advance("A").unwrap();
        // The robot saw only the stale lease; the wallet's lease is newer than that.
        let older = result(Status::Older, &stale, None);
        assert_eq!(
            wallet.on_lease_use_result(&older),
            Some(LeaseStatus::SelfOwner)
        );
        assert_eq!(wallet.get_lease("A").unwrap(), recent);
        // Also when the robot's latest is exactly the wallet's lease.
        let older = result(Status::Older, &stale, Some(&recent));
        assert_eq!(
            wallet.on_lease_use_result(&older),
            Some(LeaseStatus::SelfOwner)
        );
        assert_eq!(wallet.get_lease("A").unwrap(), recent);
    }

    #[test]
    fn older_result_for_the_current_lease_means_other_owner() {
        let wallet = LeaseWallet::new();
        wallet.add(lease("A", "epoch", &[1])).unwrap();
        let recent = wallet.advance("A").unwrap();
        let latest = recent.create_newer().unwrap();
        let older = result(Status::Older, &recent, Some(&latest));
        assert_eq!(
            wallet.on_lease_use_result(&older),
            Some(LeaseStatus::OtherOwner)
        );

        let state = wallet.get_lease_state("A").unwrap();
        assert_eq!(state.status(), LeaseStatus::OtherOwner);
        assert_eq!(state.owner(), Some(&owner()));
        assert_eq!(state.current_lease(), None);
        assert_eq!(state.original_lease(), None);

        let err = wallet.get_lease("A").unwrap_err();
        assert_eq!(
            err,
            LeaseError::NotOwned {
                resource: "A".into(),
                status: LeaseStatus::OtherOwner,
                owner: Some(owner()),
            }
        );
        assert_eq!(
            err.to_string(),
            "lease for resource \"A\" is not owned by this wallet (state: owned by another \
             client); held by \"foobar\" (user \"garbanzo\")"
        );
        assert_eq!(wallet.advance("A").unwrap_err(), err);
        // Nothing changes a lost entry any more.
        let ok = result(Status::Ok, &recent, None);
        assert_eq!(
            wallet.on_lease_use_result(&ok),
            Some(LeaseStatus::OtherOwner)
        );
        // A new lease makes it usable again.
        wallet.add(lease("A", "epoch", &[5])).unwrap();
        assert_eq!(status_of(&wallet, "A"), LeaseStatus::SelfOwner);
    }

    #[test]
    fn older_result_with_the_wallet_moved_on() {
        // SDK test_lease_wallet_on_lease_result_old_attempted_lease.
        let wallet = LeaseWallet::new();
        let first = wallet.add(lease("A", "epoch", &[1])).unwrap();
        let newer = wallet.advance("A").unwrap();
        let older = result(Status::Older, &first, Some(&newer));
        assert_eq!(
            wallet.on_lease_use_result(&older),
            Some(LeaseStatus::SelfOwner)
        );
        assert_eq!(wallet.get_lease("A").unwrap(), newer);
    }

    #[test]
    fn older_result_rules_compare_current_with_latest_only() {
        let cases = [
            // The robot's latest is a sub-lease of the wallet's lease: not NEWER or SAME.
            (&[1, 0, 0][..], LeaseStatus::OtherOwner),
            // The robot's latest is a super-lease of the wallet's lease: also dropped.
            (&[1][..], LeaseStatus::OtherOwner),
            // The robot's latest is older than the wallet's lease: kept.
            (&[0, 5][..], LeaseStatus::SelfOwner),
        ];
        for (latest_seq, expected) in cases {
            let wallet = LeaseWallet::new();
            let current = wallet.add(lease("A", "e", &[1])).unwrap();
            let latest = lease("A", "e", latest_seq);
            let older = result(Status::Older, &current, Some(&latest));
            assert_eq!(
                wallet.on_lease_use_result(&older),
                Some(expected),
                "{latest}"
            );
        }
        // Another epoch or resource in latest_known_lease cannot be NEWER/SAME: dropped.
        for latest in [lease("A", "other", &[9]), lease("B", "e", &[9])] {
            let wallet = LeaseWallet::new();
            let current = wallet.add(lease("A", "e", &[1])).unwrap();
            let older = result(Status::Older, &current, Some(&latest));
            assert_eq!(
                wallet.on_lease_use_result_for("A", &older),
                Some(LeaseStatus::OtherOwner),
                "{latest}"
            );
        }
    }

    #[test]
    fn older_result_without_valid_latest_means_other_owner() {
        for latest in [None, Some(api::Lease::default())] {
            let wallet = LeaseWallet::new();
            let current = wallet.add(lease("A", "e", &[1])).unwrap();
            let mut older = result(Status::Older, &current, None);
            older.latest_known_lease = latest;
            older.owner = None;
            assert_eq!(
                wallet.on_lease_use_result(&older),
                Some(LeaseStatus::OtherOwner)
            );
            assert_eq!(wallet.get_lease_state("A").unwrap().owner(), None);
        }
    }

    fn lost_when_attempt_is_current(status: Status, lost: LeaseStatus) {
        let wallet = LeaseWallet::new();
        let stale = wallet.add(lease("A", "epoch", &[1])).unwrap();
        let recent = wallet.advance("A").unwrap();

        // About a lease that is not the current one: nothing changes.
        let stale_result = result(status, &stale, None);
        assert_eq!(
            wallet.on_lease_use_result(&stale_result),
            Some(LeaseStatus::SelfOwner)
        );
        assert_eq!(wallet.get_lease("A").unwrap(), recent);

        // About the current lease (client names do not matter): the lease is lost.
        let mut attempted = recent.clone().into_proto();
        attempted.client_names.push("relay".into());
        let current_result = result(status, &Lease::from_proto(attempted).unwrap(), None);
        assert_eq!(wallet.on_lease_use_result(&current_result), Some(lost));
        let state = wallet.get_lease_state("A").unwrap();
        assert_eq!(state.status(), lost);
        assert_eq!(state.current_lease(), None);
        assert_eq!(state.original_lease(), None);
        assert_eq!(state.owner(), None);
        assert_eq!(
            wallet.get_lease("A").unwrap_err(),
            LeaseError::NotOwned {
                resource: "A".into(),
                status: lost,
                owner: None,
            }
        );
    }

    #[test]
    fn revoked_result() {
        lost_when_attempt_is_current(Status::Revoked, LeaseStatus::Revoked);
        let err = LeaseError::NotOwned {
            resource: "A".into(),
            status: LeaseStatus::Revoked,
            owner: None,
        };
        assert_eq!(
            err.to_string(),
            "lease for resource \"A\" is not owned by this wallet (state: revoked)"
        );
    }

    #[test]
    fn wrong_epoch_result() {
        lost_when_attempt_is_current(Status::WrongEpoch, LeaseStatus::Unowned);
    }

    #[test]
    fn revoked_or_wrong_epoch_without_attempted_lease_changes_nothing() {
        for status in [Status::Revoked, Status::WrongEpoch] {
            let wallet = LeaseWallet::new();
            let current = wallet.add(lease("A", "e", &[1])).unwrap();
            let mut res = result(status, &current, None);
            res.attempted_lease = None;
            assert_eq!(
                wallet.on_lease_use_result_for("A", &res),
                Some(LeaseStatus::SelfOwner)
            );
            // And without a resource to go by, the plain form finds no entry.
            assert_eq!(wallet.on_lease_use_result(&res), None);
        }
    }

    #[test]
    fn other_statuses_change_nothing() {
        for status in [
            Status::Unknown as i32,
            Status::Ok as i32,
            Status::InvalidLease as i32,
            Status::Unmanaged as i32,
            42,
        ] {
            let wallet = LeaseWallet::new();
            let current = wallet.add(lease("A", "e", &[1])).unwrap();
            let mut res = result(Status::Ok, &current, Some(&lease("A", "e", &[9])));
            res.status = status;
            assert_eq!(
                wallet.on_lease_use_result(&res),
                Some(LeaseStatus::SelfOwner),
                "{status}"
            );
            assert_eq!(wallet.get_lease("A").unwrap(), current);
        }
    }

    #[test]
    fn result_resource_override() {
        // The SDK's `resource=` argument: update "body" from a result about another resource.
        let wallet = LeaseWallet::new();
        let current = wallet.add(lease("body", "e", &[1])).unwrap();
        let mut attempted = current.clone().into_proto();
        attempted.resource = "full-arm".into();
        let latest = lease("full-arm", "e", &[7]);
        let res = result(
            Status::Older,
            &Lease::from_proto(attempted).unwrap(),
            Some(&latest),
        );
        assert_eq!(wallet.on_lease_use_result(&res), None);
        assert_eq!(status_of(&wallet, "body"), LeaseStatus::SelfOwner);
        assert_eq!(
            wallet.on_lease_use_result_for("body", &res),
            Some(LeaseStatus::OtherOwner)
        );
    }

    #[test]
    fn status_display() {
        assert_eq!(LeaseStatus::Unowned.to_string(), "unowned (wrong epoch)");
        assert_eq!(LeaseStatus::Revoked.to_string(), "revoked");
        assert_eq!(LeaseStatus::SelfOwner.to_string(), "owned by this wallet");
        assert_eq!(
            LeaseStatus::OtherOwner.to_string(),
            "owned by another client"
        );
    }

    #[test]
    fn concurrent_advances_are_serialized() {
        const THREADS: u32 = 8;
        const ROUNDS: u32 = 200;
        let wallet = LeaseWallet::new();
        wallet.add(lease("A", "e", &[1])).unwrap();
        wallet.add(lease("B", "e", &[3, 1])).unwrap();
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let wallet = wallet.clone();
                std::thread::spawn(move || {
                    let resource = if t % 2 == 0 { "A" } else { "B" };
                    let mut last: Option<Lease> = None;
                    for _ in 0..ROUNDS {
                        let stale = wallet.get_lease(resource).unwrap();
                        let next = wallet.advance(resource).unwrap();
                        assert_eq!(stale.compare(&next), LeaseComparison::Older);
                        if let Some(prev) = &last {
                            assert_eq!(prev.compare(&next), LeaseComparison::Older);
                        }
                        // A stale OLDER answer must not drop the advanced lease.
                        let res = result(Status::Older, &stale, None);
                        assert_eq!(
                            wallet.on_lease_use_result(&res),
                            Some(LeaseStatus::SelfOwner)
                        );
                        last = Some(next);
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        let per_resource = THREADS / 2 * ROUNDS;
        assert_eq!(
            wallet.get_lease("A").unwrap().sequence(),
            &[1, per_resource]
        );
        assert_eq!(
            wallet.get_lease("B").unwrap().sequence(),
            &[3, 1, per_resource]
        );
    }

    #[test]
    fn wallet_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<LeaseWallet>();
        assert_send_sync::<LeaseState>();
        assert_send_sync::<LeaseError>();
    }
}
