//! The state file: payload registrations and issued tokens, kept across emulator restarts and
//! shared with other processes (the `spot-emulator authorize` subcommand changes it while the
//! emulator runs; [`EmulatorState::refresh_from_file`] picks such changes up).
//!
//! A small line-based text format (no serde here). The first line is [`STATE_FILE_HEADER`]
//! (format 2; files of format 1, which have no token lines, still load); then one record per
//! line, fields separated by a tab:
//!
//! ```text
//! # spot-emulator state file, format 2
//! payload<TAB><GUID><TAB>authorized|unauthorized<TAB>attached|detached<TAB><base64 secret><TAB><base64 Payload>
//! token<TAB><token><TAB><expiry, unix seconds><TAB>user|payload<TAB><base64 owner>
//! ```
//!
//! - `GUID` is the payload's GUID as text (no whitespace; registration refuses others);
//! - the secret is the UTF-8 secret in standard base64 (with padding);
//! - `Payload` is the `bosdyn.api.Payload` message, protobuf-encoded, in standard base64; its
//!   `GUID` field must equal the first field;
//! - a token line is a token the emulator issued: its value (no whitespace), when it expires,
//!   and its owner (a username or a payload GUID, UTF-8 in standard base64). Expired tokens, and
//!   tokens of payloads no longer registered, are left out when the file is written.
//!
//! Empty lines and lines starting with `#` after the header are ignored. The file is rewritten
//! whole on every change, atomically (written to `<file>.tmp`, synced, renamed over the file),
//! with mode `0600` on Unix since it holds the payloads' secrets and the tokens. Writers hold an
//! exclusive advisory lock on `<file>.lock` while they read, merge and replace the file, so two
//! processes changing it at once do not lose each other's changes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use prost::Message as _;

use crate::proto::bosdyn::api::Payload;

use super::auth::{TokenOwner, TokenRecord};
use super::payloads::{PayloadRecord, valid_guid};
use super::{Data, EmulatorState};

/// The first line of a state file (format version 2: payloads and tokens).
pub const STATE_FILE_HEADER: &str = "# spot-emulator state file, format 2";

/// The first line of a state file of format version 1 (payloads only), still read.
const STATE_FILE_HEADER_V1: &str = "# spot-emulator state file, format 1";

/// A file whose modification time is this close to when it was looked at may still change
/// without its modification time changing (coarse file system clocks): it is read again.
const RACY_WINDOW: Duration = Duration::from_secs(2);

/// The state file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing the file failed.
    #[error("could not {action} emulator state file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done ("read", "write", "replace", ...).
        action: &'static str,
        /// The cause.
        source: io::Error,
    },
    /// The file is not a state file of this format.
    #[error("emulator state file {}, line {line}: {reason}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// A token line of the state file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StoredToken {
    pub(super) token: String,
    pub(super) owner: TokenOwner,
    /// Expiry, seconds since the Unix epoch.
    pub(super) expires_unix: u64,
}

/// What a state file holds.
#[derive(Debug, Default)]
pub(super) struct Contents {
    pub(super) payloads: BTreeMap<String, PayloadRecord>,
    pub(super) tokens: Vec<StoredToken>,
}

/// What tells whether a file was replaced or changed without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
    /// The inode: every write replaces the file (rename), so a write changes it.
    #[cfg(unix)]
    inode: u64,
}

impl FileStamp {
    /// The stamp of the file at `path`, `None` if there is no file.
    fn of(path: &Path) -> Result<Option<Self>, StateError> {
        match std::fs::metadata(path) {
            Ok(metadata) => Ok(Some(Self {
                modified: metadata.modified().ok(),
                len: metadata.len(),
                #[cfg(unix)]
                inode: std::os::unix::fs::MetadataExt::ino(&metadata),
            })),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StateError::Io {
                path: path.to_owned(),
                action: "inspect",
                source,
            }),
        }
    }
}

/// The state file as this emulator last read or wrote it.
#[derive(Debug, Clone)]
pub(super) struct FileSeen {
    stamp: Option<FileStamp>,
    /// The stamp cannot be trusted to change on the next write (the file was modified too
    /// recently when it was taken): the file must be read to know.
    racy: bool,
    text: String,
}

impl FileSeen {
    fn new(stamp: Option<FileStamp>, text: String) -> Self {
        let now = SystemTime::now();
        let racy = stamp.as_ref().is_some_and(|stamp| {
            stamp.modified.is_none_or(|modified| {
                now.duration_since(modified)
                    .map_or(true, |age| age < RACY_WINDOW)
            })
        });
        Self { stamp, racy, text }
    }
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StateError {
    let path = path.to_owned();
    move |source| StateError::Io {
        path,
        action,
        source,
    }
}

/// Seconds since the Unix epoch.
pub(super) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// The text of the state file at `path`; a missing file is empty.
fn read_text(path: &Path) -> Result<String, StateError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(io_error("read", path)(source)),
    }
}

