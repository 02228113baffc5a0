//! The leases of a remote mission session: checking what the mission service sent, sub-leasing,
//! the session's wallet, and retaining the sub-leases with the robot.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::lease::keepalive::{LeaseClient, LeaseKeepAlive, LeaseKeepAliveConfig};
use crate::lease::{Lease, LeaseComparison, LeaseWallet};
use crate::proto::bosdyn::api;

/// What is wrong with the leases of a request, for the declared resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LeaseProblem {
    /// No lease for these declared resources: answered with `STATUS_MISSING_LEASES`.
    Missing(Vec<String>),
    /// More than one lease for a declared resource, or an invalid one: a header
    /// `CODE_INVALID_REQUEST` with this message.
    Invalid(String),
}

/// Picks the lease of each declared resource out of a request's leases.
///
/// Leases for resources that were not declared are ignored (the mission service sends the
/// leases of the node's configured resources, which may be more than the service needs).
pub(crate) fn select_leases(
    declared: &[&str],
    leases: &[api::Lease],
) -> Result<Vec<Lease>, LeaseProblem> {
    let mut selected = Vec::with_capacity(declared.len());
    let mut missing = Vec::new();
    for &resource in declared {
        let mut matching = leases.iter().filter(|l| l.resource == resource);
        match (matching.next(), matching.next()) {
            (None, _) => missing.push(resource.to_owned()),
            (Some(_), Some(_)) => {
                return Err(LeaseProblem::Invalid(format!(
                    "more than one lease for resource \"{resource}\""
                )));
            }
            (Some(lease), None) => match Lease::from_proto(lease.clone()) {
                Ok(lease) => selected.push(lease),
                Err(_) => {
                    return Err(LeaseProblem::Invalid(format!(
                        "the lease for resource \"{resource}\" is invalid (empty sequence)"
                    )));
                }
            },
        }
    }
    if missing.is_empty() {
        Ok(selected)
    } else {
        Err(LeaseProblem::Missing(missing))
    }
}

/// Starts retaining one resource's lease from a wallet; type-erases the lease client's
/// transport.
pub(crate) type Retainer = Arc<dyn Fn(LeaseWallet, &str) -> LeaseKeepAlive + Send + Sync>;

/// A [`Retainer`] over `client`.
pub(crate) fn retainer<T>(client: LeaseClient<T>, config: LeaseKeepAliveConfig) -> Retainer
where
    LeaseClient<T>: Clone,
    T: tonic::client::GrpcService<tonic::body::Body> + Send + Sync + 'static,
    T::Error: Into<tonic::codegen::StdError>,
    T::Future: Send,
    T::ResponseBody: tonic::codegen::Body<Data = tonic::codegen::Bytes> + Send + 'static,
    <T::ResponseBody as tonic::codegen::Body>::Error: Into<tonic::codegen::StdError> + Send,
{
    Arc::new(move |wallet, resource| {
        LeaseKeepAlive::spawn(client.clone(), wallet, resource, config)
    })
}

/// The leases of one session: for each declared resource, the lease the mission service sent
/// and the sub-lease made from it (held in the session's wallet), retained with the robot while
/// the session lives when the service has a lease client.
///
/// Attach [`lease`](Self::lease) (the sub-lease) to the robot commands you send; feed the
/// robot's `LeaseUseResult`s to [`wallet`](Self::wallet) if you track them yourself.
pub struct SessionLeases {
    wallet: LeaseWallet,
    received: HashMap<String, Lease>,
    keepalives: HashMap<String, LeaseKeepAlive>,
    retainer: Option<Retainer>,
}

