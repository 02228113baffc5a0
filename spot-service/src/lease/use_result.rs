//! [`LeaseUseError`]: a robot's `LeaseUseResult` other than `STATUS_OK`, as an error.

use std::fmt;

use super::{Lease, LeaseComparison, owner_suffix};
use crate::proto::bosdyn::api::lease_use_result::Status;
use crate::proto::bosdyn::api::{self, LeaseUseResult};

/// The robot rejected the lease sent with a request: one variant per `LeaseUseResult` status
/// other than `STATUS_OK` (the official SDK raises `LeaseUseError` for all of them).
///
/// Every variant carries the result's leases and owner as [`LeaseUseDetails`] (boxed, so that
/// `Result<T, LeaseUseError>` stays small). To echo the result into a response (as a remote
/// mission service does), keep the original [`LeaseUseResult`]: [`check_lease_use_result`] only
/// borrows it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LeaseUseError {
    /// `STATUS_UNKNOWN`: the robot did not fill in the status.
    Unknown(Box<LeaseUseDetails>),
    /// `STATUS_INVALID_LEASE`: the lease is malformed or names a resource the robot does not know.
    InvalidLease(Box<LeaseUseDetails>),
    /// `STATUS_OLDER`: the robot has seen a newer lease for the resource; someone else (or a
    /// newer lease of this client) holds it.
    Older(Box<LeaseUseDetails>),
    /// `STATUS_REVOKED`: the lease was returned, taken by another client, or not retained in
    /// time.
    Revoked(Box<LeaseUseDetails>),
    /// `STATUS_UNMANAGED`: the robot's lease service does not manage the resource.
    Unmanaged(Box<LeaseUseDetails>),
    /// `STATUS_WRONG_EPOCH`: the lease belongs to another lease history (e.g. from before the
    /// lease service restarted).
    WrongEpoch(Box<LeaseUseDetails>),
    /// A status value this version does not know.
    UnrecognizedStatus {
        /// The raw status value.
        status: i32,
        /// The result's leases and owner.
        details: Box<LeaseUseDetails>,
    },
}

/// What a failed `LeaseUseResult` reported besides its status.
///
/// Each field is `None` when the result leaves it unset or entirely empty (all fields default).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeaseUseDetails {
    /// `attempted_lease`: the lease that was sent.
    pub attempted: Option<Lease>,
    /// `latest_known_lease`: the newest lease the robot knows for the resource.
    pub latest: Option<Lease>,
    /// `owner`: the resource's current holder.
    pub owner: Option<api::LeaseOwner>,
}

/// `Ok(())` for `STATUS_OK`, otherwise the matching [`LeaseUseError`]
/// (`common.common_lease_errors` for one result).
pub fn check_lease_use_result(result: &LeaseUseResult) -> Result<(), LeaseUseError> {
    let details = || {
        Box::new(LeaseUseDetails {
            attempted: present(result.attempted_lease.as_ref()),
            latest: present(result.latest_known_lease.as_ref()),
            owner: result
                .owner
                .clone()
                .filter(|o| *o != api::LeaseOwner::default()),
        })
    };
    Err(match Status::try_from(result.status) {
        Ok(Status::Ok) => return Ok(()),
        Ok(Status::Unknown) => LeaseUseError::Unknown(details()),
        Ok(Status::InvalidLease) => LeaseUseError::InvalidLease(details()),
        Ok(Status::Older) => LeaseUseError::Older(details()),
        Ok(Status::Revoked) => LeaseUseError::Revoked(details()),
        Ok(Status::Unmanaged) => LeaseUseError::Unmanaged(details()),
        Ok(Status::WrongEpoch) => LeaseUseError::WrongEpoch(details()),
        Err(_) => LeaseUseError::UnrecognizedStatus {
            status: result.status,
            details: details(),
        },
    })
}

/// The first failing result of a response's `lease_use_results`, as
/// `common.common_lease_errors` does; `Ok(())` if all are `STATUS_OK` or there are none.
pub fn check_lease_use_results<'a>(
    results: impl IntoIterator<Item = &'a LeaseUseResult>,
) -> Result<(), LeaseUseError> {
    results.into_iter().try_for_each(check_lease_use_result)
}

