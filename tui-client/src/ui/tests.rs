//! Every screen and popup, rendered into a `TestBackend` from the demo model
//! (fixed clock, fixed people) and compared with the snapshots in `snapshots/`.
//! A few facts no snapshot shows (styles, hidden characters) are asserted too.

use std::time::Duration;

use classchat_common::protocol::{ChatMessage, GroupEvent, MemberState};
use classchat_common::{ClientMessage, ErrorCode, GroupName, ServerMessage, Timestamp};
use crossterm::event::{KeyCode, KeyModifiers};
use ratatui::style::Color;

use crate::client::{Event, Link};
use crate::fixtures::*;
use crate::keymap::Keymap;
use crate::message::{Effect, Msg};
use crate::model::Model;

fn group(name: &str) -> GroupName {
    name.parse().expect("a valid group name")
}

/// Opens conversation `n` (as `Alt+n` does) and answers its history request.
fn open(model: &mut Model, n: char, messages: Vec<ChatMessage>) {
    let fx = press(model, alt(KeyCode::Char(n)));
    answer_history(model, &fx, messages, false);
}

fn bob_history() -> Vec<ChatMessage> {
    vec![
        chat("bob", 1, "bob", at(0, 10, 25), "did you finish the lab?"),
        chat("bob", 2, "bob", at(0, 10, 26), "I'm stuck on question 3"),
    ]
}

// ---- the main screen --------------------------------------------------------

#[test]
fn a_narrow_terminal_hides_the_conversation_list_and_keeps_the_conversation_whole() {
    snapshot!(demo_model(60, 20));
}

#[test]
fn the_main_screen_lists_conversations_with_presence_unread_counts_and_mentions() {
    snapshot!(demo_model(90, 30));
}

#[test]
fn a_tall_terminal_shows_the_conversation_from_its_beginning() {
    snapshot!(demo_model(120, 40));
}

#[test]
fn a_direct_conversation_with_someone_online_says_so_in_its_title() {
    let mut model = demo_model(90, 30);
    open(&mut model, '2', bob_history());
    type_text(&mut model, "yes, I'll help in a minute");
    snapshot!(model);
}

#[test]
fn a_direct_conversation_with_someone_offline_says_when_they_were_last_seen() {
    let mut model = demo_model(90, 30);
    open(
        &mut model,
        '3',
        vec![
            chat(
                "carol",
                1,
                "carol",
                at(3, 14, 0),
                "Office hours moved to Wednesday.",
            ),
            mine("carol", 2, at(3, 14, 5), "Thank you!", counts(1, 1, 1)),
        ],
    );
    snapshot!(model);
}

#[test]
fn a_conversation_says_it_is_loading_until_its_history_arrives() {
    let mut model = demo_model(90, 30);
    press(&mut model, alt(KeyCode::Char('3')));
    snapshot!(model);
}

#[test]
fn an_empty_conversation_invites_you_to_say_hello() {
    let mut model = demo_model(90, 30);
    press(&mut model, ctrl('k'));
    type_text(&mut model, "frank");
    let fx = press(&mut model, plain(KeyCode::Enter));
    let req = req_of(&fx, |m| matches!(m, ClientMessage::Whois { .. }));
    answer_history(&mut model, &fx, Vec::new(), false);
    server(
        &mut model,
        ServerMessage::User {
            req,
            user: user("frank"),
            online: true,
            last_seen: None,
            since: at(30, 0, 0),
        },
    );
    snapshot!(model);
}

#[test]
fn with_no_conversation_open_a_welcome_says_how_to_start() {
    let mut model = connected_model(90, 30);
    server(
        &mut model,
        ServerMessage::Conversations {
            req: None,
            conversations: Vec::new(),
            total: 0,
        },
    );
    snapshot!(model);
}

#[test]
fn scrolling_to_the_top_shows_that_older_messages_are_loading() {
    let mut model = demo_model(90, 30);
    // The newest page of erin's 120 messages, with more before it.
    let page: Vec<_> = (71..=120)
        .map(|seq| {
            chat(
                "erin",
                seq,
                "erin",
                at(0, 8, seq as i64 - 70),
                &format!("lab note {seq}"),
            )
        })
        .collect();
    let fx = press(&mut model, alt(KeyCode::Char('5')));
    answer_history(&mut model, &fx, page, true);
    for _ in 0..3 {
        press(&mut model, plain(KeyCode::PageUp));
    }
    snapshot!(model);
}

#[test]
fn a_multi_line_draft_grows_the_input_bar() {
    let mut model = demo_model(90, 30);
    type_text(&mut model, "Three things for Thursday:");
    for line in ["1. the slides", "2. the lab sheet", "3. questions"] {
        press(&mut model, alt(KeyCode::Enter));
        type_text(&mut model, line);
    }
    snapshot!(model);
}