impl fmt::Debug for SessionLeases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionLeases")
            .field("wallet", &self.wallet)
            .field("received", &self.received)
            .field("retained", &self.keepalives.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl SessionLeases {
    /// An empty set; sub-leases carry `client_name`.
    pub(crate) fn new(client_name: &str, retainer: Option<Retainer>) -> Self {
        Self {
            wallet: LeaseWallet::with_client_name(client_name),
            received: HashMap::new(),
            keepalives: HashMap::new(),
            retainer,
        }
    }

    /// Takes in the leases of a request, as the official example does on every call: a lease
    /// becomes the session's (a fresh sub-lease in the wallet, its retention restarted) unless
    /// it is the one already held and the wallet still owns its sub-lease. So the same lease
    /// sent again after the robot refused the sub-lease (revoked, older, wrong epoch) is used
    /// again: the command that uses it gets the robot's refusal, which the callback reports back
    /// to the mission ([`TickContext::report_lease_use_result`](super::TickContext::report_lease_use_result)),
    /// and the mission answers with a newer lease.
    pub(crate) fn update(&mut self, leases: Vec<Lease>) {
        for lease in leases {
            let resource = lease.resource().to_owned();
            let held = self
                .received
                .get(&resource)
                .is_some_and(|known| known.compare(&lease) == LeaseComparison::Same);
            if held && self.wallet.get_lease(&resource).is_ok() {
                continue;
            }
            // `select_leases` only passes valid leases, which the wallet accepts.
            if self.wallet.add(lease.clone()).is_err() {
                continue;
            }
            self.received.insert(resource.clone(), lease);
            if let Some(retainer) = &self.retainer {
                let keepalive = retainer(self.wallet.clone(), &resource);
                // Replacing the old keep-alive drops it, which stops its task.
                self.keepalives.insert(resource, keepalive);
            }
        }
    }

    /// The sub-lease for `resource` to attach to robot commands, if the session has a usable
    /// one (it has none for undeclared resources, nor after the robot revoked it).
    pub fn lease(&self, resource: &str) -> Option<Lease> {
        self.wallet.get_lease(resource).ok()
    }

    /// The sub-lease of the body ([`lease`](Self::lease) for `"body"`).
    pub fn body(&self) -> Option<Lease> {
        self.lease(crate::lease::BODY_RESOURCE)
    }

    /// The lease for `resource` as the mission service sent it (the sub-lease's parent).
    pub fn received(&self, resource: &str) -> Option<&Lease> {
        self.received.get(resource)
    }

    /// The session's wallet: one entry per declared resource.
    pub fn wallet(&self) -> &LeaseWallet {
        &self.wallet
    }

    /// The keep-alive retaining `resource`'s sub-lease, if the service retains leases.
    pub fn keepalive(&self, resource: &str) -> Option<&LeaseKeepAlive> {
        self.keepalives.get(resource)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(resource: &str, sequence: &[u32]) -> api::Lease {
        api::Lease {
            resource: resource.into(),
            epoch: "e".into(),
            sequence: sequence.to_vec(),
            client_names: vec![],
        }
    }

    #[test]
    fn selects_declared_resources_and_ignores_others() {
        let leases = [lease("arm", &[1]), lease("body", &[2])];
        let selected = select_leases(&["body"], &leases).unwrap();
        assert_eq!(selected.len(), 1);
        assert_eq!(selected[0].resource(), "body");
        assert_eq!(select_leases(&[], &leases).unwrap(), vec![]);
    }

    #[test]
    fn reports_every_missing_resource() {
        let leases = [lease("arm", &[1])];
        assert_eq!(
            select_leases(&["body", "arm", "gripper"], &leases),
            Err(LeaseProblem::Missing(vec!["body".into(), "gripper".into()]))
        );
    }

    #[test]
    fn duplicate_and_invalid_leases_are_invalid_requests() {
        let twice = [lease("body", &[1]), lease("body", &[2])];
        assert!(matches!(
            select_leases(&["body"], &twice),
            Err(LeaseProblem::Invalid(m)) if m.contains("more than one lease for resource \"body\"")
        ));
        let empty = [lease("body", &[])];
        assert!(matches!(
            select_leases(&["body"], &empty),
            Err(LeaseProblem::Invalid(m)) if m.contains("invalid")
        ));
    }

    #[test]
    fn sub_leases_follow_the_received_lease() {
        let mut leases = SessionLeases::new("svc", None);
        assert_eq!(leases.body(), None);
        leases.update(vec![Lease::from_proto(lease("body", &[3])).unwrap()]);
        let first = leases.body().unwrap();
        assert_eq!(first.sequence(), &[3, 0]);
        assert_eq!(first.client_names(), &["svc".to_owned()]);
        // The same lease again keeps the sub-lease (and any advance made on it).
        let advanced = leases.wallet().advance("body").unwrap();
        leases.update(vec![Lease::from_proto(lease("body", &[3])).unwrap()]);
        assert_eq!(leases.body().unwrap(), advanced);
        // A refused sub-lease is replaced by a fresh one when the same lease comes again.
        let refused = api::LeaseUseResult {
            status: api::lease_use_result::Status::Revoked as i32,
            attempted_lease: Some(advanced.as_proto().clone()),
            ..Default::default()
        };
        leases.wallet().on_lease_use_result(&refused);
        assert_eq!(leases.body(), None);
        leases.update(vec![Lease::from_proto(lease("body", &[3])).unwrap()]);
        assert_eq!(leases.body().unwrap().sequence(), &[3, 0]);
        // A newer lease replaces it.
        leases.update(vec![Lease::from_proto(lease("body", &[4])).unwrap()]);
        assert_eq!(leases.body().unwrap().sequence(), &[4, 0]);
        assert_eq!(leases.received("body").unwrap().sequence(), &[4]);
    }
}
