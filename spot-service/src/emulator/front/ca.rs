//! The emulator's certificate authority: one CA, and a leaf certificate per authority, minted on
//! demand when a client asks for it (SNI), as a robot presents a certificate for each of its
//! authorities.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData as _,
};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// The common name of the emulator's CA certificate.
pub const EMULATOR_CA_NAME: &str = "spot-service emulator CA";

/// The file [`EmulatorCa::load_or_create`] keeps the CA certificate in (PEM): the file clients
/// trust.
pub const CA_CERT_FILE: &str = "emulator-ca.pem";

/// The file [`EmulatorCa::load_or_create`] keeps the CA's private key in (PKCS#8 PEM, mode 0600
/// on Unix).
pub const CA_KEY_FILE: &str = "emulator-ca.key.pem";

/// How many leaf certificates are kept; names asked for beyond that get a freshly minted
/// certificate on every handshake (a client probing many names cannot grow memory without
/// bound).
const MAX_CACHED_LEAVES: usize = 4096;

/// Why the CA could not be created, loaded, saved or issue a certificate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaError {
    /// Generating a key or signing a certificate failed.
    #[error("cannot generate the emulator's {what}: {source}")]
    Generate {
        /// What was being generated.
        what: String,
        /// The underlying error.
        #[source]
        source: rcgen::Error,
    },
    /// A generated key was not usable by rustls.
    #[error("the emulator's certificate for {name} is not usable by rustls: {source}")]
    Unusable {
        /// The name the certificate is for.
        name: String,
        /// The underlying error.
        #[source]
        source: rustls::Error,
    },
    /// Reading or writing a file failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// `read`, `write`, …
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A stored CA file is not what the emulator wrote.
    #[error("{} is not a usable emulator CA file: {reason}", path.display())]
    InvalidFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// The emulator's certificate authority: a CA certificate ([`EMULATOR_CA_NAME`]) that clients
/// trust ([`EmulatorCa::ca_pem`], [`EmulatorCa::write_ca_pem`]), and the leaf certificates it
/// issues, one per authority (`api.spot.robot`, `my-service.spot.robot`, …), minted on first
/// use and cached.
///
/// Keys are ECDSA P-256; certificates are valid from 1975 to 4096, so that a payload with a
/// wrong clock still accepts them.
pub struct EmulatorCa {
    issuer: Issuer<'static, KeyPair>,
    ca_der: CertificateDer<'static>,
    ca_pem: String,
    provider: Arc<CryptoProvider>,
    leaves: RwLock<HashMap<String, Arc<CertifiedKey>>>,
}

impl fmt::Debug for EmulatorCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorCa")
            .field("name", &EMULATOR_CA_NAME)
            .field("minted", &self.minted_names())
            .finish_non_exhaustive()
    }
}

/// The parameters of the CA certificate. [`EmulatorCa::load_or_create`] rebuilds the issuer
/// from them and the stored key, so they must not change between versions: leaf certificates
/// name the CA by this distinguished name and key identifier.
fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, EMULATOR_CA_NAME);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "spot-service");
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

fn generate_error(what: &str) -> impl FnOnce(rcgen::Error) -> CaError + '_ {
    move |source| CaError::Generate {
        what: what.to_owned(),
        source,
    }
}

impl EmulatorCa {
    /// A new CA with a fresh key. Clients must be given its certificate anew
    /// ([`EmulatorCa::ca_pem`]); see [`EmulatorCa::load_or_create`] to keep one across restarts.
    pub fn generate() -> Result<Self, CaError> {
        let key = KeyPair::generate().map_err(generate_error("CA key"))?;
        let params = ca_params();
        let cert = params
            .self_signed(&key)
            .map_err(generate_error("CA certificate"))?;
        Ok(Self::from_parts(
            Issuer::new(params, key),
            cert.der().clone(),
            cert.pem(),
        ))
    }

    /// The CA kept in `dir` ([`CA_CERT_FILE`] and [`CA_KEY_FILE`]), or, when `dir` holds
    /// neither, a new one saved there (creating `dir`), so that restarts of the emulator (like
    /// reboots of a robot) keep the CA clients trust.
    ///
    /// Fails if only one of the two files exists, or if they do not belong together.
    pub fn load_or_create(dir: impl AsRef<Path>) -> Result<Self, CaError> {
        let dir = dir.as_ref();
        let cert_path = dir.join(CA_CERT_FILE);
        let key_path = dir.join(CA_KEY_FILE);
        match (cert_path.exists(), key_path.exists()) {
            (true, true) => Self::load(&cert_path, &key_path),
            (false, false) => {
                let ca = Self::generate()?;
                ca.save(dir, &cert_path, &key_path)?;
                tracing::info!(
                    "created a new emulator CA in {} (clients trust {})",
                    dir.display(),
                    cert_path.display()
                );
                Ok(ca)
            }
            (cert, _) => {
                let (present, missing) = if cert {
                    (&cert_path, &key_path)
                } else {
                    (&key_path, &cert_path)
                };
                Err(CaError::InvalidFile {
                    path: present.clone(),
                    reason: format!(
                        "{} is missing; remove both files to create a new CA",
                        missing.display()
                    ),
                })
            }
        }
    }

