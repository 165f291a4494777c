//! Limits, read from `[vars]` in wrangler.toml. Every limit has a documented default; a value
//! that does not parse, or is out of range, falls back to the default rather than taking the
//! service down.
use crate::protocol::ClientLimits;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// People in one room. A full mesh degrades beyond about 8.
    pub max_peers: usize,
    pub max_nick_chars: usize,
    pub max_chat_chars: usize,
    /// Largest text frame accepted, well under the platform's 1 MiB.
    pub max_frame_bytes: usize,
    /// Chat messages a room keeps for late joiners.
    pub history_len: usize,
    /// Chat, rename and media-state frames of one socket.
    pub chat_rate: Rate,
    /// Signaling frames of one socket: ICE candidates come in bursts.
    pub signal_rate: Rate,
    /// Refused frames of one socket: past this, it is closed as abusive (4002).
    pub refusal_rate: Rate,
    /// How long a reconnecting client may take back its id with its resume token.
    pub resume_window_ms: u64,
    /// A socket silent for this long (no frame, no ping) is taken for dead.
    pub heartbeat_timeout_ms: u64,
    /// How often an occupied room looks for dead sockets (an alarm).
    pub sweep_interval_ms: u64,
    /// A socket that has not joined this long after opening is closed (4006): an open socket
    /// costs the room, and a room's sockets are capped.
    pub join_timeout_ms: u64,
    /// Sockets open in one room at once, joined or not: room for everyone, their reconnects
    /// and a few people being turned away.
    pub max_sockets: usize,
    /// Sockets a room accepts (a bucket per room, counted by the room itself): so that
    /// nobody can churn through a room, opening and closing sockets by the hundred.
    pub socket_rate: Rate,
    /// People waiting at a locked room's door at once.
    pub max_knocking: usize,
    /// Knocks one room takes (a bucket per room): hosts hear every knock, so a flood of them
    /// must stay bounded whoever sends it.
    pub knock_rate: Rate,
    /// How long a knock waits for a host's answer before it is closed (4009).
    pub knock_timeout_ms: u64,
    /// Whether the deployment has an SFU (`realtime::RealtimeConfig`): rooms that grow past
    /// `mesh_max` move to it (see `with_sfu`).
    pub sfu: bool,
    /// With an SFU, the most people a room holds as a mesh.
    pub mesh_max: usize,
    /// People in one room when the deployment has an SFU.
    pub max_peers_sfu: usize,
    /// `sfu` calls of one socket: each is an HTTPS call to the SFU, which takes 50 a second per
    /// session.
    pub sfu_rate: Rate,
}

