//! The contract between the emulator's TLS front (which routes calls by `:authority`) and its
//! state (which knows the registered services and the valid tokens).

/// Where the robot's proxy forwards calls for a registered service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRoute {
    /// Directory name of the service.
    pub name: String,
    /// Host the service listens on (plain h2c).
    pub host_ip: String,
    /// Port the service listens on.
    pub port: u16,
    /// Whether calls must carry a valid user token.
    pub user_token_required: bool,
}

/// What the front needs to know to route a call.
pub trait Routing: Send + Sync + 'static {
    /// The registered service whose authority (normalized: lower case, `<label>.spot.robot`) is
    /// `authority`, if any.
    fn route(&self, authority: &str) -> Option<ServiceRoute>;
    /// Whether `token` (the part after `Bearer `) is a valid, unexpired user or payload token.
    fn token_is_valid(&self, token: &str) -> bool;
}
