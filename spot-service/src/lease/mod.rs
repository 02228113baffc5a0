//! Leases: ownership tokens for robot resources, and the client-side bookkeeping around them.
//!
//! The robot grants a command only if the lease that comes with it is at least as recent as any
//! lease it has seen for that resource. Recency works like a Lamport clock: a [`Lease`] carries a
//! resource name, an epoch (one lease history, which restarts when the lease service does) and a
//! sequence of counters, one per level of sub-leasing.
//!
//! This module follows the rules of the official Python SDK (`bosdyn.client.lease`):
//!
//! - [`Lease::compare`] (`Lease.compare`) orders two leases; see [`LeaseComparison`].
//! - [`Lease::create_sublease`] (`Lease.create_sublease`) appends `0` to the sequence, and
//!   [`Lease::create_newer`] (`Lease.create_newer`) increments its last element.
//! - [`Lease::is_valid`] (`Lease.is_valid_proto`): the resource and the sequence are non-empty.
//!   The epoch is *not* checked, exactly as in the SDK.
//! - [`LeaseComparison::lease_use_status`] (`Lease.compare_result_to_lease_use_result_status`)
//!   turns a comparison into the `LeaseUseResult` status a lease service would answer.
//! - [`LeaseWallet`] (`LeaseWallet`, `LeaseState`) holds the leases a client uses, one per
//!   resource, and updates them from the robot's [`LeaseUseResult`]s.
//! - [`check_lease_use_result`] (`common.common_lease_errors`) turns every status other than
//!   `STATUS_OK` into a [`LeaseUseError`].
//!
//! - [`keepalive`]: a [`LeaseClient`](keepalive::LeaseClient) for the robot's lease service and a
//!   [`LeaseKeepAlive`](keepalive::LeaseKeepAlive) that retains a lease from a wallet (the
//!   official `LeaseKeepAlive`).
//!
//! [`LeaseUseResult`]: crate::proto::bosdyn::api::LeaseUseResult

pub mod keepalive;
mod use_result;
mod wallet;

use std::cmp::Ordering;
use std::fmt;

use crate::proto::bosdyn::api;
use crate::proto::bosdyn::api::lease_use_result::Status;

pub use use_result::{
    LeaseUseDetails, LeaseUseError, check_lease_use_result, check_lease_use_results,
};
pub use wallet::{LeaseState, LeaseStatus, LeaseWallet};

/// The resource name of the robot's body lease, the default resource of the official SDK.
pub const BODY_RESOURCE: &str = "body";

/// A lease: a `bosdyn.api.Lease` with the comparison and derivation rules of the official SDK.
///
/// [`Lease::from_proto`] (and [`Lease::new`]) accept only valid leases (see [`Lease::is_valid`]),
/// as the SDK's `Lease` constructor does. [`Lease::from_proto_unchecked`] wraps any proto, like
/// the SDK's `ignore_is_valid_check=True`; the operations then do what they structurally can.
///
/// `==` compares every field, client names included; [`Lease::compare`] ignores client names.
///
/// Displays as `resource@epoch[s0,s1,...]`, e.g. `body@epoch[1,2,0]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lease {
    proto: api::Lease,
}

/// How one lease relates to another (`Lease.CompareResult` in the official SDK).
///
/// Read `a.compare(&b) == X` as "a is X of/than b".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeaseComparison {
    /// Same resource, epoch and sequence.
    Same,
    /// `self` is an ancestor of the other lease: its sequence is a proper prefix of the other's.
    SuperLease,
    /// `self` is a descendant of the other lease: the other's sequence is a proper prefix of its.
    SubLease,
    /// At the first position where the sequences differ, `self` has the smaller number.
    Older,
    /// At the first position where the sequences differ, `self` has the larger number.
    Newer,
    /// The resources differ; leases of different resources cannot be ordered.
    DifferentResources,
    /// Same resource, different epochs; leases of different epochs cannot be ordered.
    DifferentEpochs,
}

