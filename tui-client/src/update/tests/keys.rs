//! The key table, the mouse, popups and the login form.

use crossterm::event::{KeyCode, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

use super::*;
use crate::message::Msg;
use crate::model::{Focus, Popup, Scroll};

// ---- the key table ----------------------------------------------------------

#[test]
fn ctrl_n_and_ctrl_p_cycle_through_the_conversations_and_wrap_around() {
    let mut model = demo_model(90, 30);
    assert_eq!(selected_name(&model), "#cs101");
    press(&mut model, ctrl('n'));
    assert_eq!(selected_name(&model), "bob");
    press(&mut model, ctrl('p'));
    press(&mut model, ctrl('p'));
    assert_eq!(selected_name(&model), "erin", "Ctrl+P from the first wraps");
    press(&mut model, ctrl('n'));
    assert_eq!(
        selected_name(&model),
        "#cs101",
        "Ctrl+N from the last wraps"
    );
}

#[test]
fn alt_and_a_digit_opens_that_conversation_and_ignores_numbers_past_the_list() {
    let mut model = demo_model(90, 30);
    let fx = press(&mut model, alt(KeyCode::Char('3')));
    assert_eq!(selected_name(&model), "carol");
    assert!(
        older_requests(&fx) == [None],
        "opening asks for the newest page: {fx:?}"
    );
    press(&mut model, alt(KeyCode::Char('9')));
    assert_eq!(selected_name(&model), "carol");
    press(&mut model, alt(KeyCode::Char('1')));
    assert_eq!(selected_name(&model), "#cs101");
}

#[test]
fn alt_a_goes_to_the_next_conversation_with_unread_messages() {
    let mut model = demo_model(90, 30);
    let mut visited = Vec::new();
    for _ in 0..3 {
        press(&mut model, alt(KeyCode::Char('a')));
        visited.push(selected_name(&model));
    }
    assert_eq!(visited, ["bob", "dave", "erin"]);

    let mut quiet = connected_model(90, 30);
    server(
        &mut quiet,
        ServerMessage::Conversations {
            req: None,
            conversations: vec![summary("bob", 3, 3, 0)],
            total: 1,
        },
    );
    press(&mut quiet, alt(KeyCode::Char('a')));
    assert_eq!(
        quiet.notice.as_ref().map(|n| n.text.as_str()),
        Some("nothing unread")
    );
}

#[test]
fn ctrl_k_opens_the_switcher() {
    let mut model = demo_model(90, 30);
    press(&mut model, ctrl('k'));
    assert!(matches!(model.popup, Some(Popup::Switcher { .. })));
}

#[test]
fn f1_opens_the_help_and_so_does_a_question_mark_in_an_empty_input() {
    let mut model = demo_model(90, 30);
    press(&mut model, plain(KeyCode::F(1)));
    assert!(matches!(model.popup, Some(Popup::Help { .. })));
    press(&mut model, plain(KeyCode::Esc));
    assert!(model.popup.is_none());
    press(&mut model, plain(KeyCode::Char('?')));
    assert!(matches!(model.popup, Some(Popup::Help { .. })));
}

#[test]
fn a_question_mark_in_a_non_empty_input_is_typed() {
    let mut model = demo_model(90, 30);
    type_text(&mut model, "lunch?");
    assert!(model.popup.is_none());
    assert_eq!(draft(&model), "lunch?");
}

#[test]
fn esc_closes_popups_and_leaves_selection_but_never_clears_the_draft() {
    let mut model = demo_model(90, 30);
    type_text(&mut model, "keep me");
    press(&mut model, plain(KeyCode::F(1)));
    press(&mut model, plain(KeyCode::Esc));
    assert!(model.popup.is_none());
    press(&mut model, ctrl('k'));
    type_text(&mut model, "bo");
    press(&mut model, plain(KeyCode::Esc));
    assert!(model.popup.is_none());
    press(&mut model, alt(KeyCode::Up));
    assert!(matches!(model.focus, Focus::Messages(_)));
    press(&mut model, plain(KeyCode::Esc));
    assert_eq!(model.focus, Focus::Input);
    press(&mut model, plain(KeyCode::Esc));
    assert_eq!(draft(&model), "keep me");
}

#[test]
fn ctrl_u_deletes_back_to_the_start_of_the_line_ctrl_y_puts_it_back_and_ctrl_z_undoes() {
    let mut model = demo_model(90, 30);
    type_text(&mut model, "/create #lab bob");
    press(&mut model, ctrl('u'));
    assert_eq!(draft(&model), "", "a refused command is cleared in one key");
    press(&mut model, ctrl('y'));
    assert_eq!(draft(&model), "/create #lab bob", "and can be put back");

    press(&mut model, ctrl('w'));
    assert_eq!(draft(&model), "/create #lab ");
    press(&mut model, ctrl('z'));
    assert_eq!(
        draft(&model),
        "/create #lab bob",
        "Ctrl+Z undoes the last edit"
    );

    // Only what is before the cursor goes, and only on the cursor's line.
    let mut model = demo_model(90, 30);
    type_text(&mut model, "first line");
    press(&mut model, alt(KeyCode::Enter));
    type_text(&mut model, "second half");
    for _ in 0.."half".len() {
        press(&mut model, plain(KeyCode::Left));
    }
    press(&mut model, ctrl('u'));
    assert_eq!(draft(&model), "first line\nhalf");
}

#[test]
fn with_nothing_unfinished_ctrl_c_quits_from_the_main_screen_a_popup_and_the_login_form() {
    // (With a message still sending it asks first: see `confirm.rs`.)
    let mut model = connected_model(90, 30);
    assert_eq!(press(&mut model, ctrl('c')), [Effect::Quit]);
    assert!(model.quit);

    let mut model = connected_model(90, 30);
    press(&mut model, ctrl('k'));
    assert_eq!(press(&mut model, ctrl('c')), [Effect::Quit]);

    let mut login = login_model(80, 24);
    assert_eq!(press(&mut login, ctrl('c')), [Effect::Quit]);
    assert!(login.quit);
}

#[test]
fn a_click_in_the_list_opens_that_conversation_and_the_wheel_scrolls() {
    let mut model = long_cs101(90, 30);
    let mouse = |kind, column, row| {
        Msg::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    // The list's rows start inside its border: carol is the third.
    press(
        &mut model,
        mouse(MouseEventKind::Down(MouseButton::Left), 5, 3),
    );
    assert_eq!(selected_name(&model), "carol");
    press(&mut model, alt(KeyCode::Char('1')));
    press(&mut model, mouse(MouseEventKind::ScrollUp, 40, 10));
    assert_ne!(model.current().map(|c| c.scroll), Some(Scroll::Bottom));
    press(&mut model, mouse(MouseEventKind::ScrollDown, 40, 10));
    assert_eq!(model.current().map(|c| c.scroll), Some(Scroll::Bottom));
}

// ---- popups -----------------------------------------------------------------

#[test]
fn the_switcher_opens_the_item_shown_chosen_even_after_moving_past_the_end() {
    let mut model = demo_model(90, 30);
    press(&mut model, ctrl('k'));
    type_text(&mut model, "mbr");
    for _ in 0..3 {
        press(&mut model, plain(KeyCode::Down));
    }
    press(&mut model, plain(KeyCode::Enter));
    assert!(model.popup.is_none());
    assert_eq!(draft(&model), "/members ");
}

#[test]
fn the_switcher_opens_a_person_you_have_no_conversation_with_yet() {
    let mut model = demo_model(90, 30);
    press(&mut model, ctrl('k'));
    type_text(&mut model, "frnk");
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert_eq!(selected_name(&model), "frank");
    assert_eq!(older_requests(&fx), [None]);
}

// ---- the login form ---------------------------------------------------------

#[test]
fn the_login_form_asks_for_what_is_missing_then_logs_in_once() {
    let mut model = login_model(80, 24);
    type_text(&mut model, "alice");
    press(&mut model, plain(KeyCode::Enter));
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert_eq!(fx, []);
    let form = model.login.as_ref().expect("the form");
    assert!(
        form.error
            .as_deref()
            .is_some_and(|e| e.contains("password"))
    );

    type_text(&mut model, "hunter2");
    let fx = press(&mut model, plain(KeyCode::Enter));
    let [
        Effect::Login {
            server,
            user,
            password,
            create,
        },
    ] = fx.as_slice()
    else {
        panic!("one login attempt: {fx:?}");
    };
    assert_eq!(
        (server.as_str(), user.as_str(), password.0.as_str(), *create),
        ("localhost:12345", "alice", "hunter2", false),
        "an account that exists, or nothing"
    );
    assert_eq!(
        press(&mut model, plain(KeyCode::Enter)),
        [],
        "busy: no second try"
    );
}
