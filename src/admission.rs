//! Who may open a socket: limits per network and per room, so that one address cannot squat
//! a room, churn through it, or create rooms by the hundred. They are counted by Cloudflare's
//! Workers rate limiting (the `[[ratelimits]]` bindings in wrangler.toml: a count per key
//! over 10 or 60 s, kept at each Cloudflare location, cheap and eventually consistent).
//!
//! The key for a person is their network: the IPv4 address, or the /64 prefix of an IPv6
//! address (one home or phone holds a whole /64, and could otherwise change address at will).
//! A missing binding, or one that fails, admits: these limits keep abuse down, and must
//! never take the service down with them.
use std::net::IpAddr;

use worker::{console_warn, Env, Request, Response, Result};

use crate::http;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Websockets (room and lobby) opened from one network.
    SocketsPerNetwork,
    /// Websockets opened to one room, from anywhere: counted by the room itself
    /// (`Limits::socket_rate`), which sees every one of them.
    SocketsPerRoom,
    /// Empty rooms brought to life from one network.
    RoomsPerNetwork,
}

impl Limit {
    /// The rate-limiting binding that counts this limit, if one does.
    fn binding(self) -> Option<&'static str> {
        match self {
            Limit::SocketsPerNetwork => Some("SOCKETS_PER_NETWORK"),
            Limit::SocketsPerRoom => None,
            Limit::RoomsPerNetwork => Some("ROOMS_PER_NETWORK"),
        }
    }

    /// The refusal: 429 with a JSON error and `Retry-After` (the limits count per minute).
    pub fn refuse(self) -> Result<Response> {
        let (code, message) = match self {
            Limit::SocketsPerNetwork => (
                "too_many_connections",
                "too many connections from your network: try again in a minute",
            ),
            Limit::SocketsPerRoom => (
                "room_busy",
                "too many connections to this room: try again in a minute",
            ),
            Limit::RoomsPerNetwork => (
                "too_many_rooms",
                "too many new rooms from your network: try again in a minute",
            ),
        };
        let mut response = http::error(429, code, message)?;
        response.headers_mut().set("Retry-After", "60")?;
        Ok(response)
    }
}

/// Counts one more against `limit` for `key` with its binding; false when over the limit.
/// A limit without a binding is counted where it is enforced, not here.
pub async fn admit(env: &Env, limit: Limit, key: &str) -> bool {
    let Some(binding) = limit.binding() else {
        return true;
    };
    let limiter = match env.rate_limiter(binding) {
        Ok(limiter) => limiter,
        Err(why) => {
            console_warn!("rate limit {binding} unavailable, admitting: {why}");
            return true;
        }
    };
    match limiter.limit(key.to_owned()).await {
        Ok(outcome) => outcome.success,
        Err(why) => {
            console_warn!("rate limit {binding} failed, admitting: {why}");
            true
        }
    }
}

/// The network `req` comes from (see the module's doc), from the address Cloudflare stamps.
pub fn network(req: &Request) -> String {
    let ip = req.headers().get("CF-Connecting-IP").ok().flatten();
    network_of(ip.as_deref().unwrap_or_default())
}

/// An IPv4 address as it is, an IPv6 address as its /64 prefix; anything else as one
/// "unknown" network (Cloudflare always sends an address: this is for local tools).
pub fn network_of(ip: &str) -> String {
    match ip.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
            }
        },
        Err(_) => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_limit_has_its_binding_in_wrangler_toml() {
        // A binding that is not declared is a limit that silently admits everyone.
        let config = include_str!("../wrangler.toml");
        let limits = [
            Limit::SocketsPerNetwork,
            Limit::SocketsPerRoom,
            Limit::RoomsPerNetwork,
        ];
        for binding in limits.into_iter().filter_map(Limit::binding) {
            let declared = format!("[[ratelimits]]\nname = \"{binding}\"");
            assert!(config.contains(&declared), "{binding}");
        }
    }

    #[test]
    fn a_network_is_an_ipv4_address_or_an_ipv6_slash_64() {
        assert_eq!(network_of("203.0.113.7"), "203.0.113.7");
        assert_eq!(network_of(" 203.0.113.7 "), "203.0.113.7");
        assert_eq!(
            network_of("2001:db8:1:2:aaaa:bbbb:cccc:dddd"),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            network_of("2001:0db8:0001:0002::1"),
            network_of("2001:db8:1:2:ffff::9"),
            "one /64, whatever the interface part"
        );
        assert_ne!(network_of("2001:db8:1:2::1"), network_of("2001:db8:1:3::1"));
        assert_eq!(network_of("::ffff:198.51.100.1"), "198.51.100.1");
        for junk in ["", "localhost", "1.2.3", "1.2.3.4:80", "[::1]"] {
            assert_eq!(network_of(junk), "unknown", "{junk:?}");
        }
    }
}
