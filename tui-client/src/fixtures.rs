//! Named constructors for the terminal UI's tests: a fixed clock, fixed people,
//! and demo models built by feeding `update` what a server would send.
//!
//! The demo is alice's view of ClassChat on Saturday 21 November 2026 at 10:30
//! UTC. Everything is built through the real `update` function wherever a
//! server message or a key press can do it, so the fixtures exercise the same
//! code the app runs; nothing reads the real clock or makes random ids that
//! reach the screen.

pub mod files;
pub mod groups;
pub mod pins;
pub mod reactions;
pub mod replies;
pub mod search;
pub mod terminal;

use chrono::FixedOffset;
use classchat_common::limits;
use classchat_common::protocol::{
    Access, ChatMessage, ConvSummary, Counts, GroupEvent, GroupInfo, Limits, MemberInfo, Posting,
    Req, Role,
};
use classchat_common::{
    ClientMessage, Conv, ErrorCode, MessageId, ServerMessage, Timestamp, Username,
};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::client::{Event, Link};
use crate::keymap::Keymap;
use crate::message::{Effect, Msg};
use crate::model::{LoginForm, Look, Model};
use crate::tracker::{Stage, Status, Update};
use crate::{ui, update};

/// Midnight UTC at the start of Saturday 21 November 2026.
const TODAY_MS: i64 = 1_795_219_200_000;
const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// The demo's "now": 2026-11-21 10:30 UTC.
pub fn now() -> Timestamp {
    at(0, 10, 30)
}

/// `hh:mm` UTC, `days_ago` days before the demo's today.
pub fn at(days_ago: i64, hh: i64, mm: i64) -> Timestamp {
    Timestamp::from_millis(TODAY_MS - days_ago * DAY_MS + hh * HOUR_MS + mm * 60_000)
}

/// `hours` before the demo's now.
pub fn hours_ago(hours: i64) -> Timestamp {
    Timestamp::from_millis(now().as_millis() - hours * HOUR_MS)
}

pub fn utc() -> FixedOffset {
    FixedOffset::east_opt(0).expect("UTC is a valid offset")
}

pub fn user(name: &str) -> Username {
    name.parse().expect("a valid user name")
}

pub fn conv(name: &str) -> Conv {
    name.parse().expect("a valid conversation name")
}

/// A message id made from the conversation and sequence number, so the same
/// message always has the same id.
pub fn id_for(conv_name: &str, seq: u64) -> MessageId {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&seq.to_be_bytes());
    for (b, c) in bytes[8..].iter_mut().zip(conv_name.bytes()) {
        *b = c;
    }
    MessageId::from_bytes(bytes)
}

/// A text message as the server delivers it.
pub fn chat(conv_name: &str, seq: u64, from: &str, ts: Timestamp, body: &str) -> ChatMessage {
    ChatMessage::new(
        conv(conv_name),
        seq,
        id_for(conv_name, seq),
        user(from),
        ts,
        body.into(),
    )
}

/// One of alice's own messages as `history` returns it, with its counts.
pub fn mine(conv_name: &str, seq: u64, ts: Timestamp, body: &str, counts: Counts) -> ChatMessage {
    ChatMessage {
        counts: Some(counts),
        ..chat(conv_name, seq, "alice", ts, body)
    }
}

/// A group event, with the body the server writes for it.
pub fn event(conv_name: &str, seq: u64, actor: &str, ts: Timestamp, ev: GroupEvent) -> ChatMessage {
    let Conv::Group(group) = conv(conv_name) else {
        panic!("events happen in groups, not in {conv_name}");
    };
    ChatMessage {
        body: ev.describe(&user(actor), &group),
        event: Some(ev),
        ..chat(conv_name, seq, actor, ts, "")
    }
}

pub fn counts(delivered: u32, read: u32, of: u32) -> Counts {
    Counts {
        delivered,
        read,
        of,
    }
}

