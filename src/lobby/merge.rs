//! Putting the shards' parts together, and deciding who gets told: the public list merged from
//! the shards' own lists, the operator's view merged from their tables, how often the hub may
//! push, and which fan-out objects still lack the current list. Pure, tested natively; the hub
//! (`hub.rs`) and the front door (`mod.rs`) only move the bytes.
use std::collections::BTreeMap;

use super::list::{largest_first, Listed, Report};
use super::topology::Layout;

/// The public list from each shard's own public list (keyed by shard name): the `max` largest
/// rooms of them all. Lists from objects that are not shards of `layout` (left over from a
/// larger layout) are left out. Every room of the global list is in its shard's list, since a
/// shard sends its `max` largest: the merge of the tops is the top of the merge.
///
/// A room found in two shards (reported to its old shard before the number of shards changed,
/// still there until that shard's check finds it emptied) is shown once, with its larger count.
pub fn merge_public(
    parts: &BTreeMap<String, Vec<Listed>>,
    layout: &Layout,
    max: usize,
) -> Vec<Listed> {
    let mut rooms: Vec<&Listed> = parts
        .iter()
        .filter(|(shard, _)| layout.is_shard(shard))
        .flat_map(|(_, list)| list)
        .collect();
    rooms.sort_by(|a, b| largest_first((a.count, &a.name), (b.count, &b.name)));
    rooms.dedup_by(|later, first| later.name == first.name);
    rooms.into_iter().take(max).cloned().collect()
}

/// Every room every shard knows, largest first (the operator's view); a room in two shards is
/// shown once, with its larger count.
pub fn merge_all(parts: Vec<Vec<Report>>) -> Vec<Report> {
    let mut rooms: Vec<Report> = parts.into_iter().flatten().collect();
    rooms.sort_by(|a, b| largest_first((a.count, &a.name), (b.count, &b.name)));
    // Equal names are not always next to each other after that sort (their counts differ):
    // keep the first, that is the largest, of each.
    let mut seen = std::collections::HashSet::new();
    rooms.retain(|room| seen.insert(room.name.clone()));
    rooms
}

/// Paces the hub's pushes: at most one every `interval_ms`, so that however many shards report
/// changes, a fan-out object hears at most `1000 / interval_ms` lists a second.
#[derive(Debug)]
pub struct Pacer {
    interval_ms: u64,
    last_push: Option<u64>,
}

impl Pacer {
    pub fn new(interval_ms: u64) -> Self {
        Self {
            interval_ms,
            last_push: None,
        }
    }

    /// The earliest a push may go out, asked at `now`: at once after a quiet spell.
    pub fn next_push_at(&self, now: u64) -> u64 {
        self.last_push
            .map_or(now, |last| now.max(last.saturating_add(self.interval_ms)))
    }

    pub fn pushed(&mut self, at: u64) {
        self.last_push = Some(at);
    }
}

/// Which list (by fingerprint) each fan-out object last took. Kept in memory only: a hub that
/// was evicted knows nothing and pushes to them all once, which each takes for nothing more
/// than a comparison if it already had that list.
#[derive(Debug, Default)]
pub struct Deliveries {
    taken: BTreeMap<u32, String>,
}

impl Deliveries {
    /// The fan-out objects (of `0..fanouts`) that have not taken the list `print`.
    pub fn due(&self, print: &str, fanouts: u32) -> Vec<u32> {
        (0..fanouts)
            .filter(|i| self.taken.get(i).map(String::as_str) != Some(print))
            .collect()
    }