/// A lease field that is set and not entirely empty.
fn present(lease: Option<&api::Lease>) -> Option<Lease> {
    lease
        .filter(|l| **l != api::Lease::default())
        .map(|l| Lease::from_proto_unchecked(l.clone()))
}

impl LeaseUseError {
    /// The result's leases and owner.
    pub fn details(&self) -> &LeaseUseDetails {
        match self {
            Self::Unknown(details)
            | Self::InvalidLease(details)
            | Self::Older(details)
            | Self::Revoked(details)
            | Self::Unmanaged(details)
            | Self::WrongEpoch(details)
            | Self::UnrecognizedStatus { details, .. } => details,
        }
    }

    /// The lease that was sent, if the result reported it.
    pub fn attempted_lease(&self) -> Option<&Lease> {
        self.details().attempted.as_ref()
    }

    /// The newest lease the robot knows for the resource, if reported.
    pub fn latest_known_lease(&self) -> Option<&Lease> {
        self.details().latest.as_ref()
    }

    /// The resource's holder, if reported.
    pub fn owner(&self) -> Option<&api::LeaseOwner> {
        self.details().owner.as_ref()
    }

    /// The raw `LeaseUseResult.status` value.
    pub fn status_code(&self) -> i32 {
        match self {
            Self::Unknown(_) => Status::Unknown as i32,
            Self::InvalidLease(_) => Status::InvalidLease as i32,
            Self::Older(_) => Status::Older as i32,
            Self::Revoked(_) => Status::Revoked as i32,
            Self::Unmanaged(_) => Status::Unmanaged as i32,
            Self::WrongEpoch(_) => Status::WrongEpoch as i32,
            Self::UnrecognizedStatus { status, .. } => *status,
        }
    }
}

/// A lease or `none`.
struct Maybe<'a>(Option<&'a Lease>);

impl fmt::Display for Maybe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(lease) => lease.fmt(f),
            None => f.write_str("none"),
        }
    }
}

/// A sequence as `[3, 0]`.
struct Seq<'a>(&'a [u32]);

