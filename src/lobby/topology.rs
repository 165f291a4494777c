//! Which lobby object does what: how many shards and fan-out objects there are
//! (`LOBBY_SHARDS`, `LOBBY_FANOUT`), which shard a room reports to, and the objects' names.
//! Pure, tested natively.
use super::list::fnv1a;

/// The most shards and fan-out objects a deployment may configure: the operator's listing asks
/// every shard in one request, and the hub pushes to every fan-out object in one alarm, so both
/// stay within a request's subrequest budget.
pub const MAX_SHARDS: u32 = 256;
pub const MAX_FANOUT: u32 = 512;

/// The one object that merges the shards' lists and hands the result to the fan-out objects.
pub const HUB_NAME: &str = "lobby-hub";

/// How the lobby is spread over Durable Objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Lobby shards: each keeps the table of the rooms whose names hash to it.
    pub shards: u32,
    /// Fan-out objects: each holds a share of the lobby sockets.
    pub fanouts: u32,
}

impl Default for Layout {
    /// One of each: a small deployment costs what the single lobby did.
    fn default() -> Self {
        Self {
            shards: 1,
            fanouts: 1,
        }
    }
}

impl Layout {
    /// From the raw `LOBBY_SHARDS` and `LOBBY_FANOUT` values: whole numbers from 1 to their
    /// maximum; anything else means the default, 1.
    pub fn from_vars(shards: Option<&str>, fanouts: Option<&str>) -> Self {
        let read = |raw: Option<&str>, max: u32| {
            raw.and_then(|v| v.trim().parse::<u32>().ok())
                .filter(|n| (1..=max).contains(n))
                .unwrap_or(1)
        };
        Self {
            shards: read(shards, MAX_SHARDS),
            fanouts: read(fanouts, MAX_FANOUT),
        }
    }

    /// The shard room `name` reports to: a hash of the name, so that a room always reports to
    /// the same shard (for as long as the number of shards stays the same).
    pub fn shard_of(&self, name: &str) -> u32 {
        (fnv1a(name.as_bytes()) % u64::from(self.shards)) as u32
    }

    /// The fan-out object a new lobby socket goes to, from a random number: uniform, so that
    /// sockets spread evenly whatever the pages' locations.
    pub fn fanout_for(&self, random: u32) -> u32 {
        random % self.fanouts
    }

    /// Whether `name` is one of this layout's shards (a shard left over from a larger layout
    /// is not: its list is no longer merged).
    pub fn is_shard(&self, name: &str) -> bool {
        shard_index(name).is_some_and(|i| i < self.shards)
    }

    pub fn shard_names(&self) -> impl Iterator<Item = String> {
        (0..self.shards).map(shard_name)
    }
}

/// The name of shard `i`. Shard 0 keeps the name of the single lobby there was before shards,
/// and so its table.
pub fn shard_name(i: u32) -> String {
    if i == 0 {
        "lobby".to_owned()
    } else {
        format!("lobby-{i}")
    }
}

/// The shard number of a shard's name (`None`: not a shard's name).
pub fn shard_index(name: &str) -> Option<u32> {
    if name == "lobby" {
        return Some(0);
    }
    let digits = name.strip_prefix("lobby-")?;
    // Only the spelling `shard_name` makes: no sign, no leading zero.
    let canonical = !digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit());
    canonical.then(|| digits.parse().ok()).flatten()
}

/// The name of fan-out object `i`.
pub fn fanout_name(i: u32) -> String {
    format!("lobby-fanout-{i}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_from_vars_defaults_to_one_of_each() {
        assert_eq!(Layout::from_vars(None, None), Layout::default());
        assert_eq!(
            Layout::from_vars(Some(" 4 "), Some("16")),
            Layout {
                shards: 4,
                fanouts: 16
            }
        );
        for bad in ["0", "-1", "x", "", "1.5", "257"] {
            assert_eq!(Layout::from_vars(Some(bad), None).shards, 1, "{bad:?}");
        }
        assert_eq!(Layout::from_vars(None, Some("512")).fanouts, 512);
        assert_eq!(Layout::from_vars(None, Some("513")).fanouts, 1);
    }

    #[test]
    fn a_room_always_reports_to_the_same_shard_and_rooms_spread() {
        let layout = Layout::from_vars(Some("4"), None);
        // The same hash as tests/support/lobby.mjs (FNV-1a 64 of the UTF-8 bytes).
        assert_eq!(layout.shard_of("a"), (0xaf63_dc4c_8601_ec8c_u64 % 4) as u32);
        assert_eq!(layout.shard_of("방-1"), layout.shard_of("방-1"));
        let mut per_shard = [0; 4];
        for i in 0..4000 {
            per_shard[layout.shard_of(&format!("room-{i}")) as usize] += 1;
        }
        assert!(
            per_shard.iter().all(|&n| (800..1200).contains(&n)),
            "{per_shard:?}"
        );
        // With one shard, everything goes to shard 0, the single lobby of old.
        assert_eq!(Layout::default().shard_of("anything"), 0);
    }

    #[test]
    fn sockets_spread_over_the_fan_out_objects() {
        let layout = Layout::from_vars(None, Some("3"));
        assert_eq!(
            (0..6).map(|r| layout.fanout_for(r)).collect::<Vec<_>>(),
            [0, 1, 2, 0, 1, 2]
        );
        assert_eq!(layout.fanout_for(u32::MAX), u32::MAX % 3);
        assert_eq!(Layout::default().fanout_for(12345), 0);
    }

    #[test]
    fn names_round_trip() {
        assert_eq!(shard_name(0), "lobby");
        assert_eq!(shard_name(7), "lobby-7");
        for i in [0, 1, 7, 255] {
            assert_eq!(shard_index(&shard_name(i)), Some(i));
        }
        for bad in [
            "lobby-",
            "lobby-01",
            "lobby-+1",
            "lobby-x",
            "lobby-hub",
            "lobby-fanout-0",
            "x",
        ] {
            assert_eq!(shard_index(bad), None, "{bad:?}");
        }
        assert_eq!(fanout_name(3), "lobby-fanout-3");
        let layout = Layout::from_vars(Some("2"), None);
        assert!(layout.is_shard("lobby") && layout.is_shard("lobby-1"));
        assert!(!layout.is_shard("lobby-2") && !layout.is_shard(HUB_NAME));
        assert_eq!(
            layout.shard_names().collect::<Vec<_>>(),
            ["lobby", "lobby-1"]
        );
    }
}