pub fn member(name: &str, owner: bool, last_seen: Option<Timestamp>) -> MemberInfo {
    MemberInfo {
        user: user(name),
        owner,
        moderator: false,
        online: last_seen.is_none(),
        last_seen,
        joined: at(1, 9, 0),
    }
}

/// A line of the `conversations` reply.
pub fn summary(conv_name: &str, last_seq: u64, read: u64, unread: u64) -> ConvSummary {
    ConvSummary {
        conv: conv(conv_name),
        last_seq,
        last_ts: (last_seq > 0).then(|| at(0, 8, 0)),
        delivered: last_seq,
        read,
        unread,
        online: None,
        last_seen: None,
        members: None,
        owner: None,
        posting: None,
        role: None,
        pinned: Vec::new(),
    }
}

// ---- feeding `update` -------------------------------------------------------

pub fn key(code: KeyCode, modifiers: KeyModifiers) -> Msg {
    Msg::Key(KeyEvent::new(code, modifiers))
}

pub fn plain(code: KeyCode) -> Msg {
    key(code, KeyModifiers::NONE)
}

pub fn ctrl(c: char) -> Msg {
    key(KeyCode::Char(c), KeyModifiers::CONTROL)
}

pub fn alt(code: KeyCode) -> Msg {
    key(code, KeyModifiers::ALT)
}

/// The connection task asking for the password again, saying why.
pub fn needs_password(reason: &str) -> Msg {
    Msg::Net(Event::Link(Link::NeedsPassword {
        reason: reason.into(),
    }))
}

pub fn press(model: &mut Model, msg: Msg) -> Vec<Effect> {
    update::update(model, msg)
}

/// Types `text` one key at a time, as a person would.
pub fn type_text(model: &mut Model, text: &str) -> Vec<Effect> {
    text.chars()
        .flat_map(|c| update::update(model, plain(KeyCode::Char(c))))
        .collect()
}

