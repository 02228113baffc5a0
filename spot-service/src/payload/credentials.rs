//! Payload credentials: the payload's GUID and secret, and the file that stores them.
//!
//! The file format is the official SDK's (`bosdyn.client.util.read_payload_credentials`): line 1
//! holds the GUID, line 2 the secret, each with surrounding whitespace removed. A CORE I/O
//! provides such a file at [`CORE_IO_CREDENTIALS_PATH`].
//!
//! The secret is a [`Secret`]: it is never printed, and every error of this module leaves it
//! out.
//!
//! Differences from the official helpers:
//! - [`PayloadCredentials::read_or_create`] creates the file only when it does not exist. The
//!   official one also overwrites a file it cannot read or parse, which throws away the
//!   credentials a payload was registered with; here that is an error.
//! - A new file gets mode `0600` (the official one leaves it to the umask), and appears complete
//!   or not at all.
//! - Errors never contain the secret (the official `ValueError` prints it).

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Where a CORE I/O provides the payload credentials of the payloads it hosts.
pub const CORE_IO_CREDENTIALS_PATH: &str = "/opt/payload_credentials/payload_guid_and_secret";

/// Credentials files larger than this are rejected (a real one is about 60 bytes).
const MAX_FILE_SIZE: u64 = 64 * 1024;

/// How many random bytes a generated secret holds (the official `token_urlsafe(16)`).
const SECRET_BYTES: usize = 16;

/// A secret string (a payload secret, a password) that is never shown.
///
/// `Debug` prints `"<redacted>"`. There is deliberately no `Display`, so that
/// `secret.to_string()` does not compile instead of silently yielding a placeholder; call
/// [`Secret::expose`] where the value itself is needed (e.g. to fill a request).
///
/// On drop the string's buffer is overwritten with zeros. This is best effort only: copies made
/// before the value became a `Secret` (or by reallocation, or by [`Secret::expose`] callers)
/// are not reached.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt("<redacted>", f)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// Parses any string; this lets `clap` take a `Secret` argument directly.
impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::from(s))
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        let capacity = bytes.capacity();
        bytes.clear();
        // Overwrite the whole allocation, spare capacity included.
        bytes.resize(capacity, 0);
        std::hint::black_box(&bytes);
    }
}

/// A payload's GUID and secret, as used for payload registration and for the payload's
/// authentication token.
///
/// `Debug` shows the GUID and hides the secret:
/// `PayloadCredentials { guid: "…", secret: "<redacted>" }`.
#[derive(Debug, Clone)]
pub struct PayloadCredentials {
    guid: String,
    secret: Secret,
}

impl PayloadCredentials {
    /// Credentials from a GUID and a secret, e.g. given on the command line.
    ///
    /// Both are trimmed, like the lines of a credentials file, and must then be non-empty and
    /// free of line breaks (so that they fit the two-line file format). Like the official SDK,
    /// the GUID may be any string: it is not required to be a UUID (generated GUIDs are).
    pub fn from_parts(
        guid: impl Into<String>,
        secret: impl Into<Secret>,
    ) -> Result<Self, CredentialsError> {
        let guid: String = guid.into();
        let secret: Secret = secret.into();
        let guid = guid.trim();
        let secret = secret.expose().trim();
        if guid.is_empty() {
            return Err(CredentialsError::EmptyGuid);
        }
        if secret.is_empty() {
            return Err(CredentialsError::EmptySecret);
        }
        if guid.contains(['\n', '\r']) {
            return Err(CredentialsError::LineBreakInGuid);
        }
        if secret.contains(['\n', '\r']) {
            return Err(CredentialsError::LineBreakInSecret);
        }
        Ok(Self {
            guid: guid.to_owned(),
            secret: Secret::from(secret),
        })
    }

