//! Files: the picker, offers arriving and being answered, the transfers view,
//! progress, and completing paths and offer ids.

use std::path::PathBuf;

use classchat_common::protocol::{FileState, GroupEvent, OfferSummary};
use classchat_common::{OfferId, ServerMessage};
use crossterm::event::KeyCode;

use super::*;
use crate::client::{Progress, TransferState};
use crate::fixtures::files::*;
use crate::message::Msg;
use crate::model::Popup;

fn send_files(fx: &[Effect]) -> Vec<(String, PathBuf)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::SendFile { to, path, .. } => Some((to.to_string(), path.clone())),
            _ => None,
        })
        .collect()
}

fn accepts(fx: &[Effect]) -> Vec<(OfferId, String, Option<PathBuf>)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::AcceptFile { offer, conv, dir } => {
                Some((*offer, conv.to_string(), dir.clone()))
            }
            _ => None,
        })
        .collect()
}

fn declines(fx: &[Effect]) -> Vec<OfferId> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Ask(ClientMessage::Decline {
                req: Some(_),
                offer,
            }) => Some(*offer),
            _ => None,
        })
        .collect()
}

fn offer_shown(model: &Model) -> Option<OfferId> {
    match &model.popup {
        Some(Popup::Offer { offer, .. }) => Some(*offer),
        _ => None,
    }
}

fn picker_dir(model: &Model) -> Option<PathBuf> {
    match &model.popup {
        Some(Popup::Picker(p)) => Some(p.dir.clone()),
        _ => None,
    }
}

/// The demo with bob's conversation open and read.
fn with_bob_open() -> Model {
    let mut model = files_model(90, 30);
    let fx = press(&mut model, alt(KeyCode::Char('2')));
    answer_history(&mut model, &fx, Vec::new(), false);
    model
}

// ---- the picker ----------------------------------------------------------------

#[test]
fn the_picker_walks_folders_and_choosing_a_file_offers_it() {
    let home = picker_home();
    let docs = home.path().join("Documents");
    let mut model = picker_model(90, 30, home.path());
    type_text(&mut model, "/sendfile bob");
    press(&mut model, plain(KeyCode::Enter));
    assert_eq!(picker_dir(&model), Some(docs.clone()));
    assert_eq!(draft(&model), "", "the command was run");

    // Down to Lectures/ (after `..` and Labs/), into it, and back up with `..`.
    press(&mut model, plain(KeyCode::Down));
    press(&mut model, plain(KeyCode::Down));
    press(&mut model, plain(KeyCode::Enter));
    assert_eq!(picker_dir(&model), Some(docs.join("Lectures")));
    press(&mut model, plain(KeyCode::Enter));
    assert_eq!(picker_dir(&model), Some(docs.clone()));
    // Backspace in an empty filter goes up too.
    press(&mut model, plain(KeyCode::Backspace));
    assert_eq!(picker_dir(&model), Some(home.path().to_path_buf()));
    press(&mut model, plain(KeyCode::Down));
    press(&mut model, plain(KeyCode::Enter));
    assert_eq!(
        picker_dir(&model),
        Some(docs.clone()),
        "Documents/ is first"
    );

    type_text(&mut model, "SLIDES");
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert_eq!(
        send_files(&fx),
        [("bob".to_owned(), docs.join("week7-slides.pdf"))]
    );
    assert!(model.popup.is_none());
    assert_eq!(model.picker_dir, docs, "the picker opens here next time");
    assert_eq!(
        draft(&model),
        "",
        "nothing typed in the picker leaks into the draft"
    );
}

