//! Long text: a message over the limit (the one the server announced, the
//! protocol's until then), a message taller than the pane, and long bursts of
//! typed keys.

use classchat_common::limits::MAX_BODY_BYTES;
use classchat_common::protocol::Limits;
use crossterm::event::{KeyCode, KeyModifiers, MouseEvent, MouseEventKind};

use super::*;
use crate::keymap::Keymap;
use crate::message::Msg;
use crate::model::Scroll;

/// The message pane's rows, as shown.
fn pane_rows(model: &Model) -> Vec<String> {
    let area = crate::layout::model_areas(model).message_lines();
    let shown = screen(model);
    let lines: Vec<&str> = shown.lines().collect();
    (area.y..area.y + area.height)
        .map(|y| {
            lines[usize::from(y)]
                .chars()
                .skip(usize::from(area.x))
                .take(usize::from(area.width))
                .collect()
        })
        .collect()
}

/// How many rows the pane's text moved down (up, if negative) from `before`
/// to `after`, if it moved as a whole by at most five.
fn moved(before: &[String], after: &[String]) -> Option<isize> {
    let rows = before.len() as isize;
    (-5..=5).find(|&by: &isize| {
        (0..rows)
            .filter(|r| (0..rows).contains(&(r + by)))
            .all(|r| before[r as usize] == after[(r + by) as usize])
    })
}

fn entries(model: &Model, name: &str) -> usize {
    conv_of(model, name).entries.len()
}

fn scroll(model: &Model) -> Option<Scroll> {
    model.current().map(|c| c.scroll)
}

/// Turns the wheel once over the message pane; how many rows its text moved,
/// as [`moved`] counts them.
fn wheel_moves(model: &mut Model, kind: MouseEventKind) -> Option<isize> {
    let before = pane_rows(model);
    press(
        model,
        Msg::Mouse(MouseEvent {
            kind,
            column: 40,
            row: 10,
            modifiers: KeyModifiers::NONE,
        }),
    );
    moved(&before, &pane_rows(model))
}

// ---- over the limit -----------------------------------------------------------

#[test]
fn a_message_over_the_limit_is_neither_sent_nor_shown_and_stays_in_the_input() {
    let mut model = demo_model(90, 30);
    let before = entries(&model, "#cs101");
    let text = "x".repeat(9000);
    press(&mut model, burst(&text));
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert_eq!(fx, [], "nothing is sent");
    assert_eq!(entries(&model, "#cs101"), before, "nothing is added");
    assert_eq!(draft(&model), text, "the whole text is kept to shorten");
    let notice = model.notice.as_ref().expect("a notice");
    assert!(notice.error, "{notice:?}");
    assert!(
        notice.text.contains("9000") && notice.text.contains(&MAX_BODY_BYTES.to_string()),
        "says how long it is and the limit: {}",
        notice.text
    );

    // Shortened to the limit, it goes.
    for _ in 0..9000 - MAX_BODY_BYTES {
        press(&mut model, plain(KeyCode::Backspace));
    }
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert!(
        matches!(fx.as_slice(), [Effect::Send { body, .. }] if body.len() == MAX_BODY_BYTES),
        "{} effects",
        fx.len()
    );
    assert_eq!(draft(&model), "");
    assert_eq!(entries(&model, "#cs101"), before + 1);
}

#[test]
fn the_limit_counts_bytes_not_characters() {
    let mut model = demo_model(90, 30);
    // Two bytes each: one more than half the limit is over it.
    let over = "é".repeat(MAX_BODY_BYTES / 2 + 1);
    press(&mut model, burst(&over));
    assert_eq!(press(&mut model, plain(KeyCode::Enter)), []);
    assert_eq!(draft(&model), over);

    press(&mut model, plain(KeyCode::Backspace));
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert!(matches!(fx.as_slice(), [Effect::Send { .. }]), "{fx:?}");
}

#[test]
fn msg_with_a_body_over_the_limit_is_refused_the_same_way() {
    let mut model = demo_model(90, 30);
    let typed = format!("/msg bob {}", "y".repeat(MAX_BODY_BYTES + 1));
    press(&mut model, burst(&typed));
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert_eq!(fx, []);
    assert_eq!(draft(&model), typed);
    assert_eq!(selected_name(&model), "#cs101", "nothing was opened");
    assert!(model.notice.as_ref().is_some_and(|n| n.error));
}

/// The demo, reconnected to a server that announces `max_body`.
fn announcing(max_body: usize) -> Model {
    let mut model = demo_model(90, 30);
    press(
        &mut model,
        connected(Limits {
            max_body,
            ..default_limits()
        }),
    );
    model
}