    fn load(cert_path: &Path, key_path: &Path) -> Result<Self, CaError> {
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| CaError::Io {
                action: "read",
                path: path.to_owned(),
                source,
            })
        };
        let invalid = |path: &Path, reason: String| CaError::InvalidFile {
            path: path.to_owned(),
            reason,
        };
        let key_pem = read(key_path)?;
        let key =
            KeyPair::from_pem(&key_pem).map_err(|e| invalid(key_path, format!("its key: {e}")))?;
        let ca_pem = read(cert_path)?;
        let ca_der = CertificateDer::from_pem_slice(ca_pem.as_bytes())
            .map_err(|e| invalid(cert_path, format!("its certificate: {e}")))?;
        // The certificate must carry the key's public key and the CA's name: leaf certificates
        // are signed with the key and name the CA by its distinguished name.
        let contains = |needle: &[u8]| ca_der.windows(needle.len()).any(|w| w == needle);
        if !contains(key.subject_public_key_info().as_slice()) {
            return Err(invalid(
                cert_path,
                format!(
                    "its certificate does not belong to the key in {}",
                    key_path.display()
                ),
            ));
        }
        if !contains(EMULATOR_CA_NAME.as_bytes()) {
            return Err(invalid(
                cert_path,
                format!("its certificate is not named {EMULATOR_CA_NAME:?}"),
            ));
        }
        tracing::info!("loaded the emulator CA from {}", cert_path.display());
        Ok(Self::from_parts(
            Issuer::new(ca_params(), key),
            ca_der,
            ca_pem,
        ))
    }

    fn save(&self, dir: &Path, cert_path: &Path, key_path: &Path) -> Result<(), CaError> {
        std::fs::create_dir_all(dir).map_err(|source| CaError::Io {
            action: "create",
            path: dir.to_owned(),
            source,
        })?;
        // The key first: a certificate without its key would be unusable.
        write_file(key_path, self.issuer.key().serialize_pem().as_bytes(), true)?;
        write_file(cert_path, self.ca_pem.as_bytes(), false)
    }

    fn from_parts(
        issuer: Issuer<'static, KeyPair>,
        ca_der: CertificateDer<'static>,
        ca_pem: String,
    ) -> Self {
        Self {
            issuer,
            ca_der,
            ca_pem,
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            leaves: RwLock::new(HashMap::new()),
        }
    }

    /// The CA certificate, PEM: what clients trust
    /// (e.g. [`Trust::CaPem`](crate::robot::Trust::CaPem)).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The CA certificate, DER.
    pub fn ca_der(&self) -> &CertificateDer<'static> {
        &self.ca_der
    }

    /// Writes the CA certificate (PEM) to `path`, for clients to trust
    /// (e.g. [`Trust::CaFile`](crate::robot::Trust::CaFile)). Creates missing parent
    /// directories.
    pub fn write_ca_pem(&self, path: impl AsRef<Path>) -> Result<(), CaError> {
        let path = path.as_ref();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| CaError::Io {
                action: "create",
                path: parent.to_owned(),
                source,
            })?;
        }
        write_file(path, self.ca_pem.as_bytes(), false)
    }

    /// The certificate (chain: leaf, then the CA) and key for `server_name`, minted on first use
    /// and cached. `server_name` is lower-cased.
    pub fn certified_key(&self, server_name: &str) -> Result<Arc<CertifiedKey>, CaError> {
        let name = server_name.trim_end_matches('.').to_ascii_lowercase();
        if let Some(key) = self.read_leaves().get(&name) {
            return Ok(key.clone());
        }
        let minted = Arc::new(self.mint(&name)?);
        let mut leaves = self.leaves.write().unwrap_or_else(PoisonError::into_inner);
        if leaves.len() >= MAX_CACHED_LEAVES && !leaves.contains_key(&name) {
            return Ok(minted);
        }
        tracing::debug!("minted a TLS certificate for {name}");
        // A concurrent handshake may have minted one meanwhile: keep the first.
        Ok(leaves.entry(name).or_insert(minted).clone())
    }

    /// The names a certificate has been minted (and cached) for, sorted.
    pub fn minted_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.read_leaves().keys().cloned().collect();
        names.sort();
        names
    }

    fn read_leaves(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<CertifiedKey>>> {
        self.leaves.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn mint(&self, name: &str) -> Result<CertifiedKey, CaError> {
        let what = format!("certificate for {name}");
        let mut params =
            CertificateParams::new(vec![name.to_owned()]).map_err(generate_error(&what))?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate().map_err(generate_error(&what))?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(generate_error(&what))?;
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        CertifiedKey::from_der(
            vec![cert.der().clone(), self.ca_der.clone()],
            key_der,
            &self.provider,
        )
        .map_err(|source| CaError::Unusable {
            name: name.to_owned(),
            source,
        })
    }
}

/// Writes `contents` to `path` through a temporary file renamed into place; `private` files are
/// readable by their owner only (Unix).
fn write_file(path: &Path, contents: &[u8], private: bool) -> Result<(), CaError> {
    let io_error = |action, source| CaError::Io {
        action,
        path: path.to_owned(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let written = options.open(&tmp).and_then(|mut file| {
        file.write_all(contents)?;
        file.sync_all()
    });
    if let Err(source) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_error("write", source));
    }
    std::fs::rename(&tmp, path).map_err(|source| io_error("write", source))
}

/// A rustls certificate resolver presenting, for each TLS connection, the [`EmulatorCa`]'s
/// certificate for the name the client asked for (SNI), minted on first use. Clients that send
/// no SNI (connecting by IP address without a server name) get the certificate of a default
/// name.
#[derive(Debug, Clone)]
pub struct AuthorityCertResolver {
    ca: Arc<EmulatorCa>,
    default_name: String,
}

impl AuthorityCertResolver {
    /// A resolver minting from `ca`; clients without SNI get the certificate for
    /// `default_name`.
    pub fn new(ca: Arc<EmulatorCa>, default_name: impl Into<String>) -> Self {
        Self {
            ca,
            default_name: default_name.into(),
        }
    }
}

impl ResolvesServerCert for AuthorityCertResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let name = hello.server_name().unwrap_or(&self.default_name);
        match self.ca.certified_key(name) {
            Ok(key) => Some(key),
            Err(e) => {
                tracing::warn!("no TLS certificate for {name}: {e}");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_are_cached_per_lower_case_name() {
        let ca = EmulatorCa::generate().expect("CA");
        let a = ca.certified_key("Echo.spot.robot").expect("leaf");
        let b = ca.certified_key("echo.spot.robot.").expect("leaf");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.cert.len(), 2, "leaf, then the CA");
        assert_eq!(a.cert[1], *ca.ca_der());
        ca.certified_key("api.spot.robot").expect("leaf");
        assert_eq!(ca.minted_names(), ["api.spot.robot", "echo.spot.robot"]);
        assert!(ca.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    }

    #[test]
    fn load_or_create_keeps_the_ca() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = EmulatorCa::load_or_create(dir.path()).expect("created");
        let second = EmulatorCa::load_or_create(dir.path()).expect("loaded");
        assert_eq!(first.ca_pem(), second.ca_pem());
        // The reloaded issuer signs leaves that name the same CA.
        let leaf = second.certified_key("id.spot.robot").expect("leaf");
        assert_eq!(leaf.cert[1], *first.ca_der());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(CA_KEY_FILE))
                .expect("key file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn load_or_create_rejects_half_a_ca() {
        let dir = tempfile::tempdir().expect("tempdir");
        EmulatorCa::load_or_create(dir.path()).expect("created");
        std::fs::remove_file(dir.path().join(CA_KEY_FILE)).expect("removed");
        let err = EmulatorCa::load_or_create(dir.path()).expect_err("half a CA");
        assert!(err.to_string().contains("is missing"), "{err}");
    }

    #[test]
    fn load_or_create_rejects_a_foreign_certificate() {
        let dir = tempfile::tempdir().expect("tempdir");
        EmulatorCa::load_or_create(dir.path()).expect("created");
        let other = EmulatorCa::generate().expect("CA");
        other
            .write_ca_pem(dir.path().join(CA_CERT_FILE))
            .expect("written");
        let err = EmulatorCa::load_or_create(dir.path()).expect_err("foreign certificate");
        assert!(err.to_string().contains("does not belong"), "{err}");
    }
}