#[test]
fn a_path_typed_in_the_picker_opens_its_folder_or_sends_its_file() {
    let home = picker_home();
    let docs = home.path().join("Documents");
    let mut model = picker_model(90, 30, home.path());
    model.home = Some(home.path().to_path_buf());
    type_text(&mut model, "/sendfile bob");
    press(&mut model, plain(KeyCode::Enter));

    // `~/` is the home folder; a folder opens...
    type_text(&mut model, "~/Documents/Lectures");
    let shown = screen(&model);
    assert!(
        shown.contains("Enter opens ~/Documents/Lectures"),
        "{shown}"
    );
    press(&mut model, plain(KeyCode::Enter));
    assert_eq!(picker_dir(&model), Some(docs.join("Lectures")));

    // ...nothing happens where nothing is...
    type_text(&mut model, "../nowhere");
    assert!(screen(&model).contains("no file or folder at"));
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert!(send_files(&fx).is_empty());
    assert_eq!(picker_dir(&model), Some(docs.join("Lectures")));

    // ...and a file, relative to the folder shown, is sent.
    for _ in 0.."../nowhere".len() {
        press(&mut model, plain(KeyCode::Backspace));
    }
    type_text(&mut model, "../week7-slides.pdf");
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert_eq!(
        send_files(&fx),
        [(
            "bob".to_owned(),
            docs.join("Lectures").join("../week7-slides.pdf")
        )]
    );
    assert!(model.popup.is_none());
}

#[test]
fn each_pick_gets_a_fresh_transfer_number() {
    let home = picker_home();
    let mut model = picker_model(90, 30, home.path());
    let mut locals = Vec::new();
    for _ in 0..2 {
        type_text(&mut model, "/sendfile bob");
        press(&mut model, plain(KeyCode::Enter));
        type_text(&mut model, "notes");
        for e in press(&mut model, plain(KeyCode::Enter)) {
            if let Effect::SendFile { local, .. } = e {
                locals.push(local);
            }
        }
    }
    assert_eq!(locals.len(), 2);
    assert_ne!(locals[0], locals[1]);
}

#[test]
fn esc_closes_the_picker_sending_nothing_and_leaving_the_draft_alone() {
    let home = picker_home();
    let mut model = picker_model(90, 30, home.path());
    type_text(&mut model, "/sendfile #cs101");
    press(&mut model, plain(KeyCode::Enter));
    type_text(&mut model, "notes");
    let fx = press(&mut model, plain(KeyCode::Esc));
    assert!(model.popup.is_none());
    assert!(send_files(&fx).is_empty());
    assert_eq!(draft(&model), "");
    // The command is in the recall history, to open the picker again.
    press(&mut model, plain(KeyCode::Up));
    assert_eq!(draft(&model), "/sendfile #cs101");
}

#[test]
fn sendfile_alone_picks_for_the_open_conversation() {
    let home = picker_home();
    let mut model = picker_model(90, 30, home.path());
    type_text(&mut model, "/sendfile");
    press(&mut model, plain(KeyCode::Enter));
    match &model.popup {
        Some(Popup::Picker(p)) => assert_eq!(p.to.to_string(), "#cs101"),
        other => panic!("expected the picker, got {other:?}"),
    }
    // Up recalls it as typed, for whichever conversation is open then.
    press(&mut model, plain(KeyCode::Esc));
    press(&mut model, plain(KeyCode::Up));
    assert_eq!(draft(&model), "/sendfile");

    // With no conversation open there is nobody to send to: the usage shows.
    let mut lobby = connected_model(90, 30);
    type_text(&mut lobby, "/sendfile");
    press(&mut lobby, plain(KeyCode::Enter));
    assert!(lobby.popup.is_none());
    let notice = lobby.notice.clone().expect("an explanation");
    assert!(notice.error && notice.text.contains("/sendfile <user|#group>"));
    assert_eq!(draft(&lobby), "/sendfile", "the text is kept to fix");
}

#[test]
fn sendfile_with_a_path_offers_it_at_once_with_tilde_meaning_home() {
    let mut model = files_model(90, 30);
    type_text(&mut model, "/sendfile bob ~/my notes.pdf");
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert_eq!(
        send_files(&fx),
        [("bob".to_owned(), PathBuf::from(HOME).join("my notes.pdf"))]
    );
    assert!(
        !model
            .asked
            .values()
            .any(|a| matches!(a, crate::model::Asked::Command(_))),
        "no request is waiting for an answer"
    );
}

