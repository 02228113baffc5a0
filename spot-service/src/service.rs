//! What a hosted Spot service is: gRPC routes plus the metadata a directory registration needs.

use crate::ServiceRoutes;

/// The largest gRPC message spot-service servers and clients send or accept: 100 MiB, like the
/// official Python SDK (tonic's 4 MiB default is too small for images).
pub const MAX_MESSAGE_SIZE: usize = 100 * 1024 * 1024;

/// The facts about a service that the robot's directory needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServiceMetadata {
    /// Directory name, unique on the robot (e.g. `"announce-service"`).
    pub name: &'static str,
    /// Full gRPC service name (e.g. `"announce.AnnounceService"`).
    pub service_type: &'static str,
    /// Authority clients use to reach the service through the robot (e.g. `"announce.spot.robot"`,
    /// or a bare label such as `"announce-service"` that the robot expands to that form).
    pub authority: &'static str,
    /// Whether calls must carry a valid user token.
    pub user_token_required: bool,
}

/// A gRPC service with Spot header handling, ready to be hosted by a
/// [`ServiceRunner`](crate::ServiceRunner).
///
/// Implemented by `#[spot_service]` (and, later, the other service macros); you rarely implement
/// it by hand.
pub trait SpotService: Send + Sync + 'static {
    /// Full name of the gRPC service on the wire (e.g. `"announce.AnnounceService"`), used by
    /// health checks, reflection and logs.
    const GRPC_NAME: &'static str;

    /// Registration metadata. Its `service_type` is [`Self::GRPC_NAME`] unless overridden.
    const METADATA: ServiceMetadata;

    /// Adds the service's gRPC routes (with spot-service's message size limits) to `routes`.
    fn add_to_routes(self, routes: &mut ServiceRoutes);
}