/// `text` as a terminal without bracketed paste delivers it: one burst of keys.
pub fn burst(text: &str) -> Msg {
    Msg::Typed(
        text.chars()
            .map(|c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
            .collect(),
    )
}

pub fn server(model: &mut Model, msg: ServerMessage) -> Vec<Effect> {
    update::update(model, Msg::Net(Event::Server(msg)))
}

pub fn status(
    model: &mut Model,
    conv_name: &str,
    id: MessageId,
    seq: u64,
    s: Status,
) -> Vec<Effect> {
    update::update(
        model,
        Msg::Net(Event::Status(Update {
            id,
            conv: conv(conv_name),
            seq,
            status: s,
        })),
    )
}

pub fn stage(stage: Stage, c: Counts) -> Status {
    Status {
        stage,
        delivered: c.delivered,
        read: c.read,
        of: c.of,
    }
}

/// The `req` of the first request in `fx` that `pick` accepts.
pub fn req_of(fx: &[Effect], pick: impl Fn(&ClientMessage) -> bool) -> Option<Req> {
    fx.iter().find_map(|e| match e {
        Effect::Ask(m) if pick(m) => m.req(),
        _ => None,
    })
}

/// The id of the message `fx` asks to send.
pub fn sent_id(fx: &[Effect]) -> MessageId {
    fx.iter()
        .find_map(|e| match e {
            Effect::Send { id, .. } => Some(*id),
            _ => None,
        })
        .expect("a message was sent")
}

/// Answers the newest-page `history` request in `fx` with `messages`.
pub fn answer_history(
    model: &mut Model,
    fx: &[Effect],
    messages: Vec<ChatMessage>,
    more: bool,
) -> Vec<Effect> {
    let (req, conv) = fx
        .iter()
        .find_map(|e| match e {
            Effect::Ask(ClientMessage::History { req, conv, .. }) => Some((*req, conv.clone())),
            _ => None,
        })
        .expect("a history request");
    server(
        model,
        ServerMessage::History {
            req,
            conv,
            messages,
            more,
        },
    )
}

/// Types `line` and presses Enter, as a person would; what Enter asked for.
pub fn submit(model: &mut Model, line: &str) -> Vec<Effect> {
    type_text(model, line);
    press(model, plain(KeyCode::Enter))
}

/// Types `text` into the open conversation and presses Enter.
pub fn send_text(model: &mut Model, text: &str) -> MessageId {
    sent_id(&submit(model, text))
}

/// The server refusing the request in `fx` that `pick` accepts.
pub fn refuse_request(
    model: &mut Model,
    fx: &[Effect],
    pick: impl Fn(&ClientMessage) -> bool,
    code: ErrorCode,
    message: &str,
) {
    let req = req_of(fx, pick);
    assert!(req.is_some(), "the request was made: {fx:?}");
    server(model, ServerMessage::error_for(req, code, message));
}

/// Types the command `line`, presses Enter, and has the server refuse the
/// Alice's `/kick cs101 alice` refused: carol owns #cs101. An error too long
/// for a 50-column status line.
pub fn kick_refused(model: &mut Model) {
    command_refused(
        model,
        "/kick cs101 alice",
        ErrorCode::NotOwner,
        "only the owner of #cs101 (carol) can remove members",
    );
}

/// request it made.
pub fn command_refused(model: &mut Model, line: &str, code: ErrorCode, message: &str) {
    let fx = submit(model, line);
    refuse_request(model, &fx, |_| true, code, message);
}

/// The server refusing message `id` to `conv_name`, then the tracker marking
/// it failed, in the order the client task reports them.
pub fn refuse_message(
    model: &mut Model,
    conv_name: &str,
    id: MessageId,
    code: ErrorCode,
    message: &str,
) {
    server(
        model,
        ServerMessage::Error {
            req: None,
            id: Some(id),
            offer: None,
            code,
            message: message.into(),
            retry_after_ms: None,
        },
    );
    status(
        model,
        conv_name,
        id,
        0,
        stage(Stage::Failed, counts(0, 0, 0)),
    );
}

/// Sends `text` to `conv_name` (the open conversation, or the one a `/msg`
/// in `text` opens) and has the server refuse it; the message's id.
pub fn send_refused(
    model: &mut Model,
    conv_name: &str,
    text: &str,
    code: ErrorCode,
    message: &str,
) -> MessageId {
    let id = send_text(model, text);
    refuse_message(model, conv_name, id, code, message);
    id
}

/// Answers the `who` request in `fx` with `online` (in the order given) out
/// of `total`.
pub fn answer_who(
    model: &mut Model,
    fx: &[Effect],
    online: &[impl AsRef<str>],
    total: usize,
) -> Vec<Effect> {
    let req = req_of(fx, |m| matches!(m, ClientMessage::Who { .. }));
    assert!(req.is_some(), "who is online was asked: {fx:?}");
    server(
        model,
        ServerMessage::Who {
            req,
            online: online.iter().map(|n| user(n.as_ref())).collect(),
            total,
        },
    )
}

/// Who is online in a big class: 40 students (`student01` … `student40`),
/// then alice; more than a 20-row terminal shows.
pub fn crowd() -> Vec<String> {
    let mut online: Vec<String> = (1..=40).map(|n| format!("student{n:02}")).collect();
    online.push("alice".into());
    online
}

/// What the demo's server announces: the protocol's defaults.
pub fn default_limits() -> Limits {
    Limits {
        max_frame: limits::MAX_FRAME_BYTES,
        max_body: limits::MAX_BODY_BYTES,
        max_name: limits::MAX_NAME_LEN,
        min_password: limits::MIN_PASSWORD_CHARS,
        history_page: limits::HISTORY_PAGE_MAX,
        rate_per_sec: 30,
        rate_burst: 100,
        ping_secs: limits::PING_SECS,
        max_file: limits::MAX_FILE_BYTES,
        file_chunk: limits::FILE_CHUNK_BYTES,
        file_window: limits::FILE_WINDOW,
    }
}

/// The client task's word that alice is connected (again), to a server that
/// announced `limits`.
pub fn connected(limits: Limits) -> Msg {
    Msg::Net(Event::Link(Link::Connected {
        user: user("alice"),
        limits,
    }))
}

/// Opens the who-is-online list: types `/who`, presses Enter, and answers
/// with `online` out of `total`.
pub fn open_who(model: &mut Model, online: &[impl AsRef<str>], total: usize) {
    let fx = submit(model, "/who");
    answer_who(model, &fx, online, total);
}

/// Numbered words (`w0001 w0002 …`), as many as fit in `bytes` bytes, so that
/// a screen shows which part of the text it holds.
pub fn numbered(bytes: usize) -> String {
    let mut text = String::new();
    for n in 1.. {
        let word = format!("w{n:04}");
        if text.len() + 1 + word.len() > bytes {
            break;
        }
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&word);
    }
    text
}

