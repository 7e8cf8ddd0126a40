//! Validated user and group names, and the way a conversation is named on the wire.
//!
//! A name is 1 to [`MAX_NAME_LEN`] ASCII letters, digits, `_`, `-` or `.`. Names are
//! unique without regard to case: `Alice` and `alice` are the same user. A name keeps
//! the spelling it was created with for display, and compares, hashes and orders by
//! its lower-case form, so it can be used as a map key directly.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::limits::MAX_NAME_LEN;

/// Why a name was refused. The message starts with "invalid name" so that a
/// protocol decoder can tell it apart from other malformed fields.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("invalid name: a name cannot be empty")]
    Empty,
    #[error("invalid name {0:?}: longer than {MAX_NAME_LEN} characters")]
    TooLong(String),
    #[error(
        "invalid name {0:?}: use only ASCII letters, digits, '_', '-' and '.' (1 to {MAX_NAME_LEN} characters)"
    )]
    BadCharacter(String),
}

fn validate(s: &str) -> Result<(), NameError> {
    if s.is_empty() {
        return Err(NameError::Empty);
    }
    if s.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong(truncated(s)));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        return Err(NameError::BadCharacter(truncated(s)));
    }
    Ok(())
}

/// Error messages quote the offending name; a hostile one must not make them huge.
fn truncated(s: &str) -> String {
    s.chars().take(MAX_NAME_LEN + 8).collect()
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $sigil:expr) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(std::sync::Arc<str>);

        impl $name {
            /// Validates `s` and wraps it.
            pub fn new(s: &str) -> Result<Self, NameError> {
                validate(s)?;
                Ok(Self(s.into()))
            }

            /// The name as it was spelled when created.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The lower-case form that identity is based on.
            pub fn key(&self) -> String {
                self.0.to_ascii_lowercase()
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                // Spelled alike, the usual case, is one comparison of bytes.
                self.0 == other.0 || self.0.eq_ignore_ascii_case(&other.0)
            }
        }

        impl Eq for $name {}

        impl Hash for $name {
            /// The lower-case bytes in one write (a name is short: one
            /// write instead of one per byte halves what SipHash costs).
            fn hash<H: Hasher>(&self, state: &mut H) {
                let bytes = self.0.as_bytes();
                if !bytes.iter().any(u8::is_ascii_uppercase) {
                    // Already its lower-case form, as most names are.
                    state.write(bytes);
                    state.write_u8(0xff);
                    return;
                }
                let mut folded = [0u8; MAX_NAME_LEN];
                match folded.get_mut(..bytes.len()) {
                    Some(folded) => {
                        folded.copy_from_slice(bytes);
                        folded.make_ascii_lowercase();
                        state.write(folded);
                    }
                    // Never made by `new`; hashed alike all the same.
                    None => state.write(self.0.to_ascii_lowercase().as_bytes()),
                }
                state.write_u8(0xff);
            }
        }

        impl Ord for $name {
            fn cmp(&self, other: &Self) -> Ordering {
                let a = self.0.bytes().map(|b| b.to_ascii_lowercase());
                let b = other.0.bytes().map(|b| b.to_ascii_lowercase());
                a.cmp(b)
            }
        }

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                Some(self.cmp(other))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), &*self.0)
            }
        }

        impl FromStr for $name {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, NameError> {
                Self::new(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                let sigil: Option<char> = $sigil;
                let bare = sigil.and_then(|c| s.strip_prefix(c)).unwrap_or(&s);
                Self::new(bare).map_err(serde::de::Error::custom)
            }
        }
    };
}

name_type!(
    /// A user's account name.
    Username,
    None
);

impl Username {
    /// Stands in for an account that cannot be found; never a real user's name
    /// in practice, since the server only names users it knows.
    pub fn ghost() -> Self {
        Self(std::sync::Arc::from("ghost"))
    }
}

name_type!(
    /// A group's name, written `#name` wherever it could be mistaken for a user.
    /// Where a field can only hold a group, the `#` may be given or left out.
    GroupName,
    Some('#')
);

/// A conversation as the wire names it: a user's name for a direct conversation
/// (`"bob"`), or `#` and a group's name for a group (`"#cs101"`). The `#` cannot
/// appear in a user name, so the two never collide.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Conv {
    User(Username),
    Group(GroupName),
}

impl Conv {
    pub fn is_group(&self) -> bool {
        matches!(self, Conv::Group(_))
    }
}

impl fmt::Display for Conv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conv::User(u) => write!(f, "{u}"),
            Conv::Group(g) => write!(f, "#{g}"),
        }
    }
}

impl FromStr for Conv {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        match s.strip_prefix('#') {
            Some(group) => Ok(Conv::Group(GroupName::new(group)?)),
            None => Ok(Conv::User(Username::new(s)?)),
        }
    }
}

impl Serialize for Conv {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Conv {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_alphabet() {
        for ok in ["a", "Alice", "bob_2", "x-y.z", &"a".repeat(MAX_NAME_LEN)] {
            assert!(Username::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_everything_else() {
        let long = "a".repeat(MAX_NAME_LEN + 1);
        for bad in ["", "a b", "#x", "é", "a/b", "a\0", "\u{202e}x", &long] {
            let err = Username::new(bad).expect_err(bad);
            assert!(err.to_string().starts_with("invalid name"), "{err}");
        }
    }

    #[test]
    fn names_compare_without_regard_to_case_but_keep_their_spelling() {
        let a = Username::new("Alice").unwrap();
        let b = Username::new("alice").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "Alice");
        let mut set = std::collections::HashSet::new();
        set.insert(a);
        assert!(set.contains(&b));
        // Spelled in lower case or not, a name hashes as its lower-case form.
        use std::hash::BuildHasher as _;
        let state = std::hash::RandomState::new();
        for (x, y) in [("Alice", "alice"), ("BOB.X-9_", "bob.x-9_"), ("a", "A")] {
            let (x, y) = (Username::new(x).unwrap(), Username::new(y).unwrap());
            assert_eq!(state.hash_one(&x), state.hash_one(&y), "{x} {y}");
        }
        assert_ne!(
            state.hash_one(Username::new("alice").unwrap()),
            state.hash_one(Username::new("alicf").unwrap())
        );
    }

    #[test]
    fn conversations_are_written_with_a_hash_for_groups() {
        let g: Conv = "#cs101".parse().unwrap();
        assert!(g.is_group());
        assert_eq!(g.to_string(), "#cs101");
        let u: Conv = "bob".parse().unwrap();
        assert_eq!(serde_json::to_string(&u).unwrap(), "\"bob\"");
        assert!("#".parse::<Conv>().is_err());
        assert!("##x".parse::<Conv>().is_err());
    }
}
