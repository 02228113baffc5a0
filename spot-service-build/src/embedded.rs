//! The bosdyn API `.proto` sources shipped inside this crate, and a protox resolver over them.

use protox::file::{File, FileResolver};

include!(concat!(env!("OUT_DIR"), "/embedded_protos.rs"));

/// Every bosdyn `.proto` file spot-service defines, as `(import name, source text)`.
///
/// The import names are the official ones, e.g. `bosdyn/api/header.proto`.
pub fn bosdyn_proto_files() -> impl ExactSizeIterator<Item = (&'static str, &'static str)> {
    BOSDYN_PROTOS.iter().copied()
}

/// Resolves `bosdyn/...` imports from the embedded sources.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct EmbeddedBosdynResolver;

impl FileResolver for EmbeddedBosdynResolver {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match BOSDYN_PROTOS.iter().find(|(n, _)| *n == name) {
            Some((name, source)) => File::from_source(name, source),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}
