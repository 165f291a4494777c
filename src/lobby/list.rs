//! The lobby's table of rooms: what each room last said about itself and when the lobby last
//! heard from it. Pure logic, tested natively: how reports and checks change the table, which
//! rooms are due for a check, and what the public may see. Each shard (`shard.rs`) keeps its
//! table in SQLite and does the talking.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::room_name::RoomName;

/// The public list holds at most this many rooms (the largest), so a flood of room names can
/// neither make it unusable nor its frames huge.
pub const PUBLIC_LIST_MAX: usize = 100;

/// A room that cannot be reached this many checks in a row is dropped; a live room puts itself
/// back with its next report.
pub const MAX_MISSES: u32 = 3;

/// How often, by default, the lobby asks a room it has not heard from (seconds).
pub const DEFAULT_CHECK_SECONDS: u64 = 60;

/// How long, by default, a public room must have been occupied before it is listed
/// (seconds): a room made only to advertise (a name like `0-FREE-CRYPTO`, opened and dropped
/// by the hundred) never stays long enough, and a real one waits no longer than it takes its
/// first guests to arrive.
pub const DEFAULT_LIST_AFTER_SECONDS: u64 = 20;

/// What a room says about itself: the body of `POST https://lobby/report`, and the part of its
/// `/internal/peers` answer the lobby reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub name: String,
    pub count: u32,
    pub private: bool,
    /// Whether a host locked the room: the list shows it, so nobody is surprised at the door.
    /// Absent from rooms that predate locks.
    #[serde(default)]
    pub locked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub count: u32,
    pub private: bool,
    pub locked: bool,
    /// When the lobby last learnt this room's count (a report or a check), ms since the epoch.
    pub heard_at: u64,
    /// Since when the room has been occupied without a break, as far as the lobby knows.
    pub occupied_since: u64,
    /// Checks in a row that could not reach the room.
    pub misses: u32,
    /// Bumped on every change, so that a check answer which raced a newer report is dropped.
    /// Not persisted: a check never outlives the lobby instance that started it.
    pub rev: u64,
}

/// A room as the public list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    pub name: String,
    pub count: u32,
    pub locked: bool,
}

/// The result of asking a room for its peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    Answered {
        count: u32,
        private: bool,
        locked: bool,
    },
    Unreachable,
}

#[derive(Debug, Default)]
pub struct RoomTable {
    rooms: BTreeMap<String, Entry>,
    /// How long a public room is occupied before it is listed, in ms.
    list_after_ms: u64,
}

impl RoomTable {
    /// An empty table whose public rooms are listed once occupied for `list_after_ms`.
    pub fn new(list_after_ms: u64) -> Self {
        Self {
            rooms: BTreeMap::new(),
            list_after_ms,
        }
    }

    /// The table as persisted; entries with no one in them are not rooms and are skipped.
    pub fn load(rows: impl IntoIterator<Item = (String, Entry)>, list_after_ms: u64) -> Self {
        let rooms = rows.into_iter().filter(|(_, e)| e.count > 0).collect();
        Self {
            rooms,
            list_after_ms,
        }
    }

