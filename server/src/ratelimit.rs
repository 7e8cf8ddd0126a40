//! Token buckets per user, one per kind of request: a burst is allowed, a flood
//! is refused with the time to wait before the next request would be accepted.
//!
//! Every request that writes, fans out or reads a lot counts against one
//! [`Class`]; each class has its own [`Rate`], so a user paging through history
//! does not use up what they may send, and a loop of `join` and `leave` stops
//! after its burst instead of writing thousands of events into a group.

use std::time::Instant;

/// A sustained rate and the burst allowed above it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Requests per second, sustained (a fraction for rare ones).
    pub per_sec: f64,
    /// Requests that may come at once after a quiet spell.
    pub burst: u32,
}

impl Rate {
    pub const fn per_second(n: u32, burst: u32) -> Self {
        Self {
            per_sec: n as f64,
            burst,
        }
    }

    pub const fn per_minute(n: u32, burst: u32) -> Self {
        Self {
            per_sec: n as f64 / 60.0,
            burst,
        }
    }

    pub const fn per_hour(n: u32, burst: u32) -> Self {
        Self {
            per_sec: n as f64 / 3600.0,
            burst,
        }
    }

    /// How long an empty allowance takes to grow back to a whole burst.
    pub fn refill(self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(f64::from(self.burst) / self.per_sec.max(1e-6))
    }

    /// "30/s, bursts of 100", for help texts and refusals.
    pub fn describe(self) -> String {
        // The largest unit in which the rate is a whole number.
        let whole = |n: f64| n >= 1.0 && (n - n.round()).abs() < 1e-9;
        let (n, unit) = if whole(self.per_sec) {
            (self.per_sec, "s")
        } else if whole(self.per_sec * 60.0) {
            (self.per_sec * 60.0, "min")
        } else {
            (self.per_sec * 3600.0, "h")
        };
        format!("{}/{unit}, bursts of {}", n.round(), self.burst)
    }
}

impl std::str::FromStr for Rate {
    type Err = String;

    /// `N/s,BURST`, `N/m,BURST` or `N/h,BURST`: N a second, minute or hour
    /// sustained, BURST at once.
    fn from_str(text: &str) -> Result<Self, String> {
        let usage = || format!("{text:?}: write a rate as N/s,BURST (or N/m, N/h), e.g. 2/s,100");
        let (rate, burst) = text.split_once(',').ok_or_else(usage)?;
        let (n, unit) = rate.split_once('/').ok_or_else(usage)?;
        let n: u32 = n.trim().parse().map_err(|_| usage())?;
        let burst: u32 = burst.trim().parse().map_err(|_| usage())?;
        if n == 0 || burst == 0 {
            return Err(format!("{text:?}: a rate and its burst must be at least 1"));
        }
        match unit.trim() {
            "s" => Ok(Rate::per_second(n, burst)),
            "m" | "min" => Ok(Rate::per_minute(n, burst)),
            "h" => Ok(Rate::per_hour(n, burst)),
            _ => Err(usage()),
        }
    }
}

/// What a request counts as. Requests not named here are not rate-limited:
/// `ack` and `read` only move cursors forward, as far as messages exist, and
/// `ping`, `chunk` and `file_ack` are bounded by what they answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// `send` and `offer`.
    Messages,
    /// Group changes, each of which is an event in a group's history:
    /// `create` (one more for each of its `members`), `join`, `leave`, `add`,
    /// `kick`, `rename`, `owner`, `delete`.
    Changes,
    /// `history` pages.
    History,
    /// `search`es: each may read many messages, so fewer of them.
    Search,
    /// Answers that read a list or a record: `who`, `whois`, `read_by`,
    /// `groups`, `members`, `files`, `conversations`.
    Queries,
    /// Decisions on offers: `accept`, `received`, `decline`, `cancel`.
    Files,
    /// `password`, which hashes twice.
    Password,
}

impl Class {
    const COUNT: usize = 7;

    pub const ALL: [Class; Class::COUNT] = [
        Class::Messages,
        Class::Changes,
        Class::History,
        Class::Queries,
        Class::Files,
        Class::Password,
        Class::Search,
    ];

    /// The name `--rate-limit` knows it by.
    pub fn name(self) -> &'static str {
        match self {
            Class::Messages => "messages",
            Class::Changes => "changes",
            Class::History => "history",
            Class::Queries => "queries",
            Class::Files => "files",
            Class::Password => "password",
            Class::Search => "search",
        }
    }

    fn index(self) -> usize {
        match self {
            Class::Messages => 0,
            Class::Changes => 1,
            Class::History => 2,
            Class::Queries => 3,
            Class::Files => 4,
            Class::Password => 5,
            Class::Search => 6,
        }
    }

    /// The requests of this class, for the sentence that refuses one.
    pub fn describe(self) -> &'static str {
        match self {
            Class::Messages => "messages and offers",
            Class::Changes => "group changes",
            Class::History => "history requests",
            Class::Queries => "lists and lookups",
            Class::Files => "answers to file offers",
            Class::Password => "password changes",
            Class::Search => "searches",
        }
    }
}

/// The rate of each class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    pub messages: Rate,
    pub changes: Rate,
    pub history: Rate,
    pub queries: Rate,
    pub files: Rate,
    pub password: Rate,
    pub search: Rate,
}

/// Enough for a person and a well-behaved client, including the burst of a
/// reconnect (a `history` page per conversation, `conversations`, `who`,
/// `files`) and an instructor making a few groups of a whole class at once.
pub const DEFAULT_RATES: Rates = Rates {
    messages: Rate::per_second(30, 100),
    changes: Rate::per_second(2, 100),
    history: Rate::per_second(20, 200),
    queries: Rate::per_second(5, 60),
    files: Rate::per_second(5, 60),
    password: Rate::per_minute(1, 5),
    search: Rate::per_second(1, 10),
};

