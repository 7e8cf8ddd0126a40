//! The slash commands, parsed once for both pipe mode and the terminal UI.
//!
//! [`COMMANDS`] is the single table of what exists: the parser, `/help` and Tab
//! completion all read it.

use classchat_common::limits::REACTION_BYTES;
use classchat_common::protocol::{Access, Posting, Req, Role, Secret};
use std::path::PathBuf;

use classchat_common::{ClientMessage, Conv, GroupName, MessageId, OfferId, Username};

use crate::outbox::Target;

mod search;
pub use search::{SearchError, SearchWords};

#[cfg(test)]
mod tests_pins;
#[cfg(test)]
mod tests_reactions;
#[cfg(test)]
mod tests_replies;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Msg {
        to: Conv,
        body: String,
    },
    /// A message quoting message `seq` of the same conversation.
    Reply {
        to: Conv,
        seq: u64,
        body: String,
    },
    /// New text for message `seq`, one of yours.
    Edit {
        to: Conv,
        seq: u64,
        body: String,
    },
    /// Delete message `seq` for everyone (named so because `/delete` deletes
    /// a group).
    Unsend {
        to: Conv,
        seq: u64,
    },
    /// Your reaction `emoji` to message `seq` (`/react`), or taking it
    /// back (`/unreact`, `on: false`).
    React {
        to: Conv,
        seq: u64,
        emoji: String,
        on: bool,
    },
    Who,
    Whois {
        user: Username,
    },
    History {
        conv: Conv,
        limit: Option<u32>,
    },
    Read {
        conv: Conv,
    },
    ReadBy {
        id: MessageId,
    },
    Create {
        group: GroupName,
        /// Users who join it at once.
        members: Vec<Username>,
        /// `--open` or `--invite`; without either the server decides.
        access: Option<Access>,
        /// `--announce`: only the owner and moderators post.
        posting: Option<Posting>,
    },
    /// Change your password: the current and the new one (pipe mode), or a
    /// form that asks for them (the terminal UI).
    Passwd {
        change: Option<(Secret, Secret)>,
    },
    Join {
        group: GroupName,
    },
    Leave {
        group: GroupName,
    },
    Groups,
    Members {
        group: GroupName,
    },
    Rename {
        group: GroupName,
        to: GroupName,
    },
    Add {
        group: GroupName,
        user: Username,
    },
    Kick {
        group: GroupName,
        user: Username,
    },
    Owner {
        group: GroupName,
        user: Username,
    },
    Delete {
        group: GroupName,
    },
    Unban {
        group: GroupName,
        user: Username,
    },
    /// `/mod` (moderator) and `/unmod` (member).
    Role {
        group: GroupName,
        user: Username,
        role: Role,
    },
    /// `/access` and `/posting`: one of the two is set.
    Settings {
        group: GroupName,
        access: Option<Access>,
        posting: Option<Posting>,
    },
    /// `/pin` (`pin`) and `/unpin`: message `seq` of the group.
    Pin {
        group: GroupName,
        seq: u64,
        pin: bool,
    },
    /// The terminal UI's list of a group's pinned messages (without a
    /// group, the open one's).
    Pins {
        group: Option<GroupName>,
    },
    /// Messages with these words, in every conversation of yours or in
    /// `conv`; `before` goes on from a reply's `next`.
    Search {
        words: SearchWords,
        conv: Option<Conv>,
        before: Option<String>,
    },
    /// Without a path, the terminal UI opens its file picker.
    SendFile {
        to: Conv,
        path: Option<PathBuf>,
    },
    Files,
    Accept {
        offer: OfferId,
        dir: Option<PathBuf>,
    },
    Decline {
        offer: OfferId,
    },
    Cancel {
        offer: OfferId,
    },
    Mute,
    Help,
    Quit,
}

