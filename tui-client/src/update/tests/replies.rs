//! Replies, edits and deletions: change lines applied (live, in pages, to
//! messages loaded or not) and never counted, the keys on a selected message
//! (`r`, `e`, `d`, `g`, Enter) with Esc and the question before a deletion,
//! going to a quoted message through older pages, and the slash commands.

use classchat_common::protocol::{ChatMessage, ConvSummary, Role};
use classchat_common::{ErrorCode, MessageId};
use crossterm::event::KeyCode;

use super::*;
use crate::client::Event;
use crate::fixtures::replies::*;
use crate::message::Msg;
use crate::model::{Change, Composing, Confirm, Entry, Focus, Popup, Unfinished};
use crate::outbox::Target;

const G: &str = "#cs101";

/// Message `seq` of `conv_name`, as loaded.
fn entry<'a>(model: &'a Model, conv_name: &str, seq: u64) -> &'a Entry {
    let c = conv_of(model, conv_name);
    let at = c.search(seq).expect("the message is loaded");
    &c.entries[at]
}

fn seqs(model: &Model, conv_name: &str) -> Vec<Option<u64>> {
    conv_of(model, conv_name)
        .entries
        .iter()
        .map(|e| e.seq)
        .collect()
}

fn stored(model: &mut Model, id: MessageId, seq: u64, ts: Timestamp) {
    server(
        model,
        ServerMessage::Stored {
            id,
            conv: conv(G),
            seq,
            ts,
            of: 3,
            online: 2,
            last_seen: None,
            duplicate: false,
        },
    );
}

/// Selects entry `index` of the open conversation, as Alt+Up and Up do.
fn select_entry(model: &mut Model, index: usize) {
    if matches!(model.focus, Focus::Messages(_)) {
        press(model, plain(KeyCode::Esc));
    }
    press(model, alt(KeyCode::Up));
    let Focus::Messages(mut at) = model.focus else {
        panic!("a message is selected");
    };
    while at > index {
        press(model, plain(KeyCode::Up));
        at -= 1;
    }
    assert_eq!(model.focus, Focus::Messages(index));
}

/// Selects loaded message `seq` of the open conversation.
fn select_message(model: &mut Model, seq: u64) {
    let index = index_of(model, seq);
    select_entry(model, index);
}

fn index_of(model: &Model, seq: u64) -> usize {
    conv_of(model, G).search(seq).expect("loaded")
}

fn quote_text(model: &Model, reply_seq: u64) -> (String, bool) {
    let q = entry(model, G, reply_seq)
        .reply
        .as_deref()
        .expect("a reply");
    (q.text.clone(), q.deleted)
}

// ---- change lines -----------------------------------------------------------

#[test]
fn a_page_with_change_lines_shows_the_messages_as_they_are_and_none_of_the_lines() {
    let model = thread_open(90, 30);
    assert_eq!(
        seqs(&model, G),
        [Some(1), Some(2), Some(4), Some(5), Some(7), Some(8)]
    );
    let question = entry(&model, G, 2);
    assert_eq!(question.body, QUESTION_NOW);
    assert_eq!(question.edited, Some(at(0, 9, 12)));
    assert!(entry(&model, G, 5).deleted);
    assert_eq!(quote_text(&model, 7), (String::new(), true));
    let c = conv_of(&model, G);
    assert_eq!((c.last_seq, c.last_change, c.unread), (9, 9, 0));
}

#[test]
fn a_live_edit_changes_the_message_and_every_quote_of_it_and_adds_no_line() {
    let mut model = thread_open(90, 30);
    let before = seqs(&model, G);
    assert_eq!(
        quote_text(&model, 8).0,
        "Welcome to CS101! Labs are in room C7 now.",
        "the fixture's own live edit reached bob's quote"
    );
    arrives(
        &mut model,
        edit_line(G, 10, "carol", later(60), 1, "Labs are in C7 from now on."),
    );
    assert_eq!(entry(&model, G, 1).body, "Labs are in C7 from now on.");
    assert_eq!(entry(&model, G, 1).edited, Some(later(60)));
    assert_eq!(quote_text(&model, 8).0, "Labs are in C7 from now on.");
    assert_eq!(seqs(&model, G), before);
    assert_eq!(conv_of(&model, G).last_seq, 10);
}