impl Default for Rates {
    fn default() -> Self {
        DEFAULT_RATES
    }
}

impl Rates {
    pub fn set(&mut self, class: Class, rate: Rate) {
        *match class {
            Class::Messages => &mut self.messages,
            Class::Changes => &mut self.changes,
            Class::History => &mut self.history,
            Class::Queries => &mut self.queries,
            Class::Files => &mut self.files,
            Class::Password => &mut self.password,
            Class::Search => &mut self.search,
        } = rate;
    }

    pub fn of(&self, class: Class) -> Rate {
        match class {
            Class::Messages => self.messages,
            Class::Changes => self.changes,
            Class::History => self.history,
            Class::Queries => self.queries,
            Class::Files => self.files,
            Class::Password => self.password,
            Class::Search => self.search,
        }
    }
}

/// One allowance: a burst, growing back at the rate.
#[derive(Debug, Clone)]
pub struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// When it was last taken from (or made).
    pub fn last_taken(&self) -> Instant {
        self.last
    }

    pub fn full(rate: Rate, now: Instant) -> Self {
        Self {
            tokens: f64::from(rate.burst),
            last: now,
        }
    }

    /// Takes `cost` tokens (at most a whole burst, so a request as large as the
    /// burst passes when the bucket is full), or says how many milliseconds
    /// until they are there.
    pub fn take(&mut self, rate: Rate, cost: u32, now: Instant) -> Result<(), u64> {
        let burst = f64::from(rate.burst.max(1));
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * rate.per_sec).min(burst);
        let cost = f64::from(cost.max(1)).min(burst);
        if self.tokens >= cost {
            self.tokens -= cost;
            return Ok(());
        }
        let per_sec = rate.per_sec.max(1e-6);
        Err((((cost - self.tokens) / per_sec) * 1000.0).ceil() as u64)
    }
}

/// One user's buckets, a full one per class to start with.
#[derive(Debug, Clone)]
pub struct Buckets([Bucket; Class::COUNT]);

impl Buckets {
    pub fn full(rates: &Rates, now: Instant) -> Self {
        Self(Class::ALL.map(|class| Bucket::full(rates.of(class), now)))
    }

    /// Takes `cost` requests' worth from `class`, or says how many milliseconds
    /// to wait.
    pub fn take(
        &mut self,
        rates: &Rates,
        class: Class,
        cost: u32,
        now: Instant,
    ) -> Result<(), u64> {
        self.0[class.index()].take(rates.of(class), cost, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let rates = Rates {
            messages: Rate::per_second(10, 3),
            ..Rates::default()
        };
        let t0 = Instant::now();
        let mut b = Buckets::full(&rates, t0);
        for _ in 0..3 {
            b.take(&rates, Class::Messages, 1, t0).unwrap();
        }
        let wait = b.take(&rates, Class::Messages, 1, t0).unwrap_err();
        assert_eq!(wait, 100);
        let later = t0 + Duration::from_millis(100);
        assert!(b.take(&rates, Class::Messages, 1, later).is_ok());
        assert!(b.take(&rates, Class::Messages, 1, later).is_err());
    }

    #[test]
    fn each_class_has_its_own_allowance() {
        let rates = Rates {
            changes: Rate::per_second(1, 2),
            ..Rates::default()
        };
        let t0 = Instant::now();
        let mut b = Buckets::full(&rates, t0);
        b.take(&rates, Class::Changes, 2, t0).unwrap();
        assert!(b.take(&rates, Class::Changes, 1, t0).is_err());
        assert!(b.take(&rates, Class::Messages, 1, t0).is_ok());
        assert!(b.take(&rates, Class::History, 1, t0).is_ok());
    }

    #[test]
    fn a_request_dearer_than_the_burst_passes_only_on_a_full_bucket_and_empties_it() {
        let rates = Rates {
            changes: Rate::per_second(2, 10),
            ..Rates::default()
        };
        let t0 = Instant::now();
        let mut b = Buckets::full(&rates, t0);
        b.take(&rates, Class::Changes, 257, t0).unwrap();
        assert_eq!(b.take(&rates, Class::Changes, 1, t0), Err(500));
        b.take(&rates, Class::Changes, 1, t0 + Duration::from_millis(500))
            .unwrap();
        // Nine tokens back after 4.5 s; the dear request needs all ten.
        let t1 = t0 + Duration::from_millis(5000);
        assert_eq!(b.take(&rates, Class::Changes, 300, t1), Err(500));
    }

    #[test]
    fn rates_are_written_as_a_number_per_unit_and_a_burst() {
        assert_eq!("2/s,100".parse::<Rate>(), Ok(Rate::per_second(2, 100)));
        assert_eq!("1/m, 5".parse::<Rate>(), Ok(Rate::per_minute(1, 5)));
        assert_eq!("100/h,100".parse::<Rate>(), Ok(Rate::per_hour(100, 100)));
        for bad in ["2/s", "2,100", "x/s,1", "2/d,1", "0/s,1", "1/s,0"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
        assert_eq!(Rate::per_second(30, 100).describe(), "30/s, bursts of 100");
        assert_eq!(Rate::per_minute(1, 5).describe(), "1/min, bursts of 5");
        assert_eq!(Rate::per_hour(100, 100).describe(), "100/h, bursts of 100");
    }

    #[test]
    fn rare_requests_wait_minutes() {
        let rates = Rates::default();
        let t0 = Instant::now();
        let mut b = Buckets::full(&rates, t0);
        for _ in 0..rates.password.burst {
            b.take(&rates, Class::Password, 1, t0).unwrap();
        }
        assert_eq!(b.take(&rates, Class::Password, 1, t0), Err(60_000));
    }
}
