//! `/search [--in <conv>] [--before <next>] <words…>`: the words checked as
//! the server checks them (docs/PROTOCOL.md §4.16), so a search it would
//! refuse is explained here and never sent, and the options before them.

use classchat_common::Conv;
use classchat_common::limits::{SEARCH_BYTES_MAX, SEARCH_WORDS_MAX};

use super::{Command, CommandError, conv_arg, split_word};

/// The options `/search` takes before its words.
const SEARCH_FLAGS: &[&str] = &["--in", "--before"];

/// What to search for, as typed (spaces around it trimmed): at most
/// [`SEARCH_BYTES_MAX`] bytes, with at least one and at most
/// [`SEARCH_WORDS_MAX`] different words of letters or digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchWords(String);

/// Why the words are not a search the server takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    #[error("a search is at most {SEARCH_BYTES_MAX} bytes; this one is {0}")]
    TooLong(usize),
    #[error("a search needs a word of letters or digits")]
    NoWord,
    #[error("a search has at most {SEARCH_WORDS_MAX} different words; this one has {0}")]
    TooManyWords(usize),
}

impl SearchWords {
    pub fn parse(typed: &str) -> Result<Self, SearchError> {
        let typed = typed.trim();
        if typed.len() > SEARCH_BYTES_MAX {
            return Err(SearchError::TooLong(typed.len()));
        }
        let n = terms(typed).len();
        match n {
            0 => Err(SearchError::NoWord),
            n if n > SEARCH_WORDS_MAX => Err(SearchError::TooManyWords(n)),
            _ => Ok(Self(typed.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// The words a message must have, lowercased, each once: what the
    /// results highlight.
    pub fn terms(&self) -> Vec<String> {
        terms(&self.0)
    }
}

/// The words of `text` as the server reads them: runs of letters and
/// digits, lowercased, each once.
fn terms(text: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
    {
        if !words.contains(&word) {
            words.push(word);
        }
    }
    words
}

/// `/search`'s arguments: options first, then the words (the rest of the
/// line, as typed).
pub(super) fn parse(
    args: &str,
    usage: &impl Fn(String) -> CommandError,
) -> Result<Command, CommandError> {
    let (mut conv, mut before): (Option<Conv>, Option<String>) = (None, None);
    let mut rest = args;
    loop {
        let (word, after) = split_word(rest);
        match word {
            "--in" | "--before" => {
                let (value, after) = split_word(after);
                let value = (!value.is_empty()).then_some(value);
                if word == "--in" {
                    if conv.is_some() {
                        return Err(usage("say --in once".into()));
                    }
                    conv = Some(conv_arg(value, usage)?);
                } else {
                    if before.is_some() {
                        return Err(usage("say --before once".into()));
                    }
                    let next = value.ok_or_else(|| {
                        usage("say where to go on from: the next of the reply before".into())
                    })?;
                    before = Some(next.to_owned());
                }
                rest = after;
            }
            _ if word.starts_with("--") => {
                let known = SEARCH_FLAGS.join(", ");
                return Err(usage(format!(
                    "{word} is not an option (those are {known}, before the words)"
                )));
            }
            "" => return Err(usage("say what to find".into())),
            _ => break,
        }
    }
    let words = SearchWords::parse(rest).map_err(|e| usage(e.to_string()))?;
    Ok(Command::Search {
        words,
        conv,
        before,
    })
}

#[cfg(test)]
mod tests {
    use classchat_common::ClientMessage;

    use super::*;
    use crate::commands::{self, Intent};

    fn words(s: &str) -> SearchWords {
        SearchWords::parse(s).unwrap()
    }

    fn problem(line: &str) -> String {
        match commands::parse(line) {
            Err(CommandError::Usage { problem, usage }) => {
                assert!(usage.starts_with("/search "), "{usage}");
                problem
            }
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn search_takes_the_rest_of_the_line_as_its_words() {
        assert_eq!(
            commands::parse("/SEARCH  exam   fri ").unwrap(),
            Command::Search {
                words: words("exam   fri"),
                conv: None,
                before: None,
            }
        );
        assert_eq!(words(" Exam, exam!! lab-3 ").terms(), ["exam", "lab", "3"]);
    }

    #[test]
    fn options_before_the_words_name_a_conversation_and_where_to_go_on() {
        let line = "/search --before 1796454102671.1.4 --in #cs101 exam --in";
        assert_eq!(
            commands::parse(line).unwrap(),
            Command::Search {
                words: words("exam --in"),
                conv: Some("#cs101".parse().unwrap()),
                before: Some("1796454102671.1.4".into()),
            },
            "after the first word, everything is words"
        );
        let intent = commands::parse("/search --in bob calc")
            .unwrap()
            .into_intent(9);
        assert_eq!(
            intent,
            Intent::Ask(ClientMessage::Search {
                req: Some(9),
                words: "calc".into(),
                conv: Some("bob".parse().unwrap()),
                before: None,
                limit: None,
            })
        );
    }

    #[test]
    fn a_search_the_server_would_refuse_is_explained_and_never_sent() {
        assert_eq!(problem("/search"), "say what to find");
        assert_eq!(problem("/search --in #g"), "say what to find");
        assert_eq!(
            problem("/search 👍 ?!"),
            "a search needs a word of letters or digits"
        );
        let long = "x".repeat(SEARCH_BYTES_MAX + 1);
        assert_eq!(
            problem(&format!("/search {long}")),
            format!("a search is at most {SEARCH_BYTES_MAX} bytes; this one is 257")
        );
        assert!(SearchWords::parse(&"y".repeat(SEARCH_BYTES_MAX)).is_ok());
        assert!(
            SearchWords::parse(&"a ".repeat(SEARCH_WORDS_MAX + 1)).is_ok(),
            "the same word counts once"
        );
        assert_eq!(
            problem("/search a b c d e f g h i"),
            "a search has at most 8 different words; this one has 9"
        );
        assert!(problem("/search --near x").contains("--near is not an option"));
        assert!(problem("/search --in b@d x").contains("b@d"));
        assert!(problem("/search --before").contains("say where to go on from"));
    }
}
