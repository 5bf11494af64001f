//! Captures and findings over time: per local day and per hour of the week, in the scope's time
//! zone (`windows.timezone`, UTC without one).
//!
//! Memory is fixed: 7 × 24 hour-of-week cells, and at most [`MAX_TIMELINE_DAYS`] days (the
//! earliest ones; events of later days are counted together). Timelines of parts of an input
//! merge into the timeline of the whole: a day among the whole's first days is among the first
//! days of every part that holds it, so its count is never split.

use crate::window::Windows;
use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

/// Days listed in a timeline; events of later days are counted in `later_days`.
pub const MAX_TIMELINE_DAYS: usize = 366;

/// Events in one day or hour.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq, JsonSchema)]
pub struct Tally {
    /// Capture records evaluated.
    pub captures: u64,
    /// Of them, the records that at least one finding concerns.
    pub flagged: u64,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.captures += other.captures;
        self.flagged += other.flagged;
    }
}

/// Hours of the week: 7 rows (Monday first) of 24 hours (local time).
pub type HourOfWeek = [[u64; 24]; 7];

/// Captures and flagged captures over time, in local time of the scope's zone.
#[derive(Debug, Clone, Serialize, PartialEq, JsonSchema)]
pub struct Timeline {
    /// The IANA zone days and hours are counted in: the scope's `windows.timezone`, or `UTC`.
    pub timezone: String,
    /// Per local day (`YYYY-MM-DD`): the first 366 days with captures (`MAX_TIMELINE_DAYS`).
    pub days: BTreeMap<String, Tally>,
    /// Events of days after the listed ones (only when more days than listed had captures).
    pub later_days: Tally,
    /// Capture records per hour of the week: 7 rows, Monday first, of 24 local hours.
    pub captures_by_hour: HourOfWeek,
    /// Flagged records (at least one finding concerns them) per hour of the week, as above.
    pub flagged_by_hour: HourOfWeek,
    /// Minutes of each hour of the week inside the scope's capture windows (none: no windows
    /// declared). From the scope, not the data; for the HTML page.
    #[serde(skip)]
    #[schemars(skip)]
    pub window_minutes: Option<[[u8; 24]; 7]>,
    #[serde(skip)]
    #[schemars(skip)]
    tz: Tz,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline {
            timezone: "UTC".into(),
            days: BTreeMap::new(),
            later_days: Tally::default(),
            captures_by_hour: [[0; 24]; 7],
            flagged_by_hour: [[0; 24]; 7],
            window_minutes: None,
            tz: chrono_tz::UTC,
        }
    }
}

impl Timeline {
    /// An empty timeline in the windows' zone (UTC without windows).
    pub fn new(windows: Option<&Windows>) -> Self {
        let window_minutes = windows.map(|w| {
            let mut cells = [[0u8; 24]; 7];
            for (weekday, row) in (0u8..).zip(cells.iter_mut()) {
                for (hour, cell) in (0u8..).zip(row.iter_mut()) {
                    let allowed = (0..60u8)
                        .filter(|&minute| w.allows(crate::window::LocalTime { weekday, hour, minute }))
                        .count();
                    *cell = u8::try_from(allowed).unwrap_or(60);
                }
            }
            cells
        });
        let tz = windows.map_or(chrono_tz::UTC, |w| w.tz);
        Timeline { timezone: tz.name().to_string(), window_minutes, tz, ..Timeline::default() }
    }

    /// Counts one evaluated capture at `ts`; `flagged`: a finding concerns it.
    pub fn record(&mut self, ts: &DateTime<FixedOffset>, flagged: bool) {
        let local = ts.with_timezone(&self.tz);
        let t = crate::window::local_in(&local);
        let tally = Tally { captures: 1, flagged: u64::from(flagged) };
        self.add_day(local.format("%Y-%m-%d").to_string(), tally, MAX_TIMELINE_DAYS);
        let (d, h) = (usize::from(t.weekday), usize::from(t.hour));
        if let Some(c) = self.captures_by_hour.get_mut(d).and_then(|r| r.get_mut(h)) {
            *c += 1;
        }
        if let Some(c) = self.flagged_by_hour.get_mut(d).and_then(|r| r.get_mut(h)) {
            *c += u64::from(flagged);
        }
    }