    /// Whether a room's entry is on the public list at `now`.
    fn listed(&self, entry: &Entry, now: u64) -> bool {
        !entry.private && entry.occupied_since.saturating_add(self.list_after_ms) <= now
    }

    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.rooms.get(name)
    }

    /// Applies a room's report. `Ok(true)` when the public list may have changed, so sockets
    /// need a new frame; a report about a private room never says so. `Err` says why the
    /// name was refused.
    pub fn apply_report(&mut self, report: &Report, now: u64) -> Result<bool, String> {
        // The router validated the name before the room existed; checking again keeps a
        // report that bypassed it (or a bug) out of a public list. Untrimmed names are refused
        // too, so that one room cannot appear under two spellings.
        let name = RoomName::parse(&report.name).map_err(|e| e.message())?;
        if name.as_str() != report.name {
            return Err("room name has surrounding whitespace".to_owned());
        }
        let said = (report.count, report.private, report.locked);
        Ok(self.set(&report.name, said, now))
    }

    /// Applies the answer to a check started when the entry was at `rev`; see `apply_report`
    /// for the result. An entry that changed since then is newer than the answer and kept.
    pub fn apply_check(&mut self, name: &str, rev: u64, check: Check, now: u64) -> bool {
        let Some(entry) = self.rooms.get_mut(name) else {
            return false;
        };
        if entry.rev != rev {
            return false;
        }
        match check {
            Check::Answered {
                count,
                private,
                locked,
            } => self.set(name, (count, private, locked), now),
            Check::Unreachable => {
                entry.misses += 1;
                entry.heard_at = now;
                entry.rev += 1;
                if entry.misses < MAX_MISSES {
                    return false;
                }
                let entry = self.rooms.remove(name);
                entry.is_some_and(|e| self.listed(&e, now))
            }
        }
    }

    /// Records what a room said, its count, privacy and lock (a count of zero removes it);
    /// true when the public list changed.
    fn set(&mut self, name: &str, (count, private, locked): (u32, bool, bool), now: u64) -> bool {
        let old = self.rooms.get(name).cloned();
        let listed_before = old.as_ref().is_some_and(|e| self.listed(e, now));
        if count == 0 {
            self.rooms.remove(name);
            return listed_before;
        }
        let entry = Entry {
            count,
            private,
            locked,
            heard_at: now,
            occupied_since: old.as_ref().map_or(now, |e| e.occupied_since),
            misses: 0,
            rev: old.as_ref().map_or(0, |e| e.rev + 1),
        };
        let listed_after = self.listed(&entry, now);
        self.rooms.insert(name.to_owned(), entry);
        match (listed_before, listed_after) {
            (true, true) => old.is_some_and(|e| (e.count, e.locked) != (count, locked)),
            (before, after) => before != after,
        }
    }

    /// When the next public room that is not listed yet will be; `None` when none waits.
    pub fn next_listing_at(&self, now: u64) -> Option<u64> {
        (self.rooms.values())
            .filter(|e| !e.private)
            .map(|e| e.occupied_since.saturating_add(self.list_after_ms))
            .filter(|&at| at > now)
            .min()
    }

    /// Rooms not heard from for `interval` ms, longest silent first, at most `max`, with the
    /// `rev` to hand back to `apply_check`.
    pub fn due_for_check(&self, now: u64, interval: u64, max: usize) -> Vec<(String, u64)> {
        let mut due: Vec<_> = self
            .rooms
            .iter()
            .filter(|(_, e)| e.heard_at.saturating_add(interval) <= now)
            .collect();
        due.sort_by_key(|(_, e)| e.heard_at);
        due.into_iter()
            .take(max)
            .map(|(name, e)| (name.clone(), e.rev))
            .collect()
    }

    /// When the next room falls due for a check; `None` when there are no rooms.
    pub fn next_check_at(&self, interval: u64) -> Option<u64> {
        self.rooms
            .values()
            .map(|e| e.heard_at.saturating_add(interval))
            .min()
    }

    /// Every room, private ones too, largest first (then by name): the operator's view.
    pub fn all(&self) -> Vec<(&str, &Entry)> {
        let mut all: Vec<_> = self.rooms.iter().map(|(n, e)| (n.as_str(), e)).collect();
        all.sort_by(|a, b| largest_first((a.1.count, a.0), (b.1.count, b.0)));
        all
    }

    /// The public list at `now`: public rooms occupied long enough, largest first (then by
    /// name), at most `max`.
    pub fn public_list(&self, max: usize, now: u64) -> Vec<Listed> {
        self.all()
            .into_iter()
            .filter(|(_, e)| self.listed(e, now))
            .take(max)
            .map(|(name, e)| Listed {
                name: name.to_owned(),
                count: e.count,
                locked: e.locked,
            })
            .collect()
    }
}