/// Errors from building leases and from [`LeaseWallet`] operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LeaseError {
    /// The lease has an empty resource or an empty sequence ([`Lease::from_proto`],
    /// [`LeaseWallet::add`]), or an empty sequence ([`Lease::create_newer`]).
    #[error("invalid lease {lease}: {}", invalid_reason(lease))]
    Invalid {
        /// The rejected lease.
        lease: Lease,
    },
    /// [`Lease::create_newer`]: the last sequence element is already `u32::MAX`.
    #[error("cannot create a lease newer than {lease}: its last sequence element is u32::MAX")]
    SequenceOverflow {
        /// The lease that could not be advanced.
        lease: Lease,
    },
    /// The wallet has no entry for the resource (`NoSuchLease` in the official SDK).
    #[error("no lease for resource \"{resource}\"")]
    NoSuchLease {
        /// The resource asked for.
        resource: String,
    },
    /// The wallet has an entry for the resource, but the lease is no longer usable
    /// (`LeaseNotOwnedByWallet` in the official SDK).
    #[error("lease for resource \"{resource}\" is not owned by this wallet (state: {status}){}",
        owner_suffix(owner.as_ref()))]
    NotOwned {
        /// The resource asked for.
        resource: String,
        /// The entry's state.
        status: LeaseStatus,
        /// The holder the robot reported, if any.
        owner: Option<api::LeaseOwner>,
    },
}

fn invalid_reason(lease: &Lease) -> &'static str {
    match (lease.resource().is_empty(), lease.sequence().is_empty()) {
        (true, true) => "resource and sequence are empty",
        (true, false) => "resource is empty",
        (false, true) => "sequence is empty",
        (false, false) => "it cannot be used here",
    }
}

/// `"; held by \"client\" (user \"user\")"`, or nothing when the owner is unknown.
pub(crate) fn owner_suffix(owner: Option<&api::LeaseOwner>) -> String {
    let Some(owner) = owner else {
        return String::new();
    };
    match (owner.client_name.is_empty(), owner.user_name.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!("; held by \"{}\"", owner.client_name),
        (true, false) => format!("; held by user \"{}\"", owner.user_name),
        (false, false) => format!(
            "; held by \"{}\" (user \"{}\")",
            owner.client_name, owner.user_name
        ),
    }
}

impl Lease {
    /// Builds a valid lease from its parts; fails with [`LeaseError::Invalid`] if the resource or
    /// the sequence is empty.
    pub fn new(
        resource: impl Into<String>,
        epoch: impl Into<String>,
        sequence: impl Into<Vec<u32>>,
    ) -> Result<Self, LeaseError> {
        Self::from_proto(api::Lease {
            resource: resource.into(),
            epoch: epoch.into(),
            sequence: sequence.into(),
            client_names: Vec::new(),
        })
    }

    /// Wraps a proto lease; fails with [`LeaseError::Invalid`] unless [`Lease::is_valid`] holds
    /// (the official `Lease(lease_proto)` raises `ValueError` in that case).
    pub fn from_proto(proto: api::Lease) -> Result<Self, LeaseError> {
        let lease = Self::from_proto_unchecked(proto);
        if lease.is_valid() {
            Ok(lease)
        } else {
            Err(LeaseError::Invalid { lease })
        }
    }

    /// Wraps any proto lease, valid or not (the official `ignore_is_valid_check=True`).
    ///
    /// Use it to inspect or compare leases as received, e.g. the leases in a `LeaseUseResult`.
    pub fn from_proto_unchecked(proto: api::Lease) -> Self {
        Self { proto }
    }

    /// The underlying proto.
    pub fn as_proto(&self) -> &api::Lease {
        &self.proto
    }

    /// Unwraps the proto, e.g. to put it into a request.
    pub fn into_proto(self) -> api::Lease {
        self.proto
    }

    /// The resource the lease covers, e.g. `"body"`.
    pub fn resource(&self) -> &str {
        &self.proto.resource
    }

    /// The lease history the lease belongs to.
    pub fn epoch(&self) -> &str {
        &self.proto.epoch
    }

    /// The counters, one per level of sub-leasing.
    pub fn sequence(&self) -> &[u32] {
        &self.proto.sequence
    }

    /// The clients that have held the lease, outermost first.
    pub fn client_names(&self) -> &[String] {
        &self.proto.client_names
    }