    /// New random credentials, as the official SDK makes them: a random (version 4) UUID as
    /// GUID, and 16 random bytes in URL-safe base64 without padding (22 characters) as secret.
    pub fn generate() -> Result<Self, CredentialsError> {
        let mut bytes = [0u8; 16 + SECRET_BYTES];
        getrandom::fill(&mut bytes).map_err(|err| CredentialsError::Random {
            source: io::Error::other(err.to_string()),
        })?;
        let (uuid_bytes, secret_bytes) = bytes.split_at(16);
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(uuid_bytes);
        let guid = uuid::Builder::from_random_bytes(uuid)
            .into_uuid()
            .to_string();
        let secret = Secret(URL_SAFE_NO_PAD.encode(secret_bytes));
        bytes.fill(0);
        std::hint::black_box(&bytes);
        Ok(Self { guid, secret })
    }

    /// Reads credentials from a file in the official format: line 1 the GUID, line 2 the
    /// secret, both trimmed.
    ///
    /// Lines may end with `\n`, `\r\n` or `\r`. Whatever follows line 2 is ignored (with a
    /// warning if it is not blank), as the official reader ignores it. A leading UTF-8 byte
    /// order mark is skipped.
    pub fn read(path: impl AsRef<Path>) -> Result<Self, CredentialsError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|source| CredentialsError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::read_from(file, path)
    }

    /// Reads the credentials file, or creates it with [`generate`](Self::generate)d
    /// credentials when it does not exist; meant for payload registration.
    ///
    /// - Only a missing file is created. A file that exists but cannot be read, or does not
    ///   hold valid credentials, is an error and is left untouched (the official helper
    ///   overwrites it, losing the registered credentials).
    /// - The parent directory must exist ([`CredentialsError::MissingDirectory`] otherwise); it
    ///   is not created.
    /// - The new file is written as `GUID\nsecret` (no trailing newline, like the official),
    ///   with mode `0600` on Unix. It is first written to a temporary file in the same
    ///   directory, then hard-linked into place, so readers never see it half-written and an
    ///   existing file is never overwritten. If two processes race, both end up with the
    ///   credentials of the one that won. On file systems without hard links it falls back to
    ///   creating the file in place (still never overwriting).
    pub fn read_or_create(path: impl AsRef<Path>) -> Result<Self, CredentialsError> {
        let path = path.as_ref();
        match File::open(path) {
            Ok(file) => return Self::read_from(file, path),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(CredentialsError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        }
        let credentials = Self::generate()?;
        match credentials.write_new_file(path)? {
            Created::Yes => {
                tracing::info!(
                    path = %path.display(),
                    guid = %credentials.guid,
                    "created new payload credentials file"
                );
                Ok(credentials)
            }
            // Another process created it in the meantime: use its credentials.
            Created::AlreadyExists => Self::read(path),
        }
    }

    /// Writes these credentials to a new file, in the format [`read`](Self::read) expects, with
    /// the same guarantees as [`read_or_create`](Self::read_or_create) (mode `0600`, never
    /// half-written). Fails with [`CredentialsError::AlreadyExists`] if the file exists.
    pub fn write_new(&self, path: impl AsRef<Path>) -> Result<(), CredentialsError> {
        let path = path.as_ref();
        match self.write_new_file(path)? {
            Created::Yes => Ok(()),
            Created::AlreadyExists => Err(CredentialsError::AlreadyExists {
                path: path.to_owned(),
            }),
        }
    }

    /// The payload's GUID.
    pub fn guid(&self) -> &str {
        &self.guid
    }

    /// The payload's secret.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    fn read_from(file: File, path: &Path) -> Result<Self, CredentialsError> {
        let mut bytes = Vec::new();
        file.take(MAX_FILE_SIZE + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| CredentialsError::Read {
                path: path.to_owned(),
                source,
            })?;
        if bytes.len() as u64 > MAX_FILE_SIZE {
            bytes.fill(0);
            return Err(CredentialsError::TooLarge {
                path: path.to_owned(),
                limit: MAX_FILE_SIZE,
            });
        }
        // Converting in place keeps a single buffer, which `Secret`'s drop then zeroes.
        let contents = match String::from_utf8(bytes) {
            Ok(contents) => Secret(contents),
            Err(err) => {
                let mut bytes = err.into_bytes();
                bytes.fill(0);
                return Err(CredentialsError::NotUtf8 {
                    path: path.to_owned(),
                });
            }
        };
        let text = contents.expose();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let (guid, rest) = split_line(text);
        let (secret, rest) = split_line(rest.unwrap_or(""));
        let (guid, secret) = (guid.trim(), secret.trim());
        if guid.is_empty() {
            return Err(CredentialsError::MissingGuid {
                path: path.to_owned(),
            });
        }
        if secret.is_empty() {
            return Err(CredentialsError::MissingSecret {
                path: path.to_owned(),
            });
        }
        if rest.is_some_and(|rest| !rest.trim().is_empty()) {
            tracing::warn!(
                path = %path.display(),
                "payload credentials file has content after line 2; ignoring it"
            );
        }
        Ok(Self {
            guid: guid.to_owned(),
            secret: Secret::from(secret),
        })
    }

    fn write_new_file(&self, path: &Path) -> Result<Created, CredentialsError> {
        let create_error = |source| CredentialsError::Create {
            path: path.to_owned(),
            source,
        };
        let file_name = path.file_name().ok_or_else(|| {
            create_error(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path does not name a file",
            ))
        })?;
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let contents = Secret(format!("{}\n{}", self.guid, self.secret.expose()));

        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(file_name);
        temp_name.push(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
        let temp_path = dir.join(temp_name);
        let temp = create_new(&temp_path).map_err(|source| {
            if source.kind() == io::ErrorKind::NotFound {
                CredentialsError::MissingDirectory {
                    path: path.to_owned(),
                    dir: dir.to_owned(),
                }
            } else {
                create_error(source)
            }
        })?;
        if let Err(source) = write_and_sync(temp, contents.expose()) {
            let _ = std::fs::remove_file(&temp_path);
            return Err(create_error(source));
        }
        let linked = std::fs::hard_link(&temp_path, path);
        // The temporary name is never needed after this; a failure to remove it is harmless.
        let _ = std::fs::remove_file(&temp_path);
        match linked {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                return Ok(Created::AlreadyExists);
            }
            // Typically a file system without hard links (e.g. FAT): create the file in place.
            Err(_) => {
                let file = match create_new(path) {
                    Ok(file) => file,
                    Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                        return Ok(Created::AlreadyExists);
                    }
                    Err(source) => return Err(create_error(source)),
                };
                if let Err(source) = write_and_sync(file, contents.expose()) {
                    // Leave no half-written file behind: the next attempt would reject it.
                    let _ = std::fs::remove_file(path);
                    return Err(create_error(source));
                }
            }
        }
        sync_dir(dir);
        Ok(Created::Yes)
    }
}