#[test]
fn a_server_announcing_a_lower_limit_is_held_to_it_in_text_and_in_msg() {
    let mut model = announcing(100);
    let before = entries(&model, "#cs101");
    let text = "z".repeat(101);
    press(&mut model, burst(&text));
    assert_eq!(
        press(&mut model, plain(KeyCode::Enter)),
        [],
        "nothing is sent"
    );
    assert_eq!(draft(&model), text);
    let notice = model.notice.as_ref().expect("a notice");
    assert!(notice.error, "{notice:?}");
    assert!(
        notice.text.contains("101 bytes") && notice.text.contains("limit is 100"),
        "the server's limit, not the built-in one: {}",
        notice.text
    );

    press(&mut model, plain(KeyCode::Backspace));
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert!(
        matches!(fx.as_slice(), [Effect::Send { body, .. }] if body.len() == 100),
        "{fx:?}"
    );
    assert_eq!(entries(&model, "#cs101"), before + 1);

    let typed = format!("/msg bob {}", "y".repeat(101));
    press(&mut model, burst(&typed));
    assert_eq!(press(&mut model, plain(KeyCode::Enter)), []);
    assert_eq!(draft(&model), typed);
    assert_eq!(selected_name(&model), "#cs101", "nothing was opened");
}

#[test]
fn a_server_announcing_a_higher_limit_takes_longer_messages() {
    let mut model = announcing(2 * MAX_BODY_BYTES);
    let text = "x".repeat(MAX_BODY_BYTES + 1);
    press(&mut model, burst(&text));
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert!(
        matches!(fx.as_slice(), [Effect::Send { body, .. }] if *body == text),
        "{} effects",
        fx.len()
    );
}

#[test]
fn before_the_server_has_announced_anything_the_built_in_limit_applies() {
    let mut model = alice_just_logged_in(90, 30);
    assert_eq!(model.max_body, MAX_BODY_BYTES);
    let typed = format!("/msg bob {}", "y".repeat(MAX_BODY_BYTES + 1));
    press(&mut model, burst(&typed));
    assert_eq!(press(&mut model, plain(KeyCode::Enter)), []);
    let notice = model.notice.as_ref().expect("a notice");
    assert!(
        notice.text.contains(&format!("limit is {MAX_BODY_BYTES}")),
        "{}",
        notice.text
    );
}

// ---- taller than the pane -------------------------------------------------------

/// The demo with more than a screen of #cs101 (`line 10` … `line 39`), then a
/// legitimate message of 8,000 bytes from bob: about 170 rows at 80 columns.
fn tall_from_bob() -> Model {
    let mut model = long_cs101(80, 24);
    arrives(
        &mut model,
        chat("#cs101", 40, "bob", now(), &numbered(8000)),
    );
    model
}

/// Presses `key` until `done` holds, at most `max` times; how many it took.
fn press_until(
    model: &mut Model,
    key: KeyCode,
    max: usize,
    done: impl Fn(&Model) -> bool,
) -> Option<usize> {
    for n in 1..=max {
        press(model, plain(key));
        if done(model) {
            return Some(n);
        }
    }
    None
}

/// Pages up until the message above the tall one (`line 39`) shows.
fn page_up_to_line_39(model: &mut Model) -> Option<usize> {
    press_until(model, KeyCode::PageUp, 40, |m| {
        screen(m).contains("line 39")
    })
}

/// Pages down until the pane is back at the bottom.
fn page_down_to_the_bottom(model: &mut Model) -> Option<usize> {
    press_until(model, KeyCode::PageDown, 40, |m| {
        scroll(m) == Some(Scroll::Bottom)
    })
}

#[test]
fn page_up_goes_through_a_message_taller_than_the_pane_to_the_ones_above() {
    let mut model = tall_from_bob();
    let shown = screen(&model);
    assert!(shown.contains("w1333"), "the end shows first:\n{shown}");

    let mut seen = vec![screen(&model)];
    let pages = page_up_to_line_39(&mut model);
    assert!(
        pages.is_some(),
        "never reached the message above:\n{}",
        screen(&model)
    );
    // Every page shows something new: the message is read through, not jumped.
    for _ in 0..3 {
        press(&mut model, plain(KeyCode::PageDown));
        seen.push(screen(&model));
    }
    seen.dedup();
    assert_eq!(seen.len(), 4);

    let pages_back = page_down_to_the_bottom(&mut model);
    assert!(pages_back.is_some(), "never came back down");
    assert!(screen(&model).contains("w1333"));
}