    /// Whether the resource and the sequence are non-empty (`Lease.is_valid_proto`).
    ///
    /// As in the official SDK, an empty epoch does not make a lease invalid.
    pub fn is_valid(&self) -> bool {
        !self.proto.resource.is_empty() && !self.proto.sequence.is_empty()
    }

    /// Compares this lease with `other` (`Lease.compare`).
    ///
    /// In this order: different resources give [`LeaseComparison::DifferentResources`], then
    /// different epochs give [`LeaseComparison::DifferentEpochs`]. Then the sequences are compared
    /// element by element over their common length, and the first difference decides
    /// [`Older`](LeaseComparison::Older) or [`Newer`](LeaseComparison::Newer), even when the
    /// sequences have different lengths (`[1, 5]` is older than `[2]`). If one sequence is a
    /// proper prefix of the other, the shorter lease is the [`SuperLease`](LeaseComparison::SuperLease)
    /// and the longer the [`SubLease`](LeaseComparison::SubLease); equal sequences are
    /// [`Same`](LeaseComparison::Same). Client names are ignored.
    ///
    /// Invalid leases compare by the same rules: an empty sequence is a prefix of every sequence,
    /// so it is a super-lease of any non-empty one and the same as another empty one.
    pub fn compare(&self, other: &Lease) -> LeaseComparison {
        if self.proto.resource != other.proto.resource {
            return LeaseComparison::DifferentResources;
        }
        self.compare_ignoring_resource(other)
    }

    /// [`Lease::compare`] without the resource check (`compare(other, ignore_resources=True)`),
    /// for comparing a lease with one of a parent or child resource.
    pub fn compare_ignoring_resource(&self, other: &Lease) -> LeaseComparison {
        if self.proto.epoch != other.proto.epoch {
            return LeaseComparison::DifferentEpochs;
        }
        let (mine, theirs) = (&self.proto.sequence, &other.proto.sequence);
        for (a, b) in mine.iter().zip(theirs) {
            match a.cmp(b) {
                Ordering::Less => return LeaseComparison::Older,
                Ordering::Greater => return LeaseComparison::Newer,
                Ordering::Equal => {}
            }
        }
        match mine.len().cmp(&theirs.len()) {
            Ordering::Less => LeaseComparison::SuperLease,
            Ordering::Greater => LeaseComparison::SubLease,
            Ordering::Equal => LeaseComparison::Same,
        }
    }

    /// A sub-lease of this lease (`Lease.create_sublease`): the sequence with `0` appended and,
    /// if given, `client_name` appended to the client names.
    ///
    /// `self.compare(&sublease)` is [`LeaseComparison::SuperLease`].
    pub fn create_sublease(&self, client_name: Option<&str>) -> Lease {
        let mut proto = self.proto.clone();
        proto.sequence.push(0);
        if let Some(name) = client_name {
            proto.client_names.push(name.to_owned());
        }
        Lease { proto }
    }

    /// The next lease at the same level (`Lease.create_newer`): the last sequence element plus
    /// one; everything else, client names included, is kept.
    ///
    /// `self.compare(&newer)` is [`LeaseComparison::Older`]. Fails with [`LeaseError::Invalid`]
    /// if the sequence is empty and with [`LeaseError::SequenceOverflow`] if the last element is
    /// `u32::MAX` (the wire type is `uint32`).
    pub fn create_newer(&self) -> Result<Lease, LeaseError> {
        let Some(&last) = self.proto.sequence.last() else {
            return Err(LeaseError::Invalid {
                lease: self.clone(),
            });
        };
        let Some(next) = last.checked_add(1) else {
            return Err(LeaseError::SequenceOverflow {
                lease: self.clone(),
            });
        };
        let mut proto = self.proto.clone();
        if let Some(slot) = proto.sequence.last_mut() {
            *slot = next;
        }
        Ok(Lease { proto })
    }
}

impl fmt::Display for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}[", self.proto.resource, self.proto.epoch)?;
        for (i, n) in self.proto.sequence.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{n}")?;
        }
        f.write_str("]")
    }
}

impl TryFrom<api::Lease> for Lease {
    type Error = LeaseError;

    /// Same as [`Lease::from_proto`].
    fn try_from(proto: api::Lease) -> Result<Self, LeaseError> {
        Self::from_proto(proto)
    }
}

