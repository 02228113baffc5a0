//! Build-time companion of [spot-service](https://docs.rs/spot-service).
//!
//! Use it from a `build.rs` to compile your service's `.proto` files the way spot-service expects:
//!
//! ```no_run
//! // build.rs
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     spot_service_build::configure().compile_protos(&["proto/announce.proto"], &["proto"])?;
//!     Ok(())
//! }
//! ```
//!
//! What it does on top of `tonic-prost-build`:
//! - compiles with [protox](https://docs.rs/protox), a pure-Rust compiler, so no `protoc` is needed;
//! - puts the bosdyn API on the include path, so your files can `import "bosdyn/api/header.proto";`,
//!   and maps `bosdyn.api` types to `spot_service::proto::bosdyn::api` instead of generating them again;
//! - emits the header glue (`SpotRequest` / `SpotResponse` impls) for every message with a
//!   `bosdyn.api.RequestHeader header` or `bosdyn.api.ResponseHeader header` field, which is what
//!   lets `#[spot_service]` stamp and check headers for you;
//! - writes the file descriptor set for gRPC server reflection.
//!
//! Generated code refers to `tonic`, `tonic_prost` and `prost`, so a crate using this needs those
//! three as dependencies (the same versions spot-service uses).

mod embedded;
mod glue;
mod naming;

use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use prost::Message as _;
use protox::file::{ChainFileResolver, GoogleFileResolver, IncludeFileResolver};

pub use embedded::bosdyn_proto_files;

/// Errors from compiling `.proto` files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A `.proto` file could not be parsed or resolved (with file, line and column).
    #[error("protobuf compilation failed: {0}")]
    Compile(#[from] protox::Error),
    /// Code generation or writing the output failed.
    #[error("code generation failed: {0}")]
    Io(#[from] std::io::Error),
    /// `OUT_DIR` is not set (not running from a build script) and no output directory was given.
    #[error(
        "OUT_DIR is not set; call this from build.rs or set an output directory with `out_dir`"
    )]
    NoOutDir,
}

/// Which descriptor set is being compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// A user's own protos; bosdyn types come from `spot_service::proto`.
    User,
    /// The bosdyn API itself, for the `spot-service-protos` crate.
    BosdynApi,
}

/// Configures a compilation; created with [`configure`].
#[derive(Debug, Clone)]
#[must_use]
pub struct Builder {
    build_server: bool,
    build_client: bool,
    out_dir: Option<PathBuf>,
    descriptor_set_path: Option<PathBuf>,
    runtime_path: String,
    target: Target,
}

/// Starts a configuration with servers and clients generated, output in `OUT_DIR`, and the file
/// descriptor set written to `OUT_DIR/spot_descriptor_set.bin`.
pub fn configure() -> Builder {
    Builder {
        build_server: true,
        build_client: true,
        out_dir: None,
        descriptor_set_path: None,
        runtime_path: "::spot_service::proto".to_owned(),
        target: Target::User,
    }
}

/// The bytes fields threshold and message size limits live in the runtime; this is the path the
/// generated code uses to reach the bosdyn API types when compiling them in place.
const IN_CRATE_RUNTIME_PATH: &str = "crate";

impl Builder {
    /// Whether to generate gRPC servers (default `true`).
    pub fn build_server(mut self, enable: bool) -> Self {
        self.build_server = enable;
        self
    }

    /// Whether to generate gRPC clients (default `true`).
    pub fn build_client(mut self, enable: bool) -> Self {
        self.build_client = enable;
        self
    }

