//! Popups never swallow typing: a character that is not a popup's own key
//! closes it and is typed into the input, so a `/` over a list starts a
//! command and nothing typed is lost.

use classchat_common::{ClientMessage, Conv, ServerMessage};
use crossterm::event::KeyCode;

use super::*;
use crate::fixtures::files::{bob_offers, file_info};
use crate::model::Popup;

/// What `fx` asks to send, as (to, body).
fn sent(fx: &[Effect]) -> Vec<(String, String)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Send { to, body, .. } => Some((to.to_string(), body.clone())),
            _ => None,
        })
        .collect()
}

/// Issue 14: with `/members lab` open, typing `/msg #lab hello` and Enter
/// sends hello to #lab; it neither loses the text nor opens a conversation
/// with the member the list had chosen.
#[test]
fn a_command_typed_over_the_members_list_goes_to_the_input_and_runs() {
    for burst_of_keys in [false, true] {
        let mut model = lab_members_open(90, 30);
        assert!(matches!(model.popup, Some(Popup::Members { .. })));
        let convs_before = model.convs.len();
        let mut fx = if burst_of_keys {
            press(&mut model, burst("/msg #lab hello"))
        } else {
            type_text(&mut model, "/msg #lab hello")
        };
        assert!(model.popup.is_none(), "the `/` closed the list");
        assert_eq!(draft(&model), "/msg #lab hello", "nothing typed was lost");
        fx.extend(press(&mut model, plain(KeyCode::Enter)));
        assert_eq!(sent(&fx), [("#lab".to_owned(), "hello".to_owned())]);
        assert_eq!(selected_name(&model), "#lab");
        assert_eq!(
            model.convs.len(),
            convs_before,
            "no conversation was started"
        );
        assert_eq!(model.find(&conv("student01")), None);
    }
}

/// Every popup opened the way a user opens it, and whether its own keys
/// include letters.
fn every_list_popup() -> Vec<(&'static str, Model)> {
    let mut who = demo_model(90, 30);
    open_who(&mut who, &["alice", "bob", "frank"], 3);
    let mut groups = demo_model(90, 30);
    open_groups(&mut groups, three_groups());
    let mut help = demo_model(90, 30);
    press(&mut help, plain(KeyCode::F(1)));
    let mut transfers = demo_model(90, 30);
    press(&mut transfers, ctrl('t'));
    let mut switcher = demo_model(90, 30);
    press(&mut switcher, ctrl('k'));
    let mut offer = demo_model(90, 30);
    bob_offers(&mut offer, 1, "notes.pdf");
    press(&mut offer, ctrl('o'));
    let mut read_by = demo_model(90, 30);
    read_by.popup = Some(Popup::ReadBy {
        conv: conv("#cs101"),
        seq: 6,
        counts: counts(1, 0, 2),
        members: Vec::new(),
    });
    vec![
        ("members", lab_members_open(90, 30)),
        ("who", who),
        ("groups", groups),
        ("help", help),
        ("transfers", transfers),
        ("switcher", switcher),
        ("offer", offer),
        ("read by", read_by),
    ]
}

#[test]
fn a_slash_over_any_list_popup_closes_it_and_starts_the_command_in_the_input() {
    for (name, mut model) in every_list_popup() {
        assert!(model.popup.is_some(), "{name} is open");
        let fx = type_text(&mut model, "/who");
        assert!(model.popup.is_none(), "{name} closed");
        assert_eq!(draft(&model), "/who", "{name}: the command is in the input");
        assert!(fx.is_empty(), "{name}: nothing was done: {fx:?}");
    }
}

#[test]
fn a_word_typed_over_a_list_that_has_no_letter_keys_is_typed_whole() {
    for (name, mut model) in every_list_popup() {
        if matches!(
            model.popup,
            Some(Popup::Switcher { .. } | Popup::Offer { .. } | Popup::Transfers { .. })
        ) {
            // The switcher's query takes letters; the offer and the transfers
            // have letter keys of their own (below).
            continue;
        }
        let fx = type_text(&mut model, "hello");
        assert!(model.popup.is_none(), "{name} closed");
        assert_eq!(draft(&model), "hello", "{name}");
        assert!(fx.is_empty(), "{name}: {fx:?}");
    }
}

#[test]
fn a_letter_that_is_not_the_offer_s_own_key_goes_to_the_input() {
    let (_, mut model) = every_list_popup()
        .into_iter()
        .find(|(name, _)| *name == "offer")
        .expect("the offer popup");
    let fx = type_text(&mut model, "hi");
    assert!(model.popup.is_none());
    assert_eq!(draft(&model), "hi");
    assert!(fx.is_empty(), "{fx:?}");
}

#[test]
fn the_lists_own_keys_still_move_and_choose() {
    let mut model = lab_members_open(90, 30);
    press(&mut model, plain(KeyCode::Down));
    press(&mut model, plain(KeyCode::Enter));
    assert_eq!(selected_name(&model), "student01");
    assert!(matches!(
        model.current().map(|c| &c.conv),
        Some(Conv::User(_))
    ));
}

/// `/files` opens the oldest offer when its answer comes, unless something
/// was typed meanwhile: the next letters would answer the offer.
#[test]
fn the_files_answer_opens_the_offer_only_if_nothing_was_typed_since() {
    use classchat_common::protocol::{FileState, OfferSummary};
    for typed_meanwhile in ["", "s"] {
        let mut model = demo_model(90, 30);
        let fx = submit(&mut model, "/files");
        let req = req_of(&fx, |m| matches!(m, ClientMessage::Files { .. }));
        assert!(req.is_some(), "{fx:?}");
        type_text(&mut model, typed_meanwhile);
        server(
            &mut model,
            ServerMessage::Files {
                req,
                incoming: vec![OfferSummary {
                    file: file_info(5, "exam.pdf", 99_000),
                    conv: conv("#cs101"),
                    from: user("carol"),
                    state: Some(FileState::Pending),
                    recipients: Vec::new(),
                }],
                outgoing: Vec::new(),
                more: false,
            },
        );
        if typed_meanwhile.is_empty() {
            assert!(matches!(model.popup, Some(Popup::Offer { .. })));
        } else {
            assert!(model.popup.is_none());
            assert_eq!(draft(&model), typed_meanwhile);
            assert!(model.notice.is_some_and(|n| n.text.contains("Ctrl+O")));
        }
    }
}