/// Whether a new credentials file was created, or one already existed.
enum Created {
    Yes,
    AlreadyExists,
}

/// Creates a file that must not exist yet, readable and writable by its owner only.
fn create_new(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

fn write_and_sync(mut file: File, contents: &str) -> io::Result<()> {
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// Makes the new directory entry durable (best effort: a payload may lose power right after).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Splits off the first line; a line ends at `\n`, `\r\n` or `\r` (Python's universal newlines).
/// Returns the line without its end, and the rest if there was a line end.
fn split_line(text: &str) -> (&str, Option<&str>) {
    match text.find(['\n', '\r']) {
        None => (text, None),
        Some(end) => {
            let skip = if text[end..].starts_with("\r\n") {
                2
            } else {
                1
            };
            (&text[..end], Some(&text[end + skip..]))
        }
    }
}

/// Why payload credentials could not be read, created or built.
///
/// Every error about a file names the file. No error contains the secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsError {
    /// The file could not be opened or read.
    #[error("cannot read payload credentials file {}: {source}", path.display())]
    Read {
        /// The credentials file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The file is not UTF-8 text.
    #[error("payload credentials file {} is not UTF-8 text", path.display())]
    NotUtf8 {
        /// The credentials file.
        path: PathBuf,
    },
    /// The file is implausibly large for a credentials file.
    #[error("payload credentials file {} is larger than {limit} bytes", path.display())]
    TooLarge {
        /// The credentials file.
        path: PathBuf,
        /// The size limit, in bytes.
        limit: u64,
    },
    /// Line 1, the GUID, is missing or blank.
    #[error(
        "payload credentials file {} has no GUID: line 1 is missing or blank \
         (expected line 1 GUID, line 2 secret)",
        path.display()
    )]
    MissingGuid {
        /// The credentials file.
        path: PathBuf,
    },
    /// Line 2, the secret, is missing or blank.
    #[error(
        "payload credentials file {} has no secret: line 2 is missing or blank \
         (expected line 1 GUID, line 2 secret)",
        path.display()
    )]
    MissingSecret {
        /// The credentials file.
        path: PathBuf,
    },
    /// The directory that should hold a new credentials file does not exist.
    #[error(
        "cannot create payload credentials file {}: directory {} does not exist",
        path.display(),
        dir.display()
    )]
    MissingDirectory {
        /// The credentials file.
        path: PathBuf,
        /// Its parent directory.
        dir: PathBuf,
    },
    /// The credentials file could not be created or written.
    #[error("cannot create payload credentials file {}: {source}", path.display())]
    Create {
        /// The credentials file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// [`PayloadCredentials::write_new`] found the file already there.
    #[error("payload credentials file {} already exists; not overwriting it", path.display())]
    AlreadyExists {
        /// The credentials file.
        path: PathBuf,
    },
    /// The operating system's random number generator failed.
    #[error("cannot generate payload credentials: no random numbers: {source}")]
    Random {
        /// The error from the random number generator.
        source: io::Error,
    },
    /// The GUID given to [`PayloadCredentials::from_parts`] is empty or blank.
    #[error("payload GUID is empty")]
    EmptyGuid,
    /// The secret given to [`PayloadCredentials::from_parts`] is empty or blank.
    #[error("payload secret is empty")]
    EmptySecret,
    /// The GUID given to [`PayloadCredentials::from_parts`] contains a line break.
    #[error("payload GUID contains a line break")]
    LineBreakInGuid,
    /// The secret given to [`PayloadCredentials::from_parts`] contains a line break.
    #[error("payload secret contains a line break")]
    LineBreakInSecret,
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUID: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    const SECRET: &str = "s3cr3t-T0ken_value";

    fn write(dir: &tempfile::TempDir, contents: &[u8]) -> PathBuf {
        let path = dir.path().join("creds");
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn read_str(contents: &str) -> Result<PayloadCredentials, CredentialsError> {
        let dir = tempfile::tempdir().unwrap();
        PayloadCredentials::read(write(&dir, contents.as_bytes()))
    }

    fn assert_parts(credentials: &PayloadCredentials, guid: &str, secret: &str) {
        assert_eq!(credentials.guid(), guid);
        assert_eq!(credentials.secret().expose(), secret);
    }

    #[test]
    fn reads_the_official_format_and_its_variants() {
        for contents in [
            format!("{GUID}\n{SECRET}"),
            format!("{GUID}\n{SECRET}\n"),
            format!("{GUID}\n{SECRET}\n\n\n"),
            format!("{GUID}\r\n{SECRET}\r\n"),
            format!("{GUID}\r{SECRET}"),
            format!("  {GUID} \t\n\t{SECRET}  \n"),
            format!("\u{feff}{GUID}\n{SECRET}"),
            // Like the official reader, anything after line 2 is ignored.
            format!("{GUID}\n{SECRET}\nthird line\n"),
        ] {
            let credentials =
                read_str(&contents).unwrap_or_else(|err| panic!("{contents:?}: {err}"));
            assert_parts(&credentials, GUID, SECRET);
        }
    }

    #[test]
    fn rejects_missing_lines_precisely() {
        for contents in [
            String::new(),
            "\n".to_owned(),
            "   \n\n".to_owned(),
            format!("\n{GUID}\n{SECRET}"),
        ] {
            let err = read_str(&contents).unwrap_err();
            assert!(
                matches!(err, CredentialsError::MissingGuid { .. }),
                "{contents:?}: {err:?}"
            );
        }
        for contents in [
            GUID.to_owned(),
            format!("{GUID}\n"),
            format!("{GUID}\n   \n"),
            format!("{GUID}\r\n\r\n{SECRET}"),
        ] {
            let err = read_str(&contents).unwrap_err();
            assert!(
                matches!(err, CredentialsError::MissingSecret { .. }),
                "{contents:?}: {err:?}"
            );
        }
    }

    #[test]
    fn rejects_unreadable_contents() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, b"\xff\xfe\n\x80");
        assert!(matches!(
            PayloadCredentials::read(&path),
            Err(CredentialsError::NotUtf8 { .. })
        ));
        let path = write(&dir, &vec![b'a'; MAX_FILE_SIZE as usize + 1]);
        assert!(matches!(
            PayloadCredentials::read(&path),
            Err(CredentialsError::TooLarge { .. })
        ));
        let missing = dir.path().join("missing");
        let err = PayloadCredentials::read(&missing).unwrap_err();
        assert!(
            matches!(&err, CredentialsError::Read { source, .. } if source.kind() == io::ErrorKind::NotFound)
        );
        assert!(err.to_string().contains(&missing.display().to_string()));
    }

    #[test]
    fn create_then_read_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("payload_guid_and_secret");
        let created = PayloadCredentials::read_or_create(&path).unwrap();
        let read = PayloadCredentials::read(&path).unwrap();
        assert_parts(&read, created.guid(), created.secret().expose());
        let again = PayloadCredentials::read_or_create(&path).unwrap();
        assert_parts(&again, created.guid(), created.secret().expose());

        // The official layout: "GUID\nsecret", no trailing newline.
        let contents = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            contents,
            format!("{}\n{}", created.guid(), created.secret().expose())
        );
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, ["payload_guid_and_secret"]);
    }

    #[test]
    fn generated_credentials_look_like_the_official_ones() {
        let credentials = PayloadCredentials::generate().unwrap();
        let guid = uuid::Uuid::parse_str(credentials.guid()).unwrap();
        assert_eq!(guid.get_version_num(), 4);
        assert_eq!(credentials.guid(), guid.hyphenated().to_string());
        let secret = credentials.secret().expose();
        assert_eq!(secret.len(), 22);
        assert!(
            secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(secret).unwrap().len(), SECRET_BYTES);
        let other = PayloadCredentials::generate().unwrap();
        assert_ne!(credentials.guid(), other.guid());
        assert_ne!(secret, other.secret().expose());
    }

    #[cfg(unix)]
    #[test]
    fn created_file_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("creds");
        PayloadCredentials::read_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let path = dir.path().join("written");
        PayloadCredentials::from_parts(GUID, SECRET)
            .unwrap()
            .write_new(&path)
            .unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn existing_files_are_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let contents = format!("{GUID}\n{SECRET}\n");
        let path = write(&dir, contents.as_bytes());
        assert_parts(
            &PayloadCredentials::read_or_create(&path).unwrap(),
            GUID,
            SECRET,
        );

        let other = PayloadCredentials::generate().unwrap();
        assert!(matches!(
            other.write_new(&path),
            Err(CredentialsError::AlreadyExists { .. })
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), contents);

        // An invalid file is an error, not a reason to make new credentials.
        let invalid = write(&dir, format!("{GUID}\n").as_bytes());
        assert!(matches!(
            PayloadCredentials::read_or_create(&invalid),
            Err(CredentialsError::MissingSecret { .. })
        ));
        assert_eq!(
            std::fs::read_to_string(&invalid).unwrap(),
            format!("{GUID}\n")
        );
    }

    #[test]
    fn concurrent_creators_agree() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("creds");
        let results: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| PayloadCredentials::read_or_create(&path).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let on_disk = PayloadCredentials::read(&path).unwrap();
        for credentials in results {
            assert_parts(&credentials, on_disk.guid(), on_disk.secret().expose());
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_directory_is_reported_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let missing_dir = dir.path().join("nope");
        let path = missing_dir.join("creds");
        let err = PayloadCredentials::read_or_create(&path).unwrap_err();
        match &err {
            CredentialsError::MissingDirectory { path: p, dir: d } => {
                assert_eq!(p, &path);
                assert_eq!(d, &missing_dir);
            }
            other => panic!("unexpected error {other:?}"),
        }
        assert!(err.to_string().contains("does not exist"));
        assert!(!missing_dir.exists());
    }

    #[test]
    fn directory_as_path_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            PayloadCredentials::read_or_create(dir.path()),
            Err(CredentialsError::Read { .. })
        ));
    }

    #[test]
    fn from_parts_trims_and_validates() {
        let credentials = PayloadCredentials::from_parts(format!(" {GUID}\n"), " pw ").unwrap();
        assert_parts(&credentials, GUID, "pw");
        // Like the official SDK, any GUID string is accepted.
        assert_parts(
            &PayloadCredentials::from_parts("my-payload", "pw").unwrap(),
            "my-payload",
            "pw",
        );
        assert!(matches!(
            PayloadCredentials::from_parts(" ", "pw"),
            Err(CredentialsError::EmptyGuid)
        ));
        assert!(matches!(
            PayloadCredentials::from_parts(GUID, "\n"),
            Err(CredentialsError::EmptySecret)
        ));
        assert!(matches!(
            PayloadCredentials::from_parts("a\nb", "pw"),
            Err(CredentialsError::LineBreakInGuid)
        ));
        assert!(matches!(
            PayloadCredentials::from_parts(GUID, "a\rb"),
            Err(CredentialsError::LineBreakInSecret)
        ));
    }

    #[test]
    fn written_credentials_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("creds");
        let credentials = PayloadCredentials::from_parts(GUID, SECRET).unwrap();
        credentials.write_new(&path).unwrap();
        assert_parts(&PayloadCredentials::read(&path).unwrap(), GUID, SECRET);
    }

    #[test]
    fn debug_redacts_the_secret() {
        let credentials = PayloadCredentials::from_parts(GUID, SECRET).unwrap();
        let debug = format!("{credentials:?}");
        assert_eq!(
            debug,
            format!("PayloadCredentials {{ guid: \"{GUID}\", secret: \"<redacted>\" }}")
        );
        let pretty = format!("{credentials:#?}");
        assert!(!pretty.contains(SECRET));
        assert_eq!(format!("{:?}", Secret::from(SECRET)), "\"<redacted>\"");
        assert_eq!(
            format!("{:?}", Some(Secret::from(SECRET))),
            "Some(\"<redacted>\")"
        );
    }

    #[test]
    fn errors_never_contain_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let mut errors = Vec::new();
        // A secret on line 1 (so the "GUID" is the secret) and no line 2.
        errors.push(read_str(&format!("{SECRET}\n")).unwrap_err());
        errors.push(read_str(&format!("\n{SECRET}\n")).unwrap_err());
        errors.push(read_str(&format!("{GUID}\r\n\r\n{SECRET}")).unwrap_err());
        let path = write(&dir, format!("{GUID}\n{SECRET}").as_bytes());
        errors.push(
            PayloadCredentials::from_parts(GUID, SECRET)
                .unwrap()
                .write_new(&path)
                .unwrap_err(),
        );
        errors
            .push(PayloadCredentials::from_parts(GUID, format!("{SECRET}\n{SECRET}")).unwrap_err());
        errors.push(PayloadCredentials::from_parts("", SECRET).unwrap_err());
        for err in errors {
            let shown = format!("{err} / {err:?}");
            assert!(!shown.contains(SECRET), "{shown}");
        }
    }

    #[test]
    fn file_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, b"");
        let err = PayloadCredentials::read(&path).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("line 1"), "{message}");
    }

    #[test]
    fn split_line_handles_universal_newlines() {
        assert_eq!(split_line("a\nb"), ("a", Some("b")));
        assert_eq!(split_line("a\r\nb"), ("a", Some("b")));
        assert_eq!(split_line("a\rb"), ("a", Some("b")));
        assert_eq!(split_line("a\r\r\nb"), ("a", Some("\r\nb")));
        assert_eq!(split_line("a"), ("a", None));
        assert_eq!(split_line(""), ("", None));
    }

    #[test]
    fn core_io_path_is_the_official_one() {
        assert_eq!(
            CORE_IO_CREDENTIALS_PATH,
            "/opt/payload_credentials/payload_guid_and_secret"
        );
    }
}