fn parse_at(path: &Path, text: &str) -> Result<Contents, StateError> {
    parse(text).map_err(|(line, reason)| StateError::Format {
        path: path.to_owned(),
        line,
        reason,
    })
}

/// Reads the state file at `path`; a missing or empty file holds nothing.
pub(super) fn load(path: &Path) -> Result<(Contents, FileSeen), StateError> {
    // The stamp before the text: if the file is replaced in between, the next look reads again.
    let stamp = FileStamp::of(path)?;
    if stamp.is_none() {
        tracing::info!(path = %path.display(), "no emulator state file yet: starting empty");
    }
    let text = read_text(path)?;
    let contents = parse_at(path, &text)?;
    Ok((contents, FileSeen::new(stamp, text)))
}

/// Parses a state file's text; on error, the 1-based line and the reason.
pub(super) fn parse(text: &str) -> Result<Contents, (usize, String)> {
    let mut contents = Contents::default();
    let mut lines = text.lines().enumerate().map(|(i, line)| (i + 1, line));
    match lines.next() {
        None => return Ok(contents),
        Some((_, line))
            if line.trim_end() == STATE_FILE_HEADER || line.trim_end() == STATE_FILE_HEADER_V1 => {}
        Some((n, _)) => {
            return Err((
                n,
                format!("not a spot-emulator state file (expected {STATE_FILE_HEADER:?})"),
            ));
        }
    }
    let mut seen_tokens = std::collections::HashSet::new();
    for (n, line) in lines {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with("token\t") {
            let token = parse_token_line(line).map_err(|reason| (n, reason))?;
            if !seen_tokens.insert(token.token.clone()) {
                return Err((n, "a token appears twice".to_owned()));
            }
            contents.tokens.push(token);
            continue;
        }
        let record = parse_payload_line(line).map_err(|reason| (n, reason))?;
        let guid = record.payload.guid.clone();
        if contents.payloads.insert(guid.clone(), record).is_some() {
            return Err((n, format!("payload {guid} appears twice")));
        }
    }
    Ok(contents)
}

fn parse_token_line(line: &str) -> Result<StoredToken, String> {
    let fields: Vec<&str> = line.split('\t').collect();
    let ["token", token, expires, kind, owner] = fields[..] else {
        return Err("expected `token` and 4 tab-separated fields".to_owned());
    };
    if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("invalid token value".to_owned());
    }
    let expires_unix = expires
        .parse::<u64>()
        .map_err(|_| format!("expected the token's expiry in unix seconds, found {expires:?}"))?;
    let owner = STANDARD
        .decode(owner)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| "the token's owner is not base64 of UTF-8 text".to_owned())?;
    let owner = match kind {
        "user" => TokenOwner::User(owner),
        "payload" if valid_guid(&owner) => TokenOwner::Payload(owner),
        "payload" => return Err(format!("invalid payload GUID {owner:?} owns a token")),
        other => return Err(format!("expected user|payload, found {other:?}")),
    };
    Ok(StoredToken {
        token: token.to_owned(),
        owner,
        expires_unix,
    })
}

fn parse_payload_line(line: &str) -> Result<PayloadRecord, String> {
    let fields: Vec<&str> = line.split('\t').collect();
    let ["payload", guid, authorized, attached, secret, payload] = fields[..] else {
        return Err(format!(
            "expected `payload` and 5 tab-separated fields, found {:?}",
            fields.first().copied().unwrap_or_default()
        ));
    };
    if !valid_guid(guid) {
        return Err(format!("invalid GUID {guid:?}"));
    }
    let authorized = match authorized {
        "authorized" => true,
        "unauthorized" => false,
        other => return Err(format!("expected authorized|unauthorized, found {other:?}")),
    };
    let attached = match attached {
        "attached" => true,
        "detached" => false,
        other => return Err(format!("expected attached|detached, found {other:?}")),
    };
    let secret = STANDARD
        .decode(secret)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| format!("the secret of payload {guid} is not base64 of UTF-8 text"))?;
    let payload = STANDARD
        .decode(payload)
        .map_err(|e| format!("the Payload of {guid} is not valid base64: {e}"))
        .and_then(|bytes| {
            Payload::decode(bytes.as_slice())
                .map_err(|e| format!("the Payload of {guid} does not decode: {e}"))
        })?;
    if payload.guid != guid {
        return Err(format!(
            "the Payload message has GUID {:?}, the line {guid:?}",
            payload.guid
        ));
    }
    let mut record = PayloadRecord {
        payload,
        secret,
        authorized,
        attached,
    };
    record.sync_flags();
    Ok(record)
}

