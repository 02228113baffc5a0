use spot_service::remote_mission::{RemoteMission, TickContext, TickStatus};
use spot_service::RpcError;

struct Hello;

#[spot_service::remote_mission(leases = "body", nmae = "hello")]
impl RemoteMission for Hello {
    async fn tick(&self, _: &mut (), _: &mut TickContext<'_, ()>) -> Result<TickStatus, RpcError> {
        Ok(TickStatus::Success)
    }
}

fn main() {}
