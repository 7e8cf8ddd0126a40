//! Hostile text (escape sequences, C0/C1 controls, bidi and zero-width
//! characters) through the client's sanitiser, wrapping and truncation, and
//! drawn on a whole screen as a message, a group event and a file offer: never
//! a panic, and nothing a terminal would interpret reaches a cell.
#![no_main]

use chrono::FixedOffset;
use classchat_client::client::{Event, Link};
use classchat_client::keymap::Keymap;
use classchat_client::message::Msg;
use classchat_client::model::{Look, Model};
use classchat_client::{text, ui, update};
use classchat_common::limits;
use classchat_common::protocol::{ChatMessage, FileInfo, GroupEvent, Limits};
use classchat_common::{Conv, MessageId, OfferId, ServerMessage, Timestamp, Username};
use classchat_fuzz::hides_or_reorders;
use libfuzzer_sys::fuzz_target;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use unicode_segmentation::UnicodeSegmentation;

/// What must never reach the screen: controls (newlines aside, for `clean`),
/// and characters that reorder text or hide.
fn inert(s: &str, newlines: bool) -> bool {
    !s.chars()
        .any(|c| (c.is_control() && !(newlines && c == '\n')) || hides_or_reorders(c))
}

fn name(s: &str) -> Username {
    Username::new(s).expect("a valid name")
}

fn message(conv: &str, seq: u64, body: &str) -> ChatMessage {
    ChatMessage::new(
        conv.parse::<Conv>().expect("a valid conversation"),
        seq,
        MessageId::from_bytes([seq as u8; 16]),
        name("bob"),
        Timestamp::from_millis(1_763_720_100_000),
        body.to_owned(),
    )
}

/// Alice's screen after bob sent `body` as a message, a file name and a
/// reason, at `w`×`h`.
fn screen(body: &str, w: u16, h: u16) -> Terminal<TestBackend> {
    let utc = FixedOffset::east_opt(0).expect("UTC");
    let look = Look {
        ascii: w.is_multiple_of(2),
        color: true,
    };
    let now = Timestamp::from_millis(1_763_720_200_000);
    let mut model = Model::new("localhost:12345".into(), now, utc, look, Keymap::default());
    model.size = (w, h);
    let me = name("alice");
    let net = |msg| Msg::Net(Event::Server(msg));
    update::update(
        &mut model,
        Msg::LoggedIn {
            user: me.clone(),
            server: "localhost:12345".into(),
        },
    );
    update::update(
        &mut model,
        Msg::Net(Event::Link(Link::Connected {
            user: me,
            limits: Limits {
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
            },
        })),
    );
    update::update(&mut model, net(ServerMessage::Synced { messages: 0 }));
    update::update(
        &mut model,
        net(ServerMessage::Message(message("bob", 1, body))),
    );
    let offer = ChatMessage {
        file: Some(FileInfo {
            offer: OfferId::from_bytes([7; 16]),
            name: body.to_owned(),
            size: body.len() as u64,
            sha256: body.to_owned(),
            expires: now,
            outcome: None,
        }),
        ..message("bob", 2, body)
    };
    update::update(&mut model, net(ServerMessage::Message(offer)));
    let event = ChatMessage {
        event: Some(GroupEvent::Joined),
        ..message("#g", 1, body)
    };
    update::update(&mut model, net(ServerMessage::Message(event)));
    update::update(&mut model, Msg::Tick(now));
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("a test terminal");
    terminal
        .draw(|frame| ui::view(&model, frame))
        .expect("drawing into memory cannot fail");
    terminal
}

fuzz_target!(|data: &[u8]| {
    let [w, h, rest @ ..] = data else {
        return;
    };
    let Ok(raw) = std::str::from_utf8(rest) else {
        return;
    };
    let max = usize::from(*w % 64);

    let clean = text::clean(raw);
    assert!(inert(&clean, true), "{clean:?}");
    assert_eq!(text::clean(&clean), clean, "cleaning twice changes nothing");
    let line = text::clean_line(raw);
    assert!(inert(&line, false), "{line:?}");

    for part in text::wrap(&clean, max) {
        assert!(!part.contains('\n'));
        let fits = text::width(&part) <= max.max(1);
        assert!(
            fits || part.graphemes(true).count() == 1,
            "{part:?} wider than {max}"
        );
    }
    let kept: String = clean.chars().filter(|c| !c.is_whitespace()).collect();
    let wrapped: String = text::wrap(&clean, max)
        .concat()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    assert_eq!(wrapped, kept, "wrapping loses nothing but spaces");

    let cut = text::truncate(&line, max);
    if text::width(&line) <= max {
        assert_eq!(cut, line);
    } else if max > 0 {
        assert!(text::width(&cut) <= max, "{cut:?} wider than {max}");
    }
    let half = raw.len() / 2;
    if raw.is_char_boundary(half) {
        let _ = text::fuzzy_score(&raw[..half], &raw[half..]);
    }

    let terminal = screen(raw, 12 + u16::from(*w % 100), 4 + u16::from(*h % 40));
    for cell in terminal.backend().buffer().content.iter() {
        assert!(inert(cell.symbol(), false), "{:?} on screen", cell.symbol());
    }
});