/// The text of a state file holding `payloads` and the `tokens` that are still valid at
/// `now_unix` (tokens of payloads not in `payloads` are left out), sorted.
pub(super) fn render<'a>(
    payloads: &BTreeMap<String, PayloadRecord>,
    tokens: impl IntoIterator<Item = (&'a String, &'a TokenRecord)>,
    now_unix: u64,
) -> String {
    let mut text = String::with_capacity(64 + payloads.len() * 256);
    text.push_str(STATE_FILE_HEADER);
    text.push('\n');
    text.push_str(
        "# payload\tGUID\tauthorized|unauthorized\tattached|detached\tbase64(secret)\t\
         base64(bosdyn.api.Payload)\n",
    );
    for (guid, record) in payloads {
        let _ = writeln!(
            text,
            "payload\t{guid}\t{}\t{}\t{}\t{}",
            if record.authorized {
                "authorized"
            } else {
                "unauthorized"
            },
            if record.attached {
                "attached"
            } else {
                "detached"
            },
            STANDARD.encode(record.secret.as_bytes()),
            STANDARD.encode(record.payload.encode_to_vec()),
        );
    }
    let mut kept: Vec<(&String, &TokenRecord)> = tokens
        .into_iter()
        .filter(|(_, record)| {
            record.expires_unix > now_unix
                && match &record.owner {
                    TokenOwner::User(_) => true,
                    TokenOwner::Payload(guid) => payloads.contains_key(guid),
                }
        })
        .collect();
    if !kept.is_empty() {
        text.push_str("# token\tvalue\texpiry(unix seconds)\tuser|payload\tbase64(owner)\n");
    }
    kept.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (token, record) in kept {
        let (kind, owner) = match &record.owner {
            TokenOwner::User(name) => ("user", name),
            TokenOwner::Payload(guid) => ("payload", guid),
        };
        let _ = writeln!(
            text,
            "token\t{token}\t{}\t{kind}\t{}",
            record.expires_unix,
            STANDARD.encode(owner.as_bytes()),
        );
    }
    text
}

/// Writes `text` to `path` atomically (temporary file, sync, rename); the new file's stamp.
fn save(path: &Path, text: &str) -> Result<Option<FileStamp>, StateError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io_error("create the directory of", path))?;
    }
    let mut tmp_name = path.file_name().unwrap_or_default().to_owned();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let mut file = private_file_options(true)
        .open(&tmp)
        .map_err(io_error("create", &tmp))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io_error("write", &tmp))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io_error("replace", path))?;
    tracing::debug!(path = %path.display(), "emulator state file written");
    FileStamp::of(path)
}

/// Options creating a file readable by its owner only (on Unix).
fn private_file_options(truncate: bool) -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(truncate);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options
}

/// Takes the exclusive advisory lock of the state file at `path` (on `<path>.lock`, created if
/// missing), waiting for other writers; released when the returned file is dropped.
fn lock(path: &Path) -> Result<File, StateError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io_error("create the directory of", path))?;
    }
    let mut lock_name = path.file_name().unwrap_or_default().to_owned();
    lock_name.push(".lock");
    let lock_path = path.with_file_name(lock_name);
    let file = private_file_options(false)
        .open(&lock_path)
        .map_err(io_error("open the lock file of", path))?;
    file.lock().map_err(io_error("lock", path))?;
    Ok(file)
}

/// Brings the changes another process made to the state file into `data`, if the file changed
/// since this state last read or wrote it: the file decides whether a payload is authorized,
/// payloads only in the file are added, unexpired tokens only in the file are adopted; what only
/// memory holds is kept. The caller holds the file lock. Returns whether a payload changed.
fn merge_file(data: &mut Data, path: &Path) -> Result<bool, StateError> {
    let stamp = FileStamp::of(path)?;
    if data
        .file
        .as_ref()
        .is_some_and(|seen| seen.stamp == stamp && !seen.racy)
    {
        return Ok(false);
    }
    let text = read_text(path)?;
    if data.file.as_ref().is_some_and(|seen| seen.text == text) {
        data.file = Some(FileSeen::new(stamp, text));
        return Ok(false);
    }
    let contents = parse_at(path, &text)?;
    let mut changed = false;
    for (guid, record) in contents.payloads {
        match data.payloads.get_mut(&guid) {
            Some(mine) if mine.authorized != record.authorized => {
                mine.authorized = record.authorized;
                mine.sync_flags();
                changed = true;
                if record.authorized {
                    tracing::info!(guid, "payload {guid} authorized by the operator");
                } else {
                    tracing::info!(
                        guid,
                        "payload {guid} authorization revoked by the operator; its tokens are no \
                         longer valid"
                    );
                }
            }
            Some(_) => {}
            None => {
                tracing::info!(
                    guid,
                    authorized = record.authorized,
                    "payload {guid} added to the state file by another process"
                );
                data.payloads.insert(guid, record);
                changed = true;
            }
        }
    }
    adopt_tokens(data, contents.tokens);
    data.file = Some(FileSeen::new(stamp, text));
    Ok(changed)
}