/// A line of the `/groups` reply, for a group made twenty days ago that
/// anyone may join and post in; alice's role follows from `owner` and `member`.
pub fn group_info(name: &str, owner: &str, members: u32, member: bool) -> GroupInfo {
    let role = match (member, owner == "alice") {
        (false, _) => None,
        (true, true) => Some(Role::Owner),
        (true, false) => Some(Role::Member),
    };
    GroupInfo {
        group: name.parse().expect("a valid group name"),
        owner: user(owner),
        members,
        member,
        created: at(20, 12, 0),
        access: Access::Open,
        posting: Posting::Everyone,
        role,
        banned: false,
        pinned: Vec::new(),
    }
}

/// Three groups: #cs101 (alice is in it), #lab-b, and one with a long name.
pub fn three_groups() -> Vec<GroupInfo> {
    vec![
        group_info("cs101", "carol", 3, true),
        group_info("lab-b", "dave", 1, false),
        group_info("networking-study-group", "erin", 12, false),
    ]
}

/// Opens the groups popup: types `/groups`, presses Enter, and answers with
/// `groups`.
pub fn open_groups(model: &mut Model, groups: Vec<GroupInfo>) {
    let fx = submit(model, "/groups");
    let req = req_of(&fx, |m| matches!(m, ClientMessage::Groups { .. }));
    assert!(req.is_some(), "the groups were asked for: {fx:?}");
    let total = groups.len();
    server(model, ServerMessage::Groups { req, groups, total });
}

// ---- models -----------------------------------------------------------------

/// A blank model in which alice has just logged in (nothing from the server yet).
pub fn alice_just_logged_in(w: u16, h: u16) -> Model {
    let mut model = blank_model(w, h);
    press(
        &mut model,
        Msg::LoggedIn {
            user: user("alice"),
            server: "localhost:12345".into(),
        },
    );
    model
}

/// A model of the given size, before anyone logged in.
pub fn blank_model(w: u16, h: u16) -> Model {
    let mut model = Model::new(
        "localhost:12345".into(),
        now(),
        utc(),
        Look {
            ascii: false,
            color: true,
        },
        Keymap::default(),
    );
    model.size = (w, h);
    model
}

/// The login form, as the client starts without a saved login.
pub fn login_model(w: u16, h: u16) -> Model {
    let mut model = blank_model(w, h);
    model.login = Some(LoginForm::new("localhost:12345", ""));
    model
}

/// alice logged in and connected, with no conversations yet.
pub fn connected_model(w: u16, h: u16) -> Model {
    let mut model = blank_model(w, h);
    press(
        &mut model,
        Msg::LoggedIn {
            user: user("alice"),
            server: "localhost:12345".into(),
        },
    );
    let fx = update::update(&mut model, connected(default_limits()));
    server(&mut model, ServerMessage::Synced { messages: 0 });
    answer_who(&mut model, &fx, &["alice", "bob", "frank"], 3);
    model
}

