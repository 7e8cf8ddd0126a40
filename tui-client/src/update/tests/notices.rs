//! Notices: group news about you, newer news replacing older about the same
//! group, errors that stay long enough to read and then fade, and a reconnect
//! that sweeps away only what was read.

use classchat_common::protocol::GroupEvent;
use classchat_common::{ErrorCode, Username};
use crossterm::event::KeyCode;

use super::*;
use crate::message::Msg;

const CANNOT_DELETE: &str = "only the owner of #cs101 (carol) can delete it";

fn notice(model: &Model) -> Option<(String, bool)> {
    model.notice.as_ref().map(|n| (n.text.clone(), n.error))
}

fn shown(text: &str, error: bool) -> Option<(String, bool)> {
    Some((text.to_owned(), error))
}

/// Moves the clock to `secs` after the demo's now, as the run loop's ticks do.
fn tick(model: &mut Model, secs: i64) {
    press(model, Msg::Tick(later(secs)));
}

/// alice typing `line`, a command only an owner may give (saying yes when
/// `/delete` asks first), and the server refusing it, as it answers a non-owner.
fn not_owner(model: &mut Model, line: &str, message: &str) {
    let mut fx = submit(model, line);
    if matches!(model.popup, Some(crate::model::Popup::Confirm(_))) {
        fx = press(model, plain(KeyCode::Char('y')));
    }
    refuse_request(model, &fx, |_| true, ErrorCode::NotOwner, message);
}

/// carol's group event `ev` in `conv_name`, happening now.
fn by_carol(conv_name: &str, seq: u64, ev: GroupEvent) -> ChatMessage {
    event(conv_name, seq, "carol", now(), ev)
}

/// carol doing `what` to alice in #studygroup.
fn to_alice(seq: u64, what: impl FnOnce(Username) -> GroupEvent) -> ChatMessage {
    by_carol("#studygroup", seq, what(user("alice")))
}

#[test]
fn being_removed_added_back_and_made_owner_each_say_so_and_replace_the_last() {
    let mut model = demo_model(90, 30);
    arrives(&mut model, to_alice(5, |user| GroupEvent::Added { user }));
    assert_eq!(
        notice(&model),
        shown("carol added you to #studygroup", false)
    );
    assert!(model.find(&conv("#studygroup")).is_some());

    // Removed without a ban, as before groups had bans.
    let removed = |user| GroupEvent::Kicked {
        user,
        banned: false,
    };
    arrives(&mut model, to_alice(6, removed));
    assert_eq!(
        notice(&model),
        shown("carol removed you from #studygroup", true)
    );
    assert!(model.find(&conv("#studygroup")).is_none());

    // Moments later: the error is not read yet, but this is news about the
    // same group, and it makes the error untrue.
    arrives(&mut model, to_alice(7, |user| GroupEvent::Added { user }));
    assert_eq!(
        notice(&model),
        shown("carol added you to #studygroup", false)
    );
    arrives(&mut model, to_alice(8, |user| GroupEvent::Owner { user }));
    assert_eq!(
        notice(&model),
        shown("you are now the owner of #studygroup", false)
    );
    let group = conv_of(&model, "#studygroup");
    assert_eq!(group.owner, Some(user("alice")));
}

#[test]
fn group_news_about_others_or_done_by_you_makes_no_notice() {
    let mut model = demo_model(90, 30);
    let dave_added = GroupEvent::Added { user: user("dave") };
    arrives(&mut model, by_carol("#cs101", 10, dave_added));
    let bob_made_owner = GroupEvent::Owner { user: user("bob") };
    arrives(&mut model, by_carol("#cs101", 11, bob_made_owner));
    assert_eq!(notice(&model), None);
}

#[test]
fn an_old_copy_of_group_news_says_nothing_again() {
    let mut model = demo_model(90, 30);
    let added = to_alice(5, |user| GroupEvent::Added { user });
    arrives(&mut model, added.clone());
    press(&mut model, plain(KeyCode::Esc));
    arrives(&mut model, added);
    assert_eq!(notice(&model), None);
}

#[test]
fn an_error_fades_after_a_while_without_esc() {
    let mut model = demo_model(90, 30);
    not_owner(&mut model, "/delete cs101", CANNOT_DELETE);
    tick(&mut model, 10);
    assert!(
        notice(&model).is_some_and(|(_, error)| error),
        "still there while it may not have been read"
    );
    tick(&mut model, 60);
    assert_eq!(notice(&model), None, "gone once it had its time");

    model.notify("bob is online", false);
    tick(&mut model, 69);
    assert_eq!(notice(&model), None, "news fades sooner");
}

#[test]
fn news_waits_behind_an_error_until_it_could_be_read() {
    let mut model = demo_model(90, 30);
    not_owner(
        &mut model,
        "/kick cs101 bob",
        "only the owner of #cs101 (carol) can remove members",
    );
    tick(&mut model, 1);
    model.notify("bob is online", false);
    assert_eq!(
        notice(&model),
        shown("only the owner of #cs101 (carol) can remove members", true),
        "a second after it came, the error stays"
    );
    tick(&mut model, 6);
    assert_eq!(notice(&model), shown("bob is online", false));
    tick(&mut model, 13);
    assert_eq!(notice(&model), shown("bob is online", false));
    tick(&mut model, 15);
    assert_eq!(notice(&model), None);
}

#[test]
fn a_newer_error_replaces_an_older_one_at_once() {
    let mut model = demo_model(90, 30);
    not_owner(&mut model, "/delete cs101", CANNOT_DELETE);
    // The refused command came back to the input; clear it to type the next.
    press(&mut model, ctrl('u'));
    not_owner(
        &mut model,
        "/rename cs101 cs102",
        "only the owner of #cs101 (carol) can rename it",
    );
    assert_eq!(
        notice(&model),
        shown("only the owner of #cs101 (carol) can rename it", true)
    );
}

#[test]
fn a_reconnect_sweeps_away_an_error_already_read_but_not_one_just_shown() {
    let mut model = demo_model(90, 30);
    not_owner(&mut model, "/delete cs101", CANNOT_DELETE);
    tick(&mut model, 8);
    press(&mut model, connected(default_limits()));
    assert_eq!(notice(&model), None, "read, and from before the reconnect");

    model.notify("there is no user named nobody", true);
    tick(&mut model, 9);
    press(&mut model, connected(default_limits()));
    assert_eq!(
        notice(&model),
        shown("there is no user named nobody", true),
        "a second old: not read yet"
    );
}

#[test]
fn the_same_error_twice_keeps_the_notice_that_says_more() {
    let mut model = demo_model(90, 30);
    model.notify_about(
        &conv("nobody"),
        "there is no user named nobody — your message is back in the input to correct",
        true,
    );
    // The history and presence requests for the same name fail the same way.
    model.notify("there is no user named nobody", true);
    assert!(
        notice(&model).is_some_and(|(text, _)| text.contains("back in the input")),
        "{:?}",
        model.notice
    );
}