/// Adds the stored tokens `data` does not know yet, unless expired or owned by a payload that is
/// not registered (a forgotten payload's tokens stay invalid even if it registers again).
pub(super) fn adopt_tokens(data: &mut Data, tokens: Vec<StoredToken>) {
    let (now, now_unix) = (Instant::now(), unix_now());
    for stored in tokens {
        let registered = match &stored.owner {
            TokenOwner::User(_) => true,
            TokenOwner::Payload(guid) => data.payloads.contains_key(guid),
        };
        if registered
            && !data.tokens.contains_key(&stored.token)
            && let Some(record) =
                TokenRecord::restore(stored.owner, stored.expires_unix, now, now_unix)
        {
            data.tokens.insert(stored.token, record);
        }
    }
}

/// Writes `payloads` and `tokens` to `path` unless the file (as last read or written, under the
/// lock the caller holds) already says exactly that; records what was written in `seen`.
fn write<'a>(
    path: &Path,
    payloads: &BTreeMap<String, PayloadRecord>,
    tokens: impl IntoIterator<Item = (&'a String, &'a TokenRecord)>,
    seen: &mut Option<FileSeen>,
) -> Result<(), StateError> {
    let text = render(payloads, tokens, unix_now());
    if seen.as_ref().is_some_and(|seen| seen.text == text) {
        return Ok(());
    }
    let stamp = save(path, &text)?;
    *seen = Some(FileSeen::new(stamp, text));
    Ok(())
}

impl EmulatorState {
    /// Picks up the changes another process made to the state file (e.g. `spot-emulator
    /// authorize GUID` while this emulator runs), if its modification time (or size, or inode)
    /// changed since this state last read or wrote it:
    ///
    /// - the file decides whether a payload is authorized (logged as "payload GUID authorized
    ///   by the operator" or "... revoked ...");
    /// - payloads only in the file are added, unexpired tokens only in the file adopted;
    /// - payloads and tokens only in memory are kept, and the file is rewritten to hold them.
    ///
    /// Cheap when nothing changed (one `stat`), so it can be called every second or so. Without
    /// a state file it does nothing. Returns whether a payload's authorization or record changed.
    ///
    /// # Errors
    ///
    /// The file cannot be read, locked or rewritten, or is not a state file; memory is then left
    /// as it was (or with the file's changes merged, if only the rewrite failed).
    pub fn refresh_from_file(&self) -> Result<bool, StateError> {
        let Some(path) = &self.inner.config.state_file else {
            return Ok(false);
        };
        let mut data = self.lock();
        // Cheap look first, without the file lock.
        let stamp = FileStamp::of(path)?;
        if data
            .file
            .as_ref()
            .is_some_and(|seen| seen.stamp == stamp && !seen.racy)
        {
            return Ok(false);
        }
        let _lock = lock(path)?;
        let changed = merge_file(&mut data, path)?;
        let data = &mut *data;
        write(path, &data.payloads, &data.tokens, &mut data.file)?;
        Ok(changed)
    }

    /// Under the state file's lock, merges the file's changes into `data`, then lets `change`
    /// compute the payloads to keep, writes them (with `data`'s tokens) and makes them current.
    /// Without a state file, only applies `change`.
    pub(super) fn persist<T, E: From<StateError>>(
        &self,
        data: &mut Data,
        change: impl FnOnce(&Data) -> Result<(BTreeMap<String, PayloadRecord>, T), E>,
    ) -> Result<T, E> {
        let Some(path) = &self.inner.config.state_file else {
            let (payloads, result) = change(data)?;
            data.payloads = payloads;
            return Ok(result);
        };
        let _lock = lock(path)?;
        merge_file(data, path)?;
        let (payloads, result) = change(data)?;
        write(path, &payloads, &data.tokens, &mut data.file)?;
        data.payloads = payloads;
        Ok(result)
    }
}
