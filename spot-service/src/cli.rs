//! Reusable `clap` argument groups with the official SDK's flag names; `#[command(flatten)]`
//! them into your own CLI.
//!
//! | Group | Flags | Official counterpart (`bosdyn.client.util`) |
//! | --- | --- | --- |
//! | [`RobotArgs`] | `HOSTNAME`, `-v/--verbose` | `add_base_arguments` |
//! | [`UserCredentialsArgs`] | `--username`, `--password` (or `BOSDYN_CLIENT_USERNAME`, `BOSDYN_CLIENT_PASSWORD`) | `add_credentials_arguments` and the environment variables of `authenticate` |
//! | [`PayloadCredentialsArgs`] | `--guid` + `--secret`, or `--payload-credentials-file` | `add_payload_credentials_arguments`, `get_guid_and_secret` |
//! | [`ServiceHostingArgs`] | `--host-ip`, `--port` | `add_service_endpoint_arguments`, `add_service_hosting_arguments` |
//!
//! ```no_run
//! use clap::Parser;
//! use spot_service::cli::{PayloadCredentialsArgs, RobotArgs, ServiceHostingArgs};
//!
//! /// My payload service.
//! #[derive(Debug, Parser)]
//! struct Cli {
//!     #[command(flatten)]
//!     robot: RobotArgs,
//!     #[command(flatten)]
//!     payload: PayloadCredentialsArgs,
//!     #[command(flatten)]
//!     hosting: ServiceHostingArgs,
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cli = Cli::parse();
//! let credentials = cli.payload.credentials()?;
//! println!("payload {} on robot {}", credentials.guid(), cli.robot.hostname);
//! # Ok(())
//! # }
//! ```

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;

use crate::payload::credentials::{CredentialsError, PayloadCredentials, Secret};

/// The robot to talk to (positional `HOSTNAME`) and `-v/--verbose`, as the official
/// `add_base_arguments` defines them.
#[derive(Debug, Clone, Args)]
pub struct RobotArgs {
    /// Hostname or address of the robot, e.g. "beta25-p" or "192.168.80.3".
    #[arg(value_name = "HOSTNAME")]
    pub hostname: String,
    /// Print debug-level messages.
    #[arg(short, long)]
    pub verbose: bool,
}

/// How to reach the robot: [`RobotArgs`] plus the robot's port and the CA to trust, which a real
/// robot never needs changed (443, the Boston Dynamics root) but the emulator does.
#[derive(Debug, Clone, Args)]
pub struct RobotConnectionArgs {
    #[command(flatten)]
    /// The robot.
    pub robot: RobotArgs,
    /// The robot's TLS port.
    #[arg(long, env = "SPOT_ROBOT_PORT", default_value_t = crate::robot::DEFAULT_ROBOT_PORT)]
    pub robot_port: u16,
    /// A CA certificate (PEM) to trust instead of the Boston Dynamics root, e.g. the
    /// emulator's `emulator-ca.pem`.
    #[arg(long, env = "SPOT_ROBOT_CA", value_name = "PEM_FILE")]
    pub robot_ca: Option<std::path::PathBuf>,
}

impl RobotConnectionArgs {
    /// The client configuration these flags describe.
    pub fn robot_config(&self) -> Result<crate::robot::RobotConfig, crate::robot::RobotError> {
        let trust = match &self.robot_ca {
            Some(path) => crate::robot::Trust::CaFile(path.clone()),
            None => crate::robot::Trust::BostonDynamicsRoot,
        };
        crate::robot::RobotConfig::builder(self.robot.hostname.clone())
            .port(self.robot_port)
            .trust(trust)
            .build()
    }

    /// A robot connection (nothing is sent yet).
    pub fn robot(&self) -> Result<crate::robot::Robot, crate::robot::RobotError> {
        crate::robot::Robot::new(self.robot_config()?)
    }
}

