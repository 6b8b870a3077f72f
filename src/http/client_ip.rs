//! The client address that rate limits count against.
//!
//! Without `rate_limit.trust_forwarded_for` it is the peer. With it, `X-Forwarded-For` is
//! believed only when the peer is one of `rate_limit.trusted_proxies`, and then read from the
//! right: each proxy appends the address it saw, so the right-most entry that is not a trusted
//! proxy is the client as the nearest trustworthy proxy saw it. Entries to its left are the
//! client's own claims and are ignored (a client cannot pick its bucket by sending them).
//!
//! Rules, in order: no peer → `"unknown"`; not trusting, or the peer is not a trusted proxy, or
//! no usable header → the peer; walking from the right, the first entry that is not an address
//! (garbage, empty) stops the walk and the peer is used (fail closed: never a client-chosen
//! string); the first address that is not a trusted proxy is the client; when every entry is a
//! trusted proxy, the left-most one is.

use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// How to find the client address of a request.
#[derive(Debug, Clone, Default)]
pub struct ClientIp {
    trust_forwarded_for: bool,
    proxies: Vec<IpNet>,
}

impl ClientIp {
    /// Believes `X-Forwarded-For` (when `trust_forwarded_for`) from peers in `proxies` only.
    pub fn new(trust_forwarded_for: bool, proxies: Vec<IpNet>) -> ClientIp {
        ClientIp {
            trust_forwarded_for,
            proxies,
        }
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.proxies.iter().any(|net| net.contains(&ip))
    }

    /// The client address of a request from `peer` carrying the `X-Forwarded-For` values
    /// `forwarded` (every header line, in order).
    pub fn resolve(&self, peer: Option<IpAddr>, forwarded: &[&str]) -> String {
        let Some(peer) = peer else {
            return "unknown".into();
        };
        if !self.trust_forwarded_for || !self.trusted(peer) {
            return peer.to_string();
        }
        let entries: Vec<&str> = forwarded.iter().flat_map(|v| v.split(',')).collect();
        let mut leftmost_trusted = None;
        for entry in entries.iter().rev() {
            let Some(ip) = parse_entry(entry) else {
                return peer.to_string();
            };
            if !self.trusted(ip) {
                return ip.to_string();
            }
            leftmost_trusted = Some(ip);
        }
        leftmost_trusted.unwrap_or(peer).to_string()
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loopback_trusted() -> ClientIp {
        ClientIp::new(
            true,
            vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
        )
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn spoofed_left_entries_are_ignored() {
        let c = loopback_trusted();
        let peer = ip("127.0.0.1");
        assert_eq!(c.resolve(peer, &["198.51.100.1"]), "198.51.100.1");
        assert_eq!(
            c.resolve(peer, &["6.6.6.6, 7.7.7.7, 198.51.100.1"]),
            "198.51.100.1"
        );
        // Across several header lines, the last line's last entry is the nearest.
        assert_eq!(
            c.resolve(peer, &["6.6.6.6", "198.51.100.1"]),
            "198.51.100.1"
        );
        // Trusted proxies on the right are skipped.
        assert_eq!(
            c.resolve(peer, &["6.6.6.6, 198.51.100.1, 127.0.0.5, ::1"]),
            "198.51.100.1"
        );
    }

    #[test]
    fn an_all_trusted_chain_gives_the_left_most() {
        let c = loopback_trusted();
        let peer = ip("127.0.0.1");
        assert_eq!(c.resolve(peer, &["127.0.0.9, 127.0.0.8"]), "127.0.0.9");
    }

    #[test]
    fn garbage_entries_fall_back_to_the_peer() {
        let c = loopback_trusted();
        let peer = ip("127.0.0.1");
        for header in ["", " , ,", "not-an-ip", "1.2.3.4, garbage", "999.1.1.1"] {
            assert_eq!(c.resolve(peer, &[header]), "127.0.0.1", "{header:?}");
        }
        // Garbage left of the client is never reached.
        assert_eq!(c.resolve(peer, &["garbage, 198.51.100.1"]), "198.51.100.1");
        // Ports and IPv4-mapped addresses are understood.
        assert_eq!(c.resolve(peer, &["198.51.100.1:4711"]), "198.51.100.1");
        assert_eq!(c.resolve(peer, &["[2001:db8::1]:80"]), "2001:db8::1");
        assert_eq!(
            c.resolve(ip("::ffff:127.0.0.1"), &["198.51.100.1"]),
            "198.51.100.1"
        );
        assert_eq!(c.resolve(None, &["198.51.100.1"]), "unknown");
    }

    #[test]
    fn only_a_trusted_peer_is_believed() {
        let c = loopback_trusted();
        assert_eq!(
            c.resolve(ip("203.0.113.5"), &["198.51.100.1"]),
            "203.0.113.5"
        );
        let off = ClientIp::new(false, vec!["0.0.0.0/0".parse().unwrap()]);
        assert_eq!(off.resolve(ip("127.0.0.1"), &["198.51.100.1"]), "127.0.0.1");
        let none = ClientIp::new(true, Vec::new());
        assert_eq!(
            none.resolve(ip("127.0.0.1"), &["198.51.100.1"]),
            "127.0.0.1"
        );
    }
}
