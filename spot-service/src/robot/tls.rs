//! Trust: which CA certificates the robot's TLS certificate must chain to, and the TLS client
//! configuration built from them.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, TrustAnchor};
use tonic::transport::ClientTlsConfig;

use super::RobotError;

/// The Boston Dynamics Root CA (PEM), as distributed in the official `bosdyn-client` package
/// (`resources/robot.pem`). Every Spot's TLS certificate chains to it. Valid until 2029-05-01.
pub const BOSTON_DYNAMICS_ROOT_CA_PEM: &str = include_str!("boston_dynamics_root_ca.pem");

/// Which certificate authorities the robot's TLS certificate must chain to.
///
/// The certificate is always checked, and always against the authority of the service being
/// called (e.g. `auth.spot.robot`), never against the robot's IP address.
#[derive(Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Trust {
    /// The Boston Dynamics Root CA built into spot-service
    /// ([`BOSTON_DYNAMICS_ROOT_CA_PEM`]): right for every Spot.
    #[default]
    BostonDynamicsRoot,
    /// The CA certificates in this PEM file (read once, when the [`Robot`](super::Robot) is
    /// created).
    CaFile(PathBuf),
    /// The CA certificates in this PEM text.
    CaPem(String),
}

impl fmt::Debug for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BostonDynamicsRoot => f.write_str("BostonDynamicsRoot"),
            Self::CaFile(path) => f.debug_tuple("CaFile").field(path).finish(),
            Self::CaPem(pem) => write!(f, "CaPem(<{} bytes of PEM>)", pem.len()),
        }
    }
}

impl Trust {
    /// Where the CA certificates come from, for messages: `the built-in Boston Dynamics root CA`,
    /// `CA file /etc/robot-ca.pem` or `the CA PEM given in the configuration`.
    pub fn describe(&self) -> String {
        match self {
            Self::BostonDynamicsRoot => "the built-in Boston Dynamics root CA".to_owned(),
            Self::CaFile(path) => format!("CA file {}", path.display()),
            Self::CaPem(_) => "the CA PEM given in the configuration".to_owned(),
        }
    }

    /// Reads (for [`Trust::CaFile`]) and parses the CA certificates.
    pub(crate) fn load(&self) -> Result<TrustAnchors, RobotError> {
        let origin = self.describe();
        match self {
            Self::BostonDynamicsRoot => parse_pem(BOSTON_DYNAMICS_ROOT_CA_PEM.as_bytes(), &origin),
            Self::CaPem(pem) => parse_pem(pem.as_bytes(), &origin),
            Self::CaFile(path) => {
                let pem = std::fs::read(path).map_err(|source| RobotError::CaFileUnreadable {
                    path: path.clone(),
                    source,
                })?;
                parse_pem(&pem, &origin)
            }
        }
    }
}

/// Parsed trust anchors, shared by every channel of a robot.
#[derive(Clone)]
pub(crate) struct TrustAnchors(Arc<[TrustAnchor<'static>]>);

impl TrustAnchors {
    /// How many CA certificates were loaded.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The TLS configuration for one authority: its name is the SNI and the name the certificate
    /// must be valid for; the handshake must finish within `handshake_timeout`. ALPN `h2` is
    /// offered and required by tonic.
    pub(crate) fn client_config(
        &self,
        authority: &str,
        handshake_timeout: Duration,
    ) -> ClientTlsConfig {
        ClientTlsConfig::new()
            .domain_name(authority)
            .trust_anchors(self.0.iter().cloned())
            .timeout(handshake_timeout)
    }

    #[cfg(test)]
    pub(crate) fn subjects(&self) -> Vec<&[u8]> {
        self.0
            .iter()
            .map(|anchor| anchor.subject.as_ref())
            .collect()
    }
}

/// Parses every `CERTIFICATE` block of `pem` into a trust anchor; other blocks are ignored.
fn parse_pem(pem: &[u8], origin: &str) -> Result<TrustAnchors, RobotError> {
    let invalid = |reason: String| RobotError::InvalidCaPem {
        origin: origin.to_owned(),
        reason,
    };
    let mut store = RootCertStore::empty();
    for (index, cert) in CertificateDer::pem_slice_iter(pem).enumerate() {
        let cert = cert.map_err(|e| invalid(format!("certificate {}: {e}", index + 1)))?;
        store.add(cert).map_err(|e| {
            invalid(format!(
                "certificate {} is not a usable CA certificate: {e}",
                index + 1
            ))
        })?;
    }
    if store.roots.is_empty() {
        return Err(invalid(
            "no \"-----BEGIN CERTIFICATE-----\" block found".to_owned(),
        ));
    }
    Ok(TrustAnchors(store.roots.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_root_is_the_boston_dynamics_root_ca() {
        let anchors = Trust::BostonDynamicsRoot
            .load()
            .expect("built-in root parses");
        assert_eq!(anchors.len(), 1);
        let subject = anchors.subjects()[0];
        let needle = b"Boston Dynamics Root CA";
        assert!(
            subject.windows(needle.len()).any(|w| w == needle),
            "subject names the Boston Dynamics Root CA"
        );
        assert!(BOSTON_DYNAMICS_ROOT_CA_PEM.starts_with("# Boston Dynamics Root CA"));
    }

    #[test]
    fn pem_without_certificates_is_rejected() {
        let err = Trust::CaPem("hello".into()).load().err().expect("rejected");
        assert!(matches!(err, RobotError::InvalidCaPem { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "the CA PEM given in the configuration holds no usable CA certificate: no \
             \"-----BEGIN CERTIFICATE-----\" block found"
        );
    }

    #[test]
    fn garbage_inside_a_certificate_block_is_rejected() {
        let pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let err = Trust::CaPem(pem.into()).load().err().expect("rejected");
        let message = err.to_string();
        assert!(
            message.contains("certificate 1 is not a usable CA certificate"),
            "{message}"
        );
    }

    #[test]
    fn unreadable_file_names_the_path() {
        let path = PathBuf::from("/nonexistent/spot-service/robot-ca.pem");
        let err = Trust::CaFile(path.clone()).load().err().expect("rejected");
        match &err {
            RobotError::CaFileUnreadable { path: p, source } => {
                assert_eq!(p, &path);
                assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(
            err.to_string().starts_with(
                "cannot read the CA certificate file /nonexistent/spot-service/robot-ca.pem: "
            ),
            "{err}"
        );
    }

    #[test]
    fn ca_pem_debug_does_not_dump_the_pem() {
        let trust = Trust::CaPem("x".repeat(10));
        assert_eq!(format!("{trust:?}"), "CaPem(<10 bytes of PEM>)");
    }
}