/// alice's screen in the middle of a morning: #cs101 open with a day separator,
/// an event line, people talking (one long line of CJK and emoji), alice's own
/// messages in every state and a `── 2 new ──` line; bob (online, 2 unread),
/// carol (last seen 2h ago), dave (3 unread, one mentions alice) and erin (120
/// unread) in the list.
pub fn demo_model(w: u16, h: u16) -> Model {
    let mut model = connected_model(w, h);
    let fx = server(
        &mut model,
        ServerMessage::Conversations {
            req: None,
            conversations: vec![
                ConvSummary {
                    members: Some(3),
                    owner: Some(user("carol")),
                    ..summary("#cs101", 8, 6, 2)
                },
                ConvSummary {
                    online: Some(true),
                    ..summary("bob", 0, 0, 0)
                },
                ConvSummary {
                    online: Some(false),
                    last_seen: Some(hours_ago(2)),
                    ..summary("carol", 2, 2, 0)
                },
                ConvSummary {
                    online: Some(false),
                    last_seen: Some(hours_ago(26)),
                    ..summary("dave", 0, 0, 0)
                },
                ConvSummary {
                    online: Some(false),
                    last_seen: Some(hours_ago(72)),
                    ..summary("erin", 120, 0, 120)
                },
            ],
            total: 5,
        },
    );
    answer_history(&mut model, &fx, cs101_history(), false);
    let req = req_of(&fx, |m| matches!(m, ClientMessage::Members { .. }));
    server(
        &mut model,
        ServerMessage::Members {
            req,
            group: "cs101".parse().expect("a valid group name"),
            owner: user("carol"),
            members: cs101_roster(),
            total: 3,
            banned: Vec::new(),
        },
    );

    // Elsewhere, while #cs101 is open.
    for (seq, body) in [
        (1, "did you finish the lab?"),
        (2, "I'm stuck on question 3"),
    ] {
        server(
            &mut model,
            ServerMessage::Message(chat("bob", seq, "bob", at(0, 10, 24 + seq as i64), body)),
        );
    }
    for (seq, body) in [
        (1, "alice, are you coming to the study group?"),
        (2, "we start at 11"),
        (3, "room B12 again"),
    ] {
        server(
            &mut model,
            ServerMessage::Message(chat("dave", seq, "dave", at(0, 10, 25 + seq as i64), body)),
        );
    }

    // alice answers in #cs101: one stored, one refused, one still on its way.
    let stored = send_text(&mut model, "Sure, uploading them now");
    server(
        &mut model,
        ServerMessage::Stored {
            id: stored,
            conv: conv("#cs101"),
            seq: 9,
            ts: now(),
            of: 2,
            online: 1,
            last_seen: None,
            duplicate: false,
        },
    );
    status(
        &mut model,
        "#cs101",
        stored,
        9,
        stage(Stage::Stored, counts(0, 0, 2)),
    );
    send_refused(
        &mut model,
        "#cs101",
        "slides: file:///home/alice/week7.pdf",
        ErrorCode::BadBody,
        "links to local files are not allowed",
    );
    send_text(&mut model, "one sec, the wifi is slow");
    // Esc puts the refusal notice away.
    press(&mut model, plain(KeyCode::Esc));
    model
}

/// #cs101's newest page: yesterday's start of the group and today's talk.
pub fn cs101_history() -> Vec<ChatMessage> {
    let g = "#cs101";
    vec![
        event(g, 1, "carol", at(1, 9, 0), GroupEvent::Created),
        event(g, 2, "alice", at(1, 9, 5), GroupEvent::Joined),
        chat(
            g,
            3,
            "carol",
            at(1, 16, 40),
            "Welcome to CS101! Labs are on Thursdays in room B12.",
        ),
        mine(
            g,
            4,
            at(1, 16, 42),
            "Thanks! Is it the same room as last term?",
            counts(2, 2, 2),
        ),
        chat(
            g,
            5,
            "bob",
            at(0, 8, 10),
            "Notes from the lecture: the TCP 三次握手 (three-way handshake) is SYN → SYN-ACK → ACK 🤝, and 漢字 or emoji 🎉 take two columns each, so wrapping has to count them right.",
        ),
        mine(g, 6, at(0, 8, 15), "Got it, thanks bob", counts(1, 0, 2)),
        chat(
            g,
            7,
            "carol",
            at(0, 8, 20),
            "Reminder: assignment 2 is due Friday at noon.",
        ),
        chat(
            g,
            8,
            "bob",
            at(0, 10, 12),
            "@alice can you share the slides from Thursday?",
        ),
    ]
}

