//! Pipe mode: slash commands in on stdin, one JSON object per event out on stdout.
//!
//! Each input line is one command, parsed exactly as the terminal UI parses it.
//! Every event is printed as it arrives: server messages as the protocol spells
//! them (docs/PROTOCOL.md), plus a few of the client's own, all with a `type`:
//! `connected`, `connection`, `status`, `transfer`, `retrying`, `command_error`,
//! `help`, `fatal`. Characters a terminal would act on or that hide or reorder
//! text (every control, bidi or invisible character as `classchat_common::text`
//! classifies them: DEL, C1 controls, zero-width and tag characters, fillers…)
//! are written as `\u` escapes, so the output is inert on a screen and the same
//! JSON to a program. A `/msg` (or `/reply`, `/edit`) longer than the server
//! announced it takes gets a `command_error` and is not sent; like `/msg`, they
//! and `/unsend`, `/react` and `/unreact` count as answered on `stored` or an
//! `error` with their `id`. Edits, deletions and reactions arrive as `message`
//! lines of their own, with `edit`, `delete`, `react` or `unreact` naming the
//! message they change (a reaction's emoji is its `body`); `/history` prints
//! each message as it stands, with its `reactions`. `/search` prints the
//! server's `search` reply, newest first; its `next` given back with `--before`
//! gets the following page. Like every request, it counts as answered by its
//! reply or an `error` with its `req`; words the server would refuse get a
//! `command_error` and are not sent. A `/sendfile` or `/accept` counts as
//! answered when its transfer ends (uploaded, saved, failed or cancelled). After
//! stdin ends (or `/quit`), pipe mode waits until every command has had its
//! answer, then `--wait` seconds more, then acknowledges what it received, logs
//! out and exits.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::time::Duration;

use classchat_common::protocol::Req;
use classchat_common::text::is_live;
use classchat_common::{ErrorCode, MessageId, OfferId, ServerMessage};
use serde::Serialize;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

use std::path::{Path, PathBuf};

use crate::client::{Action, Client, Event, Link, Progress, Session};
use crate::commands::{self, COMMANDS, Intent, TooLong};
use crate::tracker::Update;