impl From<Lease> for api::Lease {
    fn from(lease: Lease) -> Self {
        lease.proto
    }
}

impl AsRef<api::Lease> for Lease {
    fn as_ref(&self) -> &api::Lease {
        &self.proto
    }
}

impl LeaseComparison {
    /// The status a lease service answers when an incoming lease compares this way with the
    /// active one (`Lease.compare_result_to_lease_use_result_status`).
    ///
    /// `Same`, `SubLease` and `Newer` are `STATUS_OK`; `Older` is `STATUS_OLDER`; `SuperLease` is
    /// `STATUS_OLDER`, or `STATUS_OK` if `allow_super_leases`; `DifferentEpochs` is
    /// `STATUS_WRONG_EPOCH`; `DifferentResources` is `STATUS_UNMANAGED`.
    pub fn lease_use_status(self, allow_super_leases: bool) -> Status {
        match self {
            Self::Same | Self::SubLease | Self::Newer => Status::Ok,
            Self::SuperLease if allow_super_leases => Status::Ok,
            Self::SuperLease | Self::Older => Status::Older,
            Self::DifferentEpochs => Status::WrongEpoch,
            Self::DifferentResources => Status::Unmanaged,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(resource: &str, epoch: &str, sequence: &[u32]) -> Lease {
        Lease::from_proto_unchecked(api::Lease {
            resource: resource.to_owned(),
            epoch: epoch.to_owned(),
            sequence: sequence.to_vec(),
            client_names: Vec::new(),
        })
    }

    /// Asserts `a.compare(b) == ab` and `b.compare(a) == ba`.
    #[track_caller]
    fn assert_cmp(a: &Lease, b: &Lease, ab: LeaseComparison, ba: LeaseComparison) {
        assert_eq!(a.compare(b), ab, "{a} vs {b}");
        assert_eq!(b.compare(a), ba, "{b} vs {a}");
    }

    use LeaseComparison::*;

    const SEQ: [u32; 3] = [500, 20, 9000];

    #[test]
    fn compare_same() {
        let a = lease("llama", "meso", &SEQ);
        assert_cmp(&a, &a.clone(), Same, Same);
    }

    #[test]
    fn compare_ignores_client_names() {
        let a = lease("body", "e", &[1, 0]);
        let mut b = a.clone().into_proto();
        b.client_names = vec!["someone".into()];
        let b = Lease::from_proto(b).unwrap();
        assert_ne!(a, b);
        assert_cmp(&a, &b, Same, Same);
    }

    #[test]
    fn compare_different_resources() {
        let a = lease("llama", "meso", &SEQ);
        let b = lease("koala", "meso", &SEQ);
        assert_cmp(&a, &b, DifferentResources, DifferentResources);
    }

    #[test]
    fn compare_resources_checked_before_epochs() {
        let a = lease("llama", "meso", &[1]);
        let b = lease("koala", "jurassic", &[2]);
        assert_cmp(&a, &b, DifferentResources, DifferentResources);
    }

    #[test]
    fn compare_different_epochs() {
        let a = lease("llama", "meso", &SEQ);
        let b = lease("llama", "jurassic", &SEQ);
        assert_cmp(&a, &b, DifferentEpochs, DifferentEpochs);
        // An empty epoch is an epoch like any other.
        let c = lease("llama", "", &SEQ);
        assert_cmp(&a, &c, DifferentEpochs, DifferentEpochs);
    }

    #[test]
    fn compare_each_sequence_position_decides() {
        let a = lease("llama", "meso", &SEQ);
        for i in 0..SEQ.len() {
            let mut seq = SEQ;
            seq[i] += 1;
            let b = lease("llama", "meso", &seq);
            assert_cmp(&a, &b, Older, Newer);
        }
    }

    #[test]
    fn compare_first_difference_wins_over_length() {
        // [1, 5] vs [2]: the first element decides although [1, 5] is longer.
        let a = lease("body", "e", &[1, 5]);
        let b = lease("body", "e", &[2]);
        assert_cmp(&a, &b, Older, Newer);
        // [3, 0, 7] vs [3, 1]: the second element decides.
        let c = lease("body", "e", &[3, 0, 7]);
        let d = lease("body", "e", &[3, 1]);
        assert_cmp(&c, &d, Older, Newer);
    }

    #[test]
    fn compare_prefix_is_super_lease() {
        let a = lease("llama", "meso", &SEQ);
        let b = lease("llama", "meso", &[500, 20, 9000, 400]);
        assert_cmp(&a, &b, SuperLease, SubLease);
        let deep = lease("llama", "meso", &[500, 20, 9000, 400, 0, 1]);
        assert_cmp(&a, &deep, SuperLease, SubLease);
    }

    #[test]
    fn compare_ignoring_resource() {
        let a = lease("body", "e", &[1]);
        let b = lease("arm", "e", &[1, 0]);
        assert_eq!(a.compare(&b), DifferentResources);
        assert_eq!(a.compare_ignoring_resource(&b), SuperLease);
        assert_eq!(b.compare_ignoring_resource(&a), SubLease);
        let c = lease("arm", "other", &[1, 0]);
        assert_eq!(a.compare_ignoring_resource(&c), DifferentEpochs);
    }

    #[test]
    fn compare_invalid_leases() {
        // Empty sequences: the empty sequence is a prefix of every sequence.
        let empty = lease("body", "e", &[]);
        let one = lease("body", "e", &[1]);
        assert_cmp(&empty, &empty.clone(), Same, Same);
        assert_cmp(&empty, &one, SuperLease, SubLease);
        // A lease with nothing set equals another one.
        let blank = lease("", "", &[]);
        assert_cmp(&blank, &blank.clone(), Same, Same);
        assert_cmp(&blank, &one, DifferentResources, DifferentResources);
        // Empty resources on both sides still compare by epoch and sequence.
        let no_resource = lease("", "e", &[2]);
        assert_cmp(&no_resource, &lease("", "e", &[1, 9]), Newer, Older);
    }

    #[test]
    fn validity_follows_the_sdk() {
        assert!(lease("body", "e", &[1]).is_valid());
        // The epoch is not checked (Lease.is_valid_proto checks resource and sequence only).
        assert!(lease("body", "", &[1]).is_valid());
        assert!(!lease("", "e", &[1]).is_valid());
        assert!(!lease("body", "e", &[]).is_valid());
        assert!(!lease("", "", &[]).is_valid());
    }

    #[test]
    fn from_proto_rejects_invalid_leases() {
        let ok = Lease::new("body", "e", [1]).unwrap();
        assert_eq!(ok.resource(), "body");
        assert_eq!(ok.epoch(), "e");
        assert_eq!(ok.sequence(), &[1]);
        assert!(ok.client_names().is_empty());

        let cases = [
            (
                lease("", "e", &[1]),
                "invalid lease @e[1]: resource is empty",
            ),
            (
                lease("body", "e", &[]),
                "invalid lease body@e[]: sequence is empty",
            ),
            (
                lease("", "", &[]),
                "invalid lease @[]: resource and sequence are empty",
            ),
        ];
        for (bad, message) in cases {
            let err = Lease::from_proto(bad.as_proto().clone()).unwrap_err();
            assert_eq!(err, LeaseError::Invalid { lease: bad.clone() });
            assert_eq!(err.to_string(), message);
            assert_eq!(Lease::try_from(bad.clone().into_proto()).unwrap_err(), err);
        }
    }

    #[test]
    fn proto_round_trip() {
        let proto = api::Lease {
            resource: "body".into(),
            epoch: "e".into(),
            sequence: vec![4, 0],
            client_names: vec!["root".into(), "me".into()],
        };
        let lease = Lease::try_from(proto.clone()).unwrap();
        assert_eq!(lease.as_proto(), &proto);
        assert_eq!(AsRef::<api::Lease>::as_ref(&lease), &proto);
        assert_eq!(api::Lease::from(lease.clone()), proto);
        assert_eq!(lease.into_proto(), proto);
    }

    #[test]
    fn display() {
        assert_eq!(
            lease("body", "epoch", &[1, 2, 0]).to_string(),
            "body@epoch[1,2,0]"
        );
        assert_eq!(lease("body", "e", &[7]).to_string(), "body@e[7]");
        assert_eq!(lease("", "", &[]).to_string(), "@[]");
    }

    #[test]
    fn create_sublease() {
        let mut proto = lease("llama", "meso", &SEQ).into_proto();
        proto.client_names = vec!["root".into()];
        let a = Lease::from_proto(proto).unwrap();

        let anonymous = a.create_sublease(None);
        assert_eq!(anonymous.resource(), "llama");
        assert_eq!(anonymous.epoch(), "meso");
        assert_eq!(anonymous.sequence(), &[500, 20, 9000, 0]);
        assert_eq!(anonymous.client_names(), &["root".to_owned()]);
        assert_cmp(&a, &anonymous, SuperLease, SubLease);

        let named = a.create_sublease(Some("svc"));
        assert_eq!(named.sequence(), &[500, 20, 9000, 0]);
        assert_eq!(named.client_names(), &["root".to_owned(), "svc".to_owned()]);
        assert_cmp(&named, &anonymous, Same, Same);

        // Works on an empty sequence too (the result is [0]).
        assert_eq!(
            lease("body", "e", &[]).create_sublease(None).sequence(),
            &[0]
        );
    }

    #[test]
    fn create_newer() {
        let mut proto = lease("llama", "meso", &SEQ).into_proto();
        proto.client_names = vec!["root".into()];
        let a = Lease::from_proto(proto).unwrap();
        let b = a.create_newer().unwrap();
        assert_eq!(b.resource(), "llama");
        assert_eq!(b.epoch(), "meso");
        assert_eq!(b.sequence(), &[500, 20, 9001]);
        assert_eq!(b.client_names(), &["root".to_owned()]);
        assert_cmp(&a, &b, Older, Newer);

        // A newer sub-lease is still a sub-lease of the parent, and newer than its sibling.
        let sub = a.create_sublease(None);
        let sub2 = sub.create_newer().unwrap();
        assert_eq!(sub2.sequence(), &[500, 20, 9000, 1]);
        assert_cmp(&a, &sub2, SuperLease, SubLease);
        assert_cmp(&sub, &sub2, Older, Newer);
    }

    #[test]
    fn create_newer_errors() {
        let empty = lease("body", "e", &[]);
        let err = empty.create_newer().unwrap_err();
        assert_eq!(err, LeaseError::Invalid { lease: empty });
        assert_eq!(err.to_string(), "invalid lease body@e[]: sequence is empty");

        let max = lease("body", "e", &[3, u32::MAX]);
        let err = max.create_newer().unwrap_err();
        assert_eq!(err, LeaseError::SequenceOverflow { lease: max });
        assert_eq!(
            err.to_string(),
            "cannot create a lease newer than body@e[3,4294967295]: its last sequence element is u32::MAX"
        );
    }

    #[test]
    fn comparison_to_lease_use_status() {
        let cases = [
            (Same, Status::Ok, Status::Ok),
            (SubLease, Status::Ok, Status::Ok),
            (Newer, Status::Ok, Status::Ok),
            (SuperLease, Status::Older, Status::Ok),
            (Older, Status::Older, Status::Older),
            (DifferentEpochs, Status::WrongEpoch, Status::WrongEpoch),
            (DifferentResources, Status::Unmanaged, Status::Unmanaged),
        ];
        for (cmp, strict, allow_super) in cases {
            assert_eq!(cmp.lease_use_status(false), strict, "{cmp:?}");
            assert_eq!(cmp.lease_use_status(true), allow_super, "{cmp:?}");
        }
    }

    #[test]
    fn owner_suffix_formats() {
        let owner = |c: &str, u: &str| api::LeaseOwner {
            client_name: c.into(),
            user_name: u.into(),
        };
        assert_eq!(owner_suffix(None), "");
        assert_eq!(owner_suffix(Some(&owner("", ""))), "");
        assert_eq!(
            owner_suffix(Some(&owner("tablet", ""))),
            "; held by \"tablet\""
        );
        assert_eq!(
            owner_suffix(Some(&owner("", "admin"))),
            "; held by user \"admin\""
        );
        assert_eq!(
            owner_suffix(Some(&owner("tablet", "admin"))),
            "; held by \"tablet\" (user \"admin\")"
        );
    }
}