    /// Adds a day's tally, keeping the first `cap` days.
    fn add_day(&mut self, day: String, tally: Tally, cap: usize) {
        if let Some(t) = self.days.get_mut(&day) {
            t.add(tally);
            return;
        }
        if self.days.len() >= cap && self.days.last_key_value().is_none_or(|(last, _)| day > *last) {
            self.later_days.add(tally);
            return;
        }
        self.days.insert(day, tally);
        while self.days.len() > cap {
            if let Some((_, t)) = self.days.pop_last() {
                self.later_days.add(t);
            }
        }
    }

    /// Adds the timeline of another part of the same input (the same zone).
    pub(crate) fn merge(&mut self, other: &Timeline) {
        self.merge_capped(other, MAX_TIMELINE_DAYS);
    }

    fn merge_capped(&mut self, other: &Timeline, cap: usize) {
        for (day, t) in &other.days {
            self.add_day(day.clone(), *t, cap);
        }
        self.later_days.add(other.later_days);
        for (mine, theirs) in self.captures_by_hour.iter_mut().zip(&other.captures_by_hour) {
            for (a, b) in mine.iter_mut().zip(theirs) {
                *a += b;
            }
        }
        for (mine, theirs) in self.flagged_by_hour.iter_mut().zip(&other.flagged_by_hour) {
            for (a, b) in mine.iter_mut().zip(theirs) {
                *a += b;
            }
        }
        if self.window_minutes.is_none() {
            self.window_minutes = other.window_minutes;
        }
    }

    /// Total captures counted.
    pub fn captures(&self) -> u64 {
        self.captures_by_hour.iter().flatten().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::Window;

    fn ts(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    #[test]
    fn counts_in_the_scopes_zone() {
        let w = Windows {
            tz: "America/Los_Angeles".parse().unwrap(),
            allow: vec![Window::parse("Mon-Fri 09:00-17:00").unwrap()],
            deny: vec![Window::parse("12:30-13:00").unwrap()],
        };
        let mut t = Timeline::new(Some(&w));
        assert_eq!(t.timezone, "America/Los_Angeles");
        // Tue 2026-05-12 19:30 UTC is 12:30 PDT; Sat 03:00 UTC is Fri 20:00 PDT.
        t.record(&ts("2026-05-12T19:30:00Z"), true);
        t.record(&ts("2026-05-16T03:00:00Z"), false);
        assert_eq!(t.captures_by_hour[1][12], 1);
        assert_eq!(t.flagged_by_hour[1][12], 1);
        assert_eq!(t.captures_by_hour[4][20], 1);
        assert_eq!(t.days["2026-05-12"], Tally { captures: 1, flagged: 1 });
        assert_eq!(t.days["2026-05-15"], Tally { captures: 1, flagged: 0 });
        let minutes = t.window_minutes.unwrap();
        assert_eq!((minutes[0][9], minutes[0][12], minutes[0][17], minutes[5][10]), (60, 30, 0, 0));
        assert_eq!(Timeline::new(None).timezone, "UTC");
        assert_eq!(t.captures(), 2);
    }

    #[test]
    fn capped_days_merge_into_the_whole() {
        // Days 1..=9 in a scrambled order, cap 4: any split, merged, equals the whole.
        let days: Vec<String> = [5, 1, 9, 3, 3, 7, 2, 8, 4, 6, 1, 9].iter().map(|d| format!("2026-01-0{d}")).collect();
        let mut whole = Timeline::default();
        for d in &days {
            whole.add_day(d.clone(), Tally { captures: 1, flagged: 0 }, 4);
        }
        assert_eq!(
            whole.days.keys().cloned().collect::<Vec<_>>(),
            ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]
        );
        assert_eq!(whole.later_days.captures, 6);
        for cut in 0..=days.len() {
            let (a, b) = days.split_at(cut);
            let part = |ds: &[String]| {
                let mut t = Timeline::default();
                for d in ds {
                    t.add_day(d.clone(), Tally { captures: 1, flagged: 0 }, 4);
                }
                t
            };
            let mut merged = part(a);
            merged.merge_capped(&part(b), 4);
            assert_eq!(merged, whole, "cut at {cut}");
        }
    }
}