#[test]
fn a_live_deletion_leaves_a_tombstone_and_quotes_say_deleted() {
    let mut model = thread_open(90, 30);
    arrives(&mut model, delete_line(G, 10, "carol", later(60), 1));
    let gone = entry(&model, G, 1);
    assert!(gone.deleted && gone.body.is_empty() && gone.edited.is_none());
    assert_eq!(quote_text(&model, 8), (String::new(), true));
}

#[test]
fn change_lines_never_count_as_unread_never_ring_and_a_deleted_unread_message_stops_counting() {
    let mut model = thread_open(90, 30);
    press(&mut model, Msg::Focus(false));
    let fx = arrives(
        &mut model,
        chat("bob", 1, "bob", later(10), "are you there?"),
    );
    assert!(fx.contains(&Effect::Bell), "a direct message rings");
    assert_eq!(conv_of(&model, "bob").unread, 1);

    let fx = arrives(
        &mut model,
        edit_line("bob", 2, "bob", later(20), 1, "are you there, alice?"),
    );
    assert!(!fx.contains(&Effect::Bell), "an edit does not: {fx:?}");
    let c = conv_of(&model, "bob");
    assert_eq!((c.unread, c.entries.len()), (1, 1));
    assert_eq!(c.new_marker, Some((0, 1)));

    let fx = arrives(&mut model, delete_line("bob", 3, "bob", later(30), 1));
    assert!(!fx.contains(&Effect::Bell), "a deletion does not: {fx:?}");
    let c = conv_of(&model, "bob");
    assert_eq!((c.unread, c.mention), (0, false), "nothing left to read");
}

#[test]
fn a_change_to_a_message_not_loaded_changes_the_replies_that_are() {
    let mut model = connected_model(90, 30);
    let fx = server(
        &mut model,
        ServerMessage::Conversations {
            req: None,
            conversations: vec![summary(G, 60, 60, 0)],
            total: 1,
        },
    );
    let old = chat(G, 3, "carol", at(1, 9, 0), "Quiz on Friday");
    let newest: Vec<ChatMessage> = (40..=60)
        .map(|seq| match seq {
            60 => reply(G, 60, "bob", at(0, 10, 0), "which chapters?", &old),
            _ => chat(G, seq, "dave", at(0, 9, 0), &format!("line {seq}")),
        })
        .collect();
    answer_history(&mut model, &fx, newest, true);
    arrives(
        &mut model,
        edit_line(G, 61, "carol", later(5), 3, "Quiz moved to Monday"),
    );
    assert_eq!(quote_text(&model, 60).0, "Quiz moved to Monday");
    assert!(conv_of(&model, G).search(3).is_err(), "it stays unloaded");
}

#[test]
fn an_older_page_changes_nothing_newer_lines_already_changed() {
    let mut model = connected_model(90, 30);
    let fx = server(
        &mut model,
        ServerMessage::Conversations {
            req: None,
            conversations: vec![summary(G, 40, 40, 0)],
            total: 1,
        },
    );
    // The quiz moved twice. The newest page has the second move, and bob's
    // reply between the two quoting the text as it is now.
    let now_said = edited(
        chat(G, 3, "carol", at(1, 9, 0), "Quiz on Friday"),
        "Quiz on Wednesday",
        at(1, 12, 0),
    );
    let newest = vec![
        reply(G, 6, "bob", at(1, 11, 30), "ok", &now_said),
        chat(G, 7, "dave", at(1, 11, 40), "noted"),
        edit_line(G, 8, "carol", at(1, 12, 0), 3, "Quiz on Wednesday"),
    ];
    let fx = answer_history(&mut model, &fx, newest, true);
    let req = req_of(&fx, |m| {
        matches!(
            m,
            ClientMessage::History {
                before: Some(6),
                ..
            }
        )
    });
    assert!(req.is_some(), "the older page is asked for: {fx:?}");
    // The older page has the first move only, and not the quiz itself.
    server(
        &mut model,
        ServerMessage::History {
            req,
            conv: conv(G),
            messages: vec![
                edit_line(G, 4, "carol", at(1, 11, 0), 3, "Quiz on Monday"),
                chat(G, 5, "dave", at(1, 11, 10), "again?"),
            ],
            more: true,
        },
    );
    assert_eq!(quote_text(&model, 6).0, "Quiz on Wednesday");
    assert_eq!(seqs(&model, G), [Some(5), Some(6), Some(7)]);
}

#[test]
fn reading_the_newest_message_reads_the_changes_after_it() {
    let model = thread_open(90, 30);
    assert_eq!(conv_of(&model, G).read_upto, 9, "carol's edit is line 9");
}

// ---- r: reply ---------------------------------------------------------------