/// A token bucket's shape: `burst` frames at once, refilled at `per_sec`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_sec: f64,
    pub burst: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_peers: 8,
            max_nick_chars: 32,
            max_chat_chars: 2000,
            max_frame_bytes: 64 * 1024,
            history_len: 50,
            chat_rate: Rate {
                per_sec: 5.0,
                burst: 20.0,
            },
            signal_rate: Rate {
                per_sec: 50.0,
                burst: 200.0,
            },
            refusal_rate: Rate {
                per_sec: 1.0,
                burst: 30.0,
            },
            resume_window_ms: 30_000,
            heartbeat_timeout_ms: 45_000,
            sweep_interval_ms: 30_000,
            join_timeout_ms: 10_000,
            max_sockets: 24,
            socket_rate: Rate {
                per_sec: 1.0,
                burst: 60.0,
            },
            max_knocking: 8,
            knock_rate: Rate {
                per_sec: 10.0 / 60.0,
                burst: 5.0,
            },
            knock_timeout_ms: 300_000,
            sfu: false,
            mesh_max: 4,
            max_peers_sfu: 32,
            sfu_rate: Rate {
                per_sec: 10.0,
                burst: 40.0,
            },
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
        let read_rate = |prefix: &str, default: Rate| Rate {
            per_sec: read(
                &format!("{prefix}_PER_SEC"),
                default.per_sec as usize,
                10_000,
            ) as f64,
            burst: read(&format!("{prefix}_BURST"), default.burst as usize, 100_000) as f64,
        };
        let read_ms = |name: &str, default: u64| read(name, default as usize, 3_600_000) as u64;
        Self {
            max_peers: read("MAX_PEERS", d.max_peers, 1000),
            max_nick_chars: read("MAX_NICK_CHARS", d.max_nick_chars, 256),
            max_chat_chars: read("MAX_CHAT_CHARS", d.max_chat_chars, 100_000),
            max_frame_bytes: read("MAX_FRAME_BYTES", d.max_frame_bytes, 512 * 1024),
            history_len: read("CHAT_HISTORY", d.history_len, 1000),
            chat_rate: read_rate("CHAT_RATE", d.chat_rate),
            signal_rate: read_rate("SIGNAL_RATE", d.signal_rate),
            refusal_rate: read_rate("REFUSAL_RATE", d.refusal_rate),
            resume_window_ms: read_ms("RESUME_WINDOW_MS", d.resume_window_ms),
            heartbeat_timeout_ms: read_ms("HEARTBEAT_TIMEOUT_MS", d.heartbeat_timeout_ms),
            sweep_interval_ms: read_ms("SWEEP_INTERVAL_MS", d.sweep_interval_ms),
            join_timeout_ms: read_ms("JOIN_TIMEOUT_MS", d.join_timeout_ms),
            max_sockets: read("MAX_SOCKETS", d.max_sockets, 10_000),
            socket_rate: Rate {
                per_sec: read("ROOM_SOCKET_RATE_PER_MIN", 60, 1_000_000) as f64 / 60.0,
                burst: read(
                    "ROOM_SOCKET_RATE_BURST",
                    d.socket_rate.burst as usize,
                    100_000,
                ) as f64,
            },
            max_knocking: read("MAX_KNOCKING", d.max_knocking, 1000),
            knock_rate: Rate {
                per_sec: read("KNOCK_RATE_PER_MIN", 10, 10_000) as f64 / 60.0,
                burst: read("KNOCK_RATE_BURST", d.knock_rate.burst as usize, 100_000) as f64,
            },
            knock_timeout_ms: read_ms("KNOCK_TIMEOUT_MS", d.knock_timeout_ms),
            sfu: false,
            mesh_max: read("MESH_MAX", d.mesh_max, 1000),
            max_peers_sfu: read("MAX_PEERS_SFU", d.max_peers_sfu, 1000),
            sfu_rate: read_rate("SFU_RATE", d.sfu_rate),
        }
    }

    /// The limits of a deployment with an SFU: a room holds `max_peers_sfu` people, and at
    /// least three sockets each (the same share as 24 sockets for 8 people: room for
    /// reconnects and people being turned away).
    pub fn with_sfu(self) -> Self {
        Self {
            sfu: true,
            max_peers: self.max_peers_sfu,
            max_sockets: self.max_sockets.max(3 * self.max_peers_sfu),
            ..self
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
        let limits = Limits::from_vars(|name| match name {
            "MAX_PEERS" => Some(" 3 ".to_owned()),
            "SIGNAL_RATE_BURST" => Some("7".to_owned()),
            "HEARTBEAT_TIMEOUT_MS" => Some("1500".to_owned()),
            _ => None,
        });
        assert_eq!(limits.max_peers, 3);
        assert_eq!(
            limits.signal_rate,
            Rate {
                per_sec: 50.0,
                burst: 7.0
            }
        );
        assert_eq!(limits.heartbeat_timeout_ms, 1500);
        let knocks = Limits::from_vars(|name| (name == "KNOCK_RATE_PER_MIN").then(|| "30".into()));
        assert_eq!(
            knocks.knock_rate,
            Rate {
                per_sec: 0.5,
                burst: 5.0
            }
        );
        let sockets =
            Limits::from_vars(|name| (name == "ROOM_SOCKET_RATE_PER_MIN").then(|| "120".into()));
        assert_eq!(
            sockets.socket_rate,
            Rate {
                per_sec: 2.0,
                burst: 60.0
            }
        );
    }

    #[test]
    fn each_limit_is_capped_at_its_maximum() {
        let read = |name: &'static str, value: usize| {
            Limits::from_vars(move |n| (n == name).then(|| value.to_string()))
        };
        assert_eq!(read("MAX_FRAME_BYTES", 524_288).max_frame_bytes, 524_288);
        assert_eq!(
            read("MAX_FRAME_BYTES", 524_289).max_frame_bytes,
            Limits::default().max_frame_bytes
        );
        assert_eq!(read("MAX_FRAME_BYTES", 1).max_frame_bytes, 1);
        assert_eq!(read("MAX_NICK_CHARS", 256).max_nick_chars, 256);
        assert_eq!(read("MAX_NICK_CHARS", 257).max_nick_chars, 32);
        assert_eq!(
            read("HEARTBEAT_TIMEOUT_MS", 3_600_000).heartbeat_timeout_ms,
            3_600_000
        );
        assert_eq!(
            read("HEARTBEAT_TIMEOUT_MS", 3_600_001).heartbeat_timeout_ms,
            45_000
        );
        assert_eq!(
            read("CHAT_RATE_PER_SEC", 10_000).chat_rate.per_sec,
            10_000.0
        );
        assert_eq!(read("CHAT_RATE_BURST", 100_000).chat_rate.burst, 100_000.0);
        assert_eq!(read("CHAT_RATE_BURST", 100_001).chat_rate.burst, 20.0);
        assert_eq!(read("JOIN_TIMEOUT_MS", 2000).join_timeout_ms, 2000);
        assert_eq!(read("MAX_SOCKETS", 10_000).max_sockets, 10_000);
        assert_eq!(read("MAX_SOCKETS", 10_001).max_sockets, 24);
    }

    #[test]
    fn an_sfu_raises_the_room_cap_and_its_sockets() {
        let mesh = Limits::default();
        assert!(!mesh.sfu);
        let sfu = mesh.with_sfu();
        assert!(sfu.sfu);
        assert_eq!((sfu.max_peers, sfu.max_sockets, sfu.mesh_max), (32, 96, 4));
        // A larger socket limit than three per person is kept.
        let roomy = Limits::from_vars(|name| match name {
            "MAX_SOCKETS" => Some("200".into()),
            "MAX_PEERS_SFU" => Some("10".into()),
            "MESH_MAX" => Some("2".into()),
            _ => None,
        })
        .with_sfu();
        assert_eq!(
            (roomy.max_peers, roomy.max_sockets, roomy.mesh_max),
            (10, 200, 2)
        );
    }

    #[test]
    fn bad_or_out_of_range_values_fall_back() {
        for bad in ["", "x", "-1", "0", "99999999"] {
            let limits = Limits::from_vars(|_| Some(bad.to_owned()));
            assert_eq!(limits, Limits::default(), "{bad:?}");
        }
    }
}