/// A user's robot login: `--username` and `--password`, or the environment variables
/// `BOSDYN_CLIENT_USERNAME` and `BOSDYN_CLIENT_PASSWORD` that the official SDK reads.
///
/// Both are optional when parsing; [`credentials`](Self::credentials) requires them. Prefer the
/// environment variable for the password: a command line is visible to every user of the
/// computer (the official SDK deprecates both flags for this reason). `--help` never shows the
/// password variable's value, and `Debug` prints `"<redacted>"` for the password.
#[derive(Debug, Clone, Default, Args)]
pub struct UserCredentialsArgs {
    /// Username for the robot login.
    #[arg(long, env = "BOSDYN_CLIENT_USERNAME")]
    pub username: Option<String>,
    /// Password for the robot login (prefer the environment variable: command lines are
    /// visible to other users).
    #[arg(long, env = "BOSDYN_CLIENT_PASSWORD", hide_env_values = true)]
    pub password: Option<Secret>,
}

impl UserCredentialsArgs {
    /// The username and password, or an error naming the flag and variable that are missing.
    /// An empty value counts as missing (as in the official SDK).
    pub fn credentials(&self) -> Result<(String, Secret), CliError> {
        let username = self
            .username
            .as_deref()
            .filter(|username| !username.is_empty())
            .ok_or(CliError::MissingUsername)?;
        let password = self
            .password
            .as_ref()
            .filter(|password| !password.is_empty())
            .ok_or(CliError::MissingPassword)?;
        Ok((username.to_owned(), password.clone()))
    }
}

/// A payload's credentials: `--guid` with `--secret`, or `--payload-credentials-file`, as the
/// official `add_payload_credentials_arguments` defines them.
///
/// `--payload-credentials-file` excludes `--guid` and `--secret`, and `--guid` and `--secret`
/// need each other (the official parser accepts one without the other, or `--secret` with the
/// file, and fails or ignores the file later). None
/// is required when parsing; [`credentials`](Self::credentials) requires one source. The file
/// holds the GUID on line 1 and the secret on line 2 (see [`PayloadCredentials::read`]); a
/// CORE I/O provides one at
/// [`CORE_IO_CREDENTIALS_PATH`](crate::payload::credentials::CORE_IO_CREDENTIALS_PATH).
///
/// `Debug` prints `"<redacted>"` for the secret. Prefer the file: a command line is visible to
/// every user of the computer.
#[derive(Debug, Clone, Default, Args)]
pub struct PayloadCredentialsArgs {
    /// Unique GUID of the payload.
    #[arg(long, requires = "secret", conflicts_with = "payload_credentials_file")]
    pub guid: Option<String>,
    /// Secret of the payload (with --guid).
    #[arg(long, requires = "guid", conflicts_with = "payload_credentials_file")]
    pub secret: Option<Secret>,
    /// File from which to read the payload GUID (line 1) and secret (line 2).
    #[arg(long = "payload-credentials-file", value_name = "FILE")]
    pub payload_credentials_file: Option<PathBuf>,
}

impl PayloadCredentialsArgs {
    /// The credentials: from `--guid` and `--secret` if either is given, otherwise read from
    /// `--payload-credentials-file` (like the official `get_guid_and_secret`); an error if
    /// neither is given or one of `--guid`/`--secret` lacks the other.
    pub fn credentials(&self) -> Result<PayloadCredentials, CliError> {
        match self.parts()? {
            Source::Parts(guid, secret) => {
                Ok(PayloadCredentials::from_parts(guid, secret.clone())?)
            }
            Source::File(path) => Ok(PayloadCredentials::read(path)?),
        }
    }

    /// Like [`credentials`](Self::credentials), but a credentials file that does not exist is
    /// created with new random credentials ([`PayloadCredentials::read_or_create`]). For
    /// payload registration, which is where new credentials come from.
    pub fn credentials_or_create(&self) -> Result<PayloadCredentials, CliError> {
        match self.parts()? {
            Source::Parts(guid, secret) => {
                Ok(PayloadCredentials::from_parts(guid, secret.clone())?)
            }
            Source::File(path) => Ok(PayloadCredentials::read_or_create(path)?),
        }
    }

