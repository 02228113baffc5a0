//! How to reach a robot: address, trust, timeouts, client name.

use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use super::{RobotError, Trust};
use crate::client::default_client_name;

/// The port of the robot's API (its proxy): 443.
pub const DEFAULT_ROBOT_PORT: u16 = 443;

/// The default deadline of a call: 30 s, the official SDK's `DEFAULT_RPC_TIMEOUT`.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The default time allowed to open a connection (TCP connect, then TLS handshake): 10 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How to reach a robot. Build it with [`RobotConfig::builder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RobotConfig {
    host: String,
    port: u16,
    trust: Trust,
    call_timeout: Duration,
    connect_timeout: Duration,
    client_name: String,
}

impl RobotConfig {
    /// Starts a configuration for the robot at `address`: a host name or IP address, optionally
    /// with a port (`192.168.80.3`, `192.168.80.3:443`, `spot.local`, `fe80::1`, `[fe80::1]:443`).
    pub fn builder(address: impl Into<String>) -> RobotConfigBuilder {
        RobotConfigBuilder {
            address: address.into(),
            port: None,
            trust: Trust::default(),
            call_timeout: DEFAULT_CALL_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            client_name: None,
        }
    }

    /// The robot's host name or IP address (an IPv6 address without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The robot's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `host:port` (`[v6]:port` for an IPv6 address).
    pub fn address(&self) -> String {
        if self.host.parse::<Ipv6Addr>().is_ok() {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Which CAs the robot's certificate must chain to.
    pub fn trust(&self) -> &Trust {
        &self.trust
    }

    /// The deadline of calls that set none.
    pub fn call_timeout(&self) -> Duration {
        self.call_timeout
    }

    /// The time allowed to open a connection (TCP, then TLS).
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The `client_name` to put in request headers.
    pub fn client_name(&self) -> &str {
        &self.client_name
    }
}

/// Builds a [`RobotConfig`].
#[derive(Debug, Clone)]
#[must_use]
pub struct RobotConfigBuilder {
    address: String,
    port: Option<u16>,
    trust: Trust,
    call_timeout: Duration,
    connect_timeout: Duration,
    client_name: Option<String>,
}

impl RobotConfigBuilder {
    /// The robot's port, overriding the one in the address. Default: the one in the address,
    /// else [`DEFAULT_ROBOT_PORT`] (443).
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Which CAs the robot's certificate must chain to. Default:
    /// [`Trust::BostonDynamicsRoot`].
    pub fn trust(mut self, trust: Trust) -> Self {
        self.trust = trust;
        self
    }

    /// The deadline of calls that set none (they can with [`tonic::Request::set_timeout`]).
    /// Default: [`DEFAULT_CALL_TIMEOUT`] (30 s).
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// The time allowed to open a connection: the TCP connect, and then the TLS handshake.
    /// Default: [`DEFAULT_CONNECT_TIMEOUT`] (10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The `client_name` to put in request headers. Default:
    /// [`default_client_name`](crate::client::default_client_name)
    /// (`<host>:<program>-<pid>`, as the official SDK).
    pub fn client_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = Some(name.into());
        self
    }

    /// Checks the address and timeouts. The trust is loaded later, by
    /// [`Robot::new`](super::Robot::new).
    pub fn build(self) -> Result<RobotConfig, RobotError> {
        let (host, address_port) = parse_address(&self.address)?;
        for (what, timeout) in [
            ("call timeout", self.call_timeout),
            ("connect timeout", self.connect_timeout),
        ] {
            if timeout.is_zero() {
                return Err(RobotError::InvalidConfig {
                    reason: format!("the {what} is zero"),
                });
            }
        }
        let port = self.port.or(address_port).unwrap_or(DEFAULT_ROBOT_PORT);
        if port == 0 {
            return Err(RobotError::InvalidAddress {
                address: self.address,
                reason: "port 0".to_owned(),
            });
        }
        Ok(RobotConfig {
            host,
            port,
            trust: self.trust,
            call_timeout: self.call_timeout,
            connect_timeout: self.connect_timeout,
            client_name: self.client_name.unwrap_or_else(default_client_name),
        })
    }
}

/// Splits `host[:port]` (`[v6][:port]`, or a bare IPv6 address).
fn parse_address(address: &str) -> Result<(String, Option<u16>), RobotError> {
    let invalid = |reason: &str| RobotError::InvalidAddress {
        address: address.to_owned(),
        reason: reason.to_owned(),
    };
    let trimmed = address.trim();
    if trimmed.is_empty() {
        return Err(invalid("it is empty"));
    }
    if trimmed.contains("://") || trimmed.contains('/') {
        return Err(invalid(
            "give a host name or IP address (and optionally a port), not a URL",
        ));
    }
    let parse_port = |port: &str| {
        port.parse::<u16>()
            .map_err(|_| invalid(&format!("{port:?} is not a port number")))
    };
    let (host, port) = if let Some(rest) = trimmed.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| invalid("unclosed `[`"))?;
        if host.parse::<Ipv6Addr>().is_err() {
            return Err(invalid("the part in brackets is not an IPv6 address"));
        }
        let port = match after {
            "" => None,
            _ => Some(parse_port(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| invalid("expected `:port` after `]`"))?,
            )?),
        };
        (host.to_owned(), port)
    } else if trimmed.parse::<IpAddr>().is_ok() {
        (trimmed.to_owned(), None)
    } else if let Some((host, port)) = trimmed.split_once(':') {
        if port.contains(':') {
            return Err(invalid(
                "not an IPv6 address; write an IPv6 address with a port as `[addr]:port`",
            ));
        }
        (host.to_owned(), Some(parse_port(port)?))
    } else {
        (trimmed.to_owned(), None)
    };
    let is_ip = host.parse::<IpAddr>().is_ok();
    if !is_ip && rustls::pki_types::DnsName::try_from(host.as_str()).is_err() {
        return Err(invalid(&format!(
            "{host:?} is neither an IP address nor a valid host name"
        )));
    }
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(address: &str) -> Result<RobotConfig, RobotError> {
        RobotConfig::builder(address).client_name("test").build()
    }

    #[test]
    fn addresses() {
        for (input, host, port, address) in [
            ("192.168.80.3", "192.168.80.3", 443, "192.168.80.3:443"),
            (
                "192.168.80.3:8443",
                "192.168.80.3",
                8443,
                "192.168.80.3:8443",
            ),
            (" spot.local ", "spot.local", 443, "spot.local:443"),
            ("spot.local:50051", "spot.local", 50051, "spot.local:50051"),
            ("fe80::1", "fe80::1", 443, "[fe80::1]:443"),
            ("[::1]:8443", "::1", 8443, "[::1]:8443"),
            ("[::1]", "::1", 443, "[::1]:443"),
        ] {
            let config = build(input).expect(input);
            assert_eq!(config.host(), host, "{input}");
            assert_eq!(config.port(), port, "{input}");
            assert_eq!(config.address(), address, "{input}");
        }
    }

    #[test]
    fn explicit_port_wins() {
        let config = RobotConfig::builder("10.0.0.3:1234")
            .port(4321)
            .build()
            .expect("valid");
        assert_eq!(config.address(), "10.0.0.3:4321");
    }

    #[test]
    fn invalid_addresses() {
        for bad in [
            "",
            "https://10.0.0.3",
            "10.0.0.3:http",
            "10.0.0.3:70000",
            "[::1",
            "[nope]:443",
            "host name",
            "spot.local:0",
        ] {
            let err = build(bad).expect_err(bad);
            assert!(
                matches!(&err, RobotError::InvalidAddress { address, .. } if address == bad),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn defaults() {
        let config = RobotConfig::builder("10.0.0.3").build().expect("valid");
        assert_eq!(config.trust(), &Trust::BostonDynamicsRoot);
        assert_eq!(config.call_timeout(), DEFAULT_CALL_TIMEOUT);
        assert_eq!(config.connect_timeout(), DEFAULT_CONNECT_TIMEOUT);
        assert!(!config.client_name().is_empty());
    }

    #[test]
    fn zero_timeouts_are_rejected() {
        let err = RobotConfig::builder("10.0.0.3")
            .call_timeout(Duration::ZERO)
            .build()
            .expect_err("zero");
        assert_eq!(
            err.to_string(),
            "invalid robot configuration: the call timeout is zero"
        );
    }
}