// ---- offers arriving -----------------------------------------------------------

#[test]
fn an_offer_in_the_open_conversation_is_announced_and_opens_only_on_ctrl_o() {
    let mut model = with_bob_open();
    bob_offers(&mut model, 1, "notes.pdf");
    assert_eq!(offer_shown(&model), None, "nothing opens by itself");
    assert_eq!(
        model.notice.as_ref().map(|n| n.text.as_str()),
        Some("bob offers notes.pdf (1.2 MB) — Ctrl+O to answer")
    );
    let shown = screen(&model);
    assert!(shown.contains("Ctrl+O to accept or decline"), "{shown}");
    assert!(shown.contains("1 file offer (Ctrl+O)"), "{shown}");
    press(&mut model, ctrl('o'));
    assert_eq!(offer_shown(&model), Some(offer_id(1)));
}

/// Issue 14: bob's conversation open, nothing typed; bob offers a file and,
/// before looking, alice types her question and presses Enter. Every key
/// goes into the message: nothing is declined and the whole sentence is sent.
#[test]
fn typing_on_as_an_offer_arrives_sends_every_key_and_declines_nothing() {
    const QUESTION: &str = "do you have the other slides too?";
    let sent = |fx: &[Effect]| -> Vec<(String, String)> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Send { to, body, .. } => Some((to.to_string(), body.clone())),
                _ => None,
            })
            .collect()
    };
    // Key by key, and in one burst as a fast typist's terminal delivers it.
    for burst_of_keys in [false, true] {
        let mut model = with_bob_open();
        bob_offers(&mut model, 1, "slides.pdf");
        let mut fx = if burst_of_keys {
            press(&mut model, burst(QUESTION))
        } else {
            type_text(&mut model, QUESTION)
        };
        fx.extend(press(&mut model, plain(KeyCode::Enter)));
        assert_eq!(sent(&fx), [("bob".to_owned(), QUESTION.to_owned())]);
        assert_eq!(declines(&fx), []);
        assert_eq!(accepts(&fx), []);
        assert!(model.popup.is_none());
        press(&mut model, ctrl('o'));
        assert_eq!(offer_shown(&model), Some(offer_id(1)), "it still waits");
    }
}

#[test]
fn an_offer_never_interrupts_typing_another_popup_or_another_conversation() {
    // Something typed.
    let mut model = with_bob_open();
    type_text(&mut model, "hang on");
    bob_offers(&mut model, 1, "notes.pdf");
    assert!(model.popup.is_none());
    assert_eq!(draft(&model), "hang on");
    let notice = model.notice.clone().expect("a notice");
    assert_eq!(
        notice.text,
        "bob offers notes.pdf (1.2 MB) — Ctrl+O to answer"
    );

    // Another popup showing.
    let mut model = with_bob_open();
    press(&mut model, plain(KeyCode::F(1)));
    bob_offers(&mut model, 1, "notes.pdf");
    assert!(matches!(model.popup, Some(Popup::Help { .. })));

    // Another conversation open (#cs101 in the demo).
    let mut model = files_model(90, 30);
    bob_offers(&mut model, 1, "notes.pdf");
    assert!(model.popup.is_none());
    assert!(model.notice.is_some_and(|n| n.text.contains("Ctrl+O")));

    // Your own offer, from another device.
    let mut model = with_bob_open();
    arrives(
        &mut model,
        file_offer("bob", 3, "alice", now(), file_info(2, "mine.pdf", 10)),
    );
    assert!(model.popup.is_none());
}

#[test]
fn accepting_downloads_into_the_download_folder_and_the_offer_stops_waiting() {
    for key in [KeyCode::Char('a'), KeyCode::Enter] {
        let mut model = with_bob_open();
        bob_offers(&mut model, 1, "notes.pdf");
        press(&mut model, ctrl('o'));
        let fx = press(&mut model, plain(key));
        assert_eq!(accepts(&fx), [(offer_id(1), "bob".to_owned(), None)]);
        assert!(model.popup.is_none());
        press(&mut model, ctrl('o'));
        assert_eq!(offer_shown(&model), None, "nothing else waits");
        assert!(
            screen(&model).contains("accepted — starting the download"),
            "{}",
            screen(&model)
        );
    }
}