#[derive(Debug, Clone)]
pub struct PipeOptions {
    /// Where accepted files go unless `/accept` names a folder.
    pub download_dir: PathBuf,
    /// How long to keep printing events once every command has been answered.
    pub wait: Duration,
    /// How long to wait for answers after input ends before giving up.
    pub answer_timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum PipeError {
    #[error("{0}")]
    Fatal(String),
    #[error("gave up after {waited:?}: {unanswered} command(s) still unanswered")]
    Unanswered { unanswered: usize, waited: Duration },
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
}

/// The client's own lines, beside the server's.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Local<'a> {
    Connected {
        user: &'a str,
        server: &'a str,
        created: bool,
    },
    Connection {
        state: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        attempt: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_in_ms: Option<u128>,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<&'a str>,
    },
    Status(&'a Update),
    Transfer(&'a Progress),
    Retrying {
        id: MessageId,
        code: ErrorCode,
        retry_in_ms: u64,
    },
    CommandError {
        input: &'a str,
        message: String,
    },
    Help {
        commands: Vec<HelpEntry>,
    },
    Fatal {
        message: &'a str,
    },
}

#[derive(Debug, Serialize)]
struct HelpEntry {
    usage: &'static str,
    summary: &'static str,
}

/// What has been asked and not yet answered.
#[derive(Debug, Default)]
struct Unanswered {
    sends: HashSet<MessageId>,
    requests: HashSet<Req>,
    /// Uploads by their local number, downloads by offer, until they end.
    uploads: HashSet<u64>,
    downloads: HashSet<OfferId>,
    next_req: Req,
}

impl Unanswered {
    fn len(&self) -> usize {
        self.sends.len() + self.requests.len() + self.uploads.len() + self.downloads.len()
    }

    fn transfer(&mut self, progress: &Progress) {
        if !progress.state.is_over() {
            return;
        }
        if let Some(local) = progress.local {
            self.uploads.remove(&local);
        }
        if let (Some(offer), false) = (progress.offer, progress.upload) {
            self.downloads.remove(&offer);
        }
    }

    fn next_req(&mut self) -> Req {
        self.next_req += 1;
        self.next_req
    }

    fn settle(&mut self, msg: &ServerMessage) {
        match msg {
            ServerMessage::Stored { id, .. } | ServerMessage::Error { id: Some(id), .. } => {
                self.sends.remove(id);
            }
            _ => {}
        }
        if let Some(req) = msg.req() {
            self.requests.remove(&req);
        }
    }
}

/// `json` with every character a terminal might act on or hide inside its
/// strings written as a `\u` escape: the same JSON to a program, inert on a
/// screen. serde_json escapes C0 controls itself, but not DEL, C1 controls,
/// bidi or invisible characters; outside strings JSON is plain ASCII, and the
/// line's own newline is kept. U+2028 and U+2029 are escaped too: JavaScript
/// before ES2019 does not take them raw in a string.
fn inert_json(json: &[u8]) -> Cow<'_, [u8]> {
    let escape = |c: char| c != '\n' && (is_live(c) || matches!(c, '\u{2028}' | '\u{2029}'));
    let Ok(text) = std::str::from_utf8(json) else {
        return Cow::Borrowed(json);
    };
    if !text.chars().any(escape) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(text.len() + 32);
    for c in text.chars() {
        if escape(c) {
            // JSON escapes UTF-16 code units: one beyond the Basic Multilingual
            // Plane (a tag character) is a surrogate pair.
            for unit in c.encode_utf16(&mut [0; 2]) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out.into_bytes())
}

struct Printer<W> {
    out: W,
}

impl<W: AsyncWrite + Unpin> Printer<W> {
    async fn line(&mut self, json: &[u8]) -> Result<(), PipeError> {
        let json = inert_json(json);
        self.out.write_all(&json).await.map_err(PipeError::Output)?;
        self.out.flush().await.map_err(PipeError::Output)
    }

    async fn local(&mut self, local: &Local<'_>) -> Result<(), PipeError> {
        let mut json = serde_json::to_vec(local).map_err(|e| PipeError::Output(e.into()))?;
        json.push(b'\n');
        self.line(&json).await
    }
}

/// Runs pipe mode until input ends and everything is answered.
pub async fn run<R, W>(
    client: Client,
    mut events: mpsc::Receiver<Event>,
    session: &Session,
    server: &str,
    input: R,
    output: W,
    options: PipeOptions,
) -> Result<(), PipeError>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut out = Printer { out: output };
    let connected = Local::Connected {
        user: session.user.as_str(),
        server,
        created: session.created,
    };
    out.local(&connected).await?;
    let mut lines = input.lines();
    // As the server announced it at login, and again on every reconnect.
    let mut max_body = session.limits.max_body;
    let mut input_open = true;
    let mut waiting = Unanswered::default();
    let mut input_ended_at: Option<Instant> = None;
    let mut leave_at: Option<Instant> = None;
    loop {
        if !input_open && leave_at.is_none() && waiting.len() == 0 {
            leave_at = Some(Instant::now() + options.wait);
        }
        let give_up_at = input_ended_at.map(|t| t + options.answer_timeout);
        tokio::select! {
            line = lines.next_line(), if input_open => match line {
                Ok(Some(line)) => {
                    let context = Context { download_dir: &options.download_dir, max_body };
                    if !execute(&client, &mut out, &mut waiting, &context, &line).await? {
                        input_open = false;
                        input_ended_at = Some(Instant::now());
                    }
                }
                Ok(None) | Err(_) => {
                    input_open = false;
                    input_ended_at = Some(Instant::now());
                }
            },
            event = events.recv() => {
                let Some(event) = event else {
                    return Err(PipeError::Fatal("the connection task stopped".into()));
                };
                print_event(&mut out, &mut waiting, &event).await?;
                match event {
                    Event::Link(Link::Connected { limits, .. }) => max_body = limits.max_body,
                    Event::Fatal(message) => return Err(PipeError::Fatal(message)),
                    // Nobody here can type another password.
                    Event::Link(Link::NeedsPassword { reason }) => {
                        return Err(PipeError::Fatal(format!("cannot log in again: {reason}")));
                    }
                    _ => {}
                }
            }
            () = sleep_until(leave_at) => break,
            () = sleep_until(give_up_at), if leave_at.is_none() => {
                return Err(PipeError::Unanswered { unanswered: waiting.len(), waited: options.answer_timeout });
            }
        }
    }
    client.quit().await;
    Ok(())
}

/// A refused line as it is printed back: never the passwords of a `/passwd`.
fn shown_input(line: &str) -> &str {
    let command = line.split_whitespace().next().unwrap_or("");
    if command.eq_ignore_ascii_case("/passwd") {
        "/passwd ***"
    } else {
        line
    }
}

/// What a command line is run with, beside the client.
struct Context<'a> {
    /// Where accepted files go unless `/accept` names a folder.
    download_dir: &'a Path,
    /// The longest message body the server takes.
    max_body: usize,
}

