//! The slash commands, parsed once for both pipe mode and the terminal UI.
//!
//! [`COMMANDS`] is the single table of what exists: the parser, `/help` and Tab
//! completion all read it.

use classchat_common::{Conv, MessageId, Username};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Msg { to: Conv, body: String },
    Who,
    Whois { user: Username },
    History { conv: Conv, limit: Option<u32> },
    Read { conv: Conv },
    ReadBy { id: MessageId },
    Help,
    Quit,
}

/// What an argument is, for completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// A user or `#group`.
    Conv,
    User,
    Number,
    MessageId,
    Text,
}

#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub name: &'static str,
    pub usage: &'static str,
    pub summary: &'static str,
    pub args: &'static [Arg],
}

pub const COMMANDS: &[Spec] = &[
    Spec {
        name: "msg",
        usage: "/msg <user|#group> <text>",
        summary: "send a message",
        args: &[Arg::Conv, Arg::Text],
    },
    Spec {
        name: "who",
        usage: "/who",
        summary: "list who is online",
        args: &[],
    },
    Spec {
        name: "whois",
        usage: "/whois <user>",
        summary: "show whether a user is online, or when last seen",
        args: &[Arg::User],
    },
    Spec {
        name: "history",
        usage: "/history <user|#group> [N]",
        summary: "show the last N messages of a conversation (default 50)",
        args: &[Arg::Conv, Arg::Number],
    },
    Spec {
        name: "read",
        usage: "/read <user|#group>",
        summary: "mark everything received in a conversation as read",
        args: &[Arg::Conv],
    },
    Spec {
        name: "readby",
        usage: "/readby <message-id>",
        summary: "show who has received and read one of your messages",
        args: &[Arg::MessageId],
    },
    Spec {
        name: "help",
        usage: "/help",
        summary: "list the commands",
        args: &[],
    },
    Spec {
        name: "quit",
        usage: "/quit",
        summary: "leave",
        args: &[],
    },
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("not a command: commands start with '/'; try /help")]
    NotACommand,
    #[error("unknown command /{0}; try /help")]
    Unknown(String),
    #[error("{problem}; usage: {usage}")]
    Usage {
        problem: String,
        usage: &'static str,
    },
}

pub fn spec(name: &str) -> Option<&'static Spec> {
    COMMANDS.iter().find(|s| s.name == name)
}

/// Parses one line. The text of `/msg` is kept exactly as typed after the
/// recipient (inner spaces included).
pub fn parse(line: &str) -> Result<Command, CommandError> {
    let line = line.trim_end_matches(['\r', '\n']);
    let Some(rest) = line.trim_start().strip_prefix('/') else {
        return Err(CommandError::NotACommand);
    };
    let (name, args) = split_word(rest);
    let name = name.to_ascii_lowercase();
    let spec = spec(&name).ok_or_else(|| CommandError::Unknown(name.clone()))?;
    let usage = |problem: String| CommandError::Usage {
        problem,
        usage: spec.usage,
    };
    let mut words = args.split_whitespace();
    let command = match spec.name {
        "msg" => {
            let (to, body) = split_word(args);
            if to.is_empty() {
                return Err(usage("say who to send to".into()));
            }
            let to = to.parse().map_err(|e| usage(format!("{e}")))?;
            if body.trim().is_empty() {
                return Err(usage("the message is empty".into()));
            }
            Command::Msg {
                to,
                body: body.to_owned(),
            }
        }
        "who" => Command::Who,
        "whois" => Command::Whois {
            user: user_arg(words.next(), &usage)?,
        },
        "history" => Command::History {
            conv: conv_arg(words.next(), &usage)?,
            limit: match words.next() {
                None => None,
                Some(n) => Some(
                    n.parse::<u32>()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or_else(|| usage(format!("{n:?} is not a positive number")))?,
                ),
            },
        },
        "read" => Command::Read {
            conv: conv_arg(words.next(), &usage)?,
        },
        "readby" => {
            let id = words
                .next()
                .ok_or_else(|| usage("say which message".into()))?;
            Command::ReadBy {
                id: id
                    .parse()
                    .map_err(|_| usage(format!("{id:?} is not a message id")))?,
            }
        }
        "help" => Command::Help,
        "quit" => Command::Quit,
        _ => return Err(CommandError::Unknown(name)),
    };
    if spec.name != "msg" && words.next().is_some() {
        return Err(usage("too many arguments".into()));
    }
    Ok(command)
}

fn split_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim_start_matches([' ', '\t'])),
        None => (s, ""),
    }
}

fn conv_arg(
    word: Option<&str>,
    usage: &impl Fn(String) -> CommandError,
) -> Result<Conv, CommandError> {
    let word = word.ok_or_else(|| usage("say which conversation".into()))?;
    word.parse().map_err(|e| usage(format!("{e}")))
}

fn user_arg(
    word: Option<&str>,
    usage: &impl Fn(String) -> CommandError,
) -> Result<Username, CommandError> {
    let word = word.ok_or_else(|| usage("say which user".into()))?;
    word.strip_prefix('@')
        .unwrap_or(word)
        .parse()
        .map_err(|e| usage(format!("{e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msg_keeps_the_text_exactly_as_typed() {
        let c = parse("/msg bob  hello   there ").unwrap();
        assert_eq!(
            c,
            Command::Msg {
                to: "bob".parse().unwrap(),
                body: "hello   there ".into()
            }
        );
        let c = parse("/msg #cs101 hi").unwrap();
        assert!(matches!(
            c,
            Command::Msg {
                to: Conv::Group(_),
                ..
            }
        ));
    }

    #[test]
    fn every_command_in_the_table_parses_with_sample_arguments() {
        let id = MessageId::new();
        for (line, expected) in [
            ("/who".to_owned(), Command::Who),
            (
                "/whois bob".into(),
                Command::Whois {
                    user: "bob".parse().unwrap(),
                },
            ),
            (
                "/history bob 20".into(),
                Command::History {
                    conv: "bob".parse().unwrap(),
                    limit: Some(20),
                },
            ),
            (
                "/history #g".into(),
                Command::History {
                    conv: "#g".parse().unwrap(),
                    limit: None,
                },
            ),
            (
                "/read bob".into(),
                Command::Read {
                    conv: "bob".parse().unwrap(),
                },
            ),
            (format!("/readby {id}"), Command::ReadBy { id }),
            ("/HELP".into(), Command::Help),
            ("/quit".into(), Command::Quit),
        ] {
            assert_eq!(parse(&line).unwrap(), expected, "{line}");
        }
        for spec in COMMANDS {
            assert!(spec.usage.starts_with(&format!("/{}", spec.name)));
        }
    }

    #[test]
    fn mistakes_are_explained_with_the_usage() {
        assert_eq!(parse("hello"), Err(CommandError::NotACommand));
        assert_eq!(parse("/fly"), Err(CommandError::Unknown("fly".into())));
        for bad in [
            "/msg",
            "/msg bob",
            "/msg b@d hi",
            "/whois",
            "/history bob x",
            "/readby 12",
            "/who me",
        ] {
            let err = parse(bad).unwrap_err().to_string();
            assert!(err.contains("usage: /"), "{bad}: {err}");
        }
    }
}