#[test]
fn selecting_a_message_highlights_it_and_the_input_hint_says_what_keys_do() {
    let mut model = demo_model(90, 30);
    press(&mut model, alt(KeyCode::Up));
    press(&mut model, plain(KeyCode::Up));
    press(&mut model, plain(KeyCode::Up));
    // The highlight is a style, which the snapshot does not show.
    let terminal = draw(&model);
    let buffer = terminal.backend().buffer();
    let pane = crate::layout::model_areas(&model).message_lines();
    let highlighted: Vec<u16> = (pane.top()..pane.bottom())
        .filter(|&y| buffer[(40, y)].bg == Color::Blue)
        .collect();
    let row = screen(&model)
        .lines()
        .position(|l| l.contains("Sure, uploading them now"))
        .expect("the message is on screen");
    assert_eq!(
        highlighted,
        [row as u16],
        "only that message is highlighted"
    );
    snapshot!(model);
}

// ---- the status line --------------------------------------------------------

#[test]
fn while_reconnecting_the_status_line_counts_down_to_the_next_attempt() {
    let mut model = demo_model(90, 30);
    press(
        &mut model,
        Msg::Net(Event::Link(Link::Reconnecting {
            attempt: 3,
            retry_in: Duration::from_secs(8),
            reason: "connection reset by peer".into(),
        })),
    );
    assert!(
        screen(&model).contains("◌ reconnecting in 8s (attempt 3)"),
        "{}",
        screen(&model)
    );
    press(
        &mut model,
        Msg::Tick(Timestamp::from_millis(now().as_millis() + 3_000)),
    );
    snapshot!(model);
}

#[test]
fn a_client_that_gave_up_says_disconnected_and_why() {
    let mut model = demo_model(90, 30);
    press(
        &mut model,
        Msg::Net(Event::Fatal(
            "the password for alice was changed; log in again".into(),
        )),
    );
    snapshot!(model);
}

#[test]
fn a_failed_command_shows_the_error_and_gives_the_text_back() {
    let mut model = demo_model(90, 30);
    type_text(&mut model, "/join cs999");
    let fx = press(&mut model, plain(KeyCode::Enter));
    let req = req_of(&fx, |m| matches!(m, ClientMessage::Join { .. }));
    server(
        &mut model,
        ServerMessage::Error {
            req,
            id: None,
            offer: None,
            code: ErrorCode::UnknownGroup,
            message: "no group #cs999; /groups lists them".into(),
            retry_after_ms: None,
        },
    );
    snapshot!(model);
}

#[test]
fn typing_without_an_open_conversation_explains_what_to_do() {
    let mut model = connected_model(60, 20);
    type_text(&mut model, "hello?");
    press(&mut model, plain(KeyCode::Enter));
    snapshot!(model);
}

// ---- the login form ---------------------------------------------------------

#[test]
fn the_login_form_starts_on_the_name_with_the_server_filled_in() {
    snapshot!(login_model(80, 24));
}

#[test]
fn the_login_form_shows_why_the_last_attempt_failed() {
    let mut model = login_model(80, 24);
    type_text(&mut model, "alice");
    press(&mut model, plain(KeyCode::Enter));
    type_text(&mut model, "hunter2");
    press(&mut model, plain(KeyCode::Enter));
    press(
        &mut model,
        Msg::LoginFailed("cannot log in as alice at localhost:12345: wrong password".into()),
    );
    snapshot!(model);
}

#[test]
fn after_a_password_reset_the_form_asks_for_the_password_again() {
    let mut model = demo_model(90, 30);
    press(&mut model, needs_password("wrong password for alice"));
    snapshot!(model);
}

#[test]
fn the_password_form_shows_three_masked_fields_and_why_a_try_failed() {
    let mut model = demo_model(90, 30);
    type_text(&mut model, "/passwd");
    press(&mut model, plain(KeyCode::Enter));
    type_text(&mut model, "secret");
    press(&mut model, plain(KeyCode::Enter));
    type_text(&mut model, "longer secret");
    press(&mut model, plain(KeyCode::Enter));
    type_text(&mut model, "longer secrte");
    press(&mut model, plain(KeyCode::Enter));
    let shown = screen(&model);
    assert!(
        !shown.contains("secret"),
        "nothing typed is shown:\n{shown}"
    );
    snapshot!(model);
}

