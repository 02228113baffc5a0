use spot_service::remote_mission::{RemoteMission, TickContext, TickStatus};
use spot_service::RpcError;

struct Hello;

/// Not a `DictParams` struct.
struct Plain {
    who: String,
}

#[spot_service::remote_mission(name = "hello", authority = "a")]
impl RemoteMission for Hello {
    type Params = Plain;

    async fn tick(&self, _: &mut (), _: &mut TickContext<'_, Plain>) -> Result<TickStatus, RpcError> {
        Ok(TickStatus::Success)
    }
}

fn main() {}