pub fn cs101_roster() -> Vec<MemberInfo> {
    vec![
        member("alice", false, None),
        member("bob", false, None),
        member("carol", true, Some(hours_ago(2))),
    ]
}

/// #lab's twelve members: alice (its owner) and eleven students.
pub fn lab_roster() -> Vec<MemberInfo> {
    let mut roster = vec![member("alice", true, None)];
    roster.extend((1..=11).map(|n| member(&format!("student{n:02}"), false, None)));
    roster
}

/// The demo with #lab too, which alice owns, and its member list open
/// (`/members lab` answered).
pub fn lab_members_open(w: u16, h: u16) -> Model {
    let mut model = demo_model(w, h);
    server(
        &mut model,
        ServerMessage::Conversations {
            req: None,
            conversations: vec![ConvSummary {
                members: Some(12),
                owner: Some(user("alice")),
                ..summary("#lab", 0, 0, 0)
            }],
            total: 6,
        },
    );
    let fx = submit(&mut model, "/members lab");
    let req = req_of(&fx, |m| matches!(m, ClientMessage::Members { .. }));
    server(
        &mut model,
        ServerMessage::Members {
            req,
            group: "lab".parse().expect("a valid group name"),
            owner: user("alice"),
            members: lab_roster(),
            total: 12,
            banned: Vec::new(),
        },
    );
    model
}

/// Draws `model` into a test terminal of the model's size.
pub fn draw(model: &Model) -> Terminal<TestBackend> {
    let (w, h) = model.size;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("a test terminal");
    terminal
        .draw(|frame| ui::view(model, frame))
        .expect("drawing into memory cannot fail");
    terminal
}

/// The screen as text, one line per row, for assertions. A wide character's
/// second cell is left out, as the terminal would show it.
pub fn screen(model: &Model) -> String {
    terminal::rows(draw(model).backend().buffer()).join("\n")
}

/// The row of `shown` (a [`screen`]) that holds `part`.
pub fn row_of(shown: &str, part: &str) -> String {
    shown
        .lines()
        .find(|l| l.contains(part))
        .unwrap_or_else(|| panic!("{part:?} is on screen:\n{shown}"))
        .to_owned()
}

/// What a hostile peer or server might send, to show inert: ANSI CSI (clear
/// screen), OSC title and OSC 52 clipboard writes, C0 controls (CR, BS, BEL),
/// DEL and a C1 CSI, a bidi override and a zero-width space.
pub const HOSTILE: &str = "pwn\x1b[2J\x1b]0;owned\x07\x1b]52;c;Y3VybCBldmlsLnNo\x07 \r\x08\x7f\u{9b}31m \u{202E}gnp.exe\u{200B}!";

/// Whether a terminal would act on `c` or it may hide or reorder text: a
/// control, bidi control or invisible character (`classchat_common::text`).
pub fn live(c: char) -> bool {
    classchat_common::text::is_live(c)
}

/// The cells of the drawn screen holding anything [`live`]; none, on a safe screen.
pub fn live_cells(model: &Model) -> Vec<String> {
    draw(model)
        .backend()
        .buffer()
        .content
        .iter()
        .map(|c| c.symbol())
        .filter(|s| s.chars().any(live))
        .map(|s| format!("{s:?}"))
        .collect()
}
