//! Where the server is: a host name or an IPv4/IPv6 literal, with an optional port.
//!
//! Accepted forms: `host`, `host:port`, `1.2.3.4`, `1.2.3.4:port`, `::1`,
//! `[::1]`, `[::1]:port`. Without a port, the protocol's default is used.

use std::fmt;
use std::str::FromStr;

use classchat_common::limits::DEFAULT_PORT;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddr {
    pub host: String,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid server address {0:?}: use host, host:port, an IPv4 address, or [IPv6]:port")]
pub struct AddrError(String);

impl FromStr for ServerAddr {
    type Err = AddrError;

    fn from_str(s: &str) -> Result<Self, AddrError> {
        let bad = || AddrError(s.to_owned());
        let s = s.trim();
        if s.is_empty() {
            return Err(bad());
        }
        let port = |p: &str| p.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(bad);
        // [v6] or [v6]:port
        if let Some(rest) = s.strip_prefix('[') {
            let (host, tail) = rest.split_once(']').ok_or_else(bad)?;
            host.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
            let port = match tail {
                "" => DEFAULT_PORT,
                _ => port(tail.strip_prefix(':').ok_or_else(bad)?)?,
            };
            return Ok(Self {
                host: host.to_owned(),
                port,
            });
        }
        // A bare IPv6 literal has more than one colon and no port.
        if s.matches(':').count() > 1 {
            s.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
            return Ok(Self {
                host: s.to_owned(),
                port: DEFAULT_PORT,
            });
        }
        let (host, port) = match s.split_once(':') {
            Some((host, p)) => (host, port(p)?),
            None => (s, DEFAULT_PORT),
        };
        let valid_host = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
        if !valid_host {
            return Err(bad());
        }
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> (String, u16) {
        let a: ServerAddr = s.parse().unwrap();
        (a.host, a.port)
    }

    #[test]
    fn every_documented_form_parses() {
        assert_eq!(parse("localhost"), ("localhost".into(), DEFAULT_PORT));
        assert_eq!(
            parse("chat.example.org:4000"),
            ("chat.example.org".into(), 4000)
        );
        assert_eq!(parse("10.0.0.5"), ("10.0.0.5".into(), DEFAULT_PORT));
        assert_eq!(parse("10.0.0.5:1"), ("10.0.0.5".into(), 1));
        assert_eq!(parse("::1"), ("::1".into(), DEFAULT_PORT));
        assert_eq!(parse("[::1]"), ("::1".into(), DEFAULT_PORT));
        assert_eq!(parse("[fe80::1]:7000"), ("fe80::1".into(), 7000));
    }

    #[test]
    fn nonsense_is_refused() {
        for bad in [
            "",
            ":80",
            "host:",
            "host:0",
            "host:99999",
            "[::1",
            "[::1]x",
            "[nope]:1",
            "a b",
            "::g",
        ] {
            assert!(bad.parse::<ServerAddr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ipv6_is_displayed_in_brackets() {
        assert_eq!(
            "::1".parse::<ServerAddr>().unwrap().to_string(),
            "[::1]:12345"
        );
        assert_eq!("h:5".parse::<ServerAddr>().unwrap().to_string(), "h:5");
    }
}
