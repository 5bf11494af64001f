//! Capture windows: when the notice allows capture, in local time.
//!
//! A window is `[days] [HH:MM-HH:MM]`, at least one of the two:
//! `Mon-Fri 09:00-17:00`, `12:00-13:00` (every day), `Sat,Sun` (all day),
//! `Mon,Wed 08:00-12:30`, `22:00-06:00` (wraps past midnight). Days are
//! `Mon`..`Sun` (or full names, any case); ranges may wrap (`Fri-Mon`).
//! Start is inclusive, end exclusive, `24:00` is the end of the day. The day
//! is the local day of the capture itself.

use chrono::{DateTime, Datelike, FixedOffset, Timelike};
use chrono_tz::Tz;

/// One window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Bit i set: weekday i (0 = Monday) is included.
    days: u8,
    /// Minutes since midnight, start inclusive.
    start: u16,
    /// Minutes since midnight, end exclusive (1440 = end of day).
    end: u16,
    text: String,
}

/// The capture's local time, as policies see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LocalTime {
    /// 0 = Monday .. 6 = Sunday.
    pub weekday: u8,
    /// 0..=23.
    pub hour: u8,
    /// 0..=59.
    pub minute: u8,
}

impl LocalTime {
    /// `Mon`..`Sun`.
    pub fn weekday_name(&self) -> &'static str {
        DAY_NAMES.get(usize::from(self.weekday)).copied().unwrap_or("?")
    }
}

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const DAY_FULL: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

fn parse_day(s: &str) -> Option<u8> {
    let lower = s.trim().to_ascii_lowercase();
    for (i, (short, full)) in DAY_NAMES.iter().zip(DAY_FULL.iter()).enumerate() {
        if lower == short.to_ascii_lowercase() || lower == *full {
            return u8::try_from(i).ok();
        }
    }
    None
}

fn parse_days(s: &str) -> Result<u8, String> {
    let mut mask = 0u8;
    for part in s.split(',') {
        let part = part.trim();
        if let Some((a, b)) = part.split_once('-') {
            let a = parse_day(a).ok_or_else(|| format!("`{a}` is not a day"))?;
            let b = parse_day(b).ok_or_else(|| format!("`{b}` is not a day"))?;
            let mut d = a;
            loop {
                mask |= 1 << d;
                if d == b {
                    break;
                }
                d = (d + 1) % 7;
            }
        } else {
            let d = parse_day(part).ok_or_else(|| format!("`{part}` is not a day"))?;
            mask |= 1 << d;
        }
    }
    Ok(mask)
}

fn parse_clock(s: &str) -> Result<u16, String> {
    let (h, m) = s.trim().split_once(':').ok_or_else(|| format!("`{s}` is not a time (HH:MM)"))?;
    let h: u16 = h.parse().map_err(|_| format!("`{s}` is not a time (HH:MM)"))?;
    let m: u16 = m.parse().map_err(|_| format!("`{s}` is not a time (HH:MM)"))?;
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(format!("`{s}` is not a time of day"));
    }
    Ok(h * 60 + m)
}

impl Window {
    /// Parses one window.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let (days_part, time_part) = match t.split_once(char::is_whitespace) {
            Some((d, r)) => (Some(d), Some(r.trim())),
            None if t.contains(':') => (None, Some(t)),
            None => (Some(t), None),
        };
        if t.is_empty() {
            return Err("the window is empty".into());
        }
        let days = match days_part {
            Some(d) => parse_days(d)?,
            None => 0x7f,
        };
        let (start, end) = match time_part {
            Some(r) => {
                let (a, b) = r.split_once('-').ok_or_else(|| format!("`{r}` is not a time range (HH:MM-HH:MM)"))?;
                let (a, b) = (parse_clock(a)?, parse_clock(b)?);
                if a == b {
                    return Err(format!("`{r}` is an empty time range"));
                }
                (a, b)
            }
            None => (0, 1440),
        };
        Ok(Window { days, start, end, text: t.to_string() })
    }

    /// Does the window contain this local time?
    pub fn contains(&self, t: LocalTime) -> bool {
        if self.days & (1 << t.weekday) == 0 {
            return false;
        }
        let m = u16::from(t.hour) * 60 + u16::from(t.minute);
        if self.start < self.end { m >= self.start && m < self.end } else { m >= self.start || m < self.end }
    }

    /// As written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// The windows of a scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Windows {
    /// The zone the windows are written in.
    pub tz: Tz,
    /// Capture is allowed inside any of these (all the time if empty).
    pub allow: Vec<Window>,
    /// ...and never inside any of these.
    pub deny: Vec<Window>,
}

