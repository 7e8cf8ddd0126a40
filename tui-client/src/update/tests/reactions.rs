//! Reactions: where they come from (a page of history, live lines from
//! others and from your other devices, a catch-up), a line seen twice
//! counting once, `+` and the picker (a digit or Enter, taking back what you
//! gave), your reaction showing at once and staying once stored or going
//! again when refused, `/react` and `/unreact` typed, `w`, deleted messages,
//! and the pane's height counting the line under a message.

use classchat_common::{ErrorCode, MessageId, Username};
use crossterm::event::{KeyCode, KeyModifiers};

use super::*;
use crate::client::Event;
use crate::fixtures::reactions::*;
use crate::fixtures::replies::{delete_line, thread_open};
use crate::message::Msg;
use crate::model::{Focus, Popup};
use crate::outbox::Target;

const G: &str = "#cs101";

/// Each kind of reaction message `seq` of #cs101 shows (yours not stored
/// yet among them), with who gave it.
fn shown(model: &Model, seq: u64) -> Vec<(String, Vec<String>)> {
    let c = conv_of(model, G);
    let e = c.loaded(seq).expect("the message is loaded");
    c.shown_reactions(e)
        .iter()
        .map(|k| {
            let users = k.users.iter().map(ToString::to_string).collect();
            (k.emoji.clone(), users)
        })
        .collect()
}

/// The same, as the server has stored them.
fn stored_kinds(model: &Model, seq: u64) -> Vec<(String, Vec<String>)> {
    let e = conv_of(model, G)
        .loaded(seq)
        .expect("the message is loaded");
    e.reactions
        .iter()
        .map(|k| {
            let users = k.users.iter().map(ToString::to_string).collect();
            (k.emoji.clone(), users)
        })
        .collect()
}

fn kind(emoji: &str, users: &[&str]) -> (String, Vec<String>) {
    (
        emoji.to_owned(),
        users.iter().map(|u| (*u).to_owned()).collect(),
    )
}

fn nothing_sent(fx: &[Effect]) -> bool {
    fx.iter().all(|e| !matches!(e, Effect::Send { .. }))
}

fn stored(model: &mut Model, id: MessageId, seq: u64) {
    server(
        model,
        ServerMessage::Stored {
            id,
            conv: conv(G),
            seq,
            ts: later(5),
            of: 5,
            online: 2,
            last_seen: None,
            duplicate: false,
        },
    );
}

fn notice(model: &Model) -> String {
    model
        .notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default()
}

/// Selects loaded message `seq` of the open conversation, as Alt+Up and Up do.
fn select_message(model: &mut Model, seq: u64) {
    let index = conv_of(model, G).search(seq).expect("loaded");
    press(model, alt(KeyCode::Up));
    let Focus::Messages(mut at) = model.focus else {
        panic!("a message is selected");
    };
    while at > index {
        press(model, plain(KeyCode::Up));
        at -= 1;
    }
    assert_eq!(model.focus, Focus::Messages(index));
}

/// The row of the screen under the one that holds `part`.
fn row_under(shown: &str, part: &str) -> String {
    let mut rows = shown.lines().skip_while(|l| !l.contains(part)).skip(1);
    rows.next()
        .unwrap_or_else(|| panic!("{part:?} is on screen:\n{shown}"))
        .to_owned()
}

fn plus() -> Msg {
    key(KeyCode::Char('+'), KeyModifiers::SHIFT)
}

fn alice() -> Username {
    user("alice")
}

// ---- where reactions come from ------------------------------------------------

#[test]
fn a_page_shows_each_messages_reactions_and_its_reaction_lines_count_once() {
    let model = reactions_open(90, 30);
    assert_eq!(
        shown(&model, 1),
        [kind("👍", &["bob", "alice", "dave"]), kind("😮", &["bob"])],
        "dave's line 5 is in the page and in the count: counted once"
    );
    assert_eq!(shown(&model, 2), [kind("👍", &["carol"])]);
    assert_eq!(
        shown(&model, 4)[0],
        kind("🎉", &["carol", "dave", "erin"]),
        "erin's live 🎉"
    );
    let c = conv_of(&model, G);
    let seqs: Vec<_> = c.entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [Some(1), Some(2), Some(4)], "no line of their own");
    assert_eq!((c.last_seq, c.unread), (6, 0));
}

