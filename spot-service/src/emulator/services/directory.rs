//! `bosdyn.api.DirectoryService`: looking up registered services.

use crate::emulator::state::EmulatorState;
use crate::proto::bosdyn::api::directory_service_server::DirectoryService;
use crate::proto::bosdyn::api::{
    GetServiceEntryRequest, GetServiceEntryResponse, ListServiceEntriesRequest,
    ListServiceEntriesResponse, get_service_entry_response::Status,
};

/// The emulated directory (`directory` at `api.spot.robot`): the emulator's own services and
/// the registered ones (entries that missed their liveness timeout are gone).
#[derive(Debug, Clone)]
pub struct EmulatedDirectory {
    state: EmulatorState,
}

impl EmulatedDirectory {
    /// The service over `state`.
    pub fn new(state: EmulatorState) -> Self {
        Self { state }
    }
}

#[crate::spot_service(name = "directory", authority = "api.spot.robot")]
impl DirectoryService for EmulatedDirectory {
    async fn get_service_entry(
        &self,
        request: GetServiceEntryRequest,
    ) -> crate::Result<GetServiceEntryResponse> {
        let entry = self.state.service_entry(&request.service_name);
        let status = if entry.is_some() {
            Status::Ok
        } else {
            Status::NonexistentService
        };
        Ok(GetServiceEntryResponse {
            header: None,
            status: status as i32,
            service_entry: entry,
        })
    }

    async fn list_service_entries(
        &self,
        _request: ListServiceEntriesRequest,
    ) -> crate::Result<ListServiceEntriesResponse> {
        Ok(ListServiceEntriesResponse {
            header: None,
            service_entries: self.state.service_entries(),
        })
    }
}
