//! The file screens, rendered from the demo model with a fixed clock: the
//! picker, the offer popup and "save as", the transfers view, and file messages
//! in every state, in symbols and in ASCII.

use classchat_common::Timestamp;
use classchat_common::protocol::FileState;
use crossterm::event::KeyCode;

use crate::client::TransferState;
use crate::fixtures::files::*;
use crate::fixtures::*;
use crate::model::Model;

// ---- the picker -------------------------------------------------------------

#[test]
fn the_picker_lists_folders_first_then_files_with_their_sizes() {
    let home = picker_home();
    let mut model = picker_model(90, 30, home.path());
    type_text(&mut model, "/sendfile bob");
    press(&mut model, plain(KeyCode::Enter));
    press(&mut model, plain(KeyCode::Down));
    snapshot!(model);
}

#[test]
fn the_picker_narrows_the_list_as_you_type() {
    let home = picker_home();
    let mut model = picker_model(90, 30, home.path());
    type_text(&mut model, "/sendfile #cs101");
    press(&mut model, plain(KeyCode::Enter));
    type_text(&mut model, "PDF");
    snapshot!(model);
}

#[test]
fn the_picker_says_when_nothing_matches() {
    let home = picker_home();
    let mut model = picker_model(90, 30, home.path());
    type_text(&mut model, "/sendfile bob");
    press(&mut model, plain(KeyCode::Enter));
    type_text(&mut model, "zzz");
    let shown = screen(&model);
    assert!(shown.contains("nothing matches “zzz”"), "{shown}");
}

// ---- offers -------------------------------------------------------------------

/// bob's conversation open, bob offering notes.pdf in it, and alice opening
/// the offer with Ctrl+O (it never opens by itself).
fn offered(w: u16, h: u16) -> Model {
    let mut model = files_model(w, h);
    let fx = press(&mut model, alt(KeyCode::Char('2')));
    answer_history(&mut model, &fx, Vec::new(), false);
    arrives(&mut model, 3, "notes.pdf", 1_234_567);
    press(&mut model, ctrl('o'));
    model
}

/// Puts away whatever popup shows, as Esc does.
fn dismiss(model: &mut Model) {
    if model.popup.is_some() {
        press(model, plain(KeyCode::Esc));
    }
}

fn arrives(model: &mut Model, n: u8, name: &str, size: u64) {
    dismiss(model);
    server(
        model,
        classchat_common::ServerMessage::Message(file_offer(
            "bob",
            u64::from(n),
            "bob",
            // A little before the demo's now, later for later offers.
            Timestamp::from_millis(now().as_millis() - (10 - i64::from(n)) * 20_000),
            file_info(n, name, size),
        )),
    );
}

#[test]
fn an_offer_shows_sender_name_size_checksum_expiry_and_where_it_would_go() {
    snapshot!(offered(90, 30));
}

#[test]
fn save_as_asks_for_a_folder_starting_from_the_download_folder() {
    let mut model = offered(90, 30);
    press(&mut model, plain(KeyCode::Char('s')));
    type_text(&mut model, "/lab");
    snapshot!(model);
}

// ---- the transfers view ----------------------------------------------------------

/// An upload and a download running, one download saved and one failed.
fn busy(model: &mut Model) {
    arrives(model, 4, "lab3-solutions.zip", 20_000_000);
    arrives(model, 5, "slides.pdf", 3_400_000);
    arrives(model, 6, "broken.bin", 1_000_000);
    dismiss(model);
    transfer(
        model,
        upload(1, "report.pdf", "#cs101", 8_400_000, 20_000_000),
    );
    transfer(
        model,
        download(4, "lab3-solutions.zip", "bob", 8_400_000, 20_000_000),
    );
    transfer(model, download(5, "slides.pdf", "bob", 0, 3_400_000));
    transfer(
        model,
        crate::client::Progress {
            state: TransferState::Saved {
                path: format!("{HOME}/Downloads/ClassChat/slides.pdf").into(),
            },
            ..download(5, "slides.pdf", "bob", 3_400_000, 3_400_000)
        },
    );
    transfer(
        model,
        crate::client::Progress {
            state: TransferState::Failed {
                reason: "the file did not match its SHA-256 and was deleted; accept it again"
                    .into(),
            },
            ..download(6, "broken.bin", "bob", 1_000_000, 1_000_000)
        },
    );
}

#[test]
fn the_transfers_view_shows_bars_rates_and_time_left_for_every_transfer() {
    let mut model = offered(100, 30);
    busy(&mut model);
    press(&mut model, ctrl('t'));
    snapshot!(model);
}

#[test]
fn a_narrow_transfers_view_shortens_the_bar_to_keep_the_time_left() {
    let mut model = offered(80, 24);
    busy(&mut model);
    press(&mut model, ctrl('t'));
    let shown = screen(&model);
    assert!(shown.contains(" left"), "{shown}");
    snapshot!(model);
}

#[test]
fn the_transfers_view_with_nothing_yet_says_how_to_send_a_file() {
    let mut model = files_model(90, 30);
    press(&mut model, ctrl('t'));
    let shown = screen(&model);
    assert!(shown.contains("no transfers yet"), "{shown}");
}

// ---- file messages ------------------------------------------------------------------

/// bob's offers in every state, and alice's own offers in #cs101 with answers.
fn every_state(model: &mut Model) {
    busy(model);
    arrives(model, 7, "huge.iso", 4_700_000_000);
    dismiss(model);
    // The oldest waiting offer first; going back from it wraps round to the newest.
    press(model, ctrl('o'));
    press(
        model,
        key(KeyCode::BackTab, crossterm::event::KeyModifiers::SHIFT),
    );
    press(model, plain(KeyCode::Char('d')));
    press(model, plain(KeyCode::Char('y')));
    server(
        model,
        file_status(
            7,
            "huge.iso",
            "bob",
            "alice",
            FileState::Declined,
            file_counts(0, 1, 0, 1),
        ),
    );
}

