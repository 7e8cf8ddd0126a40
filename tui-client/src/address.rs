//! Where the server is: a host name or an IPv4/IPv6 literal, with an optional port.
//!
//! Accepted forms: `host`, `host:port`, `1.2.3.4`, `1.2.3.4:port`, `::1`,
//! `[::1]`, `[::1]:port`. Without a port, the protocol's default is used.
//! Several, separated by commas, are the nodes of one cluster:
//! `n1.example.org,n2.example.org:4000`.

use std::fmt;
use std::str::FromStr;

use classchat_common::limits::DEFAULT_PORT;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddr {
    pub host: String,
    pub port: u16,
    /// The other nodes of a cluster, tried as well; empty for one server.
    pub others: Vec<(String, u16)>,
}

impl ServerAddr {
    /// Every host and port given, the first one first.
    pub fn endpoints(&self) -> impl Iterator<Item = (&str, u16)> {
        std::iter::once((self.host.as_str(), self.port))
            .chain(self.others.iter().map(|(h, p)| (h.as_str(), *p)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid server address {0:?}: use host, host:port, an IPv4 address, or [IPv6]:port \
     (several, for the nodes of a cluster, separated by commas)"
)]
pub struct AddrError(String);

impl FromStr for ServerAddr {
    type Err = AddrError;

    fn from_str(s: &str) -> Result<Self, AddrError> {
        let mut parts = s.split(',').map(one);
        let (host, port) = parts
            .next()
            .unwrap_or_else(|| Err(AddrError(s.to_owned())))?;
        let others = parts.collect::<Result<Vec<_>, _>>()?;
        Ok(Self { host, port, others })
    }
}

/// One `host[:port]`.
fn one(s: &str) -> Result<(String, u16), AddrError> {
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
        return Ok((host.to_owned(), port));
    }
    // A bare IPv6 literal has more than one colon and no port.
    if s.matches(':').count() > 1 {
        s.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
        return Ok((s.to_owned(), DEFAULT_PORT));
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
    Ok((host.to_owned(), port))
}

impl fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (host, port)) in self.endpoints().enumerate() {
            let comma = if i == 0 { "" } else { "," };
            if host.contains(':') {
                write!(f, "{comma}[{host}]:{port}")?;
            } else {
                write!(f, "{comma}{host}:{port}")?;
            }
        }
        Ok(())
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
    fn several_nodes_parse_and_display_in_order() {
        let a: ServerAddr = "n1.example.org, [::1]:4000,10.0.0.5".parse().unwrap();
        let endpoints: Vec<(&str, u16)> = a.endpoints().collect();
        assert_eq!(
            endpoints,
            [
                ("n1.example.org", DEFAULT_PORT),
                ("::1", 4000),
                ("10.0.0.5", DEFAULT_PORT)
            ]
        );
        assert_eq!(
            a.to_string(),
            "n1.example.org:12345,[::1]:4000,10.0.0.5:12345"
        );
        assert_eq!(a.to_string().parse::<ServerAddr>().unwrap(), a);
        for bad in ["a,", ",a", "a,,b", "a,b:0"] {
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
