//! Pinned messages: where a group's pins come from (the conversation list,
//! `group` replies, the `/groups` list, the events), `p` on a selected
//! message and who may use it, and the `/pins` popup: fetching what is not
//! loaded, keeping the copies current, and Enter going to the message.

use classchat_common::ErrorCode;
use classchat_common::protocol::{ConvSummary, GroupEvent, Role};
use crossterm::event::KeyCode;

use super::*;
use crate::fixtures::pins::*;
use crate::fixtures::replies::{delete_line, edit_line};
use crate::model::{Asked, Fetched, Focus, Popup};

fn pins(model: &Model, conv_name: &str) -> Vec<u64> {
    conv_of(model, conv_name).pins.seqs().to_vec()
}

fn notice(model: &Model) -> String {
    model
        .notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default()
}

/// The pin requests in `fx`: (pin or unpin, group, seq).
fn pin_requests(fx: &[Effect]) -> Vec<(&'static str, String, u64)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Ask(ClientMessage::Pin { group, seq, .. }) => {
                Some(("pin", group.to_string(), *seq))
            }
            Effect::Ask(ClientMessage::Unpin { group, seq, .. }) => {
                Some(("unpin", group.to_string(), *seq))
            }
            _ => None,
        })
        .collect()
}

/// The `after` of each one-message history request in `fx`: the fetches.
fn fetches(fx: &[Effect]) -> Vec<u64> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Ask(ClientMessage::History {
                after: Some(after),
                limit: Some(1),
                before: None,
                ..
            }) => Some(*after),
            _ => None,
        })
        .collect()
}

/// The sequence number of the selected message.
fn selected_seq(model: &Model) -> Option<u64> {
    match model.focus {
        Focus::Messages(at) => model.current()?.entries.get(at)?.seq,
        Focus::Input => None,
    }
}

fn in_lab(model: &mut Model, seq: u64, actor: &str, ev: GroupEvent) {
    arrives(model, event("#lab", seq, actor, now(), ev));
}

// ---- the model ----------------------------------------------------------------

#[test]
fn pins_come_from_the_list_then_follow_the_events_and_the_group_replies() {
    let mut model = lab_pinned(90, 30);
    assert_eq!(pins(&model, "#lab"), LAB_PINS, "from the conversation list");
    in_lab(&mut model, 15, "bob", GroupEvent::Pinned { seq: 14 });
    in_lab(&mut model, 16, "bob", GroupEvent::Unpinned { seq: 7 });
    assert_eq!(pins(&model, "#lab"), [3, 12, 14], "in the order pinned");
    // An event already counted (the catch-up repeating it) changes nothing.
    in_lab(&mut model, 13, "alice", GroupEvent::Pinned { seq: 12 });
    assert_eq!(pins(&model, "#lab"), [3, 12, 14]);

    let fx = submit(&mut model, "/unpin lab 3");
    let req = req_of(&fx, |m| matches!(m, ClientMessage::Unpin { .. }));
    let info = classchat_common::protocol::GroupInfo {
        pinned: vec![12, 14],
        role: Some(Role::Owner),
        ..group_info("lab", "alice", 4, true)
    };
    server(&mut model, ServerMessage::Group { req, info });
    assert_eq!(pins(&model, "#lab"), [12, 14]);
    assert_eq!(notice(&model), "unpin: #lab · 2 pinned messages (/pins)");

    let mut listed = group_info("lab", "alice", 4, true);
    listed.pinned = vec![14];
    open_groups(&mut model, vec![listed]);
    assert_eq!(pins(&model, "#lab"), [14], "from /groups too");
}

// ---- p on a selected message ----------------------------------------------------

#[test]
fn p_pins_the_selected_message_or_unpins_it_for_the_owner() {
    let mut model = lab_pinned(90, 30);
    press(&mut model, alt(KeyCode::Up));
    assert_eq!(selected_seq(&model), Some(14));
    let hint = screen(&model);
    assert!(hint.contains("p pin"), "the hint says so: {hint}");
    let fx = press(&mut model, plain(KeyCode::Char('p')));
    assert_eq!(pin_requests(&fx), [("pin", "lab".into(), 14)]);

    press(&mut model, plain(KeyCode::Up));
    press(&mut model, plain(KeyCode::Up));
    assert_eq!(selected_seq(&model), Some(12));
    assert!(screen(&model).contains("p unpin"));
    let fx = press(&mut model, plain(KeyCode::Char('p')));
    assert_eq!(pin_requests(&fx), [("unpin", "lab".into(), 12)]);

    // The `pinned` event is no message to pin.
    press(&mut model, plain(KeyCode::Down));
    let fx = press(&mut model, plain(KeyCode::Char('p')));
    assert!(pin_requests(&fx).is_empty());
    assert!(
        notice(&model).contains("can be pinned"),
        "{}",
        notice(&model)
    );
}