#[test]
fn r_on_a_message_then_enter_sends_a_reply_quoting_it() {
    let mut model = thread_open(90, 30);
    select_message(&mut model, 8);
    press(&mut model, plain(KeyCode::Char('r')));
    assert_eq!(model.focus, Focus::Input);
    assert!(matches!(
        &conv_of(&model, G).composing,
        Some(Composing::Reply(q)) if q.seq == 8 && q.text == "Which building is B12 in?"
    ));
    let fx = submit(&mut model, "C7 is in the science block");
    let (id, body, target) = sent(&fx);
    assert_eq!(
        (body.as_str(), target),
        ("C7 is in the science block", Some(Target::Reply(8)))
    );
    let c = conv_of(&model, G);
    assert_eq!(c.composing, None, "the next message is plain again");
    let shown = c.entries.last().expect("shown as sending");
    assert_eq!(shown.id, id);
    assert_eq!(shown.reply.as_deref().map(|q| q.seq), Some(8));
    assert_eq!(draft(&model), "");
}

#[test]
fn esc_in_reply_mode_makes_the_draft_plain_again_and_keeps_it() {
    let mut model = thread_open(90, 30);
    select_message(&mut model, 8);
    press(&mut model, plain(KeyCode::Char('r')));
    type_text(&mut model, "C7");
    press(&mut model, plain(KeyCode::Esc));
    assert_eq!(conv_of(&model, G).composing, None);
    assert_eq!(draft(&model), "C7");
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert_eq!(sent(&fx).2, None);
}

#[test]
fn a_reply_typed_as_a_command_quotes_the_message_and_a_failed_one_retries_as_a_reply() {
    let mut model = thread_open(90, 30);
    let fx = submit(&mut model, "/reply #cs101 4 thanks!");
    let (id, _, target) = sent(&fx);
    assert_eq!(target, Some(Target::Reply(4)));
    refuse_message(&mut model, G, id, ErrorCode::BadBody, "no");
    let newest = conv_of(&model, G).entries.len() - 1;
    select_entry(&mut model, newest);
    let fx = press(&mut model, plain(KeyCode::Char('r')));
    let (again, _, target) = sent(&fx);
    assert_eq!(target, Some(Target::Reply(4)), "retried, still a reply");
    let last = conv_of(&model, G).entries.last().expect("sending again");
    assert_eq!(
        (last.id, last.reply.as_deref().map(|q| q.seq)),
        (again, Some(4))
    );
}

// ---- e: edit ----------------------------------------------------------------

#[test]
fn e_puts_the_text_in_the_input_and_enter_sends_the_edit_which_applies_once_stored() {
    let mut model = thread_open(90, 30);
    type_text(&mut model, "half a thought");
    select_message(&mut model, 2);
    press(&mut model, plain(KeyCode::Char('e')));
    assert_eq!(draft(&model), QUESTION_NOW);
    assert_eq!(model.focus, Focus::Input);
    press(&mut model, ctrl('u'));
    let fx = submit(&mut model, "Is the lab in C7 now?");
    let (id, body, target) = sent(&fx);
    assert_eq!(
        (body.as_str(), target),
        ("Is the lab in C7 now?", Some(Target::Edit(2)))
    );
    assert_eq!(
        draft(&model),
        "half a thought",
        "what was typed before is back"
    );
    let c = conv_of(&model, G);
    assert_eq!(c.composing, None);
    assert!(matches!(c.pending_change(2), Some(Change::Edit { .. })));
    assert_eq!(
        entry(&model, G, 2).body,
        QUESTION_NOW,
        "not before it is stored"
    );
    assert_eq!(Unfinished::of(&model).sending, 1);

    stored(&mut model, id, 10, later(30));
    let question = entry(&model, G, 2);
    assert_eq!(
        (question.body.as_str(), question.edited),
        ("Is the lab in C7 now?", Some(later(30)))
    );
    assert_eq!(quote_text(&model, 4).0, "Is the lab in C7 now?");
    assert!(conv_of(&model, G).changing.is_empty());
    assert_eq!(seqs(&model, G).len(), 6, "no line of its own");
}

