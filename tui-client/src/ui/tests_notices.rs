//! The who-is-online popup, errors at narrow widths, refused messages, and a
//! message over the limit the server announced, rendered from the demo model
//! driven through `update` and compared with the snapshots in `snapshots/`.

use classchat_common::ErrorCode;
use crossterm::event::KeyCode;

use crate::fixtures::*;

// ---- who is online ----------------------------------------------------------

#[test]
fn the_who_popup_lists_who_is_online_and_how_many_more_there_are() {
    let mut model = demo_model(90, 30);
    open_who(&mut model, &["frank", "bob", "alice", "dave"], 1204);
    press(&mut model, plain(KeyCode::Down));
    snapshot!(model);
}

#[test]
fn a_long_who_list_scrolls_on_a_small_terminal() {
    let mut model = demo_model(50, 20);
    open_who(&mut model, &crowd(), 41);
    press(&mut model, plain(KeyCode::PageDown));
    press(&mut model, plain(KeyCode::PageDown));
    snapshot!(model);
}

// ---- errors at 50 columns ---------------------------------------------------

#[test]
fn at_fifty_columns_an_error_too_long_for_the_status_line_gets_a_line_above_the_input() {
    let mut model = demo_model(50, 20);
    command_refused(
        &mut model,
        "/rename cs101 x",
        ErrorCode::NotOwner,
        "only the owner of #cs101 (carol) can rename it",
    );
    let screen = screen(&model);
    assert!(
        screen.contains("only the owner of #cs101 (carol) can rename it"),
        "the whole reason shows:\n{screen}"
    );
    snapshot!(model);
}

#[test]
fn at_fifty_columns_a_long_error_wraps_and_the_unread_hint_keeps_the_status_line() {
    let mut model = demo_model(50, 20);
    kick_refused(&mut model);
    let screen = screen(&model);
    assert!(
        screen.contains("only the owner of #cs101 (carol) can remove"),
        "{screen}"
    );
    assert!(screen.contains(" members "), "{screen}");
    assert!(screen.contains("125 unread"), "{screen}");
    snapshot!(model);
}

#[test]
fn at_fifty_columns_a_short_error_goes_before_the_unread_hint() {
    let mut model = demo_model(50, 20);
    command_refused(
        &mut model,
        "/join x",
        ErrorCode::UnknownGroup,
        "no group #x",
    );
    let status = screen(&model).lines().last().unwrap_or_default().to_owned();
    assert!(status.ends_with("no group #x "), "{status}");
    assert!(!status.contains("unread"), "{status}");

    // Put away: the hint is back.
    press(&mut model, plain(KeyCode::Esc));
    let status = screen(&model).lines().last().unwrap_or_default().to_owned();
    assert!(status.contains("125 unread"), "{status}");
}

// ---- refused messages -------------------------------------------------------

#[test]
fn a_message_to_nobody_is_gone_from_the_list_and_back_in_the_input() {
    let mut model = demo_model(90, 30);
    send_refused(
        &mut model,
        "nobody",
        "/msg nobody hi",
        ErrorCode::UnknownUser,
        "there is no user named nobody",
    );
    snapshot!(model);
}

#[test]
fn a_refused_message_shows_why_under_it_at_fifty_columns() {
    let mut model = demo_model(50, 20);
    send_refused(
        &mut model,
        "#cs101",
        "see you at the lab",
        ErrorCode::NotMember,
        "you are no longer a member of #cs101",
    );
    press(&mut model, plain(KeyCode::Esc));
    snapshot!(model);
}

// ---- the server's own limit -----------------------------------------------

#[test]
fn a_message_over_the_limit_the_server_announced_stays_in_the_input_with_the_limit() {
    let mut model = demo_model(90, 30);
    press(
        &mut model,
        connected(classchat_common::protocol::Limits {
            max_body: 40,
            ..default_limits()
        }),
    );
    type_text(&mut model, "this line is a little over forty bytes long");
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert_eq!(fx, [], "nothing is sent");
    snapshot!(model);
}