#[test]
fn p_by_a_plain_member_or_in_a_direct_conversation_says_why_and_sends_nothing() {
    let mut model = demo_model(90, 30);
    press(&mut model, alt(KeyCode::Up));
    let fx = press(&mut model, plain(KeyCode::Char('p')));
    assert!(pin_requests(&fx).is_empty(), "{fx:?}");
    assert_eq!(
        notice(&model),
        "only the owner and moderators of #cs101 pin messages"
    );
    assert!(
        !screen(&model).contains("p pin"),
        "nor does the hint offer it"
    );

    let fx = press(&mut model, ctrl('n'));
    answer_history(
        &mut model,
        &fx,
        vec![chat("bob", 1, "bob", now(), "hi")],
        false,
    );
    press(&mut model, alt(KeyCode::Up));
    let fx = press(&mut model, plain(KeyCode::Char('p')));
    assert!(pin_requests(&fx).is_empty());
    assert_eq!(notice(&model), "only messages in a group can be pinned");
}

#[test]
fn a_refused_pin_says_why() {
    let mut model = lab_pinned(90, 30);
    press(&mut model, alt(KeyCode::Up));
    let fx = press(&mut model, plain(KeyCode::Char('p')));
    refuse_request(
        &mut model,
        &fx,
        |m| matches!(m, ClientMessage::Pin { .. }),
        ErrorCode::BadRequest,
        "message 14 of #lab is pinned already",
    );
    assert_eq!(notice(&model), "message 14 of #lab is pinned already");
    assert_eq!(draft(&model), "", "a key leaves no command in the input");
}

// ---- /pins -------------------------------------------------------------------------

#[test]
fn pins_opens_a_popup_and_fetches_each_pinned_message_not_loaded_once() {
    let mut model = lab_pinned(90, 30);
    let fx = submit(&mut model, "/pins");
    assert!(matches!(model.popup, Some(Popup::Pins { .. })));
    assert_eq!(fetches(&fx), [2, 6], "12 is loaded already");
    assert!(screen(&model).contains("message 3 loading…"));
    // Any other news while the popup is open asks for nothing more.
    let news = arrives(&mut model, chat("#cs101", 10, "bob", now(), "hi"));
    assert!(fetches(&news).is_empty(), "{news:?}");

    answer_pin(&mut model, &fx, 3, vec![lab_rules()]);
    let c = conv_of(&model, "#lab");
    assert!(matches!(c.pins.fetched(3), Some(Fetched::Got(_))));
    assert_eq!(
        c.entries.iter().filter_map(|e| e.seq).collect::<Vec<_>>(),
        [10, 11, 12, 13, 14],
        "the copy stays apart from the page loaded"
    );
    assert_eq!(c.oldest_seq(), Some(10));
}

#[test]
fn a_pin_made_while_the_popup_is_open_is_fetched_and_one_the_server_lacks_says_so() {
    let mut model = lab_pins_open(90, 30);
    in_lab(&mut model, 15, "bob", GroupEvent::Pinned { seq: 5 });
    let fx = arrives(&mut model, chat("#lab", 16, "bob", now(), "see the pins"));
    assert!(fetches(&fx).is_empty(), "asked when the event came");
    let pinned = event("#lab", 17, "bob", now(), GroupEvent::Pinned { seq: 8 });
    let fx = arrives(&mut model, pinned);
    assert_eq!(fetches(&fx), [7]);
    answer_pin(&mut model, &fx, 8, Vec::new());
    assert!(screen(&model).contains("message 8 is no longer in the history"));

    // A refused fetch says so in the popup too, and no more is asked.
    let pinned = event("#lab", 18, "bob", now(), GroupEvent::Pinned { seq: 9 });
    let fx = arrives(&mut model, pinned);
    refuse_request(
        &mut model,
        &fx,
        |m| matches!(m, ClientMessage::History { .. }),
        ErrorCode::StorageFailed,
        "the server could not read the history",
    );
    assert_eq!(
        conv_of(&model, "#lab").pins.fetched(9),
        Some(&Fetched::Missing)
    );
}

#[test]
fn an_edit_or_a_deletion_reaches_the_fetched_copy_of_a_pinned_message() {
    let mut model = lab_pins_open(90, 30);
    arrives(
        &mut model,
        edit_line("#lab", 15, "alice", now(), 3, "Lab rules: glasses on"),
    );
    assert!(screen(&model).contains("alice: Lab rules: glasses on"));
    arrives(&mut model, delete_line("#lab", 16, "alice", now(), 3));
    let shown = screen(&model);
    assert!(!shown.contains("Lab rules"), "{shown}");
}