#[test]
fn esc_in_edit_mode_gives_back_the_draft_and_an_unchanged_edit_sends_nothing() {
    let mut model = thread_open(90, 30);
    type_text(&mut model, "half a thought");
    select_message(&mut model, 2);
    press(&mut model, plain(KeyCode::Char('e')));
    press(&mut model, plain(KeyCode::Esc));
    assert_eq!(draft(&model), "half a thought");
    assert_eq!(conv_of(&model, G).composing, None);

    select_message(&mut model, 2);
    press(&mut model, plain(KeyCode::Char('e')));
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert!(
        fx.iter().all(|e| !matches!(e, Effect::Send { .. })),
        "{fx:?}"
    );
    assert_eq!(draft(&model), "half a thought");
}

#[test]
fn only_your_own_text_can_be_edited() {
    let mut model = thread_open(90, 30);
    select_message(&mut model, 4);
    press(&mut model, plain(KeyCode::Char('e')));
    assert_eq!(conv_of(&model, G).composing, None);
    assert!(
        model
            .notice
            .as_ref()
            .is_some_and(|n| n.text.contains("only your own text messages")),
        "{:?}",
        model.notice
    );
}

#[test]
fn a_refused_edit_comes_back_to_the_input_in_edit_mode() {
    let mut model = thread_open(90, 30);
    let fx = submit(&mut model, "/edit #cs101 2 see file:///home/alice/notes");
    let (id, _, target) = sent(&fx);
    assert_eq!(target, Some(Target::Edit(2)));
    server(
        &mut model,
        ServerMessage::Error {
            req: None,
            id: Some(id),
            offer: None,
            code: ErrorCode::BadBody,
            message: "links to local files are not allowed".into(),
            retry_after_ms: None,
        },
    );
    assert_eq!(draft(&model), "see file:///home/alice/notes");
    assert!(matches!(
        conv_of(&model, G).composing,
        Some(Composing::Edit { seq: 2, .. })
    ));
    assert!(conv_of(&model, G).changing.is_empty());
    assert_eq!(entry(&model, G, 2).body, QUESTION_NOW);
    let notice = model.notice.as_ref().expect("a notice says why");
    assert!(
        notice.error && notice.text.contains("links to local files"),
        "{notice:?}"
    );
}

// ---- d: delete --------------------------------------------------------------

#[test]
fn d_asks_first_n_keeps_the_message_and_y_deletes_it_once_stored() {
    let mut model = thread_open(90, 30);
    select_message(&mut model, 2);
    press(&mut model, plain(KeyCode::Char('d')));
    assert!(matches!(
        &model.popup,
        Some(Popup::Confirm(Confirm::Unsend { seq: 2, .. }))
    ));
    let fx = press(&mut model, plain(KeyCode::Char('n')));
    assert!(model.popup.is_none() && fx.is_empty(), "{fx:?}");

    press(&mut model, plain(KeyCode::Delete));
    let fx = press(&mut model, plain(KeyCode::Char('y')));
    let (id, body, target) = sent(&fx);
    assert_eq!((body.as_str(), target), ("", Some(Target::Delete(2))));
    stored(&mut model, id, 10, later(30));
    assert!(entry(&model, G, 2).deleted);
    assert_eq!(quote_text(&model, 4), (String::new(), true));
}

#[test]
fn d_on_someone_elses_message_needs_the_owner_or_a_moderator() {
    let mut model = thread_open(90, 30);
    select_message(&mut model, 4);
    press(&mut model, plain(KeyCode::Char('d')));
    assert!(model.popup.is_none(), "a plain member may not");
    server(
        &mut model,
        ServerMessage::Conversations {
            req: None,
            conversations: vec![ConvSummary {
                role: Some(Role::Moderator),
                ..summary(G, 9, 9, 0)
            }],
            total: 1,
        },
    );
    select_message(&mut model, 4);
    press(&mut model, plain(KeyCode::Char('d')));
    assert!(matches!(
        &model.popup,
        Some(Popup::Confirm(Confirm::Unsend { seq: 4, .. }))
    ));
}

#[test]
fn unsend_typed_asks_first_too() {
    let mut model = thread_open(90, 30);
    let fx = submit(&mut model, "/unsend #cs101 2");
    assert!(fx.is_empty(), "nothing sent yet: {fx:?}");
    assert!(matches!(
        &model.popup,
        Some(Popup::Confirm(Confirm::Unsend { seq: 2, .. }))
    ));
}

// ---- going to a quote -------------------------------------------------------

#[test]
fn enter_on_a_reply_selects_the_message_it_quotes_and_g_elsewhere_says_it_is_no_reply() {
    let mut model = thread_open(90, 30);
    select_message(&mut model, 4);
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert_eq!(model.focus, Focus::Messages(index_of(&model, 2)));
    assert!(older_requests(&fx).is_empty());
    press(&mut model, plain(KeyCode::Char('g')));
    assert_eq!(model.focus, Focus::Messages(index_of(&model, 2)));
    assert!(
        model
            .notice
            .as_ref()
            .is_some_and(|n| n.text.contains("not a reply"))
    );
}

