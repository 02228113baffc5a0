use spot_service::proto::bosdyn::api::{
    AcquireLeaseRequest, AcquireLeaseResponse, ListLeasesRequest, ListLeasesResponse,
    RetainLeaseRequest, RetainLeaseResponse, ReturnLeaseRequest, ReturnLeaseResponse,
    TakeLeaseRequest, TakeLeaseResponse,
    lease_service_server,
};

struct Leases;

#[spot_service::spot_service(name = "lease", authority = "api.spot.robot")]
impl lease_service_server::LeaseService for Leases {
    async fn acquire_lease(
        &mut self,
        _request: AcquireLeaseRequest,
    ) -> spot_service::Result<AcquireLeaseResponse> {
        Ok(AcquireLeaseResponse::default())
    }

    async fn take_lease(_request: TakeLeaseRequest) -> spot_service::Result<TakeLeaseResponse> {
        Ok(TakeLeaseResponse::default())
    }

    async fn return_lease(
        &self,
        _request: ReturnLeaseRequest,
        _force: bool,
    ) -> spot_service::Result<ReturnLeaseResponse> {
        Ok(ReturnLeaseResponse::default())
    }

    async fn list_leases(&self, _request: &ListLeasesRequest) -> spot_service::Result<ListLeasesResponse> {
        Ok(ListLeasesResponse::default())
    }

    // No request: no stand-in trait method either, so rustc also reports it missing.
    async fn retain_lease(&self) -> spot_service::Result<RetainLeaseResponse> {
        let _ = RetainLeaseRequest::default();
        Ok(RetainLeaseResponse::default())
    }
}

fn main() {}
