//! Unit tests of the emulator state: no network, short real-time waits only.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::*;
use crate::proto::bosdyn::api::{Endpoint, Payload, ServiceEntry, SoftwareVersion, service_entry};

fn config() -> EmulatorConfig {
    EmulatorConfig::default().with_user("admin", "hunter2")
}

fn state(config: EmulatorConfig) -> EmulatorState {
    EmulatorState::new(config).expect("state")
}

/// A fresh path in a fresh temporary directory (removed on drop).
struct TempPath {
    dir: tempfile::TempDir,
}

impl TempPath {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn file(&self) -> PathBuf {
        static N: AtomicU32 = AtomicU32::new(0);
        self.dir
            .path()
            .join(format!("state-{}", N.fetch_add(1, Ordering::SeqCst)))
    }
}

fn entry(name: &str, authority: &str, liveness: f64) -> ServiceEntry {
    ServiceEntry {
        name: name.to_owned(),
        service_type: Some(service_entry::ServiceType::Type("test.Service".into())),
        authority: authority.to_owned(),
        user_token_required: true,
        liveness_timeout_secs: liveness,
        ..Default::default()
    }
}

fn endpoint(port: i32) -> Option<Endpoint> {
    Some(Endpoint {
        host_ip: "127.0.0.1".into(),
        port,
    })
}

fn payload(guid: &str) -> Payload {
    Payload {
        guid: guid.to_owned(),
        name: "Test payload\twith a tab".to_owned(),
        description: "line one\nline two".to_owned(),
        is_authorized: true,
        is_enabled: true,
        version: Some(SoftwareVersion {
            major_version: 1,
            minor_version: 2,
            patch_level: 3,
        }),
        label_prefix: vec!["a".into(), "b".into()],
        ..Default::default()
    }
}

#[test]
fn login_lockout_and_refresh() {
    let state = state(config().with_lockout(3, Duration::from_millis(300)));
    let token = state.login("admin", "hunter2").unwrap();
    assert_eq!(
        state.token_owner(&token),
        Some(TokenOwner::User("admin".into()))
    );
    assert!(state.token_is_valid(&token));

    // Failures reset on success.
    assert_eq!(state.login("admin", "x"), Err(AuthFailure::InvalidLogin));
    assert_eq!(state.login("admin", "x"), Err(AuthFailure::InvalidLogin));
    state.login("admin", "hunter2").unwrap();
    assert_eq!(state.login("admin", "x"), Err(AuthFailure::InvalidLogin));
    assert_eq!(state.login("admin", "x"), Err(AuthFailure::InvalidLogin));
    // The third consecutive failure still answers INVALID_LOGIN, then the lockout starts.
    assert_eq!(state.login("admin", "x"), Err(AuthFailure::InvalidLogin));
    assert_eq!(
        state.login("admin", "hunter2"),
        Err(AuthFailure::TemporarilyLockedOut)
    );
    // Other usernames are not affected.
    assert_eq!(state.login("nobody", ""), Err(AuthFailure::InvalidLogin));
    std::thread::sleep(Duration::from_millis(350));
    state.login("admin", "hunter2").unwrap();

    let fresh = state.refresh_token(&token).unwrap();
    assert_ne!(fresh, token);
    assert!(state.token_is_valid(&fresh));
    assert!(
        state.token_is_valid(&token),
        "old tokens live until they expire"
    );
    assert_eq!(
        state.refresh_token("not-a-token"),
        Err(AuthFailure::InvalidToken)
    );
    assert!(!state.token_is_valid("not-a-token"));
    assert!(!state.token_is_valid(""));
}

#[test]
fn lockout_can_be_disabled() {
    let state = state(config().with_lockout(0, Duration::from_secs(60)));
    for _ in 0..20 {
        assert_eq!(state.login("admin", "x"), Err(AuthFailure::InvalidLogin));
    }
    state.login("admin", "hunter2").unwrap();
}

#[test]
fn tokens_expire() {
    let state = state(config().with_token_lifetime(Duration::from_millis(300)));
    let token = state.login("admin", "hunter2").unwrap();
    assert!(state.token_is_valid(&token));
    assert_eq!(state.token_count(), 1);
    std::thread::sleep(Duration::from_millis(350));
    assert!(!state.token_is_valid(&token));
    assert_eq!(state.refresh_token(&token), Err(AuthFailure::InvalidToken));
    assert_eq!(state.token_count(), 0);
}

