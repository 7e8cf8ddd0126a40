//! Unread counts, the read-marking rule, and older history as you scroll.

use classchat_common::protocol::GroupEvent;
use crossterm::event::KeyCode;

use super::*;
use crate::keymap::Keymap;
use crate::message::Msg;
use crate::model::{Asked, Scroll};

// ---- unread counts ----------------------------------------------------------

#[test]
fn messages_from_others_elsewhere_count_as_unread_but_yours_and_events_do_not() {
    let mut model = demo_model(90, 30);
    assert_eq!(conv_of(&model, "bob").unread, 2);
    arrives(&mut model, chat("bob", 3, "bob", now(), "hello?"));
    assert_eq!(conv_of(&model, "bob").unread, 3);
    // Sent from alice's other device.
    arrives(&mut model, chat("bob", 4, "alice", now(), "yes, here"));
    // The same message again, as a reconnect may bring it.
    arrives(&mut model, chat("bob", 3, "bob", now(), "hello?"));
    assert_eq!(conv_of(&model, "bob").unread, 3);

    arrives(
        &mut model,
        event("#lab-b", 1, "dave", now(), GroupEvent::Created),
    );
    arrives(
        &mut model,
        event(
            "#lab-b",
            2,
            "dave",
            now(),
            GroupEvent::Added {
                user: user("alice"),
            },
        ),
    );
    let lab = conv_of(&model, "#lab-b");
    assert_eq!((lab.unread, lab.mention), (0, false));
    assert_eq!(
        selected_name(&model),
        "#cs101",
        "nothing moved the selection"
    );
}

#[test]
fn a_mention_marks_the_conversation_and_a_near_miss_does_not() {
    let mut model = demo_model(90, 30);
    arrives(
        &mut model,
        chat("#lab-b", 1, "dave", now(), "malice aforethought"),
    );
    assert!(!conv_of(&model, "#lab-b").mention);
    arrives(
        &mut model,
        chat("#lab-b", 2, "dave", now(), "@alice welcome!"),
    );
    let lab = conv_of(&model, "#lab-b");
    assert_eq!((lab.unread, lab.mention), (2, true));
    assert!(
        conv_of(&model, "dave").mention,
        "the demo's dave mentions alice"
    );
    assert!(!conv_of(&model, "bob").mention);
}

#[test]
fn messages_at_or_before_the_read_cursor_are_not_unread() {
    let mut model = demo_model(90, 30);
    arrives(
        &mut model,
        chat("carol", 2, "carol", at(1, 9, 0), "old news"),
    );
    assert_eq!(conv_of(&model, "carol").unread, 0);
}

// ---- marking read -----------------------------------------------------------

#[test]
fn a_message_in_the_open_conversation_on_screen_is_marked_read_at_once() {
    let mut model = demo_model(90, 30);
    let fx = arrives(&mut model, chat("#cs101", 10, "bob", now(), "thanks!"));
    assert_eq!(reads(&fx), [("#cs101".to_owned(), Some(10))]);
    assert_eq!(conv_of(&model, "#cs101").unread, 0);
}

#[test]
fn a_message_elsewhere_is_not_marked_read() {
    let mut model = demo_model(90, 30);
    let fx = arrives(&mut model, chat("bob", 3, "bob", now(), "ping"));
    assert_eq!(reads(&fx), []);
}

#[test]
fn nothing_is_marked_read_while_the_terminal_is_unfocused_and_regaining_focus_marks_it() {
    let mut model = demo_model(90, 30);
    assert_eq!(reads(&press(&mut model, Msg::Focus(false))), []);
    let fx = arrives(&mut model, chat("#cs101", 10, "bob", now(), "anyone?"));
    assert_eq!(reads(&fx), []);
    assert_eq!(conv_of(&model, "#cs101").unread, 1);
    assert_eq!(reads(&press(&mut model, Msg::Tick(later(5)))), []);
    let fx = press(&mut model, Msg::Focus(true));
    assert_eq!(reads(&fx), [("#cs101".to_owned(), Some(10))]);
    assert_eq!(conv_of(&model, "#cs101").unread, 0);
}

#[test]
fn nothing_is_marked_read_under_a_popup_and_closing_it_marks_it() {
    let mut model = demo_model(90, 30);
    press(&mut model, plain(KeyCode::F(1)));
    let fx = arrives(&mut model, chat("#cs101", 10, "bob", now(), "anyone?"));
    assert_eq!(reads(&fx), []);
    let fx = press(&mut model, plain(KeyCode::Esc));
    assert_eq!(reads(&fx), [("#cs101".to_owned(), Some(10))]);
}