impl Windows {
    /// Local time of an instant in the windows' zone.
    pub fn local(&self, ts: &DateTime<FixedOffset>) -> LocalTime {
        local_in(&ts.with_timezone(&self.tz))
    }

    /// Is capture allowed at this local time?
    pub fn allows(&self, t: LocalTime) -> bool {
        (self.allow.is_empty() || self.allow.iter().any(|w| w.contains(t))) && !self.deny.iter().any(|w| w.contains(t))
    }

    /// Is capture allowed at some minute of the week? (False: `deny` takes back all of `allow`.)
    pub fn allows_some_time(&self) -> bool {
        (0..7u8).any(|weekday| {
            (0..24u8).any(|hour| (0..60u8).any(|minute| self.allows(LocalTime { weekday, hour, minute })))
        })
    }
}

/// Local time of a zoned instant.
pub fn local_in<T: Datelike + Timelike>(t: &T) -> LocalTime {
    LocalTime {
        weekday: u8::try_from(t.weekday().num_days_from_monday()).unwrap_or(0),
        hour: u8::try_from(t.hour()).unwrap_or(0),
        minute: u8::try_from(t.minute()).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(weekday: u8, hour: u8, minute: u8) -> LocalTime {
        LocalTime { weekday, hour, minute }
    }

    #[test]
    fn weekday_hours() {
        let w = Window::parse("Mon-Fri 09:00-17:00").unwrap();
        assert!(w.contains(at(0, 9, 0)));
        assert!(w.contains(at(4, 16, 59)));
        assert!(!w.contains(at(4, 17, 0)));
        assert!(!w.contains(at(5, 10, 0)));
    }

    #[test]
    fn every_day_and_all_day_and_wrapping() {
        assert!(Window::parse("12:00-13:00").unwrap().contains(at(6, 12, 30)));
        assert!(Window::parse("Sat,Sun").unwrap().contains(at(6, 23, 59)));
        let night = Window::parse("22:00-06:00").unwrap();
        assert!(night.contains(at(2, 23, 0)) && night.contains(at(2, 5, 59)) && !night.contains(at(2, 6, 0)));
        assert!(Window::parse("fri-mon").unwrap().contains(at(6, 1, 0)));
        assert!(Window::parse("Monday 08:00-24:00").unwrap().contains(at(0, 23, 59)));
    }

    #[test]
    fn bad_windows_say_why() {
        assert!(Window::parse("Mon-Fry 09:00-17:00").unwrap_err().contains("Fry"));
        assert!(Window::parse("09:00-25:00").is_err());
        assert!(Window::parse("09:00").is_err());
        assert!(Window::parse("09:00-09:00").is_err());
    }

    #[test]
    fn windows_that_allow_nothing_are_seen() {
        let tz: Tz = "UTC".parse().unwrap();
        let ws = |allow: &[&str], deny: &[&str]| Windows {
            tz,
            allow: allow.iter().map(|w| Window::parse(w).unwrap()).collect(),
            deny: deny.iter().map(|w| Window::parse(w).unwrap()).collect(),
        };
        assert!(!ws(&["Mon-Fri 09:00-17:00"], &["Mon-Sun"]).allows_some_time());
        assert!(!ws(&[], &["00:00-24:00"]).allows_some_time());
        assert!(ws(&["Mon-Fri 09:00-17:00"], &["12:00-13:00"]).allows_some_time());
        assert!(ws(&[], &["Mon-Sat 00:00-23:59"]).allows_some_time());
    }

    #[test]
    fn lunch_is_denied_in_local_time() {
        let ws = Windows {
            tz: "America/Los_Angeles".parse().unwrap(),
            allow: vec![Window::parse("Mon-Fri 09:00-17:00").unwrap()],
            deny: vec![Window::parse("12:00-13:00").unwrap()],
        };
        let lunch = DateTime::parse_from_rfc3339("2026-05-12T19:30:00Z").unwrap(); // Tue 12:30 PDT
        let morning = DateTime::parse_from_rfc3339("2026-05-12T10:15:00-07:00").unwrap();
        let saturday = DateTime::parse_from_rfc3339("2026-05-16T10:15:00-07:00").unwrap();
        assert!(!ws.allows(ws.local(&lunch)));
        assert!(ws.allows(ws.local(&morning)));
        assert!(!ws.allows(ws.local(&saturday)));
    }
}