#[test]
fn file_messages_say_where_each_offer_stands_for_the_receiver() {
    let mut model = offered(100, 30);
    every_state(&mut model);
    snapshot!(model);
}

#[test]
fn your_own_offers_count_who_received_and_who_declined() {
    let mut model = files_model(90, 30);
    for (n, name) in [(8, "report.pdf"), (9, "draft.docx")] {
        server(
            &mut model,
            classchat_common::ServerMessage::Message(file_offer(
                "#cs101",
                u64::from(n) + 2,
                "alice",
                now(),
                file_info(n, name, 250_000),
            )),
        );
    }
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
    server(
        &mut model,
        file_status(
            8,
            "report.pdf",
            "#cs101",
            "carol",
            FileState::Declined,
            file_counts(1, 1, 1, 2),
        ),
    );
    snapshot!(model);
}

#[test]
fn your_streaming_offer_says_how_far_its_upload_is_beside_who_downloads_it() {
    let mut model = files_model(90, 30);
    server(
        &mut model,
        classchat_common::ServerMessage::Message(file_offer(
            "#cs101",
            10,
            "alice",
            now(),
            file_info(8, "lecture.mp4", 400_000_000),
        )),
    );
    let mut going = upload(1, "lecture.mp4", "#cs101", 160_000_000, 400_000_000);
    going.offer = Some(offer_id(8));
    transfer(&mut model, going.clone());
    server(
        &mut model,
        file_status(
            8,
            "lecture.mp4",
            "#cs101",
            "bob",
            FileState::Accepted,
            file_counts(1, 0, 0, 2),
        ),
    );
    let shown = screen(&model);
    assert!(
        shown.contains("uploading 40% — 0/2 received, 1 downloading"),
        "{shown}"
    );
    going.bytes = going.size;
    going.state = TransferState::Uploaded;
    transfer(&mut model, going);
    let shown = screen(&model);
    assert!(
        shown.contains("offered — 0/2 received, 1 downloading"),
        "{shown}"
    );
}

#[test]
fn ascii_file_messages_and_transfers() {
    let mut model = offered(100, 30);
    model.look.ascii = true;
    every_state(&mut model);
    let messages = screen(&model);
    assert!(messages.contains("[file] notes.pdf (1.2 MB)"), "{messages}");
    press(&mut model, ctrl('t'));
    snapshot!(model);
}

// ---- hostile names ------------------------------------------------------------------
// BRIEF §6: a file name is text from someone else like any other. The server
// cleans the names it passes on; these come from a server that does not.

#[test]
fn a_hostile_file_name_is_shown_inert_in_the_offer_the_message_and_the_transfers() {
    let mut model = offered(100, 30);
    dismiss(&mut model);
    arrives(&mut model, 4, &format!("{HOSTILE}.pdf"), 2_000);
    // Ctrl+O opens the oldest offer (notes.pdf); Tab goes on to this one.
    press(&mut model, ctrl('o'));
    press(&mut model, plain(KeyCode::Tab));
    assert!(model.popup.is_some(), "the offer popup is up");
    assert_eq!(live_cells(&model), Vec::<String>::new(), "offer popup");
    snapshot!(model);

    // A file name is shown as the name it would be saved under: controls and
    // bidi characters taken out, where other text shows them as symbols.
    let name = "pwn[2J]0;owned]52;c;Y3VybCBldmlsLnNo 31m gnp.exe!.pdf";
    assert!(screen(&model).contains(name), "the offer popup");
    dismiss(&mut model);
    let shown = screen(&model);
    assert!(
        shown.contains("📎 pwn[2J]0;owned]52;c;"),
        "the file message: {shown}"
    );
    assert_eq!(live_cells(&model), Vec::<String>::new(), "file message");

    transfer(
        &mut model,
        download(4, &format!("{HOSTILE}.pdf"), "bob", 1_000, 2_000),
    );
    transfer(
        &mut model,
        crate::client::Progress {
            state: TransferState::Failed {
                reason: format!("cannot save: {HOSTILE}"),
            },
            ..upload(2, &format!("{HOSTILE}.txt"), "bob", 10, 2_000)
        },
    );
    press(&mut model, ctrl('t'));
    assert_eq!(live_cells(&model), Vec::<String>::new(), "transfers view");
    let shown = screen(&model);
    assert!(shown.contains("pwn[2J]0;"), "the names: {shown}");
    assert!(
        shown.contains("cannot save: pwn␛[2J"),
        "the reason: {shown}"
    );
}

#[test]
fn hostile_names_of_local_files_are_shown_inert_in_the_picker() {
    let home = picker_home();
    let docs = home.path().join("Documents");
    // Linux allows any byte in a name but `/` and NUL.
    for name in [
        "evil\x1b]0;title\x07.pdf",
        "clear\x1b[2J.txt",
        "line\nbreak\r.txt",
        "invoice\u{202E}fdp.exe",
        "zero\u{200B}width.txt",
        "c1\u{9b}31m.txt",
    ] {
        std::fs::write(docs.join(name), b"x").expect("a file");
    }
    std::fs::create_dir(docs.join("dir\x1b[31m")).expect("a folder");
    let mut model = picker_model(100, 30, home.path());
    type_text(&mut model, "/sendfile bob");
    press(&mut model, plain(KeyCode::Enter));
    assert_eq!(live_cells(&model), Vec::<String>::new());
    let shown = screen(&model);
    assert!(shown.contains("evil␛]0;title␇.pdf"), "{shown}");
    assert!(shown.contains("line break␍.txt"), "{shown}");
}