    /// Where generated code goes (default: `OUT_DIR`).
    pub fn out_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.out_dir = Some(dir.as_ref().to_owned());
        self
    }

    /// Where the encoded `FileDescriptorSet` of the compiled files goes (default:
    /// `<out_dir>/spot_descriptor_set.bin`). Load it with `tonic::include_file_descriptor_set!`
    /// to serve gRPC reflection for your service.
    pub fn file_descriptor_set_path(mut self, path: impl AsRef<Path>) -> Self {
        self.descriptor_set_path = Some(path.as_ref().to_owned());
        self
    }

    /// Path at which generated glue reaches the spot-service protos crate (default
    /// `::spot_service::proto`). Change it only if you depend on `spot-service-protos` directly.
    pub fn runtime_path(mut self, path: impl Into<String>) -> Self {
        self.runtime_path = path.into();
        self
    }

    /// Compiles `protos` (paths of `.proto` files) with `includes` as import roots. The bosdyn API
    /// and the Google well-known types are always importable.
    pub fn compile_protos(
        self,
        protos: &[impl AsRef<Path>],
        includes: &[impl AsRef<Path>],
    ) -> Result<(), BuildError> {
        let mut resolver = ChainFileResolver::new();
        for include in includes {
            println!("cargo:rerun-if-changed={}", include.as_ref().display());
            resolver.add(IncludeFileResolver::new(include.as_ref().to_owned()));
        }
        resolver.add(embedded::EmbeddedBosdynResolver);
        resolver.add(GoogleFileResolver::new());
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler.include_imports(true).include_source_info(true);
        for proto in protos {
            println!("cargo:rerun-if-changed={}", proto.as_ref().display());
            compiler.open_file(proto.as_ref())?;
        }
        let own: HashSet<String> = compiler
            .files()
            .filter(|f| !f.is_import())
            .map(|f| f.name().to_owned())
            .collect();
        let fds = compiler.file_descriptor_set();
        self.generate(fds, own)
    }

    /// Compiles the embedded bosdyn API in place. Used by the `spot-service-protos` crate.
    #[doc(hidden)]
    pub fn compile_bosdyn_api(mut self) -> Result<(), BuildError> {
        self.target = Target::BosdynApi;
        self.runtime_path = IN_CRATE_RUNTIME_PATH.to_owned();
        let mut resolver = ChainFileResolver::new();
        resolver.add(embedded::EmbeddedBosdynResolver);
        resolver.add(GoogleFileResolver::new());
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler.include_imports(true).include_source_info(true);
        let names: Vec<&str> = bosdyn_proto_files().map(|(name, _)| name).collect();
        compiler.open_files(names)?;
        let own: HashSet<String> = bosdyn_proto_files()
            .map(|(name, _)| name.to_owned())
            .collect();
        let fds = compiler.file_descriptor_set();
        self.generate(fds, own)
    }

    fn generate(
        self,
        fds: prost_types::FileDescriptorSet,
        own: HashSet<String>,
    ) -> Result<(), BuildError> {
        let out_dir = match &self.out_dir {
            Some(dir) => dir.clone(),
            None => PathBuf::from(std::env::var_os("OUT_DIR").ok_or(BuildError::NoOutDir)?),
        };

        // The descriptor set is self-contained (imports included, as `protoc --include_imports`
        // writes it): reflection can then describe every type. Files registered twice (the
        // bosdyn ones, with spot-service's own set) are served once.
        let descriptor_path = self
            .descriptor_set_path
            .clone()
            .unwrap_or_else(|| out_dir.join("spot_descriptor_set.bin"));
        std::fs::write(&descriptor_path, fds.encode_to_vec())?;

        let mut config = prost_build::Config::new();
        config
            .enable_type_names()
            .type_name_domain(["."], "type.googleapis.com")
            .bytes(["."]);
        let mut tonic = tonic_prost_build::configure()
            .build_server(self.build_server)
            .build_client(self.build_client)
            .out_dir(&out_dir);
        match self.target {
            Target::User => {
                tonic = tonic.extern_path(".bosdyn", format!("{}::bosdyn", self.runtime_path));
            }
            Target::BosdynApi => {
                tonic = tonic.include_file("mod.rs");
            }
        }
        tonic.compile_fds_with_config(fds.clone(), config)?;

        let glue = glue::generate(
            &fds,
            &glue::GlueOptions {
                runtime_path: &self.runtime_path,
                files: &own,
                servers: self.build_server,
            },
        );
        for (package, code) in glue {
            let file = out_dir.join(format!(
                "{}.rs",
                if package.is_empty() { "_" } else { &package }
            ));
            let mut f = OpenOptions::new()
                .append(true)
                .open(&file)
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", file.display())))?;
            f.write_all(code.as_bytes())?;
        }
        Ok(())
    }
}