#[test]
fn declining_asks_the_server_and_the_offer_stops_waiting() {
    let mut model = with_bob_open();
    bob_offers(&mut model, 1, "notes.pdf");
    press(&mut model, ctrl('o'));
    let fx = press(&mut model, plain(KeyCode::Char('d')));
    assert_eq!(declines(&fx), [], "declining is for good: it asks first");
    assert!(matches!(model.popup, Some(Popup::Confirm(_))));
    let fx = press(&mut model, plain(KeyCode::Char('y')));
    assert_eq!(declines(&fx), [offer_id(1)]);
    let req = req_of(&fx, |m| matches!(m, ClientMessage::Decline { .. }));
    let mut answer = file_status(
        1,
        "notes.pdf",
        "bob",
        "alice",
        FileState::Declined,
        file_counts(0, 1, 0, 1),
    );
    if let ServerMessage::FileStatus { req: r, .. } = &mut answer {
        *r = req;
    }
    server(&mut model, answer);
    assert!(!model.asked.contains_key(&req.expect("a request id")));
    assert!(screen(&model).contains("        declined"));
    press(&mut model, ctrl('o'));
    assert_eq!(offer_shown(&model), None);
    assert_eq!(
        model.notice.map(|n| n.text),
        Some("no file offers wait for an answer".into())
    );
}

#[test]
fn save_as_accepts_into_the_folder_typed_and_esc_goes_back_to_the_offer() {
    let mut model = with_bob_open();
    bob_offers(&mut model, 1, "notes.pdf");
    press(&mut model, ctrl('o'));
    press(&mut model, plain(KeyCode::Char('s')));
    match &model.popup {
        Some(Popup::Offer {
            save_as: Some(folder),
            ..
        }) => assert_eq!(folder.text(), "~/Downloads/ClassChat"),
        other => panic!("expected save as, got {other:?}"),
    }
    press(&mut model, plain(KeyCode::Esc));
    assert!(matches!(
        model.popup,
        Some(Popup::Offer { save_as: None, .. })
    ));
    press(&mut model, plain(KeyCode::Char('s')));
    type_text(&mut model, "/lab 3");
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert_eq!(
        accepts(&fx),
        [(
            offer_id(1),
            "bob".to_owned(),
            Some(PathBuf::from(HOME).join("Downloads/ClassChat/lab 3"))
        )]
    );
    assert!(model.popup.is_none());
}

#[test]
fn later_keeps_the_offer_waiting_and_ctrl_o_brings_back_the_oldest() {
    let mut model = with_bob_open();
    bob_offers(&mut model, 1, "notes.pdf");
    press(&mut model, ctrl('o'));
    press(&mut model, plain(KeyCode::Char('l')));
    assert!(model.popup.is_none());
    bob_offers(&mut model, 2, "slides.pdf");
    press(&mut model, ctrl('o'));
    press(&mut model, plain(KeyCode::Esc));
    assert!(model.popup.is_none());
    assert_eq!(draft(&model), "", "l and Esc typed nothing");
    press(&mut model, ctrl('o'));
    assert_eq!(offer_shown(&model), Some(offer_id(1)), "the oldest first");
    press(&mut model, plain(KeyCode::Tab));
    assert_eq!(offer_shown(&model), Some(offer_id(2)));
    press(&mut model, plain(KeyCode::Tab));
    assert_eq!(offer_shown(&model), Some(offer_id(1)), "round the end");
}