    pub fn taken(&mut self, fanout: u32, print: &str) {
        self.taken.insert(fanout, print.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(rooms: &[(&str, u32)]) -> Vec<Listed> {
        rooms
            .iter()
            .map(|&(name, count)| Listed {
                name: name.to_owned(),
                count,
                locked: name.starts_with("locked"),
            })
            .collect()
    }

    fn parts(lists: &[(&str, &[(&str, u32)])]) -> BTreeMap<String, Vec<Listed>> {
        lists
            .iter()
            .map(|&(shard, rooms)| (shard.to_owned(), listed(rooms)))
            .collect()
    }

    #[test]
    fn the_public_list_is_the_largest_of_all_shards_lists() {
        let layout = Layout::from_vars(Some("3"), None);
        let lists = parts(&[
            ("lobby", &[("a", 5), ("c", 1)]),
            ("lobby-1", &[("locked-b", 7), ("d", 5)]),
            ("lobby-2", &[]),
        ]);
        assert_eq!(
            merge_public(&lists, &layout, 100),
            listed(&[("locked-b", 7), ("a", 5), ("d", 5), ("c", 1)])
        );
        assert_eq!(
            merge_public(&lists, &layout, 2),
            listed(&[("locked-b", 7), ("a", 5)])
        );
        assert_eq!(merge_public(&BTreeMap::new(), &layout, 100), vec![]);
    }

    #[test]
    fn lists_of_former_shards_are_left_out_and_a_room_is_shown_once() {
        // Shrunk from 3 shards to 2: what lobby-2 said no longer counts.
        let layout = Layout::from_vars(Some("2"), None);
        let lists = parts(&[
            ("lobby", &[("moved", 2), ("a", 1)]),
            ("lobby-1", &[("moved", 3)]),
            ("lobby-2", &[("gone", 9)]),
        ]);
        assert_eq!(
            merge_public(&lists, &layout, 100),
            listed(&[("moved", 3), ("a", 1)])
        );
    }

    #[test]
    fn the_merged_list_is_bounded_whatever_the_shards_send() {
        let layout = Layout::from_vars(Some("4"), None);
        let mut lists = BTreeMap::new();
        for shard in layout.shard_names() {
            let rooms = (0..100)
                .map(|i| Listed {
                    name: format!("{shard}-{i}"),
                    count: i,
                    locked: false,
                })
                .collect();
            lists.insert(shard, rooms);
        }
        let merged = merge_public(&lists, &layout, 100);
        assert_eq!(merged.len(), 100);
        assert_eq!(merged[0].count, 99);
        // 4 rooms of each count, from 99 down to 75.
        assert_eq!(merged[99].count, 75);
    }

    #[test]
    fn the_operator_sees_every_room_of_every_shard_once() {
        let report = |name: &str, count, private| Report {
            name: name.to_owned(),
            count,
            private,
            locked: false,
        };
        let all = merge_all(vec![
            vec![report("a", 2, false), report("moved", 1, false)],
            vec![report("secret", 3, true), report("b", 2, false)],
            vec![report("moved", 4, false)],
        ]);
        let names: Vec<_> = all.iter().map(|r| (r.name.as_str(), r.count)).collect();
        assert_eq!(names, [("moved", 4), ("secret", 3), ("a", 2), ("b", 2)]);
        assert_eq!(merge_all(vec![]), vec![]);
    }

    #[test]
    fn pushes_are_at_least_an_interval_apart() {
        let mut pacer = Pacer::new(250);
        assert_eq!(pacer.next_push_at(1000), 1000);
        pacer.pushed(1000);
        assert_eq!(pacer.next_push_at(1001), 1250);
        assert_eq!(pacer.next_push_at(1250), 1250);
        assert_eq!(pacer.next_push_at(5000), 5000);
    }

    #[test]
    fn only_fan_out_objects_without_the_list_are_due() {
        let mut deliveries = Deliveries::default();
        assert_eq!(deliveries.due("p1", 3), [0, 1, 2]);
        deliveries.taken(0, "p1");
        deliveries.taken(2, "p1");
        assert_eq!(deliveries.due("p1", 3), [1]);
        // A new list is due everywhere; one that failed stays due.
        assert_eq!(deliveries.due("p2", 3), [0, 1, 2]);
        deliveries.taken(1, "p2");
        assert_eq!(deliveries.due("p2", 3), [0, 2]);
        // Fan-out objects beyond the layout (it shrank) are not asked.
        assert_eq!(deliveries.due("p2", 1), [0]);
    }
}