#[test]
fn every_row_of_a_tall_message_is_shown_on_the_way_up() {
    let mut model = tall_from_bob();
    let body = numbered(8000);
    let mut seen = String::new();
    for _ in 0..60 {
        seen.push_str(&screen(&model));
        if seen.contains("line 39") {
            break;
        }
        press(&mut model, plain(KeyCode::PageUp));
    }
    let missing: Vec<&str> = body
        .split(' ')
        .filter(|w| !seen.contains(*w))
        .take(5)
        .collect();
    assert_eq!(missing, Vec::<&str>::new(), "words never on screen");
}

#[test]
fn the_wheel_moves_through_a_tall_message_three_rows_at_a_time() {
    let mut model = tall_from_bob();
    for (kind, rows) in [
        (MouseEventKind::ScrollUp, 3),
        (MouseEventKind::ScrollDown, -3),
    ] {
        for _ in 0..4 {
            assert_eq!(wheel_moves(&mut model, kind), Some(rows), "{kind:?}");
        }
    }
    assert_eq!(scroll(&model), Some(Scroll::Bottom));
}

#[test]
fn a_tall_message_of_yours_still_sending_shows_its_marker_and_scrolls_like_any_other() {
    let mut model = long_cs101(80, 24);
    press(&mut model, burst(&numbered(8000)));
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert!(matches!(fx.as_slice(), [Effect::Send { .. }]));
    let shown = screen(&model);
    assert!(shown.contains("◌"), "the marker ends the message:\n{shown}");

    let pages = page_up_to_line_39(&mut model);
    assert!(pages.is_some(), "pinned:\n{}", screen(&model));
    assert_eq!(
        wheel_moves(&mut model, MouseEventKind::ScrollDown),
        Some(-3),
        "the wheel goes back down"
    );
    assert!(page_down_to_the_bottom(&mut model).is_some());
    assert!(screen(&model).contains("◌"));
}

// ---- bursts of typed keys -------------------------------------------------------

/// What typing `text` leaves behind key by key, and in one burst: the draft,
/// whether a popup is open, the focus and completion, and the effects (with
/// the demo's random message ids left out).
fn both_ways(model: impl Fn() -> Model, text: &str) -> [(String, String, Vec<String>); 2] {
    let outcome = |m: &Model, fx: Vec<Effect>| {
        let fx = fx
            .iter()
            .map(|e| {
                let e = format!("{e:?}");
                match (e.find("MessageId("), e.rfind(')')) {
                    (Some(from), Some(to)) if from < to => format!("{}{}", &e[..from], &e[to..]),
                    _ => e,
                }
            })
            .collect();
        (
            draft(m),
            format!("{:?} {:?} {:?}", m.popup.is_some(), m.focus, m.completion),
            fx,
        )
    };
    let mut one_by_one = model();
    let fx = type_text(&mut one_by_one, text);
    let mut in_a_burst = model();
    let burst_fx = press(&mut in_a_burst, burst(text));
    [outcome(&one_by_one, fx), outcome(&in_a_burst, burst_fx)]
}

#[test]
fn a_burst_of_keys_does_what_the_keys_one_by_one_would() {
    let demo = || demo_model(90, 30);
    let [one, burst] = both_ways(demo, "see you at 11, ok?");
    assert_eq!(one, burst);
    assert_eq!(burst.0, "see you at 11, ok?");

    // `?` in an empty input opens the help; the next character closes it and
    // is typed.
    let [one, burst] = both_ways(demo, "?ab");
    assert_eq!(one, burst);
    assert_eq!(burst.0, "ab");

    // A message selected: `i` asks who read it, other letters go back to typing.
    let selecting = || {
        let mut model = demo_model(90, 30);
        // The newest (sending), the refused one, then one stored.
        press(&mut model, alt(KeyCode::Up));
        press(&mut model, plain(KeyCode::Up));
        press(&mut model, plain(KeyCode::Up));
        model
    };
    let [one, burst] = both_ways(selecting, "ikx");
    assert_eq!(one, burst);
    assert_eq!(burst.0, "kx");
    assert_eq!(burst.2.len(), 1, "who read it was asked: {:?}", burst.2);

    // A letter bound to an action does the action.
    let rebound = || {
        let overrides = [("help".to_owned(), "x".to_owned())].into();
        let mut model = demo_model(90, 30);
        model.keymap = Keymap::with_overrides(&overrides).expect("a valid override");
        model
    };
    let [one, burst] = both_ways(rebound, "ax");
    assert_eq!(one, burst);
    assert_eq!(burst.0, "a");
    assert!(burst.1.starts_with("true"), "the help is open: {}", burst.1);
}

#[test]
fn a_burst_of_nine_thousand_keys_keeps_every_character() {
    let mut model = demo_model(90, 30);
    let text = numbered(9000);
    press(&mut model, burst(&text));
    assert_eq!(draft(&model), text);
}