/// #cs101 with its newest page, seqs 271 to 310, loaded: 310 replies to 5.
fn long_thread() -> Model {
    let mut model = connected_model(90, 30);
    let fx = server(
        &mut model,
        ServerMessage::Conversations {
            req: None,
            conversations: vec![summary(G, 310, 310, 0)],
            total: 1,
        },
    );
    let quoted = chat(G, 5, "carol", at(1, 9, 0), "the syllabus is up");
    let newest = (271..=310)
        .map(|seq| match seq {
            310 => reply(G, 310, "bob", at(0, 10, 0), "where?", &quoted),
            _ => chat(G, seq, "dave", at(0, 9, 0), &format!("line {seq}")),
        })
        .collect();
    let fx = answer_history(&mut model, &fx, newest, true);
    assert!(older_requests(&fx).is_empty(), "the page fills the pane");
    model
}

fn page(
    model: &mut Model,
    fx: &[Effect],
    seqs: std::ops::RangeInclusive<u64>,
    more: bool,
) -> Vec<Effect> {
    let req = req_of(fx, |m| matches!(m, ClientMessage::History { .. }));
    let messages = seqs
        .map(|seq| match seq {
            5 => chat(G, 5, "carol", at(1, 9, 0), "the syllabus is up"),
            _ => chat(G, seq, "dave", at(0, 9, 0), &format!("line {seq}")),
        })
        .collect();
    server(
        model,
        ServerMessage::History {
            req,
            conv: conv(G),
            messages,
            more,
        },
    )
}

fn history_asked(fx: &[Effect]) -> Vec<(Option<u64>, Option<u32>)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Ask(ClientMessage::History { before, limit, .. }) => Some((*before, *limit)),
            _ => None,
        })
        .collect()
}

#[test]
fn going_to_a_quote_not_loaded_loads_older_pages_until_it_is_there() {
    let mut model = long_thread();
    select_message(&mut model, 310);
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert_eq!(history_asked(&fx), [(Some(271), Some(200))]);
    assert_eq!(model.focus, Focus::Messages(index_of(&model, 310)));

    let fx = page(&mut model, &fx, 71..=270, true);
    assert_eq!(
        history_asked(&fx),
        [(Some(71), Some(67))],
        "on, to reach it"
    );
    assert_eq!(
        model.focus,
        Focus::Messages(index_of(&model, 310)),
        "the reply stays selected meanwhile"
    );

    page(&mut model, &fx, 5..=70, true);
    assert_eq!(model.focus, Focus::Messages(index_of(&model, 5)));
    assert_eq!(conv_of(&model, G).seeking, None);
    let shown = screen(&model);
    assert!(shown.contains("carol: the syllabus is up"), "{shown}");
}

#[test]
fn going_to_a_quote_gone_from_the_history_stops_at_its_beginning() {
    let mut model = long_thread();
    select_message(&mut model, 310);
    let fx = press(&mut model, plain(KeyCode::Char('g')));
    // The history begins after it: the message was deleted for good.
    let fx = page(&mut model, &fx, 7..=270, false);
    assert!(history_asked(&fx).is_empty(), "{fx:?}");
    assert_eq!(model.focus, Focus::Messages(index_of(&model, 310)));
    assert_eq!(conv_of(&model, G).seeking, None);
    assert!(
        model
            .notice
            .as_ref()
            .is_some_and(|n| n.text.contains("no longer in the history")),
        "{:?}",
        model.notice
    );
}

// ---- after a restart --------------------------------------------------------

#[test]
fn an_edit_left_unsent_by_the_last_run_waits_to_change_its_message() {
    let mut model = thread_open(90, 30);
    let m = crate::config::UnsentMessage {
        id: MessageId::new(),
        to: conv(G),
        body: "Is the lab in C7?".into(),
        target: Some(Target::Edit(2)),
    };
    for _ in 0..2 {
        crate::update::update(&mut model, Msg::Net(Event::Unsent(m.clone())));
    }
    let c = conv_of(&model, G);
    assert_eq!((c.entries.len(), c.changing.len()), (6, 1));
    stored(&mut model, m.id, 10, later(5));
    assert_eq!(entry(&model, G, 2).body, "Is the lab in C7?");
}