#[test]
fn a_reaction_line_is_no_line_of_its_own_never_rings_and_is_read_past() {
    let mut model = thread_open(90, 30);
    let before = conv_of(&model, G).entries.len();
    let fx = arrives(&mut model, react_line(G, 10, "bob", later(60), 1, "👍"));
    assert!(!fx.contains(&Effect::Bell), "{fx:?}");
    let c = conv_of(&model, G);
    assert_eq!(c.entries.len(), before, "not shown as a message");
    assert_eq!(stored_kinds(&model, 1), [kind("👍", &["bob"])]);
    assert_eq!((c.last_seq, c.unread), (10, 0));
    assert_eq!(c.read_upto, 10, "read past with the newest message");
    let shown = screen(&model);
    assert!(
        row_under(&shown, "Labs are in room C7 now. (edited)").contains("│      👍 1 "),
        "the text stays as it was, the reaction under it: {shown}"
    );
}

#[test]
fn a_reaction_taken_back_goes_and_a_kind_nobody_gives_any_more_goes_with_it() {
    let mut model = reactions_open(90, 30);
    press(&mut model, Msg::Focus(false));
    let fx = arrives(&mut model, unreact_line(G, 7, "bob", later(10), 1, "😮"));
    assert!(!fx.contains(&Effect::Bell), "{fx:?}");
    arrives(&mut model, unreact_line(G, 8, "dave", later(20), 1, "👍"));
    assert_eq!(shown(&model, 1), [kind("👍", &["bob", "alice"])]);
    assert_eq!(conv_of(&model, G).unread, 0, "never unread");
    let shown = screen(&model);
    let under = row_under(&shown, "carol: The exam moved to Friday");
    assert!(
        under.contains("│      👍 2 ") && !under.contains('😮'),
        "{shown}"
    );
}

#[test]
fn the_same_line_twice_live_in_a_page_or_after_a_reconnect_counts_once() {
    let mut model = reactions_open(90, 30);
    let line = react_line(G, 7, "frank", later(10), 2, "🙏");
    arrives(&mut model, line.clone());
    arrives(&mut model, line.clone());
    let taken_back = unreact_line(G, 8, "carol", later(20), 2, "👍");
    arrives(&mut model, taken_back.clone());
    let after_live = shown(&model, 2);
    assert_eq!(after_live, [kind("🙏", &["frank"])]);

    // A reconnect reads back from line 3: every line again, in order.
    let mut again = reacted_history();
    again.retain(|m| m.seq > 2);
    again.extend([line, taken_back]);
    crate::update::update(
        &mut model,
        Msg::Net(Event::Refreshed {
            conv: conv(G),
            messages: again,
        }),
    );
    assert_eq!(shown(&model, 2), after_live);
    assert_eq!(shown(&model, 1)[0], kind("👍", &["bob", "alice", "dave"]));
}

#[test]
fn a_reaction_from_your_other_device_is_yours() {
    let mut model = reactions_open(90, 30);
    arrives(&mut model, react_line(G, 7, "alice", later(10), 4, "🍕"));
    let c = conv_of(&model, G);
    let e = c.loaded(4).expect("loaded");
    assert!(c.shown_reactions(e).gave("🍕", &alice()));
    assert_eq!(shown(&model, 4)[1], kind("🍕", &["carol", "alice"]));
}

// ---- + and the picker ---------------------------------------------------------