#[test]
fn an_answered_offer_never_asks_again() {
    let mut model = with_bob_open();
    bob_offers(&mut model, 1, "notes.pdf");
    press(&mut model, ctrl('o'));
    press(&mut model, plain(KeyCode::Char('d')));
    press(&mut model, plain(KeyCode::Char('y')));
    // The same offer delivered again (a reconnect's catch-up).
    bob_offers(&mut model, 1, "notes.pdf");
    assert_eq!(offer_shown(&model), None);

    // A download saved here.
    bob_offers(&mut model, 2, "slides.pdf");
    press(&mut model, ctrl('o'));
    press(&mut model, plain(KeyCode::Char('a')));
    transfer(
        &mut model,
        Progress {
            state: TransferState::Saved {
                path: PathBuf::from(HOME).join("Downloads/ClassChat/slides.pdf"),
            },
            ..download(2, "slides.pdf", "bob", 1_234_567, 1_234_567)
        },
    );
    bob_offers(&mut model, 2, "slides.pdf");
    assert_eq!(offer_shown(&model), None);
    press(&mut model, ctrl('o'));
    assert_eq!(offer_shown(&model), None);
}

#[test]
fn a_saved_download_shows_its_path_in_the_conversation() {
    let mut model = with_bob_open();
    bob_offers(&mut model, 1, "notes.pdf");
    press(&mut model, ctrl('o'));
    press(&mut model, plain(KeyCode::Char('a')));
    transfer(
        &mut model,
        download(1, "notes.pdf", "bob", 600_000, 1_234_567),
    );
    assert!(screen(&model).contains("downloading 48%"));
    transfer(
        &mut model,
        Progress {
            state: TransferState::Saved {
                path: PathBuf::from(HOME).join("Downloads/ClassChat/notes (1).pdf"),
            },
            ..download(1, "notes.pdf", "bob", 1_234_567, 1_234_567)
        },
    );
    let shown = screen(&model);
    assert!(
        shown.contains("saved to ~/Downloads/ClassChat/notes (1).pdf"),
        "{shown}"
    );
    assert_eq!(
        model.notice.map(|n| n.text),
        Some("saved notes.pdf to ~/Downloads/ClassChat/notes (1).pdf".into())
    );
}

#[test]
fn connecting_asks_for_open_offers_and_the_answer_is_kept_quietly_for_ctrl_o() {
    let mut model = files_model(90, 30);
    let fx = press(&mut model, connected(default_limits()));
    let req = req_of(&fx, |m| matches!(m, ClientMessage::Files { .. }));
    assert!(req.is_some(), "{fx:?}");
    let waiting = OfferSummary {
        file: file_info(5, "exam.pdf", 99_000),
        conv: conv("#cs101"),
        from: user("carol"),
        state: Some(FileState::Pending),
        recipients: Vec::new(),
    };
    server(
        &mut model,
        ServerMessage::Files {
            req,
            incoming: vec![waiting],
            outgoing: Vec::new(),
            more: false,
        },
    );
    assert!(model.popup.is_none(), "no popup for the quiet answer");
    press(&mut model, ctrl('o'));
    assert_eq!(offer_shown(&model), Some(offer_id(5)));
    let shown = screen(&model);
    assert!(shown.contains("carol offers a file to #cs101"), "{shown}");
}

#[test]
fn an_offer_answered_elsewhere_is_not_asked_about_after_a_reconnect() {
    let mut model = files_model(90, 30);
    let fx = press(&mut model, connected(default_limits()));
    let req = req_of(&fx, |m| matches!(m, ClientMessage::Files { .. }));
    server(
        &mut model,
        ServerMessage::Files {
            req,
            incoming: Vec::new(),
            outgoing: Vec::new(),
            more: false,
        },
    );
    // The catch-up brings an offer the listing said was no longer open.
    bob_offers(&mut model, 1, "notes.pdf");
    server(&mut model, ServerMessage::Synced { messages: 1 });
    press(&mut model, ctrl('o'));
    assert_eq!(offer_shown(&model), None);
}

#[test]
fn the_sender_hears_each_answer() {
    let mut model = files_model(90, 30);
    arrives(
        &mut model,
        file_offer("#cs101", 10, "alice", now(), file_info(8, "report.pdf", 10)),
    );
    assert!(model.popup.is_none(), "your own offer asks you nothing");
    server(
        &mut model,
        file_status(
            8,
            "report.pdf",
            "#cs101",
            "bob",
            FileState::Received,
            file_counts(1, 0, 1, 2),
        ),
    );
    assert_eq!(
        model.notice.clone().map(|n| n.text),
        Some("bob received report.pdf (1/2)".into())
    );
    assert!(screen(&model).contains("offered — 1/2 received"));
}

