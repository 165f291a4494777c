//! When a lobby object's alarm is due, as far as its instance knows, so that a report that
//! needs the alarm by a time it is already set for costs no storage call (a shard takes every
//! room's reports: asking storage for the alarm on each one was a round trip per report).
//! Pure, tested natively; `mod.rs::alarm_by` makes the storage calls.

/// The pending alarm this instance set or found, ms since the epoch; `None` when it does not
/// know (a new instance, or the alarm fired), so storage has to be asked.
#[derive(Debug, Default)]
pub struct KnownAlarm {
    at: Option<u64>,
}

impl KnownAlarm {
    /// Whether an alarm wanted by `at` is already set for then or sooner.
    pub fn covers(&self, at: u64) -> bool {
        self.at.is_some_and(|due| due <= at)
    }

    /// The alarm is set for `at` (by this instance, or found in storage).
    pub fn set(&mut self, at: u64) {
        self.at = Some(at);
    }

    /// The alarm fired: until one is set again, storage is asked.
    pub fn fired(&mut self) {
        self.at = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_alarm_covers_later_wishes_only() {
        let mut alarm = KnownAlarm::default();
        assert!(!alarm.covers(1000), "a new instance knows nothing");
        alarm.set(1000);
        assert!(alarm.covers(1000) && alarm.covers(5000));
        assert!(!alarm.covers(999), "sooner needs a new alarm");
        alarm.fired();
        assert!(!alarm.covers(5000), "after firing, storage is asked again");
    }
}
