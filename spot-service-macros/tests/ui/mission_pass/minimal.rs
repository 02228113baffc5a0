//! Only `tick`: no session state, no parameters, no leases.

use spot_service::remote_mission::{RemoteMission, TickContext, TickStatus};
use spot_service::RpcError;

struct Hello;

#[spot_service::remote_mission(name = "hello", authority = "remote-mission")]
impl RemoteMission for Hello {
    async fn tick(
        &self,
        _session: &mut (),
        _context: &mut TickContext<'_, ()>,
    ) -> Result<TickStatus, RpcError> {
        Ok(TickStatus::Success)
    }
}

fn main() {
    assert!(<Hello as RemoteMission>::LEASE_RESOURCES.is_empty());
    let service = spot_service::remote_mission::MissionService::new(Hello);
    assert_eq!(service.session_count(), 0);
}