/// Runs one input line; `false` means the input is over (`/quit`).
async fn execute<W: AsyncWrite + Unpin>(
    client: &Client,
    out: &mut Printer<W>,
    waiting: &mut Unanswered,
    context: &Context<'_>,
    line: &str,
) -> Result<bool, PipeError> {
    if line.trim().is_empty() {
        return Ok(true);
    }
    let command = match commands::parse(line) {
        Ok(command) => command,
        Err(e) => {
            let local = Local::CommandError {
                input: shown_input(line),
                message: e.to_string(),
            };
            out.local(&local).await?;
            return Ok(true);
        }
    };
    let stopped = |_| PipeError::Fatal("the connection task stopped".into());
    let req = waiting.next_req();
    match command.into_intent(req) {
        Intent::Send { body, .. }
            if let Err(too_long) = TooLong::check(&body, context.max_body) =>
        {
            let local = Local::CommandError {
                input: line,
                message: too_long.to_string(),
            };
            out.local(&local).await?;
        }
        Intent::Send { to, body, target } => {
            let id = client.send_about(to, body, target).await.map_err(stopped)?;
            waiting.sends.insert(id);
        }
        Intent::Ask(request) => {
            waiting.requests.insert(req);
            client.request(request).await.map_err(stopped)?;
        }
        Intent::Help => {
            let commands = COMMANDS
                .iter()
                .map(|s| HelpEntry {
                    usage: s.usage,
                    summary: s.summary,
                })
                .collect();
            out.local(&Local::Help { commands }).await?;
        }
        Intent::Quit => return Ok(false),
        Intent::SendFile {
            to,
            path: Some(path),
        } => {
            let local = client.send_file(to, path).await.map_err(stopped)?;
            waiting.uploads.insert(local);
        }
        Intent::SendFile { path: None, .. } => {
            let local = Local::CommandError {
                input: line,
                message: "say which file: /sendfile <user|#group> <path>".into(),
            };
            out.local(&local).await?;
        }
        Intent::Accept { offer, dir } => {
            let dir = dir.unwrap_or_else(|| context.download_dir.to_path_buf());
            let accept = Action::Accept {
                offer,
                conv: None,
                dir,
            };
            client.act(accept).await.map_err(stopped)?;
            waiting.downloads.insert(offer);
        }
        Intent::Cancel { offer } => {
            let cancel = Action::CancelTransfer {
                local: None,
                offer: Some(offer),
            };
            client.act(cancel).await.map_err(stopped)?;
        }
        Intent::Mute => {
            let local = Local::CommandError {
                input: line,
                message: "/mute only applies to the terminal UI".into(),
            };
            out.local(&local).await?;
        }
        Intent::Pins { .. } => {
            let local = Local::CommandError {
                input: line,
                message: "/pins only applies to the terminal UI; here /groups gives each \
                          group's pinned messages (pinned), and /history shows them"
                    .into(),
            };
            out.local(&local).await?;
        }
        Intent::PasswordForm => {
            let local = Local::CommandError {
                input: line,
                message: "say the current password and the new one: /passwd <old> <new>".into(),
            };
            out.local(&local).await?;
        }
    }
    Ok(true)
}

async fn print_event<W: AsyncWrite + Unpin>(
    out: &mut Printer<W>,
    waiting: &mut Unanswered,
    event: &Event,
) -> Result<(), PipeError> {
    match event {
        Event::Server(msg) => {
            waiting.settle(msg);
            out.line(&msg.to_line()).await
        }
        Event::Status(update) => out.local(&Local::Status(update)).await,
        // Pipe mode keeps nothing between runs, and shows no conversation
        // to fill in: `/history` reads it.
        Event::Unsent(_) | Event::Refreshed { .. } => Ok(()),
        Event::Transfer(progress) => {
            waiting.transfer(progress);
            out.local(&Local::Transfer(progress)).await
        }
        Event::Retrying {
            id,
            code,
            retry_in_ms,
        } => {
            let local = Local::Retrying {
                id: *id,
                code: *code,
                retry_in_ms: *retry_in_ms,
            };
            out.local(&local).await
        }
        Event::Link(Link::Connected { .. }) => {
            let local = Local::Connection {
                state: "connected",
                attempt: None,
                retry_in_ms: None,
                reason: None,
            };
            out.local(&local).await
        }
        Event::Link(Link::Reconnecting {
            attempt,
            retry_in,
            reason,
        }) => {
            let local = Local::Connection {
                state: "reconnecting",
                attempt: Some(*attempt),
                retry_in_ms: Some(retry_in.as_millis()),
                reason: Some(reason),
            };
            out.local(&local).await
        }
        Event::Fatal(message) => out.local(&Local::Fatal { message }).await,
        Event::Link(Link::NeedsPassword { reason }) => {
            let message = format!("cannot log in again: {reason}");
            out.local(&Local::Fatal { message: &message }).await
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