/// What carrying out a command means for a front end.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    /// Queue a message (through the outbox): text, or a reply, an edit, a
    /// deletion or a reaction (`target`).
    Send {
        to: Conv,
        body: String,
        target: Option<Target>,
    },
    /// Send this request; its answer carries the same `req`.
    Ask(ClientMessage),
    /// Turn the bell off or on for the open conversation (terminal UI only).
    Mute,
    /// Offer a file (a picker chooses it when there is no path).
    SendFile {
        to: Conv,
        path: Option<PathBuf>,
    },
    /// Take an offered file (into `dir`, or the download folder).
    Accept {
        offer: OfferId,
        dir: Option<PathBuf>,
    },
    /// Stop a transfer, or withdraw an offer of yours.
    Cancel {
        offer: OfferId,
    },
    /// Ask for the current and the new password without showing them
    /// (terminal UI only).
    PasswordForm,
    /// List a group's pinned messages (terminal UI only).
    Pins {
        group: Option<GroupName>,
    },
    Help,
    Quit,
}

impl Command {
    /// The intent of this command; requests get `req` as their id.
    pub fn into_intent(self, req: Req) -> Intent {
        let req = Some(req);
        let ask = match self {
            Command::Msg { to, body } => {
                return Intent::Send {
                    to,
                    body,
                    target: None,
                };
            }
            Command::Reply { to, seq, body } => {
                return Intent::Send {
                    to,
                    body,
                    target: Some(Target::Reply(seq)),
                };
            }
            Command::Edit { to, seq, body } => {
                return Intent::Send {
                    to,
                    body,
                    target: Some(Target::Edit(seq)),
                };
            }
            Command::Unsend { to, seq } => {
                return Intent::Send {
                    to,
                    body: String::new(),
                    target: Some(Target::Delete(seq)),
                };
            }
            Command::React { to, seq, emoji, on } => {
                return Intent::Send {
                    to,
                    body: emoji,
                    target: Some(if on {
                        Target::React(seq)
                    } else {
                        Target::Unreact(seq)
                    }),
                };
            }
            Command::Help => return Intent::Help,
            Command::Mute => return Intent::Mute,
            Command::SendFile { to, path } => return Intent::SendFile { to, path },
            Command::Accept { offer, dir } => return Intent::Accept { offer, dir },
            Command::Cancel { offer } => return Intent::Cancel { offer },
            Command::Passwd { change: None } => return Intent::PasswordForm,
            Command::Pins { group } => return Intent::Pins { group },
            Command::Passwd {
                change: Some((old, new)),
            } => ClientMessage::Password { req, old, new },
            Command::Files => ClientMessage::Files { req },
            Command::Decline { offer } => ClientMessage::Decline { req, offer },
            Command::Quit => return Intent::Quit,
            Command::Who => ClientMessage::Who { req },
            Command::Whois { user } => ClientMessage::Whois { req, user },
            Command::History { conv, limit } => ClientMessage::History {
                req,
                conv,
                before: None,
                after: None,
                limit,
            },
            Command::Search {
                words,
                conv,
                before,
            } => ClientMessage::Search {
                req,
                words: words.into_string(),
                conv,
                before,
                limit: None,
            },
            Command::Read { conv } => ClientMessage::Read {
                req,
                conv,
                seq: None,
            },
            Command::ReadBy { id } => ClientMessage::ReadBy { req, id },
            Command::Create {
                group,
                members,
                access,
                posting,
            } => ClientMessage::Create {
                req,
                group,
                members,
                access,
                posting,
            },
            Command::Join { group } => ClientMessage::Join { req, group },
            Command::Leave { group } => ClientMessage::Leave { req, group },
            Command::Groups => ClientMessage::Groups { req },
            Command::Members { group } => ClientMessage::Members { req, group },
            Command::Rename { group, to } => ClientMessage::Rename { req, group, to },
            Command::Add { group, user } => ClientMessage::Add { req, group, user },
            Command::Kick { group, user } => ClientMessage::Kick { req, group, user },
            Command::Owner { group, user } => ClientMessage::Owner { req, group, user },
            Command::Delete { group } => ClientMessage::Delete { req, group },
            Command::Unban { group, user } => ClientMessage::Unban { req, group, user },
            Command::Role { group, user, role } => ClientMessage::Role {
                req,
                group,
                user,
                role,
            },
            Command::Settings {
                group,
                access,
                posting,
            } => ClientMessage::Settings {
                req,
                group,
                access,
                posting,
            },
            Command::Pin {
                group,
                seq,
                pin: true,
            } => ClientMessage::Pin { req, group, seq },
            Command::Pin {
                group,
                seq,
                pin: false,
            } => ClientMessage::Unpin { req, group, seq },
        };
        Intent::Ask(ask)
    }
}