/// The lobby socket frame for a list: `{"type":"rooms","rooms":[{"name","count","locked"}]}`.
pub fn rooms_frame(rooms: &[Listed]) -> String {
    #[derive(Serialize)]
    struct Frame<'a> {
        r#type: &'static str,
        rooms: &'a [Listed],
    }
    serde_json::to_string(&Frame {
        r#type: "rooms",
        rooms,
    })
    .expect("a list of names and numbers serializes")
}

/// A short fingerprint of a list (64-bit FNV-1a of its JSON, hex): what a shard remembers of
/// the last list the hub took, and the hub of the last list each fan-out object took, so that
/// only a list that really differs is sent on.
pub fn fingerprint(frame: &str) -> String {
    format!("{:016x}", fnv1a(frame.as_bytes()))
}

/// 64-bit FNV-1a: small, fast and stable across versions and platforms, which is all a
/// fingerprint and a shard's choice need (neither has to resist a chosen input).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The order of every list of rooms: largest first, equal counts by name.
pub fn largest_first(a: (u32, &str), b: (u32, &str)) -> std::cmp::Ordering {
    b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1))
}

/// The check interval from `LOBBY_CHECK_SECONDS`, in ms: whole seconds, at least 1; anything
/// else means the default.
pub fn check_interval_ms(raw: Option<&str>) -> u64 {
    let seconds = raw
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&s| s >= 1)
        .unwrap_or(DEFAULT_CHECK_SECONDS);
    seconds.saturating_mul(1000)
}

