//! A robot for the tests: the in-process robot emulator with a user, its CA in a temporary
//! directory (for clients that must trust it, such as the official Python SDK), and a
//! [`Robot`] logged in to it.

use std::net::SocketAddr;
use std::path::PathBuf;

use spot_service::emulator::front::CA_CERT_FILE;
use spot_service::emulator::state::EmulatorConfig;
use spot_service::emulator::{Emulator, RunningEmulator};
use spot_service::payload::credentials::Secret;
use spot_service::proto::bosdyn::api::ServiceEntry;
use spot_service::robot::Robot;

use crate::bounded;

/// The emulator's user.
pub const USERNAME: &str = "operator";
/// Its password.
pub const PASSWORD: &str = "correct horse battery staple";

/// The emulator with [`USERNAME`], and a robot logged in to it as that user.
#[derive(Debug)]
pub struct LoggedIn {
    /// The emulator.
    pub emulator: RunningEmulator,
    /// A robot logged in to it.
    pub robot: Robot,
    /// The emulator's CA certificate (PEM).
    pub ca_file: PathBuf,
    _data: tempfile::TempDir,
}

impl LoggedIn {
    /// Starts the emulator and logs in.
    ///
    /// # Panics
    ///
    /// If the emulator does not start or the login fails.
    pub async fn start() -> Self {
        let data = tempfile::tempdir().expect("a temporary directory");
        let emulator = bounded(
            "the emulator starts",
            Emulator::builder()
                .config(EmulatorConfig::default().with_user(USERNAME, PASSWORD))
                .ca_dir(data.path())
                .start(),
        )
        .await
        .expect("the emulator starts");
        let ca_file = data.path().join(CA_CERT_FILE);
        assert!(ca_file.is_file(), "no CA file at {}", ca_file.display());
        let robot = Robot::new(
            emulator
                .robot_config()
                .expect("the emulator's robot config"),
        )
        .expect("a robot");
        bounded(
            "login",
            robot.authenticate(USERNAME, &Secret::new(PASSWORD)),
        )
        .await
        .expect("login");
        Self {
            emulator,
            robot,
            ca_file,
            _data: data,
        }
    }

    /// A check script's arguments for reaching `service` (registered with `authority`) through
    /// the emulator, as `sdk_checks.add_emulator_arguments` and the scripts' `robot` mode read
    /// them.
    pub fn script_args(&self, service: &str, authority: &str) -> Vec<String> {
        vec![
            "robot".into(),
            "--service".into(),
            service.into(),
            "--authority".into(),
            authority.into(),
            "--emulator-port".into(),
            self.emulator.port().to_string(),
            "--ca".into(),
            self.ca_file
                .to_str()
                .expect("UTF-8 temporary path")
                .to_owned(),
            "--username".into(),
            USERNAME.into(),
            "--password".into(),
            PASSWORD.into(),
        ]
    }

    /// Waits until `name` is in the emulator's directory, and checks that it is there with
    /// `authority`, at `addr`'s port on 127.0.0.1; returns its entry.
    ///
    /// # Panics
    ///
    /// If it does not appear in time, or is registered otherwise.
    pub async fn until_registered(
        &self,
        name: &str,
        authority: &str,
        addr: SocketAddr,
    ) -> ServiceEntry {
        bounded(&format!("{name} registered in the directory"), async {
            while self.emulator.state().service_entry(name).is_none() {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        })
        .await;
        let (entry, endpoint) = self
            .emulator
            .state()
            .registered_services()
            .into_iter()
            .find(|(entry, _)| entry.name == name)
            .expect("registered");
        assert_eq!(entry.authority, authority);
        assert_eq!(endpoint.host_ip, "127.0.0.1");
        assert_eq!(endpoint.port, i32::from(addr.port()));
        entry
    }

    /// Whether `name` is in the emulator's directory.
    pub fn is_registered(&self, name: &str) -> bool {
        self.emulator.state().service_entry(name).is_some()
    }

    /// Stops the emulator.
    pub async fn stop(self) {
        bounded("the emulator stops", self.emulator.stop()).await;
    }
}
