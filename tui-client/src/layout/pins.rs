//! What the pins popup lists, and the marker a group's title carries while it
//! has pinned messages. Each row is one pinned message, in the order pinned:
//! when it was sent, who sent it, and how it begins (a deleted one says so);
//! one not loaded says it is on its way, or that the server no longer has it.

use chrono::{Datelike, FixedOffset};
use classchat_common::Timestamp;

use super::files;
use crate::model::{Conversation, Entry, Fetched, Look};
use crate::text;

/// What a row says of its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said {
    /// How the text begins (its first line), or a file offer's name.
    Text(String),
    Deleted,
    Loading,
    Missing,
}

/// One pinned message, as the popup shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub seq: u64,
    /// When it was sent and who sent it, once it is here.
    pub when: Option<String>,
    pub from: Option<String>,
    pub said: Said,
}

/// The rows of `conv`'s pinned messages, at `now` in time zone `tz`.
pub fn rows(conv: &Conversation, look: Look, now: Timestamp, tz: FixedOffset) -> Vec<Row> {
    conv.pins
        .seqs()
        .iter()
        .map(|&seq| {
            let entry = match conv.search(seq) {
                Ok(at) => Some(&conv.entries[at]),
                Err(_) => match conv.pins.fetched(seq) {
                    Some(Fetched::Got(e)) => Some(e.as_ref()),
                    Some(Fetched::Missing) => return gone(seq, Said::Missing),
                    Some(Fetched::Asked) | None => return gone(seq, Said::Loading),
                },
            };
            match entry {
                Some(e) => Row {
                    seq,
                    when: Some(when(e.ts, now, tz)),
                    from: Some(text::clean_line(e.from.as_str()).into_owned()),
                    said: said(e, look),
                },
                None => gone(seq, Said::Missing),
            }
        })
        .collect()
}

fn gone(seq: u64, said: Said) -> Row {
    Row {
        seq,
        when: None,
        from: None,
        said,
    }
}

fn said(e: &Entry, look: Look) -> Said {
    if e.deleted {
        return Said::Deleted;
    }
    if let Some(file) = &e.file {
        return Said::Text(files::label(file, look.ascii));
    }
    let mut lines = e.body.lines();
    let first = text::clean_line(lines.next().unwrap_or_default()).into_owned();
    if lines.next().is_some() {
        Said::Text(format!("{first} …"))
    } else {
        Said::Text(first)
    }
}

/// When a message was sent, as a list shows it: the time today, the day
/// and time within the week, the date this year, else the date and year.
pub fn when(ts: Timestamp, now: Timestamp, tz: FixedOffset) -> String {
    let at = ts.to_datetime().with_timezone(&tz);
    let today = now.to_datetime().with_timezone(&tz);
    let days = (today.date_naive() - at.date_naive()).num_days();
    match days {
        0 => at.format("%H:%M").to_string(),
        1..=6 => at.format("%a %H:%M").to_string(),
        _ if at.year() == today.year() => at.format("%-d %b").to_string(),
        _ => at.format("%-d %b %Y").to_string(),
    }
}

/// The title's marker for `pins` pinned messages: `📌 2`, or `pins: 2` in
/// ASCII; nothing without pins.
pub fn marker(pins: usize, look: Look) -> Option<String> {
    match (pins, look.ascii) {
        (0, _) => None,
        (n, true) => Some(format!("pins: {n}")),
        (n, false) => Some(format!("📌 {n}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_today_a_weekday_this_week_a_date_before() {
        let tz = FixedOffset::east_opt(0).unwrap();
        // Saturday 21 November 2026, 10:30 UTC.
        let now = Timestamp::from_millis(1_795_257_000_000);
        let ago = |hours: i64| Timestamp::from_millis(now.as_millis() - hours * 3_600_000);
        assert_eq!(when(ago(1), now, tz), "09:30");
        assert_eq!(when(ago(24), now, tz), "Fri 10:30");
        assert_eq!(when(ago(24 * 10), now, tz), "11 Nov");
        assert_eq!(when(ago(24 * 400), now, tz), "17 Oct 2025");
    }
}