/// What an argument is, for completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// A user or `#group`.
    Conv,
    User,
    /// Users, as many as are typed (only last in a command).
    Users,
    Group,
    Number,
    MessageId,
    Text,
    /// A file or folder on this computer.
    Path,
    /// A file offer's id.
    Offer,
    /// One of these words.
    Choice(&'static [&'static str]),
    /// Options, anywhere after the first argument (not counted as one).
    Flags(&'static [&'static str]),
}

#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub name: &'static str,
    pub usage: &'static str,
    pub summary: &'static str,
    pub args: &'static [Arg],
}

/// The options of `/create`.
const CREATE_FLAGS: &[&str] = &["--open", "--invite", "--announce"];
/// What `/access` takes.
const ACCESS_WORDS: &[&str] = &["open", "invite"];
/// What `/posting` takes (`announce` is `moderators` by another name; Tab
/// offers only the two).
const POSTING_WORDS: &[&str] = &["everyone", "moderators"];

/// The reactions offered first: the terminal UI's picker (`+` on a selected
/// message) numbers them 1 to 8, and Tab completes them after `/react`. Any
/// other emoji (or short word) may be typed.
pub const REACTIONS: &[&str] = &["👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "✅"];

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
        summary: "list who is online (the terminal UI: a popup; Enter messages one)",
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
        name: "reply",
        usage: "/reply <user|#group> <seq> <text>",
        summary: "answer message <seq> of a conversation, quoting it (the terminal UI: r \
                  on a selected message)",
        args: &[Arg::Conv, Arg::Number, Arg::Text],
    },
    Spec {
        name: "edit",
        usage: "/edit <user|#group> <seq> <text>",
        summary: "give a message of yours new text; everyone sees it marked (edited) \
                  (the terminal UI: e on a selected message)",
        args: &[Arg::Conv, Arg::Number, Arg::Text],
    },
    Spec {
        name: "unsend",
        usage: "/unsend <user|#group> <seq>",
        summary: "delete a message for everyone: yours, or any in a group you own or \
                  moderate (the terminal UI: d on a selected message)",
        args: &[Arg::Conv, Arg::Number],
    },
    Spec {
        name: "react",
        usage: "/react <user|#group> <seq> <emoji>",
        summary: "react to message <seq> of a conversation with an emoji (or a short word); \
                  Tab offers the usual ones (the terminal UI: + on a selected message)",
        args: &[Arg::Conv, Arg::Number, Arg::Choice(REACTIONS)],
    },
    Spec {
        name: "unreact",
        usage: "/unreact <user|#group> <seq> <emoji>",
        summary: "take your reaction back off message <seq> (the terminal UI: + and the \
                  same emoji again)",
        args: &[Arg::Conv, Arg::Number, Arg::Choice(REACTIONS)],
    },
    Spec {
        name: "create",
        usage: "/create <group> [user…] [--open|--invite] [--announce]",
        summary: "create a group you own; the users named join at once (and make it \
                  invite-only unless --open); --announce: only you and moderators post",
        args: &[Arg::Group, Arg::Users, Arg::Flags(CREATE_FLAGS)],
    },
    Spec {
        name: "join",
        usage: "/join <group>",
        summary: "join a group",
        args: &[Arg::Group],
    },
    Spec {
        name: "leave",
        usage: "/leave <group>",
        summary: "leave a group (an owner's group passes to the longest-standing member)",
        args: &[Arg::Group],
    },
    Spec {
        name: "groups",
        usage: "/groups",
        summary: "list every group: owner, members, whether you are in it",
        args: &[],
    },
    Spec {
        name: "members",
        usage: "/members <group>",
        summary: "list a group's members, online or when last seen (to its owner and \
                  moderators, who is banned too); the terminal UI: the open group's alone",
        args: &[Arg::Group],
    },
    Spec {
        name: "rename",
        usage: "/rename <group> <new-name>",
        summary: "owner: rename a group",
        args: &[Arg::Group, Arg::Group],
    },
    Spec {
        name: "add",
        usage: "/add <group> <user>",
        summary: "owner or moderator: add a member",
        args: &[Arg::Group, Arg::User],
    },
    Spec {
        name: "kick",
        usage: "/kick <group> <user>",
        summary: "owner or moderator: remove a member and ban them until the owner unbans them",
        args: &[Arg::Group, Arg::User],
    },
    Spec {
        name: "owner",
        usage: "/owner <group> <user>",
        summary: "owner: hand ownership to another member",
        args: &[Arg::Group, Arg::User],
    },
    Spec {
        name: "delete",
        usage: "/delete <group>",
        summary: "owner: delete a group and its history",
        args: &[Arg::Group],
    },
    Spec {
        name: "unban",
        usage: "/unban <group> <user>",
        summary: "owner: lift a ban, so the user may join or be added again",
        args: &[Arg::Group, Arg::User],
    },
    Spec {
        name: "mod",
        usage: "/mod <group> <user>",
        summary: "owner: make a member a moderator (adds and removes members, posts in an \
                  announcement group)",
        args: &[Arg::Group, Arg::User],
    },
    Spec {
        name: "unmod",
        usage: "/unmod <group> <user>",
        summary: "owner: make a moderator a plain member again",
        args: &[Arg::Group, Arg::User],
    },
    Spec {
        name: "access",
        usage: "/access <group> open|invite",
        summary: "owner: let anyone join, or only those the owner or a moderator adds",
        args: &[Arg::Group, Arg::Choice(ACCESS_WORDS)],
    },
    Spec {
        name: "posting",
        usage: "/posting <group> everyone|moderators",
        summary: "owner: let every member post, or only the owner and moderators \
                  (an announcement group; announce means the same)",
        args: &[Arg::Group, Arg::Choice(POSTING_WORDS)],
    },
    Spec {
        name: "pin",
        usage: "/pin <group> <seq>",
        summary: "owner or moderator: pin message <seq> of a group for its members to find \
                  (the terminal UI: p on a selected message)",
        args: &[Arg::Group, Arg::Number],
    },
    Spec {
        name: "unpin",
        usage: "/unpin <group> <seq>",
        summary: "owner or moderator: unpin message <seq> of a group",
        args: &[Arg::Group, Arg::Number],
    },
    Spec {
        name: "pins",
        usage: "/pins [group]",
        summary: "terminal UI: the pinned messages of a group (the open one without a \
                  name); Enter goes to one",
        args: &[Arg::Group],
    },
    Spec {
        name: "search",
        usage: "/search [--in <user|#group>] [--before <next>] <words…>",
        summary: "find the messages with every word, in your conversations (or one, --in), \
                  newest first; --before goes on from a reply's next (the terminal UI: a \
                  popup, also Ctrl+F; Enter goes to one)",
        args: &[Arg::Text],
    },
    Spec {
        name: "sendfile",
        usage: "/sendfile <user|#group> [path]",
        summary: "offer a file (the terminal UI shows a picker without a path)",
        args: &[Arg::Conv, Arg::Path],
    },
    Spec {
        name: "files",
        usage: "/files",
        summary: "offers to you and from you that are still open",
        args: &[],
    },
    Spec {
        name: "accept",
        usage: "/accept <offer-id> [folder]",
        summary: "download an offered file (to the download folder, or the one given)",
        args: &[Arg::Offer, Arg::Path],
    },
    Spec {
        name: "decline",
        usage: "/decline <offer-id>",
        summary: "refuse an offered file",
        args: &[Arg::Offer],
    },
    Spec {
        name: "cancel",
        usage: "/cancel <offer-id>",
        summary: "stop a transfer, or withdraw a file you offered",
        args: &[Arg::Offer],
    },
    Spec {
        name: "passwd",
        usage: "/passwd [old new]",
        summary: "change your password (the terminal UI asks for it; pipe mode takes both)",
        args: &[],
    },
    Spec {
        name: "mute",
        usage: "/mute",
        summary: "terminal UI: turn the bell off (or back on) for the open conversation",
        args: &[],
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

/// A message body longer than the server takes (its `welcome` says how long
/// that is). The terminal UI and pipe mode both refuse it before sending, with
/// this as the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "this message is {len} bytes and the limit is {limit}: shorten it by {}",
    .len - .limit
)]
pub struct TooLong {
    len: usize,
    limit: usize,
}