/// The listing delay from `LIST_AFTER_SECONDS`, in ms: whole seconds, 0 (list at once) to an
/// hour; anything else means the default.
pub fn list_after_ms(raw: Option<&str>) -> u64 {
    let seconds = raw
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&s| s <= 3600)
        .unwrap_or(DEFAULT_LIST_AFTER_SECONDS);
    seconds * 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(name: &str, count: u32, private: bool) -> Report {
        Report {
            locked: false,
            name: name.to_owned(),
            count,
            private,
        }
    }

    fn listed(rooms: &[(&str, u32)]) -> Vec<Listed> {
        rooms
            .iter()
            .map(|&(name, count)| Listed {
                locked: false,
                name: name.to_owned(),
                count,
            })
            .collect()
    }

    #[test]
    fn reports_add_update_and_remove_rooms() {
        let mut t = RoomTable::default();
        assert_eq!(t.apply_report(&report("a", 1, false), 10), Ok(true));
        assert_eq!(t.apply_report(&report("a", 3, false), 20), Ok(true));
        assert_eq!(t.public_list(10, u64::MAX), listed(&[("a", 3)]));
        assert_eq!(t.get("a").unwrap().heard_at, 20);
        // The same count again (a room re-reporting after waking) changes nothing visible.
        assert_eq!(t.apply_report(&report("a", 3, false), 30), Ok(false));
        assert_eq!(t.get("a").unwrap().heard_at, 30);
        assert_eq!(t.apply_report(&report("a", 0, false), 40), Ok(true));
        assert!(t.all().is_empty());
        // Removing a room the lobby never knew changes nothing.
        assert_eq!(t.apply_report(&report("b", 0, false), 50), Ok(false));
    }

    #[test]
    fn private_rooms_are_kept_but_never_listed_nor_broadcast() {
        let mut t = RoomTable::default();
        assert_eq!(t.apply_report(&report("secret", 2, true), 1), Ok(false));
        assert_eq!(t.apply_report(&report("secret", 5, true), 2), Ok(false));
        assert_eq!(t.public_list(10, u64::MAX), vec![]);
        assert_eq!(t.all().len(), 1);
        assert_eq!(t.all()[0].0, "secret");
        assert_eq!(t.apply_report(&report("secret", 0, true), 3), Ok(false));
        assert!(t.all().is_empty());
    }

    #[test]
    fn a_room_turning_private_leaves_the_list() {
        // A room that emptied and was made again private, its zero report lost.
        let mut t = RoomTable::default();
        t.apply_report(&report("a", 2, false), 1).unwrap();
        assert_eq!(t.apply_report(&report("a", 1, true), 2), Ok(true));
        assert_eq!(t.public_list(10, u64::MAX), vec![]);
        // Privacy alone changing, the count the same, changes the list both ways.
        assert_eq!(t.apply_report(&report("a", 1, false), 3), Ok(true));
        assert_eq!(t.public_list(10, u64::MAX), listed(&[("a", 1)]));
        assert_eq!(t.apply_report(&report("a", 1, true), 4), Ok(true));
        assert_eq!(t.public_list(10, u64::MAX), vec![]);
    }

    #[test]
    fn names_are_validated_and_never_aliased() {
        let mut t = RoomTable::default();
        for bad in ["", "a b", "<script>", " a", &"x".repeat(65)] {
            assert!(
                t.apply_report(&report(bad, 1, false), 1).is_err(),
                "{bad:?}"
            );
        }
        assert!(t.all().is_empty());
        assert_eq!(t.apply_report(&report("방-1", 1, false), 1), Ok(true));
    }

    #[test]
    fn the_public_list_is_largest_first_and_bounded() {
        let mut t = RoomTable::default();
        for i in 0..150u32 {
            let name = format!("room{i:03}");
            t.apply_report(&report(&name, i % 7 + 1, i % 10 == 0), 1)
                .unwrap();
        }
        let list = t.public_list(PUBLIC_LIST_MAX, u64::MAX);
        assert_eq!(list.len(), PUBLIC_LIST_MAX);
        assert!(list.windows(2).all(
            |w| w[0].count > w[1].count || (w[0].count == w[1].count && w[0].name < w[1].name)
        ));
        assert_eq!(list[0].count, 7);
        // No private room (every tenth) made it in.
        assert!(list
            .iter()
            .all(|r| r.name[4..].parse::<u32>().unwrap() % 10 != 0));
        assert_eq!(t.all().len(), 150);
    }

    #[test]
    fn rooms_silent_for_an_interval_are_due_oldest_first() {
        let mut t = RoomTable::default();
        t.apply_report(&report("old", 1, false), 100).unwrap();
        t.apply_report(&report("older", 1, true), 50).unwrap();
        t.apply_report(&report("new", 1, false), 900).unwrap();
        assert_eq!(t.next_check_at(1000), Some(1050));
        assert_eq!(t.due_for_check(1049, 1000, 10), vec![]);
        assert_eq!(
            t.due_for_check(1050, 1000, 10),
            vec![("older".to_owned(), 0)]
        );
        let due = t.due_for_check(1100, 1000, 10);
        assert_eq!(
            due.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["older", "old"]
        );
        assert_eq!(t.due_for_check(1100, 1000, 1).len(), 1);
        assert_eq!(RoomTable::default().next_check_at(1000), None);
    }

    #[test]
    fn checks_fix_counts_and_drop_empty_rooms() {
        let mut t = RoomTable::default();
        t.apply_report(&report("a", 3, false), 0).unwrap();
        t.apply_report(&report("gone", 2, false), 0).unwrap();
        let due = t.due_for_check(5000, 1000, 10);
        for (name, rev) in due {
            let count = if name == "a" { 1 } else { 0 };
            let check = Check::Answered {
                locked: false,
                count,
                private: false,
            };
            assert!(t.apply_check(&name, rev, check, 5000));
        }
        assert_eq!(t.public_list(10, u64::MAX), listed(&[("a", 1)]));
        assert_eq!(t.get("a").unwrap().heard_at, 5000);
        assert_eq!(t.due_for_check(5500, 1000, 10), vec![]);
    }

    #[test]
    fn a_check_that_raced_a_report_is_dropped() {
        let mut t = RoomTable::default();
        t.apply_report(&report("a", 3, false), 0).unwrap();
        let (name, rev) = t.due_for_check(5000, 1000, 10).remove(0);
        // While the lobby waited for the room, the room reported a newer count.
        t.apply_report(&report("a", 4, false), 5001).unwrap();
        let stale = Check::Answered {
            locked: false,
            count: 3,
            private: false,
        };
        assert!(!t.apply_check(&name, rev, stale, 5002));
        assert_eq!(t.get("a").unwrap().count, 4);
        // A check of a room that left meanwhile is dropped too.
        let (name, rev) = t.due_for_check(9000, 1000, 10).remove(0);
        t.apply_report(&report("a", 0, false), 9001).unwrap();
        assert!(!t.apply_check(&name, rev, Check::Unreachable, 9002));
        assert!(t.all().is_empty());
    }

    #[test]
    fn unreachable_rooms_are_dropped_after_repeated_misses() {
        let mut t = RoomTable::default();
        t.apply_report(&report("a", 2, false), 0).unwrap();
        let mut now = 0;
        for miss in 1..=MAX_MISSES {
            now += 1000;
            let (name, rev) = t.due_for_check(now, 1000, 10).remove(0);
            let changed = t.apply_check(&name, rev, Check::Unreachable, now);
            assert_eq!(changed, miss == MAX_MISSES);
            assert_eq!(t.all().is_empty(), miss == MAX_MISSES);
        }
        // A report in between resets the misses.
        t.apply_report(&report("b", 1, false), now).unwrap();
        let (name, rev) = t.due_for_check(now + 1000, 1000, 10).remove(0);
        t.apply_check(&name, rev, Check::Unreachable, now + 1000);
        t.apply_report(&report("b", 1, false), now + 1001).unwrap();
        assert_eq!(t.get("b").unwrap().misses, 0);
    }

    #[test]
    fn a_miss_makes_older_checks_stale() {
        // Two checks in flight from the same revision: once one finds the room unreachable,
        // the other's answer is older than what the table knows and must be dropped.
        let mut t = RoomTable::default();
        t.apply_report(&report("a", 2, false), 0).unwrap();
        t.apply_report(&report("a", 3, false), 1).unwrap();
        let (name, rev) = t.due_for_check(5000, 1000, 10).remove(0);
        assert_eq!(rev, 1);
        assert!(!t.apply_check(&name, rev, Check::Unreachable, 5000));
        assert_eq!(t.get("a").unwrap().rev, rev + 1);
        let stale = Check::Answered {
            locked: false,
            count: 9,
            private: false,
        };
        assert!(!t.apply_check(&name, rev, stale, 5001));
        assert_eq!(t.get("a").unwrap().count, 3);
        assert_eq!(t.get("a").unwrap().misses, 1);
    }

    #[test]
    fn a_public_room_is_listed_once_occupied_long_enough() {
        let mut t = RoomTable::new(20_000);
        // Appearing is not news yet: the list does not change, nor do sockets hear of it.
        assert_eq!(t.apply_report(&report("new", 1, false), 1000), Ok(false));
        assert_eq!(t.public_list(10, 1000), vec![]);
        assert_eq!(t.apply_report(&report("new", 2, false), 5000), Ok(false));
        assert_eq!(t.public_list(10, 20_999), vec![]);
        assert_eq!(t.next_listing_at(5000), Some(21_000));
        assert_eq!(t.public_list(10, 21_000), listed(&[("new", 2)]));
        assert_eq!(t.next_listing_at(21_000), None);
        // Listed now: changes are news again, and emptying takes it off at once.
        assert_eq!(t.apply_report(&report("new", 3, false), 22_000), Ok(true));
        assert_eq!(t.apply_report(&report("new", 0, false), 23_000), Ok(true));
        // Back again: it waits again (the flood of throwaway rooms never gets listed).
        assert_eq!(t.apply_report(&report("new", 1, false), 24_000), Ok(false));
        assert_eq!(t.public_list(10, 43_999), vec![]);
        // Leaving before being listed is no news either.
        assert_eq!(t.apply_report(&report("new", 0, false), 30_000), Ok(false));
        // Private rooms never wait to be listed: they never are.
        assert_eq!(
            t.apply_report(&report("secret", 1, true), 30_000),
            Ok(false)
        );
        assert_eq!(t.next_listing_at(30_000), None);
    }

    #[test]
    fn an_unreachable_room_leaves_the_list_only_if_it_was_on_it() {
        let mut t = RoomTable::new(20_000);
        t.apply_report(&report("new", 1, false), 0).unwrap();
        let rev = |t: &RoomTable| t.get("new").unwrap().rev;
        for _ in 0..MAX_MISSES {
            assert!(!t.apply_check("new", rev(&t), Check::Unreachable, 1000));
        }
        assert!(t.get("new").is_none());
        t.apply_report(&report("old", 1, false), 0).unwrap();
        for miss in 1..=MAX_MISSES {
            let changed = t.apply_check("old", rev_of(&t, "old"), Check::Unreachable, 30_000);
            assert_eq!(changed, miss == MAX_MISSES);
        }
    }

    fn rev_of(t: &RoomTable, name: &str) -> u64 {
        t.get(name).unwrap().rev
    }

    #[test]
    fn list_after_seconds_reads_whole_seconds_up_to_an_hour() {
        assert_eq!(list_after_ms(None), DEFAULT_LIST_AFTER_SECONDS * 1000);
        assert_eq!(list_after_ms(Some("0")), 0);
        assert_eq!(list_after_ms(Some(" 3600 ")), 3_600_000);
        for bad in ["3601", "-1", "x", ""] {
            assert_eq!(list_after_ms(Some(bad)), DEFAULT_LIST_AFTER_SECONDS * 1000);
        }
    }

    #[test]
    fn loading_skips_empty_rows() {
        let entry = |count| Entry {
            locked: false,
            count,
            private: false,
            heard_at: 1,
            occupied_since: 1,
            misses: 0,
            rev: 0,
        };
        let t = RoomTable::load([("a".to_owned(), entry(2)), ("b".to_owned(), entry(0))], 0);
        assert_eq!(t.public_list(10, u64::MAX), listed(&[("a", 2)]));
    }

    #[test]
    fn frames_and_fingerprints() {
        let frame = rooms_frame(&listed(&[("a", 2)]));
        assert_eq!(
            frame,
            r#"{"type":"rooms","rooms":[{"name":"a","count":2,"locked":false}]}"#
        );
        assert_eq!(rooms_frame(&[]), r#"{"type":"rooms","rooms":[]}"#);
        // FNV-1a 64 reference values (Python: the algorithm in a loop over the bytes).
        assert_eq!(fingerprint(""), "cbf29ce484222325");
        assert_eq!(fingerprint("a"), "af63dc4c8601ec8c");
        assert_eq!(fingerprint("foobar"), "85944171f73967e8");
        assert_eq!(fingerprint(&rooms_frame(&[])), "1bb042ee790424f9");
        assert_eq!(fingerprint(&frame), fingerprint(&frame.clone()));
        assert_ne!(fingerprint(&frame), fingerprint(&rooms_frame(&[])));
        assert_eq!(fingerprint(&frame).len(), 16);
    }

    #[test]
    fn the_check_interval_is_configurable_in_seconds() {
        assert_eq!(check_interval_ms(None), DEFAULT_CHECK_SECONDS * 1000);
        assert_eq!(check_interval_ms(Some("2")), 2000);
        assert_eq!(check_interval_ms(Some(" 1 ")), 1000);
        for bad in ["0", "-1", "x", ""] {
            assert_eq!(check_interval_ms(Some(bad)), DEFAULT_CHECK_SECONDS * 1000);
        }
    }
}
