//! The actions that ask first: `/delete`, declining an offer from its popup,
//! and quitting while a transfer runs or a message is still sending.

use classchat_common::protocol::FileState;
use classchat_common::{ClientMessage, GroupName};
use crossterm::event::KeyCode;

use super::*;
use crate::client::TransferState;
use crate::fixtures::files::*;
use crate::model::{Confirm, Popup};

fn deletes(fx: &[Effect]) -> Vec<GroupName> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Ask(ClientMessage::Delete { group, .. }) => Some(group.clone()),
            _ => None,
        })
        .collect()
}

fn asking(model: &Model) -> Option<&Confirm> {
    match &model.popup {
        Some(Popup::Confirm(c)) => Some(c),
        _ => None,
    }
}

/// The demo with #lab (alice owns it) and nothing open over it.
fn lab() -> Model {
    let mut model = lab_members_open(90, 30);
    press(&mut model, plain(KeyCode::Esc));
    model
}

#[test]
fn delete_asks_first_and_only_y_deletes() {
    let mut model = lab();
    let fx = submit(&mut model, "/delete lab");
    assert_eq!(deletes(&fx), [], "nothing is sent before the answer");
    assert!(matches!(asking(&model), Some(Confirm::Delete { .. })));

    // n, Esc, or typing on: kept.
    for no in [plain(KeyCode::Char('n')), plain(KeyCode::Esc)] {
        let fx = press(&mut model, no);
        assert_eq!(deletes(&fx), []);
        assert!(model.popup.is_none());
        submit(&mut model, "/delete lab");
    }
    let fx = type_text(&mut model, "oops");
    assert_eq!(deletes(&fx), []);
    assert!(model.popup.is_none());
    assert_eq!(draft(&model), "oops", "what was typed is kept");
    press(&mut model, ctrl('u'));

    // Enter, which sends in the input, does not answer.
    submit(&mut model, "/delete lab");
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert_eq!(deletes(&fx), []);
    assert!(asking(&model).is_some());

    let fx = press(&mut model, plain(KeyCode::Char('y')));
    assert_eq!(deletes(&fx), ["lab".parse::<GroupName>().unwrap()]);
    assert!(model.popup.is_none());
}

#[test]
fn a_refused_delete_gives_the_command_back() {
    let mut model = lab();
    submit(&mut model, "/delete lab");
    let fx = press(&mut model, plain(KeyCode::Char('y')));
    refuse_request(
        &mut model,
        &fx,
        |m| matches!(m, ClientMessage::Delete { .. }),
        classchat_common::ErrorCode::NotOwner,
        "only the owner of #lab can delete it",
    );
    assert_eq!(draft(&model), "/delete lab");
}

#[test]
fn quitting_with_a_message_still_sending_asks_and_a_second_ctrl_c_quits() {
    // The demo's last message to #cs101 is still on its way.
    let mut model = demo_model(90, 30);
    assert_eq!(press(&mut model, ctrl('c')), []);
    assert_eq!(asking(&model), Some(&Confirm::Quit));
    assert!(!model.quit);
    press(&mut model, plain(KeyCode::Char('n')));
    assert!(model.popup.is_none() && !model.quit);

    press(&mut model, ctrl('c'));
    assert_eq!(press(&mut model, ctrl('c')), [Effect::Quit]);
    assert!(model.quit);

    // `/quit` asks the same, and `y` answers.
    let mut model = demo_model(90, 30);
    assert_eq!(submit(&mut model, "/quit"), []);
    assert_eq!(asking(&model), Some(&Confirm::Quit));
    assert_eq!(press(&mut model, plain(KeyCode::Char('y'))), [Effect::Quit]);
}

#[test]
fn quitting_while_a_transfer_runs_asks_and_once_it_is_over_quits_at_once() {
    let mut model = files_model(90, 30);
    // The demo's sending message is confirmed, so only the transfer is left.
    let sending = model
        .convs
        .iter()
        .flat_map(|c| c.entries.iter())
        .find(|e| e.seq.is_none() && e.failure.is_none())
        .map(|e| e.id)
        .expect("a message still sending");
    status(
        &mut model,
        "#cs101",
        sending,
        11,
        stage(crate::tracker::Stage::Stored, counts(0, 0, 2)),
    );
    assert!(crate::model::Unfinished::of(&model).is_empty());

    transfer(&mut model, download(1, "notes.pdf", "bob", 100, 1_234_567));
    assert_eq!(press(&mut model, ctrl('c')), []);
    assert_eq!(asking(&model), Some(&Confirm::Quit));
    press(&mut model, plain(KeyCode::Esc));

    transfer(
        &mut model,
        crate::client::Progress {
            state: TransferState::Saved {
                path: format!("{HOME}/Downloads/ClassChat/notes.pdf").into(),
            },
            ..download(1, "notes.pdf", "bob", 1_234_567, 1_234_567)
        },
    );
    assert_eq!(press(&mut model, ctrl('c')), [Effect::Quit]);
}

#[test]
fn declining_from_the_offer_asks_and_no_goes_back_to_the_offer() {
    let mut model = files_model(90, 30);
    bob_offers(&mut model, 1, "notes.pdf");
    press(&mut model, ctrl('o'));
    assert_eq!(press(&mut model, plain(KeyCode::Char('d'))), []);
    assert_eq!(asking(&model), Some(&Confirm::Decline(offer_id(1))));
    press(&mut model, plain(KeyCode::Char('n')));
    assert!(
        matches!(model.popup, Some(Popup::Offer { offer, .. }) if offer == offer_id(1)),
        "back to the offer"
    );
    press(&mut model, plain(KeyCode::Char('d')));
    let fx = press(&mut model, plain(KeyCode::Char('y')));
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Ask(ClientMessage::Decline { offer, .. }) if *offer == offer_id(1)
    )));
    assert_eq!(
        model.offers.get(offer_id(1)).map(|o| o.state),
        Some(FileState::Declined)
    );
}