impl TooLong {
    /// Whether `body` fits in `limit` bytes.
    pub fn check(body: &str, limit: usize) -> Result<(), TooLong> {
        let len = body.len();
        if len > limit {
            return Err(TooLong { len, limit });
        }
        Ok(())
    }
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
        "reply" | "edit" => {
            let (to, seq, body) = about_message(args, &usage)?;
            if body.trim().is_empty() {
                return Err(usage("the message is empty".into()));
            }
            let body = body.to_owned();
            if spec.name == "reply" {
                Command::Reply { to, seq, body }
            } else {
                Command::Edit { to, seq, body }
            }
        }
        "unsend" => {
            let (to, seq, rest) = about_message(args, &usage)?;
            if !rest.trim().is_empty() {
                return Err(usage("too many arguments".into()));
            }
            Command::Unsend { to, seq }
        }
        "react" | "unreact" => {
            let (to, seq, rest) = about_message(args, &usage)?;
            Command::React {
                to,
                seq,
                emoji: reaction_arg(rest, &usage)?,
                on: spec.name == "react",
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
        "create" => create(&mut words, &usage)?,
        "passwd" => Command::Passwd {
            change: match (words.next(), words.next()) {
                (None, _) => None,
                (Some(old), Some(new)) => Some((Secret(old.to_owned()), Secret(new.to_owned()))),
                (Some(_), None) => {
                    return Err(usage(
                        "give the current password and the new one (or nothing, in the terminal UI)"
                            .into(),
                    ));
                }
            },
        },
        "join" => Command::Join {
            group: group_arg(words.next(), &usage)?,
        },
        "leave" => Command::Leave {
            group: group_arg(words.next(), &usage)?,
        },
        "groups" => Command::Groups,
        "members" => Command::Members {
            group: group_arg(words.next(), &usage)?,
        },
        "rename" => Command::Rename {
            group: group_arg(words.next(), &usage)?,
            to: group_arg(words.next(), &usage)?,
        },
        "add" | "kick" | "owner" => {
            let group = group_arg(words.next(), &usage)?;
            let user = user_arg(words.next(), &usage)?;
            match spec.name {
                "add" => Command::Add { group, user },
                "kick" => Command::Kick { group, user },
                _ => Command::Owner { group, user },
            }
        }
        "delete" => Command::Delete {
            group: group_arg(words.next(), &usage)?,
        },
        "unban" => Command::Unban {
            group: group_arg(words.next(), &usage)?,
            user: user_arg(words.next(), &usage)?,
        },
        "mod" | "unmod" => Command::Role {
            group: group_arg(words.next(), &usage)?,
            user: user_arg(words.next(), &usage)?,
            role: if spec.name == "mod" {
                Role::Moderator
            } else {
                Role::Member
            },
        },
        "access" => {
            let group = group_arg(words.next(), &usage)?;
            let access = match choice(words.next(), "who may join", &usage)?.as_str() {
                "open" => Access::Open,
                "invite" => Access::Invite,
                other => return Err(usage(format!("{other:?} is not open or invite"))),
            };
            Command::Settings {
                group,
                access: Some(access),
                posting: None,
            }
        }
        "posting" => {
            let group = group_arg(words.next(), &usage)?;
            let posting = match choice(words.next(), "who may post", &usage)?.as_str() {
                "everyone" => Posting::Everyone,
                "moderators" | "announce" => Posting::Moderators,
                other => return Err(usage(format!("{other:?} is not everyone or moderators"))),
            };
            Command::Settings {
                group,
                access: None,
                posting: Some(posting),
            }
        }
        "pin" | "unpin" => Command::Pin {
            group: group_arg(words.next(), &usage)?,
            seq: seq_arg(words.next().unwrap_or(""), &usage)?,
            pin: spec.name == "pin",
        },
        "pins" => Command::Pins {
            group: words
                .next()
                .map(|w| group_arg(Some(w), &usage))
                .transpose()?,
        },
        "search" => search::parse(args, &usage)?,
        "sendfile" => {
            let (to, path) = split_word(args);
            if to.is_empty() {
                return Err(usage("say who to send to".into()));
            }
            let to = to.parse().map_err(|e| usage(format!("{e}")))?;
            let path = path.trim();
            Command::SendFile {
                to,
                path: (!path.is_empty()).then(|| PathBuf::from(path)),
            }
        }
        "files" => Command::Files,
        "accept" => {
            let (offer, dir) = split_word(args);
            let dir = dir.trim();
            Command::Accept {
                offer: offer_arg(offer, &usage)?,
                dir: (!dir.is_empty()).then(|| PathBuf::from(dir)),
            }
        }
        "decline" => Command::Decline {
            offer: offer_arg(words.next().unwrap_or(""), &usage)?,
        },
        "cancel" => Command::Cancel {
            offer: offer_arg(words.next().unwrap_or(""), &usage)?,
        },
        "mute" => Command::Mute,
        "help" => Command::Help,
        "quit" => Command::Quit,
        _ => return Err(CommandError::Unknown(name)),
    };
    let free_text = matches!(
        spec.name,
        "msg"
            | "reply"
            | "edit"
            | "unsend"
            | "react"
            | "unreact"
            | "search"
            | "sendfile"
            | "accept"
    );
    if !free_text && words.next().is_some() {
        return Err(usage("too many arguments".into()));
    }
    Ok(command)
}

/// The conversation and message number that `/reply`, `/edit`, `/unsend`,
/// `/react` and `/unreact` start with, and the rest of the line exactly as typed.
fn about_message<'a>(
    args: &'a str,
    usage: &impl Fn(String) -> CommandError,
) -> Result<(Conv, u64, &'a str), CommandError> {
    let (to, rest) = split_word(args);
    if to.is_empty() {
        return Err(usage("say which conversation".into()));
    }
    let to = to.parse().map_err(|e| usage(format!("{e}")))?;
    let (seq, rest) = split_word(rest);
    Ok((to, seq_arg(seq, usage)?, rest))
}