#[test]
fn an_offer_ended_for_you_says_whether_it_was_withdrawn_or_you_left_its_group() {
    let mut model = files_model(90, 30);
    bob_offers(&mut model, 3, "draft.txt");
    model.popup = None;
    server(
        &mut model,
        file_status(
            3,
            "draft.txt",
            "bob",
            "alice",
            FileState::Cancelled,
            file_counts(0, 0, 0, 1),
        ),
    );
    assert_eq!(
        model.notice.clone().map(|n| n.text),
        Some("draft.txt was withdrawn by its sender".into())
    );

    arrives(
        &mut model,
        file_offer("#cs101", 10, "carol", now(), file_info(4, "slides.pdf", 10)),
    );
    arrives(
        &mut model,
        event(
            "#cs101",
            11,
            "carol",
            now(),
            GroupEvent::Kicked {
                user: user("alice"),
                banned: true,
            },
        ),
    );
    server(
        &mut model,
        file_status(
            4,
            "slides.pdf",
            "#cs101",
            "alice",
            FileState::Cancelled,
            file_counts(0, 0, 0, 2),
        ),
    );
    // "carol removed you from #cs101" first has its moment to be read.
    press(&mut model, Msg::Tick(later(6)));
    assert_eq!(
        model.notice.clone().map(|n| n.text),
        Some("slides.pdf is no longer offered to you: you are not in #cs101 any more".into())
    );
}

// ---- the transfers view -----------------------------------------------------------

#[test]
fn ctrl_t_lists_transfers_and_c_cancels_the_chosen_one_if_it_runs() {
    let mut model = files_model(90, 30);
    transfer(&mut model, upload(7, "report.pdf", "bob", 100, 1000));
    transfer(&mut model, download(1, "notes.pdf", "bob", 10, 1000));
    transfer(
        &mut model,
        Progress {
            state: TransferState::Cancelled,
            ..download(2, "old.pdf", "bob", 10, 1000)
        },
    );
    assert!(
        screen(&model).contains("↑1 ↓1"),
        "the status line counts what runs"
    );
    press(&mut model, ctrl('t'));
    assert!(matches!(
        model.popup,
        Some(Popup::Transfers { selected: 0 })
    ));
    let fx = press(&mut model, plain(KeyCode::Char('c')));
    assert_eq!(
        fx,
        [Effect::CancelTransfer {
            local: Some(7),
            offer: None
        }]
    );
    press(&mut model, plain(KeyCode::Down));
    let fx = press(&mut model, plain(KeyCode::Delete));
    assert_eq!(
        fx,
        [Effect::CancelTransfer {
            local: None,
            offer: Some(offer_id(1))
        }]
    );
    press(&mut model, plain(KeyCode::Down));
    press(&mut model, plain(KeyCode::Down));
    let fx = press(&mut model, plain(KeyCode::Char('c')));
    assert!(fx.is_empty(), "a cancelled transfer has nothing to cancel");
    press(&mut model, plain(KeyCode::Esc));
    assert!(model.popup.is_none());
}

#[test]
fn progress_never_moves_backwards_but_a_new_attempt_starts_afresh() {
    let mut model = files_model(90, 30);
    transfer(&mut model, download(1, "notes.pdf", "bob", 500, 1000));
    transfer(&mut model, download(1, "notes.pdf", "bob", 300, 1000));
    assert_eq!(model.transfers[0].progress.bytes, 500);

    let saved = TransferState::Saved {
        path: PathBuf::from("/tmp/notes.pdf"),
    };
    transfer(
        &mut model,
        Progress {
            state: saved.clone(),
            ..download(1, "notes.pdf", "bob", 1000, 1000)
        },
    );
    transfer(&mut model, download(1, "notes.pdf", "bob", 900, 1000));
    assert_eq!(model.transfers[0].progress.state, saved, "a late report");

    let failed = TransferState::Failed {
        reason: "the connection was lost; send or accept the file again".into(),
    };
    transfer(
        &mut model,
        Progress {
            state: failed,
            ..download(2, "slides.pdf", "bob", 400, 1000)
        },
    );
    transfer(&mut model, download(2, "slides.pdf", "bob", 0, 1000));
    let again = &model.transfers[1].progress;
    assert_eq!(
        (again.bytes, &again.state),
        (0, &TransferState::Downloading)
    );
    assert_eq!(model.transfers.len(), 2);
}