    fn parts(&self) -> Result<Source<'_>, CliError> {
        match (&self.guid, &self.secret, &self.payload_credentials_file) {
            (Some(guid), Some(secret), _) => Ok(Source::Parts(guid, secret)),
            (Some(_), None, _) => Err(CliError::GuidWithoutSecret),
            (None, Some(_), _) => Err(CliError::SecretWithoutGuid),
            (None, None, Some(path)) => Ok(Source::File(path)),
            (None, None, None) => Err(CliError::NoPayloadCredentials),
        }
    }
}

enum Source<'a> {
    Parts(&'a str, &'a Secret),
    File(&'a PathBuf),
}

/// Where a service listens and which address the robot should use to reach it
/// (`--host-ip`, `--port`, as in the official examples).
#[derive(Debug, Clone, Args)]
pub struct ServiceHostingArgs {
    /// Address of this computer that the robot (or a client) uses to reach the service.
    #[arg(
        long = "host-ip",
        env = "SPOT_SERVICE_HOST_IP",
        default_value = "127.0.0.1",
        value_parser = parse_ip
    )]
    pub host_ip: String,
    /// Port the service listens on (it cannot be firewalled); 0 picks a free port.
    #[arg(long, env = "SPOT_SERVICE_PORT", default_value_t = 0)]
    pub port: u16,
}

/// Accepts an IP address only (the robot's proxy forwards to an address, not a name), and
/// keeps it as written.
fn parse_ip(value: &str) -> Result<String, String> {
    value
        .parse::<IpAddr>()
        .map(|_| value.to_owned())
        .map_err(|_| format!("{value:?} is not an IP address"))
}