#[test]
fn plus_then_a_digit_reacts_at_once_and_the_reaction_stays_once_stored() {
    let mut model = reactions_open(90, 30);
    select_message(&mut model, 4);
    press(&mut model, plus());
    assert!(matches!(
        model.popup,
        Some(Popup::React {
            seq: 4,
            selected: 0,
            ..
        })
    ));
    let fx = press(&mut model, plain(KeyCode::Char('4')));
    let (id, body, target) = sent(&fx);
    assert_eq!((body.as_str(), target), ("🎉", Some(Target::React(4))));
    assert!(model.popup.is_none());
    assert_eq!(
        model.focus,
        Focus::Messages(2),
        "still selected, to react again"
    );
    assert_eq!(
        shown(&model, 4)[0],
        kind("🎉", &["carol", "dave", "erin", "alice"]),
        "shown at once"
    );
    assert_eq!(
        stored_kinds(&model, 4)[0],
        kind("🎉", &["carol", "dave", "erin"]),
        "not stored yet"
    );
    assert!(screen(&model).contains("🎉 4  🍕 1"));

    stored(&mut model, id, 7);
    assert_eq!(
        stored_kinds(&model, 4)[0],
        kind("🎉", &["carol", "dave", "erin", "alice"])
    );
    let c = conv_of(&model, G);
    assert!(c.changing.is_empty());
    assert_eq!((c.last_seq, c.entries.len()), (7, 3), "no line of its own");
    assert!(screen(&model).contains("🎉 4  🍕 1"));
}

#[test]
fn picking_a_reaction_you_gave_takes_it_back() {
    let mut model = picking_for_the_news(90, 30);
    let fx = press(&mut model, plain(KeyCode::Char('1')));
    let (id, body, target) = sent(&fx);
    assert_eq!((body.as_str(), target), ("👍", Some(Target::Unreact(1))));
    assert_eq!(shown(&model, 1)[0], kind("👍", &["bob", "dave"]));
    stored(&mut model, id, 7);
    assert_eq!(stored_kinds(&model, 1)[0], kind("👍", &["bob", "dave"]));

    // Again: given once more.
    press(&mut model, plus());
    let fx = press(&mut model, plain(KeyCode::Char('1')));
    assert_eq!(sent(&fx).2, Some(Target::React(1)));
    assert_eq!(shown(&model, 1)[0], kind("👍", &["bob", "dave", "alice"]));
}

#[test]
fn arrows_choose_and_enter_picks_while_plus_or_esc_closes_without_sending() {
    let mut model = picking_for_the_news(90, 30);
    for _ in 0..5 {
        press(&mut model, plain(KeyCode::Down));
    }
    press(&mut model, plain(KeyCode::Up));
    assert!(matches!(
        model.popup,
        Some(Popup::React { selected: 4, .. })
    ));
    let fx = press(&mut model, plain(KeyCode::Enter));
    let (_, body, target) = sent(&fx);
    assert_eq!((body.as_str(), target), ("😮", Some(Target::React(1))));

    press(&mut model, plus());
    let fx = press(&mut model, plus());
    assert!(model.popup.is_none() && nothing_sent(&fx), "{fx:?}");
    press(&mut model, plus());
    let fx = press(&mut model, plain(KeyCode::Esc));
    assert!(model.popup.is_none() && nothing_sent(&fx), "{fx:?}");
}

#[test]
fn over_the_picker_a_digit_with_no_reaction_does_nothing_and_a_letter_goes_to_the_input() {
    let mut model = picking_for_the_news(90, 30);
    let fx = press(&mut model, plain(KeyCode::Char('9')));
    assert!(nothing_sent(&fx) && model.popup.is_some(), "{fx:?}");
    press(&mut model, plain(KeyCode::Char('h')));
    assert!(model.popup.is_none());
    assert_eq!(model.focus, Focus::Input);
    assert_eq!(draft(&model), "h");
}