#[test]
fn directory_statuses_and_validation() {
    let state = state(config());
    let stored = state
        .register_service(entry("svc", "My-Svc", 0.0), endpoint(5000))
        .unwrap();
    assert_eq!(stored.authority, "my-svc.spot.robot");
    assert!(stored.last_update.is_some());
    assert_eq!(
        state.register_service(entry("svc", "other", 0.0), endpoint(5001)),
        Err(DirectoryError::AlreadyExists("svc".into()))
    );
    assert_eq!(
        state.register_service(entry("auth", "x", 0.0), endpoint(5001)),
        Err(DirectoryError::AlreadyExists("auth".into())),
        "built-in names are taken"
    );
    state
        .update_service(entry("svc", "svc.spot.robot", 0.0), endpoint(6000))
        .unwrap();
    assert_eq!(state.route("svc").unwrap().port, 6000);
    assert_eq!(
        state.update_service(entry("nope", "x", 0.0), endpoint(1)),
        Err(DirectoryError::NonexistentService("nope".into()))
    );
    assert_eq!(
        state.unregister_service("auth"),
        Err(DirectoryError::BuiltIn("auth".into()))
    );
    state.unregister_service("svc").unwrap();
    assert_eq!(
        state.unregister_service("svc"),
        Err(DirectoryError::NonexistentService("svc".into()))
    );

    let invalid = |entry: ServiceEntry, endpoint: Option<Endpoint>| {
        matches!(
            state.register_service(entry, endpoint),
            Err(DirectoryError::InvalidRequest(_))
        )
    };
    assert!(invalid(entry("", "a", 0.0), endpoint(1)));
    assert!(invalid(entry("a", "", 0.0), endpoint(1)));
    assert!(invalid(entry("a", "a:443", 0.0), endpoint(1)));
    assert!(invalid(entry("a", "https://a", 0.0), endpoint(1)));
    assert!(invalid(entry("a", "a", -1.0), endpoint(1)));
    assert!(invalid(entry("a", "a", f64::NAN), endpoint(1)));
    assert!(invalid(entry("a", "a", 0.0), endpoint(0)));
    assert!(invalid(entry("a", "a", 0.0), endpoint(65536)));
    assert!(invalid(entry("a", "a", 0.0), None));
    let mut untyped = entry("a", "a", 0.0);
    untyped.service_type = None;
    assert!(invalid(untyped.clone(), endpoint(1)));
    untyped.service_type = Some(service_entry::ServiceType::Type(String::new()));
    assert!(invalid(untyped, endpoint(1)));
    assert!(invalid(
        entry("a", "a", 0.0),
        Some(Endpoint {
            host_ip: "my-host".into(),
            port: 1
        })
    ));
    assert!(state.registered_services().is_empty());
}

/// Liveness timeout of the entries in the liveness test: heartbeats come every
/// `LIVENESS / 6`, so a late wake-up of a loaded machine has a wide margin.
const LIVENESS: f64 = 0.3;

fn beat() {
    std::thread::sleep(Duration::from_secs_f64(LIVENESS / 6.0));
}

#[test]
fn liveness_timeout_sweep_and_reboot() {
    let state = state(config());
    let register = |name: &str, port: i32| {
        state
            .register_service(entry(name, name, LIVENESS), endpoint(port))
            .unwrap();
    };
    register("silent", 1);
    register("chatty", 2);
    register("python", 3);
    register("stale", 4);
    state
        .register_service(entry("forever", "forever", 0.0), endpoint(5))
        .unwrap();
    for i in 0..12 {
        beat();
        // Update is a heartbeat.
        state
            .update_service(entry("chatty", "chatty", LIVENESS), endpoint(2))
            .unwrap();
        // So is a Register identical to the stored entry (answered ALREADY_EXISTS): the
        // official Python keep-alive relies on it.
        assert_eq!(
            state.register_service(entry("python", "PYTHON", LIVENESS), endpoint(3)),
            Err(DirectoryError::AlreadyExists("python".into()))
        );
        // A different Register is not (it must not keep a stale entry alive).
        if i < 2 {
            assert_eq!(
                state.register_service(entry("stale", "stale", LIVENESS), endpoint(99)),
                Err(DirectoryError::AlreadyExists("stale".into()))
            );
        }
    }
    // Every access drops expired entries lazily (the calls above already did).
    assert!(state.service_entry("silent").is_none());
    assert!(state.route("silent").is_none());
    assert!(state.route("stale").is_none());
    assert!(state.route("chatty").is_some());
    assert!(state.route("python").is_some());
    assert!(state.route("forever").is_some());
    // Once dropped, a name is free again; an update of a dropped service says it does not
    // exist.
    assert_eq!(
        state.update_service(entry("silent", "silent", 0.0), endpoint(1)),
        Err(DirectoryError::NonexistentService("silent".into()))
    );
    state
        .register_service(entry("stale", "stale", 0.0), endpoint(99))
        .unwrap();
    assert_eq!(state.route("stale").unwrap().port, 99);

    // sweep() drops them without any other access.
    std::thread::sleep(Duration::from_secs_f64(LIVENESS * 1.5));
    let mut dropped = state.sweep();
    dropped.sort();
    assert_eq!(dropped, ["chatty", "python"]);
    assert!(state.sweep().is_empty());

    let token = state.login("admin", "hunter2").unwrap();
    state.reboot();
    assert!(state.registered_services().is_empty());
    assert!(state.service_entry("auth").is_some(), "built-ins survive");
    assert!(state.token_is_valid(&token), "tokens survive a reboot");
}