/// A message's number (seq) in its conversation.
fn seq_arg(word: &str, usage: &impl Fn(String) -> CommandError) -> Result<u64, CommandError> {
    if word.is_empty() {
        return Err(usage(
            "say which message: its number (seq) in the conversation".into(),
        ));
    }
    word.parse::<u64>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| usage(format!("{word:?} is not a message number (seq)")))
}

/// A reaction: one emoji or short word, as the server takes it (at most
/// [`REACTION_BYTES`] bytes, no spaces).
fn reaction_arg(
    rest: &str,
    usage: &impl Fn(String) -> CommandError,
) -> Result<String, CommandError> {
    let emoji = rest.trim();
    if emoji.is_empty() {
        return Err(usage("say which reaction, such as 👍".into()));
    }
    if emoji.contains(char::is_whitespace) {
        return Err(usage(
            "a reaction is one emoji or a short word, without spaces".into(),
        ));
    }
    if emoji.len() > REACTION_BYTES {
        return Err(usage(format!(
            "a reaction is at most {REACTION_BYTES} bytes; this one is {}",
            emoji.len()
        )));
    }
    Ok(emoji.to_owned())
}

/// `/create <group> [user…]` with its options anywhere after the group.
fn create<'a>(
    words: &mut impl Iterator<Item = &'a str>,
    usage: &impl Fn(String) -> CommandError,
) -> Result<Command, CommandError> {
    let group = match words.next() {
        Some(w) if w.starts_with("--") => {
            return Err(usage(format!("say which group before {w}")));
        }
        w => group_arg(w, usage)?,
    };
    let (mut members, mut access, mut posting) = (Vec::new(), None, None);
    for word in words {
        let wants = match word {
            "--open" => Access::Open,
            "--invite" => Access::Invite,
            "--announce" => {
                posting = Some(Posting::Moderators);
                continue;
            }
            _ if word.starts_with("--") => {
                let known = CREATE_FLAGS.join(", ");
                return Err(usage(format!(
                    "{word} is not an option (those are {known})"
                )));
            }
            _ => {
                members.push(user_arg(Some(word), usage)?);
                continue;
            }
        };
        if access.is_some_and(|a| a != wants) {
            return Err(usage("--open and --invite contradict each other".into()));
        }
        access = Some(wants);
    }
    Ok(Command::Create {
        group,
        members,
        access,
        posting,
    })
}