// ---- completion -------------------------------------------------------------------

#[test]
fn tab_completes_paths_with_spaces_and_offer_ids() {
    let home = picker_home();
    let mut model = picker_model(90, 30, home.path());
    type_text(&mut model, "/sendfile bob ~/Doc");
    press(&mut model, plain(KeyCode::Tab));
    assert_eq!(
        draft(&model),
        "/sendfile bob ~/Documents/",
        "into the folder"
    );
    type_text(&mut model, "My");
    press(&mut model, plain(KeyCode::Tab));
    assert_eq!(draft(&model), "/sendfile bob ~/Documents/My Files/");

    let absolute = home.path().join("Documents").join("week");
    replace(&mut model, &format!("/sendfile bob {}", absolute.display()));
    press(&mut model, plain(KeyCode::Tab));
    assert_eq!(
        draft(&model),
        format!(
            "/sendfile bob {} ",
            home.path().join("Documents/week7-slides.pdf").display()
        )
    );

    // /accept's folder takes folders only.
    bob_offers(&mut model, 1, "notes.pdf");
    replace(&mut model, &format!("/accept {} ~/Documents/", offer_id(1)));
    press(&mut model, plain(KeyCode::Tab));
    assert_eq!(
        draft(&model),
        format!("/accept {} ~/Documents/Labs/", offer_id(1))
    );

    // Offer ids by the start of the file's name.
    replace(&mut model, "/decline not");
    press(&mut model, plain(KeyCode::Tab));
    assert_eq!(draft(&model), format!("/decline {} ", offer_id(1)));
}

fn replace(model: &mut Model, text: &str) {
    crate::update::replace_text(model.input_mut(), text);
}

#[test]
fn declining_after_stopping_a_download_says_declined() {
    let mut model = with_bob_open();
    bob_offers(&mut model, 1, "notes.pdf");
    press(&mut model, ctrl('o'));
    press(&mut model, plain(KeyCode::Char('a')));
    transfer(&mut model, download(1, "notes.pdf", "bob", 100, 1_234_567));
    transfer(
        &mut model,
        Progress {
            state: TransferState::Cancelled,
            ..download(1, "notes.pdf", "bob", 100, 1_234_567)
        },
    );
    assert!(screen(&model).contains("download stopped — Ctrl+O to accept it again"));
    press(&mut model, ctrl('o'));
    assert_eq!(offer_shown(&model), Some(offer_id(1)), "it waits again");
    press(&mut model, plain(KeyCode::Char('d')));
    press(&mut model, plain(KeyCode::Char('y')));
    let shown = screen(&model);
    assert!(shown.contains("        declined"), "{shown}");
    assert!(!shown.contains("download stopped"), "{shown}");
}

#[test]
fn in_a_direct_conversation_the_sender_reads_one_word() {
    let mut model = with_bob_open();
    arrives(
        &mut model,
        file_offer("bob", 20, "alice", now(), file_info(9, "mine.pdf", 10)),
    );
    assert!(screen(&model).contains("offered — waiting for answers"));
    server(
        &mut model,
        file_status(
            9,
            "mine.pdf",
            "bob",
            "bob",
            FileState::Received,
            file_counts(1, 0, 1, 1),
        ),
    );
    assert!(screen(&model).contains("offered — received"));
    assert_eq!(
        model.notice.map(|n| n.text),
        Some("bob received mine.pdf".into())
    );
}