/// Why the parsed arguments do not give usable credentials.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// No username.
    #[error("no username: pass --username or set BOSDYN_CLIENT_USERNAME")]
    MissingUsername,
    /// No password.
    #[error("no password: set BOSDYN_CLIENT_PASSWORD (or pass --password)")]
    MissingPassword,
    /// `--guid` without `--secret`.
    #[error("--guid needs --secret")]
    GuidWithoutSecret,
    /// `--secret` without `--guid`.
    #[error("--secret needs --guid")]
    SecretWithoutGuid,
    /// Neither `--guid`/`--secret` nor `--payload-credentials-file`.
    #[error(
        "no payload credentials: pass --guid and --secret, or --payload-credentials-file \
         (the file is recommended)"
    )]
    NoPayloadCredentials,
    /// The payload credentials are invalid or their file is unusable.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, FromArgMatches as _, Parser};

    use super::*;

    const PASSWORD: &str = "hunter2-password";
    const SECRET: &str = "payload-secret-value";
    const GUID: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

    const ENV_VARS: [(&str, &str); 4] = [
        ("username", "BOSDYN_CLIENT_USERNAME"),
        ("password", "BOSDYN_CLIENT_PASSWORD"),
        ("host_ip", "SPOT_SERVICE_HOST_IP"),
        ("port", "SPOT_SERVICE_PORT"),
    ];

    /// Every group, as an application would flatten them.
    #[derive(Debug, Parser)]
    struct TestCli {
        #[command(flatten)]
        robot: RobotArgs,
        #[command(flatten)]
        user: UserCredentialsArgs,
        #[command(flatten)]
        payload: PayloadCredentialsArgs,
        #[command(flatten)]
        hosting: ServiceHostingArgs,
    }

    /// Parses without looking at the environment, so that the tests do not depend on it.
    fn parse(args: &[&str]) -> Result<TestCli, clap::Error> {
        let mut command = TestCli::command();
        for (id, _) in ENV_VARS {
            command = command.mut_arg(id, |arg| arg.env(None));
        }
        let matches =
            command.try_get_matches_from(std::iter::once("test").chain(args.iter().copied()))?;
        TestCli::from_arg_matches(&matches)
    }

    #[test]
    fn command_is_consistent() {
        TestCli::command().debug_assert();
    }

    #[test]
    fn robot_args() {
        let cli = parse(&["spot-1"]).unwrap();
        assert_eq!(cli.robot.hostname, "spot-1");
        assert!(!cli.robot.verbose);
        assert!(parse(&["-v", "192.168.80.3"]).unwrap().robot.verbose);
        assert!(parse(&["192.168.80.3", "--verbose"]).unwrap().robot.verbose);
        let err = parse(&[]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    }

    #[test]
    fn user_credentials() {
        let cli = parse(&["robot", "--username", "user", "--password", PASSWORD]).unwrap();
        let (username, password) = cli.user.credentials().unwrap();
        assert_eq!(username, "user");
        assert_eq!(password.expose(), PASSWORD);

        let cli = parse(&["robot"]).unwrap();
        assert!(matches!(
            cli.user.credentials(),
            Err(CliError::MissingUsername)
        ));
        let cli = parse(&["robot", "--username", "user"]).unwrap();
        let err = cli.user.credentials().unwrap_err();
        assert!(matches!(err, CliError::MissingPassword));
        assert!(err.to_string().contains("BOSDYN_CLIENT_PASSWORD"));
        let cli = parse(&["robot", "--username", "user", "--password", ""]).unwrap();
        assert!(matches!(
            cli.user.credentials(),
            Err(CliError::MissingPassword)
        ));
    }

    #[test]
    fn user_credentials_come_from_the_official_environment_variables() {
        let command = TestCli::command();
        let arg = |id: &str| {
            command
                .get_arguments()
                .find(|arg| arg.get_id() == id)
                .unwrap()
                .clone()
        };
        let username = arg("username");
        assert_eq!(
            username.get_env(),
            Some(std::ffi::OsStr::new("BOSDYN_CLIENT_USERNAME"))
        );
        let password = arg("password");
        assert_eq!(
            password.get_env(),
            Some(std::ffi::OsStr::new("BOSDYN_CLIENT_PASSWORD"))
        );
        assert!(password.is_hide_env_values_set());
    }

    /// Runs [`env_child`] in a child process with the variables set (setting them in this
    /// process would need `unsafe`, which the crate forbids, and would race other tests).
    #[test]
    fn environment_variables_are_read() {
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "cli::tests::env_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("SPOT_SERVICE_CLI_TEST_CHILD", "1")
            .env("BOSDYN_CLIENT_USERNAME", "env-user")
            .env("BOSDYN_CLIENT_PASSWORD", PASSWORD)
            .env("SPOT_SERVICE_HOST_IP", "10.0.0.7")
            .env("SPOT_SERVICE_PORT", "50051")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        // The child really ran the test, rather than filtering it out.
        assert!(stdout.contains("1 passed"), "{stdout}");
    }

    #[test]
    fn env_child() {
        if std::env::var_os("SPOT_SERVICE_CLI_TEST_CHILD").is_none() {
            return;
        }
        let cli = TestCli::try_parse_from(["test", "robot"]).unwrap();
        let (username, password) = cli.user.credentials().unwrap();
        assert_eq!(username, "env-user");
        assert_eq!(password.expose(), PASSWORD);
        assert_eq!(cli.hosting.host_ip, "10.0.0.7");
        assert_eq!(cli.hosting.port, 50051);
        // A flag wins over the environment.
        let cli = TestCli::try_parse_from(["test", "robot", "--username", "flag-user"]).unwrap();
        assert_eq!(cli.user.credentials().unwrap().0, "flag-user");
        // `--help` does not show the password from the environment.
        let help = TestCli::command().render_long_help().to_string();
        assert!(help.contains("BOSDYN_CLIENT_PASSWORD"), "{help}");
        assert!(!help.contains(PASSWORD), "{help}");
        assert!(help.contains("env-user"), "{help}");
    }

    #[test]
    fn payload_credentials_from_flags() {
        let cli = parse(&["robot", "--guid", GUID, "--secret", SECRET]).unwrap();
        let credentials = cli.payload.credentials().unwrap();
        assert_eq!(credentials.guid(), GUID);
        assert_eq!(credentials.secret().expose(), SECRET);
    }

    #[test]
    fn payload_credentials_from_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("creds");
        std::fs::write(&path, format!("{GUID}\n{SECRET}\n")).unwrap();
        let cli = parse(&[
            "robot",
            "--payload-credentials-file",
            path.to_str().unwrap(),
        ])
        .unwrap();
        let credentials = cli.payload.credentials().unwrap();
        assert_eq!(credentials.guid(), GUID);
        assert_eq!(credentials.secret().expose(), SECRET);

        let missing = dir.path().join("missing");
        let cli = parse(&[
            "robot",
            "--payload-credentials-file",
            missing.to_str().unwrap(),
        ])
        .unwrap();
        assert!(matches!(
            cli.payload.credentials(),
            Err(CliError::Credentials(CredentialsError::Read { .. }))
        ));
        let created = cli.payload.credentials_or_create().unwrap();
        assert_eq!(cli.payload.credentials().unwrap().guid(), created.guid());
    }

    #[test]
    fn payload_flags_conflict_and_need_each_other() {
        use clap::error::ErrorKind;
        let err = parse(&[
            "robot",
            "--guid",
            GUID,
            "--secret",
            SECRET,
            "--payload-credentials-file",
            "f",
        ])
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ArgumentConflict);
        let err = parse(&["robot", "--guid", GUID]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MissingRequiredArgument);
        let err = parse(&["robot", "--secret", SECRET]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MissingRequiredArgument);
        let err = parse(&[
            "robot",
            "--secret",
            SECRET,
            "--payload-credentials-file",
            "f",
        ])
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ArgumentConflict);
        let err = parse(&["robot", "--guid", GUID, "--payload-credentials-file", "f"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ArgumentConflict);
    }

    #[test]
    fn payload_credentials_errors_are_precise() {
        let none = PayloadCredentialsArgs::default();
        let err = none.credentials().unwrap_err();
        assert!(matches!(err, CliError::NoPayloadCredentials));
        let message = err.to_string();
        for flag in ["--guid", "--secret", "--payload-credentials-file"] {
            assert!(message.contains(flag), "{message}");
        }

        let guid_only = PayloadCredentialsArgs {
            guid: Some(GUID.to_owned()),
            ..Default::default()
        };
        assert!(matches!(
            guid_only.credentials(),
            Err(CliError::GuidWithoutSecret)
        ));
        let secret_only = PayloadCredentialsArgs {
            secret: Some(Secret::from(SECRET)),
            payload_credentials_file: Some("unused".into()),
            ..Default::default()
        };
        assert!(matches!(
            secret_only.credentials(),
            Err(CliError::SecretWithoutGuid)
        ));
        let empty_secret = PayloadCredentialsArgs {
            guid: Some(GUID.to_owned()),
            secret: Some(Secret::from(" ")),
            ..Default::default()
        };
        assert!(matches!(
            empty_secret.credentials(),
            Err(CliError::Credentials(CredentialsError::EmptySecret))
        ));
    }

    #[test]
    fn hosting_args() {
        let cli = parse(&["robot"]).unwrap();
        assert_eq!(cli.hosting.host_ip, "127.0.0.1");
        assert_eq!(cli.hosting.port, 0);
        let cli = parse(&["robot", "--host-ip", "192.168.50.5", "--port", "50051"]).unwrap();
        assert_eq!(cli.hosting.host_ip, "192.168.50.5");
        assert_eq!(cli.hosting.port, 50051);
        assert_eq!(
            parse(&["robot", "--host-ip", "::1"])
                .unwrap()
                .hosting
                .host_ip,
            "::1"
        );
        let err = parse(&["robot", "--host-ip", "my-laptop"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
    }

    #[test]
    fn debug_never_shows_secrets() {
        let cli = parse(&[
            "robot",
            "--username",
            "user",
            "--password",
            PASSWORD,
            "--guid",
            GUID,
            "--secret",
            SECRET,
        ])
        .unwrap();
        for shown in [format!("{cli:?}"), format!("{cli:#?}")] {
            assert!(!shown.contains(PASSWORD), "{shown}");
            assert!(!shown.contains(SECRET), "{shown}");
            assert!(shown.contains("<redacted>"), "{shown}");
            assert!(shown.contains(GUID), "{shown}");
        }
        let credentials = cli.payload.credentials().unwrap();
        assert!(!format!("{credentials:?}").contains(SECRET));
        let (_, password) = cli.user.credentials().unwrap();
        assert!(!format!("{password:?}").contains(PASSWORD));
    }
}