#[test]
fn the_picker_offers_the_other_kinds_a_message_has_to_join() {
    let mut model = reactions_open(90, 30);
    select_message(&mut model, 4);
    press(&mut model, plus());
    // 🎉 and 😂 are among the usual eight; 🍕 comes next, as 9.
    let fx = press(&mut model, plain(KeyCode::Char('9')));
    assert_eq!(sent(&fx).1, "🍕");
    assert_eq!(shown(&model, 4)[1], kind("🍕", &["carol", "alice"]));
}

#[test]
fn a_refused_reaction_is_taken_off_again_and_the_notice_says_why() {
    let mut model = reactions_open(90, 30);
    select_message(&mut model, 2);
    press(&mut model, plus());
    let fx = press(&mut model, plain(KeyCode::Char('4')));
    let (id, ..) = sent(&fx);
    assert_eq!(
        shown(&model, 2),
        [kind("👍", &["carol"]), kind("🎉", &["alice"])]
    );
    server(
        &mut model,
        ServerMessage::Error {
            req: None,
            id: Some(id),
            offer: None,
            code: ErrorCode::NotMember,
            message: "you are not a member of #cs101".into(),
            retry_after_ms: None,
        },
    );
    assert_eq!(shown(&model, 2), [kind("👍", &["carol"])]);
    assert!(conv_of(&model, G).changing.is_empty());
    let notice = model.notice.as_ref().expect("a notice says why");
    assert!(notice.error, "{notice:?}");
    assert_eq!(
        notice.text,
        "the reaction was refused: you are not a member of #cs101"
    );
    assert!(!screen(&model).contains("🎉 1"));
}

#[test]
fn one_kind_too_many_is_refused_before_anything_is_sent() {
    let mut model = reactions_open(90, 30);
    let many = [
        "🍎", "🍐", "🍊", "🍋", "🍌", "🍉", "🍇", "🍓", "🫐", "🍈", "🍒", "🍑", "🥭", "🍍", "🥥",
        "🥝", "🍅", "🥑", "🥦", "🥬",
    ];
    for (n, emoji) in (7..).zip(many) {
        arrives(&mut model, react_line(G, n, "bob", later(10), 2, emoji));
    }
    select_message(&mut model, 2);
    press(&mut model, plus());
    let fx = press(&mut model, plain(KeyCode::Char('4')));
    assert!(nothing_sent(&fx), "{fx:?}");
    assert!(
        notice(&model).contains("at most 20 kinds"),
        "{}",
        notice(&model)
    );
    // A kind it has may still be given: carol's 👍.
    press(&mut model, plus());
    let fx = press(&mut model, plain(KeyCode::Char('1')));
    assert_eq!(sent(&fx).2, Some(Target::React(2)));
}

// ---- typed --------------------------------------------------------------------

#[test]
fn react_and_unreact_typed_go_out_like_edits_and_show_at_once() {
    let mut model = reactions_open(90, 30);
    let fx = submit(&mut model, "/react #cs101 2 🎉");
    let (id, body, target) = sent(&fx);
    assert_eq!((body.as_str(), target), ("🎉", Some(Target::React(2))));
    assert_eq!(
        shown(&model, 2),
        [kind("👍", &["carol"]), kind("🎉", &["alice"])]
    );
    stored(&mut model, id, 7);
    let fx = submit(&mut model, "/unreact #cs101 1 👍");
    let (_, body, target) = sent(&fx);
    assert_eq!((body.as_str(), target), ("👍", Some(Target::Unreact(1))));
    assert_eq!(shown(&model, 1)[0], kind("👍", &["bob", "dave"]));
    assert_eq!(draft(&model), "");
}

// ---- w ------------------------------------------------------------------------

#[test]
fn w_shows_who_reacted_and_on_a_message_without_reactions_says_so() {
    let mut model = reactions_open(90, 30);
    arrives(&mut model, chat(G, 7, "bob", later(10), "anyone?"));
    select_message(&mut model, 7);
    press(&mut model, plain(KeyCode::Char('w')));
    assert!(model.popup.is_none());
    assert!(
        notice(&model).contains("nobody has reacted"),
        "{}",
        notice(&model)
    );

    press(&mut model, plain(KeyCode::Up));
    press(&mut model, plain(KeyCode::Char('w')));
    assert!(matches!(
        model.popup,
        Some(Popup::Reactions {
            seq: 4,
            scroll: 0,
            ..
        })
    ));
    press(&mut model, plain(KeyCode::Esc));
    assert!(model.popup.is_none());
}