#[test]
fn pins_without_a_group_needs_one_open_and_only_your_groups_have_pins_to_show() {
    let mut model = demo_model(90, 30);
    let fx = press(&mut model, ctrl('n'));
    answer_history(&mut model, &fx, Vec::new(), false);
    let fx = submit(&mut model, "/pins");
    assert!(model.popup.is_none() && fetches(&fx).is_empty());
    assert_eq!(
        notice(&model),
        "say which group: /pins <group> (or open the group)"
    );
    submit(&mut model, "/pins algebra");
    assert_eq!(
        notice(&model),
        "you are not in #algebra: /join algebra first"
    );

    // The open group, with nothing pinned: an empty popup, nothing asked.
    let mut model = demo_model(90, 30);
    let fx = submit(&mut model, "/pins");
    assert!(fetches(&fx).is_empty());
    assert!(screen(&model).contains("No pinned messages."));
}

// ---- Enter on a pin -----------------------------------------------------------------

#[test]
fn enter_on_a_pin_loaded_selects_it_at_once() {
    let mut model = lab_pins_open(90, 30);
    press(&mut model, plain(KeyCode::Down));
    press(&mut model, plain(KeyCode::Down));
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert!(model.popup.is_none());
    assert!(older_requests(&fx).is_empty(), "{fx:?}");
    assert_eq!(selected_seq(&model), Some(12));
}

#[test]
fn enter_on_an_older_pin_loads_older_pages_until_it_is_there() {
    let mut model = lab_pins_open(90, 30);
    // The page loaded does not fill the pane: the next older one is on its way.
    let older = model
        .asked
        .iter()
        .find_map(|(req, a)| (*a == Asked::Older(conv("#lab"))).then_some(*req));
    assert!(older.is_some(), "{:?}", model.asked);
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert!(
        older_requests(&fx).is_empty(),
        "that page takes the next step"
    );
    assert_eq!(selected_name(&model), "#lab");
    let earlier: Vec<_> = (3..10)
        .map(|seq| chat("#lab", seq, "carol", at(2, 10, seq as i64), "earlier"))
        .collect();
    server(
        &mut model,
        ServerMessage::History {
            req: older,
            conv: conv("#lab"),
            messages: earlier[4..].to_vec(),
            more: true,
        },
    );
    // Not there yet: one more page, from where this one starts.
    let asked: Vec<_> = model.asked.values().collect();
    assert!(asked.contains(&&Asked::Older(conv("#lab"))), "{asked:?}");
    let older = model
        .asked
        .iter()
        .find_map(|(req, a)| (*a == Asked::Older(conv("#lab"))).then_some(*req));
    server(
        &mut model,
        ServerMessage::History {
            req: older,
            conv: conv("#lab"),
            messages: earlier[..4].to_vec(),
            more: true,
        },
    );
    assert_eq!(selected_seq(&model), Some(3));
}

#[test]
fn enter_on_a_pin_of_a_group_never_opened_opens_it_there() {
    let mut model = demo_model(90, 30);
    server(
        &mut model,
        ServerMessage::Conversations {
            req: None,
            conversations: vec![ConvSummary {
                members: Some(4),
                owner: Some(user("alice")),
                role: Some(Role::Owner),
                pinned: vec![12],
                ..summary("#lab", 14, 14, 0)
            }],
            total: 6,
        },
    );
    assert_eq!(selected_name(&model), "#cs101");
    let fx = submit(&mut model, "/pins lab");
    assert_eq!(fetches(&fx), [11], "not loaded: #lab was never opened");
    answer_pin(&mut model, &fx, 12, vec![lab_history()[2].clone()]);

    let fx = press(&mut model, plain(KeyCode::Enter));
    assert_eq!(selected_name(&model), "#lab");
    let newest = req_of(&fx, |m| {
        matches!(
            m,
            ClientMessage::History {
                before: None,
                after: None,
                ..
            }
        )
    });
    server(
        &mut model,
        ServerMessage::History {
            req: newest,
            conv: conv("#lab"),
            messages: lab_history(),
            more: true,
        },
    );
    assert_eq!(selected_seq(&model), Some(12));
}

#[test]
fn the_pins_popup_follows_its_group_to_a_new_name() {
    let mut model = lab_pins_open(90, 30);
    let renamed = GroupEvent::Renamed {
        old: "lab".parse().unwrap(),
        new: "lab-b".parse().unwrap(),
    };
    arrives(&mut model, event("#lab-b", 15, "alice", now(), renamed));
    let shown = screen(&model);
    assert!(shown.contains("Pinned in #lab-b · 3"), "{shown}");
    press(&mut model, plain(KeyCode::Down));
    assert!(matches!(model.popup, Some(Popup::Pins { selected: 1, .. })));
}
