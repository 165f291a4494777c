//! Limits, read from `[vars]` in wrangler.toml. Every limit has a documented default; a value
//! that does not parse, or is out of range, falls back to the default rather than taking the
//! service down.
use crate::protocol::ClientLimits;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// People in one room. A full mesh degrades beyond about 8.
    pub max_peers: usize,
    pub max_nick_chars: usize,
    pub max_chat_chars: usize,
    /// Largest text frame accepted, well under the platform's 1 MiB.
    pub max_frame_bytes: usize,
    /// Chat messages a room keeps for late joiners.
    pub history_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_peers: 8,
            max_nick_chars: 32,
            max_chat_chars: 2000,
            max_frame_bytes: 64 * 1024,
            history_len: 50,
        }
    }
}

impl Limits {
    /// Reads each limit through `var` (the Worker's env in production, a map in tests).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let d = Self::default();
        let read = |name: &str, default: usize, max: usize| {
            var(name)
                .and_then(|v| v.trim().parse::<usize>().ok())
                .filter(|v| (1..=max).contains(v))
                .unwrap_or(default)
        };
        Self {
            max_peers: read("MAX_PEERS", d.max_peers, 1000),
            max_nick_chars: read("MAX_NICK_CHARS", d.max_nick_chars, 256),
            max_chat_chars: read("MAX_CHAT_CHARS", d.max_chat_chars, 100_000),
            max_frame_bytes: read("MAX_FRAME_BYTES", d.max_frame_bytes, 512 * 1024),
            history_len: read("CHAT_HISTORY", d.history_len, 1000),
        }
    }

    pub fn for_client(&self) -> ClientLimits {
        ClientLimits {
            max_peers: self.max_peers,
            max_nick_chars: self.max_nick_chars,
            max_chat_chars: self.max_chat_chars,
            max_frame_bytes: self.max_frame_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_when_unset_and_overrides_when_set() {
        assert_eq!(Limits::from_vars(|_| None), Limits::default());
        let limits = Limits::from_vars(|name| (name == "MAX_PEERS").then(|| " 3 ".to_owned()));
        assert_eq!(limits.max_peers, 3);
    }

    #[test]
    fn bad_or_out_of_range_values_fall_back() {
        for bad in ["", "x", "-1", "0", "99999999"] {
            let limits = Limits::from_vars(|_| Some(bad.to_owned()));
            assert_eq!(limits, Limits::default(), "{bad:?}");
        }
    }
}
