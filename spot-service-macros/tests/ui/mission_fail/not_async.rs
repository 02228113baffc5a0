use spot_service::remote_mission::{RemoteMission, TickContext, TickStatus};
use spot_service::RpcError;

struct Hello;

#[spot_service::remote_mission(name = "hello", authority = "a")]
impl RemoteMission for Hello {
    fn tick(&self, _: &mut (), _: &mut TickContext<'_, ()>) -> Result<TickStatus, RpcError> {
        Ok(TickStatus::Success)
    }
}

fn main() {}