impl fmt::Display for Seq<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl fmt::Display for LeaseUseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let LeaseUseDetails {
            attempted,
            latest,
            owner,
        } = self.details();
        let (attempted, latest) = (attempted.as_ref(), latest.as_ref());
        let resource = attempted.map(Lease::resource).filter(|r| !r.is_empty());
        let subject = match resource {
            Some(resource) => format!("lease for {resource}"),
            None => "lease".to_owned(),
        };
        let both = format!(
            "attempted {}, robot's latest {}",
            Maybe(attempted),
            Maybe(latest)
        );
        match self {
            Self::Unknown(_) => write!(
                f,
                "lease use result has no status (STATUS_UNKNOWN) for attempted lease {}",
                Maybe(attempted)
            ),
            Self::InvalidLease(_) => write!(
                f,
                "{subject} is invalid: malformed or for a resource the robot does not know \
                 (attempted {})",
                Maybe(attempted)
            ),
            Self::Older(_) => {
                write!(f, "{subject} is older than the robot's current lease (")?;
                match (attempted, latest) {
                    (Some(a), Some(l)) => match a.compare(l) {
                        LeaseComparison::Older => {
                            write!(f, "sequence {} < {}", Seq(a.sequence()), Seq(l.sequence()))?
                        }
                        LeaseComparison::SuperLease => write!(
                            f,
                            "sequence {} is a super-lease of {}",
                            Seq(a.sequence()),
                            Seq(l.sequence())
                        )?,
                        _ => f.write_str(&both)?,
                    },
                    _ => f.write_str(&both)?,
                }
                write!(f, "){}", owner_suffix(owner.as_ref()))
            }
            Self::Revoked(_) => write!(
                f,
                "{subject} was revoked: returned, taken by another client, or not retained in \
                 time ({both}){}",
                owner_suffix(owner.as_ref())
            ),
            Self::Unmanaged(_) => match resource {
                Some(resource) => write!(
                    f,
                    "resource \"{resource}\" is not managed by the robot's lease service \
                     (attempted {})",
                    Maybe(attempted)
                ),
                None => write!(
                    f,
                    "the attempted lease's resource is not managed by the robot's lease service \
                     (attempted {})",
                    Maybe(attempted)
                ),
            },
            Self::WrongEpoch(_) => match (attempted, latest) {
                (Some(a), Some(l)) if a.epoch() != l.epoch() => write!(
                    f,
                    "{subject} is from epoch \"{}\" but the robot's current epoch is \"{}\"",
                    a.epoch(),
                    l.epoch()
                ),
                _ => write!(f, "{subject} is from the wrong epoch ({both})"),
            },
            Self::UnrecognizedStatus { status, .. } => write!(
                f,
                "lease use result has unrecognized status {status} for attempted lease {}",
                Maybe(attempted)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proto(resource: &str, epoch: &str, sequence: &[u32]) -> api::Lease {
        api::Lease {
            resource: resource.into(),
            epoch: epoch.into(),
            sequence: sequence.to_vec(),
            client_names: Vec::new(),
        }
    }

    fn lease(resource: &str, epoch: &str, sequence: &[u32]) -> Lease {
        Lease::from_proto_unchecked(proto(resource, epoch, sequence))
    }

    fn tablet() -> api::LeaseOwner {
        api::LeaseOwner {
            client_name: "tablet".into(),
            user_name: "admin".into(),
        }
    }

    fn result(status: i32, attempted: &[u32], latest: &[u32]) -> LeaseUseResult {
        LeaseUseResult {
            status,
            owner: Some(tablet()),
            attempted_lease: Some(proto("body", "e", attempted)),
            previous_lease: Some(proto("body", "e", &[1])),
            latest_known_lease: Some(proto("body", "e", latest)),
            latest_resources: Vec::new(),
        }
    }

    #[test]
    fn ok_is_not_an_error() {
        assert_eq!(
            check_lease_use_result(&result(Status::Ok as i32, &[3], &[3])),
            Ok(())
        );
        assert_eq!(
            check_lease_use_result(&LeaseUseResult {
                status: Status::Ok as i32,
                ..Default::default()
            }),
            Ok(())
        );
    }

    #[test]
    fn every_status_maps_to_its_variant() {
        let details = Box::new(LeaseUseDetails {
            attempted: Some(lease("body", "e", &[3, 0])),
            latest: Some(lease("body", "e", &[4])),
            owner: Some(tablet()),
        });
        let expected = [
            (
                Status::Unknown as i32,
                LeaseUseError::Unknown(details.clone()),
                "lease use result has no status (STATUS_UNKNOWN) for attempted lease body@e[3,0]",
            ),
            (
                Status::InvalidLease as i32,
                LeaseUseError::InvalidLease(details.clone()),
                "lease for body is invalid: malformed or for a resource the robot does not know \
                 (attempted body@e[3,0])",
            ),
            (
                Status::Older as i32,
                LeaseUseError::Older(details.clone()),
                "lease for body is older than the robot's current lease (sequence [3, 0] < [4]); \
                 held by \"tablet\" (user \"admin\")",
            ),
            (
                Status::Revoked as i32,
                LeaseUseError::Revoked(details.clone()),
                "lease for body was revoked: returned, taken by another client, or not retained \
                 in time (attempted body@e[3,0], robot's latest body@e[4]); held by \"tablet\" \
                 (user \"admin\")",
            ),
            (
                Status::Unmanaged as i32,
                LeaseUseError::Unmanaged(details.clone()),
                "resource \"body\" is not managed by the robot's lease service \
                 (attempted body@e[3,0])",
            ),
            (
                Status::WrongEpoch as i32,
                LeaseUseError::WrongEpoch(details.clone()),
                "lease for body is from the wrong epoch \
                 (attempted body@e[3,0], robot's latest body@e[4])",
            ),
            (
                7,
                LeaseUseError::UnrecognizedStatus {
                    status: 7,
                    details: details.clone(),
                },
                "lease use result has unrecognized status 7 for attempted lease body@e[3,0]",
            ),
            (
                -1,
                LeaseUseError::UnrecognizedStatus {
                    status: -1,
                    details: details.clone(),
                },
                "lease use result has unrecognized status -1 for attempted lease body@e[3,0]",
            ),
        ];
        for (status, error, message) in expected {
            let got = check_lease_use_result(&result(status, &[3, 0], &[4])).unwrap_err();
            assert_eq!(got, error, "status {status}");
            assert_eq!(got.to_string(), message, "status {status}");
            assert_eq!(got.status_code(), status);
            assert_eq!(got.details(), &*details);
            assert_eq!(got.attempted_lease(), details.attempted.as_ref());
            assert_eq!(got.latest_known_lease(), details.latest.as_ref());
            assert_eq!(got.owner(), details.owner.as_ref());
        }
    }

    #[test]
    fn error_is_small() {
        assert!(std::mem::size_of::<LeaseUseError>() <= 16);
    }

    #[test]
    fn older_messages() {
        let older = |attempted: Option<api::Lease>, latest: Option<api::Lease>| {
            check_lease_use_result(&LeaseUseResult {
                status: Status::Older as i32,
                attempted_lease: attempted,
                latest_known_lease: latest,
                ..Default::default()
            })
            .unwrap_err()
            .to_string()
        };
        assert_eq!(
            older(
                Some(proto("body", "e", &[3])),
                Some(proto("body", "e", &[3, 0]))
            ),
            "lease for body is older than the robot's current lease \
             (sequence [3] is a super-lease of [3, 0])"
        );
        assert_eq!(
            older(Some(proto("body", "e", &[3, 0])), None),
            "lease for body is older than the robot's current lease \
             (attempted body@e[3,0], robot's latest none)"
        );
        assert_eq!(
            older(None, Some(proto("body", "e", &[4]))),
            "lease is older than the robot's current lease \
             (attempted none, robot's latest body@e[4])"
        );
        // Not actually older by our rules: both leases are shown as they are.
        assert_eq!(
            older(
                Some(proto("body", "a", &[3])),
                Some(proto("body", "b", &[4]))
            ),
            "lease for body is older than the robot's current lease \
             (attempted body@a[3], robot's latest body@b[4])"
        );
    }

    #[test]
    fn wrong_epoch_names_both_epochs() {
        let err = check_lease_use_result(&LeaseUseResult {
            status: Status::WrongEpoch as i32,
            attempted_lease: Some(proto("body", "old", &[3])),
            latest_known_lease: Some(proto("body", "new", &[1])),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "lease for body is from epoch \"old\" but the robot's current epoch is \"new\""
        );
    }

    #[test]
    fn unset_and_empty_fields_are_none() {
        for empty in [None, Some(api::Lease::default())] {
            let err = check_lease_use_result(&LeaseUseResult {
                status: Status::Unmanaged as i32,
                owner: Some(api::LeaseOwner::default()),
                attempted_lease: empty.clone(),
                latest_known_lease: empty,
                ..Default::default()
            })
            .unwrap_err();
            assert_eq!(
                err,
                LeaseUseError::Unmanaged(Box::new(LeaseUseDetails {
                    attempted: None,
                    latest: None,
                    owner: None,
                }))
            );
            assert_eq!(
                err.to_string(),
                "the attempted lease's resource is not managed by the robot's lease service \
                 (attempted none)"
            );
        }
        // A lease with only some fields set is kept as it is.
        let err = check_lease_use_result(&LeaseUseResult {
            status: Status::InvalidLease as i32,
            attempted_lease: Some(proto("", "e", &[])),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(err.attempted_lease(), Some(&lease("", "e", &[])));
        assert_eq!(
            err.to_string(),
            "lease is invalid: malformed or for a resource the robot does not know \
             (attempted @e[])"
        );
    }

    #[test]
    fn many_results_report_the_first_failure() {
        let ok = result(Status::Ok as i32, &[3], &[3]);
        let older = result(Status::Older as i32, &[3, 0], &[4]);
        let revoked = result(Status::Revoked as i32, &[5], &[5]);
        assert_eq!(check_lease_use_results(&[]), Ok(()));
        assert_eq!(check_lease_use_results([&ok, &ok]), Ok(()));
        let err = check_lease_use_results(vec![&ok, &older, &revoked]).unwrap_err();
        assert!(matches!(err, LeaseUseError::Older(_)), "{err:?}");
        let err = check_lease_use_results(&[revoked, older]).unwrap_err();
        assert!(matches!(err, LeaseUseError::Revoked(_)), "{err:?}");
    }
}