/// What the client says when a pinned server shows another certificate.
fn changed_certificate() -> Msg {
    let e = crate::connection::ConnectError::CertificateChanged {
        server: "chat.example.org:12346".into(),
        pinned: classchat_common::tls::fingerprint(b"the certificate pinned"),
        presented: classchat_common::tls::fingerprint(b"another certificate"),
        known: "/home/alice/.local/share/classchat/known_servers.json".into(),
    };
    Msg::LoginFailed(format!(
        "cannot log in as alice at chat.example.org:12346: {e}"
    ))
}

#[test]
fn a_changed_certificate_shows_both_fingerprints_and_how_to_accept_it() {
    let mut model = login_model(120, 30);
    type_text(&mut model, "alice");
    press(&mut model, plain(KeyCode::Enter));
    press(&mut model, changed_certificate());
    let shown = screen(&model);
    for needle in [
        classchat_common::tls::fingerprint(b"the certificate pinned"),
        classchat_common::tls::fingerprint(b"another certificate"),
        "--trust-new-certificate".to_owned(),
    ] {
        assert!(shown.contains(&needle), "{needle} is shown:\n{shown}");
    }
    snapshot!(model);
}

#[test]
fn a_changed_certificate_still_shows_its_fingerprints_on_a_small_terminal() {
    let mut model = login_model(80, 24);
    type_text(&mut model, "alice");
    press(&mut model, plain(KeyCode::Enter));
    press(&mut model, changed_certificate());
    snapshot!(model);
}

#[test]
fn the_login_form_says_connecting_while_it_tries() {
    let mut model = login_model(80, 24);
    type_text(&mut model, "alice");
    press(&mut model, plain(KeyCode::Enter));
    type_text(&mut model, "hunter2");
    press(&mut model, plain(KeyCode::Enter));
    let shown = screen(&model);
    assert!(
        !shown.contains("hunter2"),
        "the password is masked:\n{shown}"
    );
    snapshot!(model);
}

// ---- popups -----------------------------------------------------------------

#[test]
fn the_help_lists_every_key_from_the_keymap_and_every_command() {
    let mut model = demo_model(120, 40);
    press(&mut model, plain(KeyCode::F(1)));
    snapshot!(model);
}

#[test]
fn the_help_fits_a_small_terminal_and_scrolls() {
    let mut model = demo_model(60, 20);
    press(&mut model, plain(KeyCode::F(1)));
    for _ in 0..12 {
        press(&mut model, plain(KeyCode::Down));
    }
    snapshot!(model);
}

#[test]
fn the_help_follows_a_rebound_key() {
    let overrides = [("switcher".to_owned(), "ctrl-g".to_owned())].into();
    let mut model = demo_model(120, 40);
    model.keymap = Keymap::with_overrides(&overrides).expect("a valid override");
    press(&mut model, plain(KeyCode::F(1)));
    let shown = screen(&model);
    let row = shown
        .lines()
        .find(|l| l.contains("find a person, group or command"))
        .expect("the switcher's help row");
    assert!(row.contains("Ctrl+G") && !row.contains("Ctrl+K"), "{row}");
}

#[test]
fn the_switcher_offers_conversations_people_and_commands() {
    let mut model = demo_model(90, 30);
    press(&mut model, ctrl('k'));
    snapshot!(model);
}

#[test]
fn the_switcher_narrows_the_list_fuzzily_as_you_type() {
    let mut model = demo_model(90, 30);
    press(&mut model, ctrl('k'));
    type_text(&mut model, "ca");
    press(&mut model, plain(KeyCode::Down));
    snapshot!(model);
}

#[test]
fn the_switcher_says_when_nothing_matches() {
    let mut model = demo_model(60, 20);
    press(&mut model, ctrl('k'));
    type_text(&mut model, "zzz");
    snapshot!(model);
}

#[test]
fn the_read_by_popup_shows_who_has_received_and_read_a_message() {
    let mut model = demo_model(90, 30);
    press(&mut model, alt(KeyCode::Up));
    // From the message still sending up to "Got it, thanks bob" (seq 6).
    for _ in 0..5 {
        press(&mut model, plain(KeyCode::Up));
    }
    let fx = press(&mut model, plain(KeyCode::Char('i')));
    let (req, id) = fx
        .iter()
        .find_map(|e| match e {
            Effect::Ask(ClientMessage::ReadBy { req, id }) => Some((*req, *id)),
            _ => None,
        })
        .expect("a read_by request");
    assert_eq!(
        id,
        id_for("#cs101", 6),
        "the selected message is asked about"
    );
    server(
        &mut model,
        ServerMessage::ReadBy {
            req,
            id,
            conv: conv("#cs101"),
            seq: 6,
            counts: counts(1, 0, 2),
            members: vec![
                MemberState {
                    user: user("bob"),
                    delivered: true,
                    read: false,
                },
                MemberState {
                    user: user("carol"),
                    delivered: false,
                    read: false,
                },
            ],
        },
    );
    snapshot!(model);
}