#[test]
fn routing_by_authority() {
    let state = state(config());
    state
        .register_service(entry("one", "one", 0.0), endpoint(1001))
        .unwrap();
    state
        .register_service(entry("two", "Two.Spot.Robot", 0.0), endpoint(1002))
        .unwrap();
    let route = state.route("one").unwrap();
    assert_eq!(
        route,
        ServiceRoute {
            name: "one".into(),
            host_ip: "127.0.0.1".into(),
            port: 1001,
            user_token_required: true,
        }
    );
    assert_eq!(state.route("ONE.spot.robot").unwrap().port, 1001);
    assert_eq!(state.route("two").unwrap().port, 1002);
    assert_eq!(state.route("two.spot.robot").unwrap().name, "two");
    assert!(state.route("three").is_none());
    assert!(
        state.route("auth.spot.robot").is_none(),
        "built-ins are not routed"
    );
    // Two services on one authority: the latest heartbeat wins.
    std::thread::sleep(Duration::from_millis(5));
    state
        .register_service(entry("one-bis", "one", 0.0), endpoint(1003))
        .unwrap();
    assert_eq!(state.route("one").unwrap().name, "one-bis");
}

#[test]
fn payload_lifecycle() {
    let state = state(config());
    assert!(matches!(
        state.register_payload(payload(""), "s"),
        Err(PayloadError::InvalidRequest(_))
    ));
    assert!(matches!(
        state.register_payload(payload("a b"), "s"),
        Err(PayloadError::InvalidRequest(_))
    ));
    assert!(matches!(
        state.register_payload(payload("g"), ""),
        Err(PayloadError::InvalidRequest(_))
    ));
    state.register_payload(payload("g"), "s").unwrap();
    assert!(matches!(
        state.register_payload(payload("g"), "s"),
        Err(PayloadError::AlreadyExists(_))
    ));
    let info = state.payload("g").unwrap();
    assert!(!info.authorized && info.attached);
    assert!(!info.payload.is_authorized && !info.payload.is_enabled);

    assert!(matches!(
        state.payload_token("g", "wrong"),
        Err(PayloadError::InvalidCredentials(_))
    ));
    assert!(matches!(
        state.payload_token("h", "s"),
        Err(PayloadError::DoesNotExist(_))
    ));
    assert!(matches!(
        state.payload_token("g", "s"),
        Err(PayloadError::NotAuthorized(_))
    ));
    assert!(matches!(
        state.update_payload_attached("g", "s", false),
        Err(PayloadError::NotAuthorized(_))
    ));
    state.authorize_payload("g").unwrap();
    let token = state.payload_token("g", "s").unwrap();
    assert_eq!(
        state.token_owner(&token),
        Some(TokenOwner::Payload("g".into()))
    );
    let refreshed = state.refresh_token(&token).unwrap();
    assert_eq!(
        state.token_owner(&refreshed),
        Some(TokenOwner::Payload("g".into()))
    );
    state.update_payload_attached("g", "s", false).unwrap();
    let info = state.payload("g").unwrap();
    assert!(info.authorized && !info.attached);
    assert!(info.payload.is_authorized && !info.payload.is_enabled);

    state
        .update_payload_version(
            "g",
            "s",
            Some(SoftwareVersion {
                major_version: 2,
                minor_version: 0,
                patch_level: 0,
            }),
        )
        .unwrap();
    assert_eq!(
        state
            .payload("g")
            .unwrap()
            .payload
            .version
            .unwrap()
            .major_version,
        2
    );
    assert!(matches!(
        state.update_payload_version("g", "bad", None),
        Err(PayloadError::InvalidCredentials(_))
    ));
    assert!(matches!(
        state.update_payload_version("x", "s", None),
        Err(PayloadError::DoesNotExist(_))
    ));

    state.revoke_payload("g").unwrap();
    assert!(!state.token_is_valid(&token), "revoking invalidates tokens");
    assert_eq!(
        state.refresh_token(&refreshed),
        Err(AuthFailure::InvalidToken)
    );
    state.authorize_payload("g").unwrap();
    assert!(state.token_is_valid(&token));
    state.forget_payload("g").unwrap();
    assert!(!state.token_is_valid(&token));
    assert!(state.payloads().is_empty());
    assert!(matches!(
        state.authorize_payload("g"),
        Err(PayloadError::DoesNotExist(_))
    ));
}

