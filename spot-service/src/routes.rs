//! The gRPC routes of hosted services: tonic services, and unary methods whose responses are sent
//! as segments (see [`crate::segmented`]).

use std::collections::HashMap;
use std::convert::Infallible;

use tonic::body::Body;
use tonic::codegen::Service;
use tonic::server::NamedService;
use tonic::service::{Routes, RoutesBuilder};

use crate::segmented::{SegmentedRoute, SegmentedService};

/// The gRPC routes a [`SpotService`](crate::SpotService) adds itself to, and a
/// [`ServiceRunner`](crate::ServiceRunner) serves.
///
/// Most services are tonic services ([`add_service`](Self::add_service)). The image service's
/// methods are answered by the runner's server directly, with responses whose image data goes to
/// the socket without a copy; [`into_tonic_routes`](Self::into_tonic_routes) serves them through
/// tonic's routing instead, to host the routes with another server.
#[derive(Default)]
pub struct ServiceRoutes {
    tonic: RoutesBuilder,
    segmented: HashMap<String, SegmentedRoute>,
}

impl std::fmt::Debug for ServiceRoutes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceRoutes")
            .field("segmented", &self.segmented.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl ServiceRoutes {
    /// Adds a tonic service (all its methods, under `/{S::NAME}/`).
    pub fn add_service<S>(&mut self, service: S) -> &mut Self
    where
        S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.tonic.add_service(service);
        self
    }

    /// Answers the unary method `/{N::NAME}/{method}` with `route`.
    pub(crate) fn add_segmented<N: NamedService>(
        &mut self,
        method: &str,
        route: SegmentedRoute,
    ) -> &mut Self {
        self.segmented
            .insert(format!("/{}/{method}", N::NAME), route);
        self
    }

    /// Every route as tonic routes, the segmented methods included, for hosting them with a
    /// server of your own (e.g. `tonic::transport::Server::builder().add_routes(..)`).
    pub fn into_tonic_routes(self) -> Routes {
        let (routes, segmented) = self.into_parts();
        let mut router = routes.into_axum_router();
        for (path, route) in segmented {
            router = router.route_service(&path, SegmentedService(route));
        }
        Routes::from(router)
    }

    /// The tonic routes, and the segmented routes by path.
    pub(crate) fn into_parts(self) -> (Routes, HashMap<String, SegmentedRoute>) {
        (self.tonic.routes(), self.segmented)
    }
}