#[test]
fn the_groups_popup_lists_every_group_with_its_owner_and_whether_you_are_in_it() {
    let mut model = demo_model(90, 30);
    open_groups(&mut model, three_groups());
    press(&mut model, plain(KeyCode::Down));
    snapshot!(model);
}

#[test]
fn the_groups_popup_with_no_groups_says_how_to_make_one() {
    let mut model = connected_model(90, 30);
    open_groups(&mut model, Vec::new());
    snapshot!(model);
}

#[test]
fn the_members_popup_shows_presence_and_the_owner() {
    let mut model = demo_model(90, 30);
    type_text(&mut model, "/members cs101");
    let fx = press(&mut model, plain(KeyCode::Enter));
    let req = req_of(&fx, |m| matches!(m, ClientMessage::Members { .. }));
    server(
        &mut model,
        ServerMessage::Members {
            req,
            group: group("cs101"),
            owner: user("carol"),
            members: cs101_roster(),
            total: 3,
            banned: Vec::new(),
        },
    );
    snapshot!(model);
}

// ---- looks ------------------------------------------------------------------

#[test]
fn ascii_markers_replace_every_symbol() {
    let mut model = demo_model(90, 30);
    model.look.ascii = true;
    snapshot!(model);
}

#[test]
fn ascii_markers_in_the_read_by_and_members_popups() {
    let mut model = demo_model(90, 30);
    model.look.ascii = true;
    server(
        &mut model,
        ServerMessage::ReadBy {
            req: None,
            id: id_for("#cs101", 6),
            conv: conv("#cs101"),
            seq: 6,
            counts: counts(2, 1, 3),
            members: vec![
                MemberState {
                    user: user("bob"),
                    delivered: true,
                    read: true,
                },
                MemberState {
                    user: user("carol"),
                    delivered: true,
                    read: false,
                },
                MemberState {
                    user: user("dave"),
                    delivered: false,
                    read: false,
                },
            ],
        },
    );
    snapshot!(model);
}

/// Every cell whose colours are not the terminal's own.
fn coloured_cells(model: &Model) -> Vec<String> {
    let terminal = draw(model);
    let buffer = terminal.backend().buffer();
    buffer
        .content
        .iter()
        .enumerate()
        .filter(|(_, c)| c.fg != Color::Reset || c.bg != Color::Reset)
        .map(|(i, c)| format!("{i}: {:?} fg {:?} bg {:?}", c.symbol(), c.fg, c.bg))
        .collect()
}

#[test]
fn the_mono_theme_shows_the_same_screen_in_the_terminal_s_own_colours() {
    let mut model = demo_model(90, 30);
    model.look.color = false;
    snapshot!(model);
}

#[test]
fn with_colour_off_no_cell_anywhere_is_coloured() {
    // The colour theme does colour things, so the checks below can fail.
    let mut coloured = demo_model(90, 30);
    assert!(!coloured_cells(&coloured).is_empty());
    coloured.look.color = false;
    assert_eq!(
        coloured_cells(&coloured),
        Vec::<String>::new(),
        "main screen"
    );

    // The placeholder of an empty input, a text selection in the draft, the
    // selected message, and each popup.
    type Setup = fn(&mut Model);
    let checks: Vec<(&str, Setup)> = vec![
        ("empty input", |_| {}),
        ("text selection", |m| {
            type_text(m, "draft");
            for _ in 0..3 {
                press(m, key(KeyCode::Left, KeyModifiers::SHIFT));
            }
        }),
        ("selected message", |m| {
            press(m, alt(KeyCode::Up));
        }),
        ("help", |m| {
            press(m, plain(KeyCode::F(1)));
        }),
        ("switcher", |m| {
            press(m, ctrl('k'));
        }),
        ("members", |m| {
            server(
                m,
                ServerMessage::Members {
                    req: None,
                    group: group("cs101"),
                    owner: user("carol"),
                    members: cs101_roster(),
                    total: 3,
                    banned: Vec::new(),
                },
            );
        }),
        ("error notice while reconnecting", |m| {
            press(
                m,
                Msg::Net(Event::Link(Link::Reconnecting {
                    attempt: 1,
                    retry_in: Duration::from_secs(1),
                    reason: "lost".into(),
                })),
            );
            type_text(m, "/nonsense");
            press(m, plain(KeyCode::Enter));
        }),
    ];
    for (what, setup) in checks {
        let mut m = demo_model(90, 30);
        m.look.color = false;
        setup(&mut m);
        assert_eq!(coloured_cells(&m), Vec::<String>::new(), "{what}");
    }
    let mut login = login_model(80, 24);
    login.look.color = false;
    assert_eq!(coloured_cells(&login), Vec::<String>::new(), "login form");
}