#[test]
fn auto_authorize() {
    let state = state(config().with_auto_authorize(true));
    state.register_payload(payload("g"), "s").unwrap();
    assert!(state.payload("g").unwrap().authorized);
    state.payload_token("g", "s").unwrap();
}

#[test]
fn state_file_round_trip() {
    let temp = TempPath::new();
    let path = temp.file();
    {
        let state = state(config().with_state_file(&path));
        assert!(!path.exists(), "nothing written before a change");
        state
            .register_payload(payload("one"), "secret one")
            .unwrap();
        state.register_payload(payload("two"), "s\te\nc").unwrap();
        state.authorize_payload("two").unwrap();
        state
            .update_payload_attached("two", "s\te\nc", false)
            .unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with(STATE_FILE_HEADER));
    assert_eq!(
        text.lines().filter(|l| l.starts_with("payload\t")).count(),
        2
    );
    assert!(!text.contains("secret one"), "secrets are encoded");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let again = state(config().with_state_file(&path));
    let payloads = again.payloads();
    assert_eq!(payloads.len(), 2);
    let one = again.payload("one").unwrap();
    assert!(!one.authorized && one.attached);
    assert_eq!(one.payload.name, "Test payload\twith a tab");
    assert_eq!(one.payload.description, "line one\nline two");
    let two = again.payload("two").unwrap();
    assert!(two.authorized && !two.attached);
    again.payload_token("two", "s\te\nc").unwrap();
    assert!(matches!(
        again.payload_token("one", "secret one"),
        Err(PayloadError::NotAuthorized(_))
    ));
}

#[test]
fn state_file_errors() {
    let temp = TempPath::new();
    let path = temp.file();
    // Empty file: no payloads.
    std::fs::write(&path, "").unwrap();
    assert!(state(config().with_state_file(&path)).payloads().is_empty());
    // Not a state file: refused, never overwritten.
    std::fs::write(&path, "some guid\nsome secret").unwrap();
    let error = EmulatorState::new(config().with_state_file(&path)).unwrap_err();
    assert!(
        matches!(error, StateError::Format { line: 1, .. }),
        "{error}"
    );
    for (bad, reason) in [
        (
            "payload\tg\tauthorized\tattached\tc2VjcmV0",
            "5 tab-separated",
        ),
        ("payload\tg\tmaybe\tattached\tc2VjcmV0\t", "authorized"),
        ("payload\tg\tauthorized\tattached\t!!!\t", "secret"),
        ("payload\tg\tauthorized\tattached\tc2VjcmV0\t!!!", "base64"),
        ("payload\tg\tauthorized\tattached\tc2VjcmV0\t", "GUID"),
    ] {
        std::fs::write(&path, format!("{STATE_FILE_HEADER}\n\n# note\n{bad}\n")).unwrap();
        let error = EmulatorState::new(config().with_state_file(&path)).unwrap_err();
        let StateError::Format {
            line, reason: got, ..
        } = &error
        else {
            panic!("{error}");
        };
        assert_eq!(*line, 4, "{error}");
        assert!(got.contains(reason), "{error}");
    }
}

