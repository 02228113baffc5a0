//! The address of this computer as the robot sees it: the `host_ip` to register services with.
//!
//! Like the official `bosdyn.client.common.get_self_ip`, this connects a UDP socket to port 1 of
//! the robot and reads the socket's local address: the operating system picks the interface and
//! source address that route to the robot. A UDP `connect` sends nothing, so the robot does not
//! have to be reachable, only routable.
//!
//! The official function only knows IPv4 and returns `127.0.0.1` on any error. Here
//! [`self_ip`] and [`self_ip_for_host`] return the error (they also handle IPv6), and
//! [`self_ip_or_loopback`] keeps the official fallback, with a warning.
//!
//! [`self_ip_for_host`] resolves the name with the blocking system resolver; from async code,
//! pass an address you already have to [`self_ip`], or call it in
//! `tokio::task::spawn_blocking`.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs as _, UdpSocket};

/// The port the UDP socket is connected to; nothing is sent to it.
const PROBE_PORT: u16 = 1;

/// The local address this computer uses to reach `robot`.
///
/// Fails when there is no route to `robot` (e.g. the network is down), or when the system does
/// not pick a specific local address.
pub fn self_ip(robot: IpAddr) -> io::Result<IpAddr> {
    probe(SocketAddr::new(robot, PROBE_PORT)).map_err(|err| {
        io::Error::new(
            err.kind(),
            format!("cannot find the local address that reaches {robot}: {err}"),
        )
    })
}

/// Like [`self_ip`], for a robot given as a hostname or an IP address (`"192.168.80.3"`,
/// `"fe80::1"`, `"[fe80::1]"`, `"spot-bd-1234.local"`).
///
/// A hostname is resolved (blocking); its IPv4 addresses are tried first, like the official
/// IPv4-only function, then its IPv6 addresses. The first address that yields a local address
/// wins.
pub fn self_ip_for_host(robot: &str) -> io::Result<IpAddr> {
    let host = robot.trim();
    let unbracketed = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = unbracketed.parse::<IpAddr>() {
        return self_ip(ip);
    }
    let context = |err: io::Error| {
        io::Error::new(
            err.kind(),
            format!("cannot find the local address that reaches {host:?}: {err}"),
        )
    };
    let mut addresses: Vec<SocketAddr> = (host, PROBE_PORT)
        .to_socket_addrs()
        .map_err(context)?
        .collect();
    // Stable: keeps the resolver's order within each family.
    addresses.sort_by_key(|address| address.is_ipv6());
    let mut last_error = None;
    for address in addresses {
        match probe(address) {
            Ok(ip) => return Ok(ip),
            Err(err) => last_error = Some(err),
        }
    }
    Err(context(last_error.unwrap_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, "the name has no address")
    })))
}

/// Like [`self_ip_for_host`], but falls back to `127.0.0.1` (with a warning) on any error, as
/// the official `get_self_ip` does.
pub fn self_ip_or_loopback(robot: &str) -> IpAddr {
    or_loopback(robot, self_ip_for_host(robot))
}

fn or_loopback(robot: &str, result: io::Result<IpAddr>) -> IpAddr {
    result.unwrap_or_else(|err| {
        tracing::warn!(
            robot,
            error = %err,
            "cannot find the local address that reaches the robot; using 127.0.0.1"
        );
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    })
}

fn probe(target: SocketAddr) -> io::Result<IpAddr> {
    let any: IpAddr = match target {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let socket = UdpSocket::bind(SocketAddr::new(any, 0))?;
    socket.connect(target)?;
    let local = socket.local_addr()?.ip();
    if local.is_unspecified() {
        return Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            "the system picked no local address",
        ));
    }
    Ok(local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_reaches_itself() {
        assert_eq!(
            self_ip(IpAddr::V4(Ipv4Addr::LOCALHOST)).unwrap(),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(
            self_ip_for_host("127.0.0.1").unwrap(),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(
            self_ip_for_host(" 127.0.0.1 ").unwrap(),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(
            self_ip_or_loopback("127.0.0.1"),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
    }

    #[test]
    fn ipv6_loopback_reaches_itself() {
        // Containers without IPv6 cannot even bind `[::]:0`; nothing to test there.
        if UdpSocket::bind((Ipv6Addr::UNSPECIFIED, 0)).is_err() {
            return;
        }
        let loopback = IpAddr::V6(Ipv6Addr::LOCALHOST);
        match self_ip(loopback) {
            Ok(ip) => {
                assert_eq!(ip, loopback);
                assert_eq!(self_ip_for_host("[::1]").unwrap(), loopback);
                assert_eq!(self_ip_for_host("::1").unwrap(), loopback);
            }
            // IPv6 sockets exist but `::1` is not configured.
            Err(err) => assert!(err.to_string().contains("::1"), "{err}"),
        }
    }

    #[test]
    fn errors_fall_back_to_ipv4_loopback() {
        let err = io::Error::new(io::ErrorKind::NetworkUnreachable, "no route");
        assert_eq!(
            or_loopback("robot", Err(err)),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        let ip: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(or_loopback("robot", Ok(ip)), ip);
    }
}