#[test]
fn after_scrolling_up_messages_below_the_screen_are_not_marked_read_until_you_scroll_back() {
    let mut model = long_cs101(90, 30);
    let fx = press(&mut model, plain(KeyCode::PageUp));
    assert_ne!(model.current().map(|c| c.scroll), Some(Scroll::Bottom));
    assert_eq!(reads(&fx), []);
    let fx = arrives(
        &mut model,
        chat("#cs101", 40, "carol", now(), "out of sight"),
    );
    assert_eq!(reads(&fx), [], "the new message is below the screen");
    assert_eq!(conv_of(&model, "#cs101").unread, 1);
    assert!(!screen(&model).contains("out of sight"));

    let fx = press(&mut model, plain(KeyCode::PageDown));
    assert_eq!(model.current().map(|c| c.scroll), Some(Scroll::Bottom));
    assert_eq!(reads(&fx), [("#cs101".to_owned(), Some(40))]);
}

// ---- new messages below a scrolled-up pane -----------------------------------

/// What the message pane's bottom edge says about new messages below, if anything.
fn new_below(model: &Model) -> Option<String> {
    let shown = screen(model);
    let edge = shown.lines().find(|l| l.contains(" new below"))?;
    let from = edge.find(['↓', 'v'])?;
    let to = edge[from..].find(" ┘").map_or(edge.len(), |end| from + end);
    Some(edge[from..to].trim_end().to_owned())
}

fn is_bottom(model: &Model) -> bool {
    model.current().map(|c| c.scroll) == Some(Scroll::Bottom)
}

#[test]
fn messages_from_others_arriving_below_a_scrolled_up_pane_are_counted_on_its_edge() {
    let mut model = long_cs101(90, 30);
    press(&mut model, plain(KeyCode::PageUp));
    assert_eq!(new_below(&model), None, "everything below was read");

    let mut fx = arrives(&mut model, chat("#cs101", 40, "carol", now(), "first"));
    // Neither yours (from another device) nor a group event counts.
    fx.extend(arrives(
        &mut model,
        chat("#cs101", 41, "alice", now(), "mine"),
    ));
    fx.extend(arrives(
        &mut model,
        event("#cs101", 42, "dave", now(), GroupEvent::Joined),
    ));
    fx.extend(arrives(
        &mut model,
        chat("#cs101", 43, "bob", now(), "second"),
    ));
    assert_eq!(new_below(&model).as_deref(), Some("↓ 2 new below (PgDn)"));
    assert_eq!(reads(&fx), [], "none of them has been on screen");
    assert_eq!(conv_of(&model, "#cs101").unread, 2);

    // Reaching the bottom shows them, reads them, and the count goes.
    let mut read = Vec::new();
    for _ in 0..5 {
        if is_bottom(&model) {
            break;
        }
        read.extend(reads(&press(&mut model, plain(KeyCode::PageDown))));
    }
    assert!(is_bottom(&model));
    assert_eq!(read.last(), Some(&("#cs101".to_owned(), Some(43))));
    assert_eq!(new_below(&model), None);

    // Scrolled up again, what was read is not new.
    press(&mut model, plain(KeyCode::PageUp));
    assert!(!is_bottom(&model));
    assert_eq!(new_below(&model), None);
}

#[test]
fn the_count_of_new_below_drops_as_paging_shows_them_and_goes_when_read_elsewhere() {
    let mut model = long_cs101(90, 30);
    press(&mut model, plain(KeyCode::PageUp));
    press(&mut model, plain(KeyCode::PageUp));
    for seq in 40..70 {
        arrives(
            &mut model,
            chat("#cs101", seq, "carol", now(), &format!("news {seq}")),
        );
    }
    assert_eq!(new_below(&model).as_deref(), Some("↓ 30 new below (PgDn)"));

    // Each page marks what it shows as read; the rest is still counted.
    let mut counts = Vec::new();
    while let Some(hint) = new_below(&model) {
        assert!(counts.len() < 10, "never reached the bottom");
        let count: u64 = hint
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .expect("a count");
        assert_eq!(count, conv_of(&model, "#cs101").unread, "{hint}");
        counts.push(count);
        press(&mut model, plain(KeyCode::PageDown));
    }
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    assert!(
        counts.iter().any(|&n| 0 < n && n < 30),
        "a page showed some of them: {counts:?}"
    );
    assert!(is_bottom(&model));

    // Scrolled up before the last page was read; read on alice's phone.
    let mut model = long_cs101(90, 30);
    press(&mut model, plain(KeyCode::PageUp));
    arrives(&mut model, chat("#cs101", 40, "carol", now(), "news"));
    assert!(new_below(&model).is_some());
    server(
        &mut model,
        ServerMessage::Receipt {
            conv: conv("#cs101"),
            user: user("alice"),
            joined: 0,
            delivered: 40,
            read: 40,
        },
    );
    assert_eq!(new_below(&model), None);
}

