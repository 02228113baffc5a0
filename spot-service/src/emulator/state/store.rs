//! The state file: payload registrations, kept across emulator restarts.
//!
//! A small line-based text format (no serde here). The first line is [`STATE_FILE_HEADER`];
//! then one record per line, fields separated by a tab:
//!
//! ```text
//! # spot-emulator state file, format 1
//! payload<TAB><GUID><TAB>authorized|unauthorized<TAB>attached|detached<TAB><base64 secret><TAB><base64 Payload>
//! ```
//!
//! - `GUID` is the payload's GUID as text (no whitespace; registration refuses others);
//! - the secret is the UTF-8 secret in standard base64 (with padding);
//! - `Payload` is the `bosdyn.api.Payload` message, protobuf-encoded, in standard base64; its
//!   `GUID` field must equal the first field.
//!
//! Empty lines and lines starting with `#` after the header are ignored. The file is rewritten
//! whole on every change, atomically (written to `<file>.tmp`, synced, renamed over the file),
//! with mode `0600` on Unix since it holds the payloads' secrets.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use prost::Message as _;

use crate::proto::bosdyn::api::Payload;

use super::payloads::{PayloadRecord, valid_guid};

/// The first line of a state file (format version 1).
pub const STATE_FILE_HEADER: &str = "# spot-emulator state file, format 1";

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

/// Reads the payloads of the state file at `path`; a missing or empty file holds none.
pub(super) fn load(path: &Path) -> Result<BTreeMap<String, PayloadRecord>, StateError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            tracing::info!(path = %path.display(), "no emulator state file yet: starting empty");
            return Ok(BTreeMap::new());
        }
        Err(source) => {
            return Err(StateError::Io {
                path: path.to_owned(),
                action: "read",
                source,
            });
        }
    };
    parse(&text).map_err(|(line, reason)| StateError::Format {
        path: path.to_owned(),
        line,
        reason,
    })
}

/// Parses a state file's text; on error, the 1-based line and the reason.
pub(super) fn parse(text: &str) -> Result<BTreeMap<String, PayloadRecord>, (usize, String)> {
    let mut payloads = BTreeMap::new();
    let mut lines = text.lines().enumerate().map(|(i, line)| (i + 1, line));
    match lines.next() {
        None => return Ok(payloads),
        Some((_, line)) if line.trim_end() == STATE_FILE_HEADER => {}
        Some((n, _)) => {
            return Err((
                n,
                format!("not a spot-emulator state file (expected {STATE_FILE_HEADER:?})"),
            ));
        }
    }
    for (n, line) in lines {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let record = parse_payload_line(line).map_err(|reason| (n, reason))?;
        let guid = record.payload.guid.clone();
        if payloads.insert(guid.clone(), record).is_some() {
            return Err((n, format!("payload {guid} appears twice")));
        }
    }
    Ok(payloads)
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

/// The text of a state file holding `payloads`.
pub(super) fn render(payloads: &BTreeMap<String, PayloadRecord>) -> String {
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
    text
}

/// Writes `payloads` to `path` atomically (temporary file, sync, rename).
pub(super) fn save(
    path: &Path,
    payloads: &BTreeMap<String, PayloadRecord>,
) -> Result<(), StateError> {
    let io_error = |action: &'static str, path: &Path| {
        let path = path.to_owned();
        move |source| StateError::Io {
            path,
            action,
            source,
        }
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io_error("create the directory of", path))?;
    }
    let mut tmp_name = path.file_name().unwrap_or_default().to_owned();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(io_error("create", &tmp))?;
    file.write_all(render(payloads).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io_error("write", &tmp))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io_error("replace", path))?;
    tracing::debug!(path = %path.display(), payloads = payloads.len(), "emulator state file written");
    Ok(())
}