#[test]
fn unwritable_state_file_refuses_the_change() {
    let temp = TempPath::new();
    // The state file's path is a directory: it cannot be replaced.
    let path = temp.file();
    std::fs::create_dir(&path).unwrap();
    let state = EmulatorState {
        inner: Arc::new(Inner {
            config: config().with_state_file(&path),
            builtins: Vec::new(),
            data: Mutex::new(Data::default()),
        }),
    };
    assert!(matches!(
        state.register_payload(payload("g"), "s"),
        Err(PayloadError::Persist(_))
    ));
    assert!(state.payloads().is_empty(), "memory and file stay in step");
}

#[test]
fn config_debug_hides_passwords() {
    let text = format!("{:?}", config());
    assert!(text.contains("admin"));
    assert!(!text.contains("hunter2"));
    let state = state(config());
    state.register_payload(payload("g"), "topsecret").unwrap();
    assert!(!format!("{state:?}").contains("topsecret"));
}

#[test]
fn tokens_survive_a_restart() {
    let temp = TempPath::new();
    let path = temp.file();
    let (user_token, payload_token, revoked_token, forgotten_token) = {
        let state = state(config().with_state_file(&path));
        let user_token = state.login("admin", "hunter2").unwrap();
        for guid in ["kept", "revoked", "forgotten"] {
            state.register_payload(payload(guid), "s").unwrap();
            state.authorize_payload(guid).unwrap();
        }
        let tokens = (
            user_token,
            state.payload_token("kept", "s").unwrap(),
            state.payload_token("revoked", "s").unwrap(),
            state.payload_token("forgotten", "s").unwrap(),
        );
        state.revoke_payload("revoked").unwrap();
        state.forget_payload("forgotten").unwrap();
        tokens
    };
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains(&forgotten_token),
        "a forgotten payload's tokens are not kept"
    );

    let again = state(config().with_state_file(&path));
    assert_eq!(
        again.token_owner(&user_token),
        Some(TokenOwner::User("admin".into()))
    );
    assert_eq!(
        again.token_owner(&payload_token),
        Some(TokenOwner::Payload("kept".into()))
    );
    assert!(again.refresh_token(&user_token).is_ok());
    assert!(
        !again.token_is_valid(&revoked_token),
        "revoked stays revoked"
    );
    again.register_payload(payload("forgotten"), "s").unwrap();
    again.authorize_payload("forgotten").unwrap();
    assert!(
        !again.token_is_valid(&forgotten_token),
        "a forgotten payload's tokens do not come back when it registers again"
    );
    again.authorize_payload("revoked").unwrap();
    assert!(again.token_is_valid(&revoked_token), "as before a restart");
    assert!(!again.token_is_valid("forged"));

    // Without a state file, tokens stay in memory only.
    let memory = state(config());
    let token = memory.login("admin", "hunter2").unwrap();
    assert!(!state(config()).token_is_valid(&token));
}

#[test]
fn expired_tokens_do_not_survive_a_restart() {
    let temp = TempPath::new();
    let path = temp.file();
    let short = {
        let state = state(
            config()
                .with_state_file(&path)
                .with_token_lifetime(Duration::from_millis(1)),
        );
        state.login("admin", "hunter2").unwrap()
    };
    std::thread::sleep(Duration::from_millis(5));
    assert!(!state(config().with_state_file(&path)).token_is_valid(&short));

    // A token line whose expiry has passed (written by hand), and one still valid.
    let now = store::unix_now();
    let owner = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "admin");
    std::fs::write(
        &path,
        format!(
            "{STATE_FILE_HEADER}\ntoken\texpired\t{}\tuser\t{owner}\ntoken\tvalid\t{}\tuser\t{owner}\n",
            now - 1,
            now + 3600
        ),
    )
    .unwrap();
    let state = state(config().with_state_file(&path));
    assert!(!state.token_is_valid("expired"));
    assert!(state.token_is_valid("valid"));
    assert_eq!(state.token_count(), 1);
    // Writing drops the expired line.
    state.login("admin", "hunter2").unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("token\texpired\t"), "{text}");
    assert!(text.contains("token\tvalid\t"), "{text}");
}