#[test]
fn the_new_below_hint_names_the_key_that_pages_down_and_has_an_ascii_form() {
    let mut model = long_cs101(90, 30);
    let overrides = [("page_down".to_owned(), "ctrl-j".to_owned())].into();
    model.keymap = Keymap::with_overrides(&overrides).expect("a valid override");
    model.look.ascii = true;
    press(&mut model, plain(KeyCode::PageUp));
    arrives(&mut model, chat("#cs101", 40, "carol", now(), "news"));
    assert_eq!(new_below(&model).as_deref(), Some("v 1 new below (Ctrl+J)"));
}

#[test]
fn reaching_the_top_asks_for_older_history_once_until_it_arrives() {
    let mut model = demo_model(90, 30);
    let page = |from: u64, to: u64| -> Vec<ChatMessage> {
        (from..=to)
            .map(|seq| chat("erin", seq, "erin", at(0, 9, 0), &format!("note {seq}")))
            .collect()
    };
    let fx = press(&mut model, alt(KeyCode::Char('5')));
    // Erin's 99+ unread start before this page: it opens at its top, which
    // already asks for what is before it.
    let mut asked = older_requests(&answer_history(&mut model, &fx, page(71, 120), true));
    for _ in 0..6 {
        asked.extend(older_requests(&press(&mut model, plain(KeyCode::PageUp))));
    }
    assert_eq!(
        asked,
        [Some(71)],
        "one request, for what is before the oldest"
    );
    assert!(screen(&model).contains("loading older messages…"));

    let req = model
        .asked
        .iter()
        .find(|(_, why)| matches!(why, Asked::Older(_)))
        .map(|(req, _)| *req);
    server(
        &mut model,
        ServerMessage::History {
            req,
            conv: conv("erin"),
            messages: page(21, 70),
            more: true,
        },
    );
    assert_eq!(conv_of(&model, "erin").oldest_seq(), Some(21));
    assert!(!screen(&model).contains("loading older messages…"));
    let mut asked = Vec::new();
    for _ in 0..6 {
        asked.extend(older_requests(&press(&mut model, plain(KeyCode::PageUp))));
    }
    assert_eq!(asked, [Some(21)]);
}

#[test]
fn a_conversation_opened_with_more_unread_than_fit_starts_at_the_first_of_them() {
    let mut model = demo_model(90, 30);
    // Bob has sent two messages already, unread too; 60 more come.
    let lines: Vec<ChatMessage> = (3..=62)
        .map(|seq| chat("bob", seq, "bob", now(), &format!("unread {seq}")))
        .collect();
    for m in &lines {
        arrives(&mut model, m.clone());
    }
    assert_eq!(
        conv_of(&model, "bob").unread,
        62,
        "with the two from before"
    );

    let fx = press(&mut model, alt(KeyCode::Char('a')));
    assert_eq!(selected_name(&model), "bob");
    let fx = answer_history(&mut model, &fx, lines, false);
    let shown = screen(&model);
    assert!(shown.contains("62 new"), "{shown}");
    assert!(shown.contains("bob: unread 3 "), "{shown}");
    assert!(!shown.contains("unread 62"), "{shown}");
    // Only what is on screen counts as read.
    let read = reads(&fx);
    assert_eq!(read.len(), 1, "{read:?}");
    let (_, Some(upto)) = read[0].clone() else {
        panic!("a read marker with a seq: {read:?}");
    };
    assert!((10..62).contains(&upto), "read up to {upto}");
    // The rest wait below the screen, and its bottom edge says how many.
    assert_eq!(
        new_below(&model),
        Some(format!("↓ {} new below (PgDn)", 62 - upto))
    );

    // Paging down reads the rest, and ends following the newest again.
    let mut last = upto;
    for _ in 0..10 {
        if model.current().map(|c| c.scroll) == Some(Scroll::Bottom) {
            break;
        }
        for (_, seq) in reads(&press(&mut model, plain(KeyCode::PageDown))) {
            last = seq.unwrap_or(last);
        }
    }
    assert_eq!(model.current().map(|c| c.scroll), Some(Scroll::Bottom));
    assert_eq!(last, 62);
}
