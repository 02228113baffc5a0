use spot_service::remote_mission::{RemoteMission, TickContext, TickStatus};
use spot_service::{RpcError, ServiceMetadata};

struct Hello;

#[spot_service::remote_mission(name = "hello", authority = "a")]
impl RemoteMission for Hello {
    const METADATA: ServiceMetadata = ServiceMetadata {
        name: "x",
        service_type: "y",
        authority: "z",
        user_token_required: true,
    };
    const LEASE_RESOURCES: &'static [&'static str] = &["body"];

    async fn tick(&self, _: &mut (), _: &mut TickContext<'_, ()>) -> Result<TickStatus, RpcError> {
        Ok(TickStatus::Success)
    }
}

fn main() {}
