//! The hello-world mission callback: the spot-service port of the official
//! `hello_world_mission_service.py`.
//!
//! Its parameters are `who` (a string, "World" by default) and a "Repeats" toggle: a one-of whose
//! "Enable" choice holds a number of repeats (1 to 1337, 1337 by default). Each tick logs
//! "Hello <who>!" once, plus once per repeat, and answers SUCCESS.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context as _;
use spot_service::directory::KeepAliveConfig;
use spot_service::params::{DictParams, OneOfParams};
use spot_service::remote_mission::{RemoteMission, TickContext, TickStatus};
use spot_service::robot::Robot;
use spot_service::{RpcError, ServiceRunner};

/// The directory name, as in the official example.
pub const DIRECTORY_NAME: &str = "hello-world-callback";

/// The authority, as in the official example.
pub const AUTHORITY: &str = "remote-mission";

/// The node's parameters.
#[derive(Debug, Clone, PartialEq, DictParams)]
pub struct HelloParams {
    /// Who Spot says hello to.
    #[param(
        display_name = "Who",
        description = "Specify who Spot says hello to",
        default = "World",
        editable
    )]
    pub who: String,
    /// How many times Spot repeats itself.
    #[param(
        key = "toggle_key",
        display_name = "Repeats",
        description = "Specify how many times Spot repeats itself"
    )]
    pub toggle: Toggle,
}

/// The "Repeats" toggle.
#[derive(Debug, Clone, PartialEq, OneOfParams)]
pub enum Toggle {
    /// Repeat the greeting.
    #[param(
        key = "toggle_key_enable",
        display_name = "Enable",
        description = "Spot will repeat itself this number of times"
    )]
    Enable {
        /// How many extra times.
        #[param(key = "toggle_enable_value_key", default = 1337, min = 1, max = 1337)]
        repeats: i64,
    },
    /// Say it once.
    #[param(
        key = "toggle_key_disable",
        display_name = "Disable",
        description = "Spot will not repeat itself",
        default
    )]
    Disable,
}

impl HelloParams {
    /// How many times the greeting is logged: once, plus the repeats.
    pub fn times(&self) -> i64 {
        match self.toggle {
            Toggle::Enable { repeats } => 1 + repeats,
            Toggle::Disable => 1,
        }
    }
}

/// The hello-world callback.
#[derive(Debug, Default, Clone, Copy)]
pub struct HelloWorld;

#[spot_service::remote_mission(name = "hello-world-callback", authority = "remote-mission")]
impl RemoteMission for HelloWorld {
    type Params = HelloParams;

    async fn tick(
        &self,
        _session: &mut (),
        context: &mut TickContext<'_, HelloParams>,
    ) -> Result<TickStatus, RpcError> {
        let params = context.params();
        for _ in 0..params.times() {
            tracing::info!("Hello {}!", params.who);
        }
        Ok(TickStatus::Success)
    }
}

/// Hosts the hello-world callback on `port` (0: any free port) until `stop` resolves. With a
/// `robot`, the service is registered in its directory at `host_ip:<port>` and kept there; it
/// is unregistered before the server stops. `ready` is called with the bound address once the
/// service is up.
pub async fn serve(
    robot: Option<&Robot>,
    host_ip: &str,
    port: u16,
    ready: impl FnOnce(SocketAddr),
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let mut runner = ServiceRunner::builder()
        .port(port)
        .add_service(HelloWorld)
        .build()
        .await?;
    if let Some(robot) = robot {
        runner
            .keep_registered_with_robot(robot, host_ip, KeepAliveConfig::default())
            .context("invalid robot channel")?;
        tracing::info!(
            name = DIRECTORY_NAME,
            %host_ip,
            port = runner.local_addr().port(),
            "registering with the robot's directory"
        );
    }
    ready(runner.local_addr());
    runner.run_until(stop).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use spot_service::proto::bosdyn::api::DictParam;

    #[test]
    fn defaults_say_hello_world_once() {
        let params = HelloParams::from_dict_param(&DictParam::default()).unwrap();
        assert_eq!(params.who, "World");
        assert_eq!(params.toggle, Toggle::Disable);
        assert_eq!(params.times(), 1);
    }

    #[test]
    fn spec_has_the_official_keys() {
        let spec = HelloParams::dict_spec();
        let mut keys: Vec<&String> = spec.specs.keys().collect();
        keys.sort();
        assert_eq!(keys, ["toggle_key", "who"]);
    }
}