/// One of a command's words, lowercased; `what` says what it chooses.
fn choice(
    word: Option<&str>,
    what: &str,
    usage: &impl Fn(String) -> CommandError,
) -> Result<String, CommandError> {
    word.map(str::to_ascii_lowercase)
        .ok_or_else(|| usage(format!("say {what}")))
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

fn offer_arg(word: &str, usage: &impl Fn(String) -> CommandError) -> Result<OfferId, CommandError> {
    if word.is_empty() {
        return Err(usage(
            "say which offer (its id is in the offer and in /files)".into(),
        ));
    }
    word.parse()
        .map_err(|_| usage(format!("{word:?} is not an offer id")))
}

/// A group's name, with or without its `#`.
fn group_arg(
    word: Option<&str>,
    usage: &impl Fn(String) -> CommandError,
) -> Result<GroupName, CommandError> {
    let word = word.ok_or_else(|| usage("say which group".into()))?;
    word.strip_prefix('#')
        .unwrap_or(word)
        .parse()
        .map_err(|e| usage(format!("{e}")))
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
        let offer = OfferId::new();
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
            (
                "/create cs101".into(),
                Command::Create {
                    group: "cs101".parse().unwrap(),
                    members: Vec::new(),
                    access: None,
                    posting: None,
                },
            ),
            (
                "/create #cs101 bob @carol".into(),
                Command::Create {
                    group: "cs101".parse().unwrap(),
                    members: vec!["bob".parse().unwrap(), "carol".parse().unwrap()],
                    access: None,
                    posting: None,
                },
            ),
            (
                "/join #cs101".into(),
                Command::Join {
                    group: "cs101".parse().unwrap(),
                },
            ),
            (
                "/leave cs101".into(),
                Command::Leave {
                    group: "cs101".parse().unwrap(),
                },
            ),
            ("/groups".into(), Command::Groups),
            (
                "/members #cs101".into(),
                Command::Members {
                    group: "cs101".parse().unwrap(),
                },
            ),
            (
                "/rename cs101 cs102".into(),
                Command::Rename {
                    group: "cs101".parse().unwrap(),
                    to: "cs102".parse().unwrap(),
                },
            ),
            (
                "/add cs101 bob".into(),
                Command::Add {
                    group: "cs101".parse().unwrap(),
                    user: "bob".parse().unwrap(),
                },
            ),
            (
                "/kick #cs101 bob".into(),
                Command::Kick {
                    group: "cs101".parse().unwrap(),
                    user: "bob".parse().unwrap(),
                },
            ),
            (
                "/owner cs101 bob".into(),
                Command::Owner {
                    group: "cs101".parse().unwrap(),
                    user: "bob".parse().unwrap(),
                },
            ),
            (
                "/delete cs101".into(),
                Command::Delete {
                    group: "cs101".parse().unwrap(),
                },
            ),
            (
                "/unban #cs101 @bob".into(),
                Command::Unban {
                    group: "cs101".parse().unwrap(),
                    user: "bob".parse().unwrap(),
                },
            ),
            (
                "/mod cs101 bob".into(),
                Command::Role {
                    group: "cs101".parse().unwrap(),
                    user: "bob".parse().unwrap(),
                    role: Role::Moderator,
                },
            ),
            (
                "/unmod cs101 bob".into(),
                Command::Role {
                    group: "cs101".parse().unwrap(),
                    user: "bob".parse().unwrap(),
                    role: Role::Member,
                },
            ),
            (
                "/access #cs101 invite".into(),
                Command::Settings {
                    group: "cs101".parse().unwrap(),
                    access: Some(Access::Invite),
                    posting: None,
                },
            ),
            (
                "/access cs101 Open".into(),
                Command::Settings {
                    group: "cs101".parse().unwrap(),
                    access: Some(Access::Open),
                    posting: None,
                },
            ),
            (
                "/posting cs101 moderators".into(),
                Command::Settings {
                    group: "cs101".parse().unwrap(),
                    access: None,
                    posting: Some(Posting::Moderators),
                },
            ),
            (
                "/posting cs101 everyone".into(),
                Command::Settings {
                    group: "cs101".parse().unwrap(),
                    access: None,
                    posting: Some(Posting::Everyone),
                },
            ),
            (
                "/search exam fri".into(),
                Command::Search {
                    words: SearchWords::parse("exam fri").unwrap(),
                    conv: None,
                    before: None,
                },
            ),
            ("/files".into(), Command::Files),
            (
                "/sendfile bob /tmp/my notes.pdf".into(),
                Command::SendFile {
                    to: "bob".parse().unwrap(),
                    path: Some("/tmp/my notes.pdf".into()),
                },
            ),
            (
                "/sendfile #g".into(),
                Command::SendFile {
                    to: "#g".parse().unwrap(),
                    path: None,
                },
            ),
            (
                format!("/accept {offer}"),
                Command::Accept { offer, dir: None },
            ),
            (
                format!("/accept {offer} /tmp/in box"),
                Command::Accept {
                    offer,
                    dir: Some("/tmp/in box".into()),
                },
            ),
            (format!("/decline {offer}"), Command::Decline { offer }),
            (format!("/cancel {offer}"), Command::Cancel { offer }),
            ("/HELP".into(), Command::Help),
            ("/quit".into(), Command::Quit),
            ("/passwd".into(), Command::Passwd { change: None }),
            (
                "/passwd old new".into(),
                Command::Passwd {
                    change: Some((Secret("old".into()), Secret("new".into()))),
                },
            ),
        ] {
            assert_eq!(parse(&line).unwrap(), expected, "{line}");
        }
        for spec in COMMANDS {
            assert!(spec.usage.starts_with(&format!("/{}", spec.name)));
        }
    }

    #[test]
    fn announce_is_another_word_for_moderators_only() {
        assert_eq!(
            parse("/posting cs101 announce"),
            parse("/posting cs101 moderators")
        );
    }

    #[test]
    fn create_takes_its_options_anywhere_after_the_group() {
        let create = |line: &str| match parse(line) {
            Ok(Command::Create {
                members,
                access,
                posting,
                ..
            }) => (
                members.iter().map(|u| u.to_string()).collect::<Vec<_>>(),
                access,
                posting,
            ),
            other => panic!("{line}: {other:?}"),
        };
        assert_eq!(
            create("/create cs101 --announce bob --open carol"),
            (
                vec!["bob".into(), "carol".into()],
                Some(Access::Open),
                Some(Posting::Moderators)
            )
        );
        assert_eq!(
            create("/create cs101 bob --invite --invite"),
            (vec!["bob".into()], Some(Access::Invite), None)
        );
        assert_eq!(create("/create cs101"), (vec![], None, None));
        let request = parse("/create cs101 --announce").unwrap().into_intent(7);
        assert_eq!(
            request,
            Intent::Ask(ClientMessage::Create {
                req: Some(7),
                group: "cs101".parse().unwrap(),
                members: Vec::new(),
                access: None,
                posting: Some(Posting::Moderators),
            })
        );
    }

    #[test]
    fn create_refuses_contradicting_unknown_or_misplaced_options() {
        for (line, says) in [
            ("/create cs101 --open --invite", "contradict"),
            ("/create cs101 bob --private", "--private is not an option"),
            ("/create --open cs101", "say which group before --open"),
        ] {
            let err = parse(line).unwrap_err().to_string();
            assert!(err.contains(says), "{line}: {err}");
            assert!(err.contains("usage: /create <group>"), "{line}: {err}");
        }
    }

    #[test]
    fn group_settings_say_which_words_they_take() {
        for (line, says) in [
            ("/access cs101", "say who may join"),
            ("/access cs101 closed", "\"closed\" is not open or invite"),
            ("/posting cs101", "say who may post"),
            (
                "/posting cs101 teachers",
                "\"teachers\" is not everyone or moderators",
            ),
            ("/posting cs101 everyone now", "too many arguments"),
            ("/mod cs101", "say which user"),
            ("/unban", "say which group"),
        ] {
            let err = parse(line).unwrap_err().to_string();
            assert!(err.contains(says), "{line}: {err}");
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
