//! Every part written: session state, typed parameters, leases, all methods.

use spot_service::params::DictParams;
use spot_service::remote_mission::{
    EstablishContext, RemoteMission, StopContext, TeardownReason, TickContext, TickStatus,
};
use spot_service::{RpcError, SpotService};

#[derive(Debug, Clone, PartialEq, DictParams)]
struct Params {
    #[param(default = 3, min = 1, max = 10)]
    count: i64,
}

struct Walker;

#[spot_service::remote_mission(
    name = "walker",
    authority = "walker.spot.robot",
    user_token_required = false,
    leases = ["body", "arm"]
)]
impl RemoteMission for Walker {
    type Session = u32;
    type Params = Params;

    async fn establish(&self, context: &EstablishContext<'_>) -> Result<u32, RpcError> {
        Ok(context.leases().wallet().resources().len() as u32)
    }

    async fn tick(
        &self,
        session: &mut u32,
        context: &mut TickContext<'_, Params>,
    ) -> Result<TickStatus, RpcError> {
        *session += 1;
        Ok(if i64::from(*session) >= context.params().count {
            TickStatus::Success
        } else {
            TickStatus::Running
        })
    }

    async fn stop(&self, session: &mut u32, _context: &StopContext<'_>) -> Result<(), RpcError> {
        *session = 0;
        Ok(())
    }

    async fn teardown(&self, _session: u32, _reason: TeardownReason) -> Result<(), RpcError> {
        Ok(())
    }
}

fn main() {
    let metadata = <Walker as SpotService>::METADATA;
    assert_eq!(metadata.name, "walker");
    assert_eq!(metadata.authority, "walker.spot.robot");
    assert!(!metadata.user_token_required);
    assert_eq!(metadata.service_type, "bosdyn.api.mission.RemoteMissionService");
    assert_eq!(<Walker as RemoteMission>::LEASE_RESOURCES, ["body", "arm"]);
    assert_eq!(Walker.custom_params(), Params::dict_spec().clone());
}