#[test]
fn format_1_state_files_still_load() {
    let temp = TempPath::new();
    let path = temp.file();
    {
        let state = state(config().with_state_file(&path));
        state.register_payload(payload("g"), "s").unwrap();
        state.authorize_payload("g").unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let v1: String = text
        .replacen(STATE_FILE_HEADER, "# spot-emulator state file, format 1", 1)
        .lines()
        .filter(|line| !line.starts_with("token\t"))
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(&path, v1).unwrap();
    let state = state(config().with_state_file(&path));
    assert!(state.payload("g").unwrap().authorized);
    state.payload_token("g", "s").unwrap();
    // Rewritten in the current format.
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .starts_with(STATE_FILE_HEADER)
    );
    // Malformed token lines are refused with their line.
    for (bad, reason) in [
        ("token\tt\t12\tuser", "4 tab-separated"),
        ("token\tt\tsoon\tuser\tYQ==", "expiry"),
        ("token\tt\t12\tgroup\tYQ==", "user|payload"),
        ("token\tt\t12\tuser\t!!!", "owner"),
        ("token\tt\t12\tpayload\tYSBi", "GUID"),
    ] {
        std::fs::write(&path, format!("{STATE_FILE_HEADER}\n{bad}\n")).unwrap();
        let error = EmulatorState::new(config().with_state_file(&path)).unwrap_err();
        let StateError::Format {
            line, reason: got, ..
        } = &error
        else {
            panic!("{error}");
        };
        assert_eq!(*line, 2, "{error}");
        assert!(got.contains(reason), "{error}");
    }
}

#[test]
fn refresh_picks_up_authorization_changes_of_another_instance() {
    let temp = TempPath::new();
    let path = temp.file();
    let running = state(config().with_state_file(&path));
    // Nothing to pick up: no file yet, then the file as this instance wrote it.
    assert!(!running.refresh_from_file().unwrap());
    running.register_payload(payload("g"), "s").unwrap();
    assert!(!running.refresh_from_file().unwrap());
    let user_token = running.login("admin", "hunter2").unwrap();

    // The operator's process: a second instance on the same file.
    let operator = state(config().with_state_file(&path));
    operator.authorize_payload("g").unwrap();
    assert!(matches!(
        running.payload_token("g", "s"),
        Err(PayloadError::NotAuthorized(_))
    ));
    assert!(running.refresh_from_file().unwrap());
    assert!(running.payload("g").unwrap().authorized);
    assert!(running.payload("g").unwrap().payload.is_authorized);
    let payload_token = running.payload_token("g", "s").unwrap();
    assert!(!running.refresh_from_file().unwrap(), "nothing new");

    // Revoked by the operator: the running emulator's tokens of that payload stop being valid.
    let operator = state(config().with_state_file(&path));
    operator.revoke_payload("g").unwrap();
    assert!(running.token_is_valid(&payload_token));
    assert!(running.refresh_from_file().unwrap());
    assert!(!running.token_is_valid(&payload_token));
    assert!(running.token_is_valid(&user_token));

    // A stale writer: the file goes back to an older content, without a payload the running
    // emulator registered since. The file decides authorization; the newer payload is kept and
    // written back, and so are the tokens.
    let old_text = std::fs::read_to_string(&path).unwrap();
    running.register_payload(payload("h"), "t").unwrap();
    operator.authorize_payload("g").unwrap(); // merges `h` before writing
    assert!(operator.payload("h").is_some());
    std::fs::write(
        &path,
        old_text.replace("\tunauthorized\t", "\tauthorized\t"),
    )
    .unwrap();
    assert!(running.refresh_from_file().unwrap());
    assert!(running.payload("g").unwrap().authorized);
    assert!(running.payload("h").is_some());
    let restarted = state(config().with_state_file(&path));
    assert!(restarted.payload("h").is_some(), "rewritten to the file");
    assert!(restarted.payload("g").unwrap().authorized);
    assert!(restarted.token_is_valid(&user_token));
    assert!(restarted.token_is_valid(&payload_token));

    // A broken file is reported, and memory is left alone.
    std::fs::write(&path, "not a state file").unwrap();
    assert!(matches!(
        running.refresh_from_file(),
        Err(StateError::Format { line: 1, .. })
    ));
    assert!(running.payload("g").unwrap().authorized);

    // Without a state file there is nothing to refresh.
    assert!(!state(config()).refresh_from_file().unwrap());
}

#[test]
fn tokens_issued_meanwhile_survive_another_instances_write() {
    let temp = TempPath::new();
    let path = temp.file();
    let running = state(config().with_state_file(&path));
    running.register_payload(payload("g"), "s").unwrap();
    let operator = state(config().with_state_file(&path));
    // Issued after the operator's instance read the file.
    let token = running.login("admin", "hunter2").unwrap();
    operator.authorize_payload("g").unwrap();
    let restarted = state(config().with_state_file(&path));
    assert!(restarted.token_is_valid(&token));
    assert!(restarted.payload("g").unwrap().authorized);
}