#[test]
fn a_long_who_reacted_list_scrolls_to_its_end_and_no_further() {
    let mut model = reactions_open(60, 14);
    for n in 1..=30u64 {
        let name = format!("student{n:02}");
        arrives(&mut model, react_line(G, 6 + n, &name, later(10), 4, "🎉"));
    }
    select_message(&mut model, 4);
    press(&mut model, plain(KeyCode::Char('w')));
    for _ in 0..40 {
        press(&mut model, plain(KeyCode::Down));
    }
    let Some(Popup::Reactions { scroll, .. }) = model.popup else {
        panic!("the popup is open");
    };
    assert!(scroll > 0, "it scrolled");
    let shown = screen(&model);
    assert!(
        shown
            .lines()
            .any(|l| l.contains("🥳 1") && l.contains("frank")),
        "the last line shows: {shown}"
    );
    let before = scroll;
    press(&mut model, plain(KeyCode::Down));
    assert!(matches!(model.popup, Some(Popup::Reactions { scroll, .. }) if scroll == before));
}

// ---- deletions ----------------------------------------------------------------

#[test]
fn a_deleted_message_loses_its_reactions_and_takes_no_more() {
    let mut model = reactions_open(90, 30);
    select_message(&mut model, 1);
    press(&mut model, plus());
    arrives(&mut model, delete_line(G, 7, "carol", later(10), 1));
    assert!(stored_kinds(&model, 1).is_empty());
    // The picker was open: picking now says why nothing happens.
    let fx = press(&mut model, plain(KeyCode::Char('2')));
    assert!(nothing_sent(&fx), "{fx:?}");
    assert!(notice(&model).contains("deleted"), "{}", notice(&model));
    // A late line changes nothing; the screen shows none.
    arrives(&mut model, react_line(G, 8, "bob", later(20), 1, "😢"));
    assert!(shown(&model, 1).is_empty());
    let shown_now = screen(&model);
    assert!(!shown_now.contains("👍 3"), "{shown_now}");
    assert!(shown_now.contains("carol: message deleted"), "{shown_now}");
    press(&mut model, plus());
    assert!(model.popup.is_none());
    assert!(
        notice(&model).contains("takes reactions"),
        "{}",
        notice(&model)
    );
}

// ---- the pane's height ----------------------------------------------------------

#[test]
fn the_line_under_a_message_counts_in_scrolling_down_back_to_the_newest() {
    let mut model = long_cs101(50, 20);
    for (n, target) in (40..).zip(30..=39) {
        arrives(
            &mut model,
            react_line(G, n, "carol", later(10), target, "👍"),
        );
    }
    let start = screen(&model);
    assert!(
        row_under(&start, "line 39").contains("│      👍 1 "),
        "{start}"
    );
    for _ in 0..3 {
        press(&mut model, plain(KeyCode::PageUp));
    }
    assert_ne!(screen(&model), start);
    for _ in 0..3 {
        press(&mut model, plain(KeyCode::PageDown));
    }
    assert_eq!(conv_of(&model, G).scroll, crate::model::Scroll::Bottom);
    assert_eq!(screen(&model), start);
}

#[test]
fn tab_after_react_and_the_message_number_offers_the_usual_reactions() {
    let mut model = reactions_open(90, 30);
    type_text(&mut model, "/react #cs101 2 ");
    press(&mut model, plain(KeyCode::Tab));
    assert_eq!(draft(&model), "/react #cs101 2 👍");
    press(&mut model, plain(KeyCode::Tab));
    assert_eq!(draft(&model), "/react #cs101 2 ❤️");
}