// ---- hostile text -----------------------------------------------------------
// BRIEF §6: escape sequences, C0/C1 controls, bidi and zero-width characters in
// any text the client displays are made visible or dropped, never interpreted.
// File names are in `tests_files.rs`.

#[test]
fn hostile_text_is_shown_inert() {
    // Names are validated where they enter, so none can carry any of this:
    // a server line naming such a sender does not even decode.
    assert!("x\x1b[2J".parse::<GroupName>().is_err());
    assert!("x\u{202E}".parse::<GroupName>().is_err());
    assert!(
        "x\x1b]0;t\x07"
            .parse::<classchat_common::Username>()
            .is_err()
    );
    let line = ServerMessage::Message(chat("bob", 1, "bob", now(), "hi")).to_line();
    let line = String::from_utf8(line.to_vec()).unwrap();
    assert!(ServerMessage::decode(line.as_bytes()).is_ok());
    let forged = line.replace(r#""from":"bob""#, r#""from":"b\u001b[2Jb""#);
    assert_ne!(forged, line);
    assert!(ServerMessage::decode(forged.as_bytes()).is_err());

    let mut model = demo_model(90, 30);
    server(
        &mut model,
        ServerMessage::Message(chat("#cs101", 10, "bob", at(0, 10, 29), HOSTILE)),
    );
    // Event lines show the body the server wrote.
    server(
        &mut model,
        ServerMessage::Message(ChatMessage {
            body: format!("bob joined #cs101 {HOSTILE}"),
            ..event("#cs101", 11, "bob", at(0, 10, 29), GroupEvent::Joined)
        }),
    );
    // Text hidden after visible text, in tag characters and fillers.
    let hidden: String = " NO, AT 6 IN ROOM 9"
        .chars()
        .filter_map(|c| char::from_u32(0xE0000 + u32::from(c)))
        .collect();
    server(
        &mut model,
        ServerMessage::Message(chat(
            "#cs101",
            12,
            "bob",
            at(0, 10, 29),
            &format!("meet\u{34F} at\u{3164} 5\u{115F}\u{E0001}{hidden}\u{E007F}"),
        )),
    );
    // A server error shown in the status line, and a paste into the draft
    // (which the text area draws as it is, so nothing invisible goes in).
    server(
        &mut model,
        ServerMessage::error(ErrorCode::BadRequest, format!("bad: {HOSTILE}")),
    );
    press(&mut model, Msg::Paste(format!("pasted {HOSTILE}{hidden}")));
    let draft = model.input().lines().join("\n");
    assert!(
        draft.ends_with("gnp.exe!"),
        "nothing unseen is sent: {draft:?}"
    );

    assert_eq!(live_cells(&model), Vec::<String>::new());
    let shown = screen(&model);
    assert!(shown.contains("␛[2J␛]0;owned␇"), "{shown}");
    let meet = shown.lines().find_map(|l| l.split_once("bob: meet at 5"));
    assert_eq!(
        meet.map(|(_, after)| after.trim_end_matches(['│', ' '])),
        Some(""),
        "{shown}"
    );
    snapshot!(model);
}

#[test]
fn hostile_text_in_the_login_error_is_shown_inert() {
    let mut model = login_model(80, 24);
    press(&mut model, Msg::LoginFailed(format!("refused: {HOSTILE}")));
    assert_eq!(live_cells(&model), Vec::<String>::new());
    assert!(screen(&model).contains("refused: pwn␛[2J"));
}

#[test]
fn hostile_text_in_connection_notices_is_shown_inert() {
    // Why the connection was lost (an error from the network or TLS, which
    // may quote what the other end sent), then why the client gave up.
    let mut model = demo_model(90, 30);
    press(
        &mut model,
        Msg::Net(Event::Link(Link::Reconnecting {
            attempt: 2,
            retry_in: Duration::from_secs(4),
            reason: format!("reset: {HOSTILE}"),
        })),
    );
    assert_eq!(live_cells(&model), Vec::<String>::new());
    press(
        &mut model,
        Msg::Net(Event::Fatal(format!("gave up: {HOSTILE}"))),
    );
    assert_eq!(live_cells(&model), Vec::<String>::new());
    let shown = screen(&model);
    assert!(shown.contains("gave up: pwn␛[2J"), "{shown}");
}
