//! Searching: `/search` and `Ctrl+F`, the request they send, the results
//! page by page, answers to older searches dropped, refusals said, and Enter
//! going to a message in its conversation, loading its history until the
//! message is there.

use classchat_common::ErrorCode;
use crossterm::event::KeyCode;

use super::*;
use crate::fixtures::search::*;
use crate::model::{Focus, Popup, Search};

fn popup(model: &Model) -> &Search {
    match &model.popup {
        Some(Popup::Search(s)) => s,
        other => panic!("expected the search popup, got {other:?}"),
    }
}

/// What the popup lists: (conversation, seq) of each message found.
fn listed(model: &Model) -> Vec<(String, u64)> {
    popup(model)
        .found
        .iter()
        .map(|m| (m.conv.to_string(), m.seq))
        .collect()
}

/// The search requests in `fx`: (words, conv, before).
fn searches(fx: &[Effect]) -> Vec<(String, Option<String>, Option<String>)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Ask(ClientMessage::Search {
                words,
                conv,
                before,
                limit: None,
                ..
            }) => Some((
                words.clone(),
                conv.as_ref().map(ToString::to_string),
                before.clone(),
            )),
            _ => None,
        })
        .collect()
}

fn notice(model: &Model) -> String {
    model
        .notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default()
}

fn selected_seq(model: &Model) -> Option<u64> {
    match model.focus {
        Focus::Messages(at) => model.current()?.entries.get(at)?.seq,
        Focus::Input => None,
    }
}

/// What the first page of "friday" lists.
fn first_page() -> Vec<(String, u64)> {
    friday_found()
        .iter()
        .map(|m| (m.conv.to_string(), m.seq))
        .collect()
}

#[test]
fn search_sends_the_words_and_lists_what_is_found_newest_first() {
    let mut model = demo_model(90, 30);
    let fx = submit(&mut model, "/search friday");
    assert_eq!(searches(&fx), [("friday".into(), None, None)]);
    assert!(screen(&model).contains("searching…"));
    assert_eq!(draft(&model), "", "the command ran");

    answer_search(&mut model, &fx, friday_found(), Some(FRIDAY_NEXT));
    assert_eq!(listed(&model), first_page());
    assert_eq!(popup(&model).next.as_deref(), Some(FRIDAY_NEXT));
    assert!(screen(&model).contains("Search: friday · 4+ found"));
}

#[test]
fn search_in_one_conversation_and_from_a_next_sends_both() {
    let mut model = demo_model(90, 30);
    let fx = submit(&mut model, "/search --in #cs101 --before 17.1.2 exam fri");
    assert_eq!(
        searches(&fx),
        [(
            "exam fri".into(),
            Some("#cs101".into()),
            Some("17.1.2".into())
        )]
    );
    answer_search(&mut model, &fx, Vec::new(), None);
    let shown = screen(&model);
    assert!(
        shown.contains("Search #cs101: exam fri · nothing found"),
        "{shown}"
    );
    assert!(
        shown.contains("nothing found for \"exam fri\" in #cs101"),
        "{shown}"
    );
}

#[test]
fn ctrl_f_opens_an_empty_search_over_the_draft_and_enter_searches_for_what_is_typed() {
    let mut model = demo_model(90, 30);
    type_text(&mut model, "half a thought");
    let fx = press(&mut model, ctrl('f'));
    assert!(searches(&fx).is_empty(), "nothing to search for yet");
    assert_eq!(popup(&model).query.text(), "");

    type_text(&mut model, "quiz");
    assert_eq!(
        popup(&model).query.text(),
        "quiz",
        "typing goes to the words"
    );
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert_eq!(searches(&fx), [("quiz".into(), None, None)]);
    answer_search(&mut model, &fx, friday_found()[1..2].to_vec(), None);
    assert_eq!(listed(&model), [("erin".into(), 40)]);

    press(&mut model, plain(KeyCode::Esc));
    assert!(model.popup.is_none());
    assert_eq!(
        draft(&model),
        "half a thought",
        "the draft was never touched"
    );
}

#[test]
fn moving_onto_the_last_result_asks_for_the_next_page_once_and_appends_it() {
    let mut model = friday_search_open(90, 30);
    let mut asked = Vec::new();
    for _ in 0..2 {
        asked.extend(searches(&press(&mut model, plain(KeyCode::Down))));
    }
    assert!(asked.is_empty(), "not at the end yet: {asked:?}");
    let fx = press(&mut model, plain(KeyCode::Down));
    assert_eq!(
        searches(&fx),
        [("friday".into(), None, Some(FRIDAY_NEXT.into()))]
    );
    assert!(screen(&model).contains("searching for more…"));
    let again = press(&mut model, plain(KeyCode::PageDown));
    assert!(searches(&again).is_empty(), "one page at a time");

    answer_search(&mut model, &fx, friday_more(), None);
    let mut all = first_page();
    all.push(("dave".into(), 1));
    assert_eq!(listed(&model), all);
    assert_eq!(popup(&model).selected, 3, "the choice stays where it was");
    assert!(screen(&model).contains("Search: friday · 5 found"));
    press(&mut model, plain(KeyCode::Down));
    let fx = press(&mut model, plain(KeyCode::Down));
    assert!(searches(&fx).is_empty(), "no more pages: {fx:?}");
    assert_eq!(popup(&model).selected, 4);
    press(&mut model, plain(KeyCode::PageUp));
    assert_eq!(popup(&model).selected, 0);
}

/// In the popup: the words replaced by `words`, and Enter.
fn search_again(model: &mut Model, words: &str) -> Vec<Effect> {
    press(model, ctrl('u'));
    type_text(model, words);
    press(model, plain(KeyCode::Enter))
}

#[test]
fn an_answer_to_an_older_search_is_dropped() {
    let mut model = demo_model(90, 30);
    let first = submit(&mut model, "/search friday");
    let second = search_again(&mut model, "quiz");
    let third = search_again(&mut model, "exam");
    assert_eq!(searches(&second), [("quiz".into(), None, None)]);
    assert_eq!(searches(&third), [("exam".into(), None, None)]);

    answer_search(&mut model, &first, friday_found(), Some(FRIDAY_NEXT));
    assert!(listed(&model).is_empty(), "that was for friday");
    refuse_request(
        &mut model,
        &second,
        |m| matches!(m, ClientMessage::Search { .. }),
        ErrorCode::RateLimited,
        "too many requests",
    );
    assert_eq!(notice(&model), "", "nor is an older refusal said");
    assert!(screen(&model).contains("Search: exam · searching…"));

    answer_search(&mut model, &third, friday_found()[1..2].to_vec(), None);
    assert_eq!(listed(&model), [("erin".into(), 40)]);
}

#[test]
fn a_refused_search_is_said_and_enter_tries_again() {
    let mut model = demo_model(90, 30);
    let fx = submit(&mut model, "/search friday");
    refuse_request(
        &mut model,
        &fx,
        |m| matches!(m, ClientMessage::Search { .. }),
        ErrorCode::RateLimited,
        "slow down: too many history pages and searches",
    );
    assert_eq!(
        notice(&model),
        "slow down: too many history pages and searches"
    );
    assert!(model.notice.as_ref().is_some_and(|n| n.error));
    assert_eq!(popup(&model).query.text(), "friday", "the words stay");
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert_eq!(searches(&fx), [("friday".into(), None, None)]);
}

#[test]
fn a_search_the_server_would_refuse_is_said_and_never_sent() {
    let mut model = demo_model(90, 30);
    let fx = submit(&mut model, "/search 👍");
    assert!(searches(&fx).is_empty());
    assert!(
        notice(&model).contains("a search needs a word of letters or digits"),
        "{}",
        notice(&model)
    );
    assert_eq!(draft(&model), "/search 👍", "kept, to fix");
    assert!(model.popup.is_none());

    press(&mut model, ctrl('u'));
    press(&mut model, ctrl('f'));
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert!(searches(&fx).is_empty());
    assert!(notice(&model).contains("a word of letters or digits"));
    let nine = "a b c d e f g h i";
    type_text(&mut model, nine);
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert!(searches(&fx).is_empty());
    assert!(notice(&model).contains("at most 8 different words"));
}

#[test]
fn enter_on_a_message_of_the_open_conversation_selects_it_at_once() {
    let mut model = friday_search_open(90, 30);
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert!(model.popup.is_none());
    assert!(older_requests(&fx).is_empty(), "{fx:?}");
    assert_eq!(selected_name(&model), "#cs101");
    assert_eq!(selected_seq(&model), Some(7));
}

#[test]
fn enter_on_a_message_elsewhere_opens_its_conversation_and_loads_older_pages_until_it_is_there() {
    let mut model = friday_search_open(90, 30);
    press(&mut model, plain(KeyCode::Down));
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert!(model.popup.is_none());
    assert_eq!(
        selected_name(&model),
        "erin",
        "switched to its conversation"
    );
    // erin was never opened: her newest page first.
    let newest: Vec<_> = (71..=120)
        .map(|seq| chat("erin", seq, "erin", at(0, 7, 0), "later"))
        .collect();
    let fx = answer_history(&mut model, &fx, newest, true);
    assert_eq!(older_requests(&fx), [Some(71)], "then older, to reach 40");
    assert_eq!(selected_seq(&model), None, "not there yet");
    let older: Vec<_> = (40..=70)
        .map(|seq| {
            let body = if seq == 40 {
                "Is the quiz on Friday?"
            } else {
                "earlier"
            };
            chat("erin", seq, "erin", at(1, 18, 5), body)
        })
        .collect();
    answer_history(&mut model, &fx, older, true);
    assert_eq!(selected_seq(&model), Some(40));
}

#[test]
fn enter_on_a_message_of_a_group_left_since_does_not_make_it_again() {
    let mut model = demo_model(90, 30);
    server(
        &mut model,
        ServerMessage::Conversations {
            req: None,
            conversations: vec![summary("#lab", 3, 3, 0)],
            total: 6,
        },
    );
    let fx = submit(&mut model, "/search lab");
    answer_search(
        &mut model,
        &fx,
        vec![chat("#lab", 3, "bob", at(0, 9, 0), "lab moved")],
        None,
    );
    model.remove(&conv("#lab"));
    press(&mut model, plain(KeyCode::Enter));
    assert!(model.find(&conv("#lab")).is_none());
    assert_eq!(notice(&model), "you are no longer in #lab");
    assert_eq!(selected_name(&model), "#cs101");
}

#[test]
fn results_follow_a_group_to_its_new_name() {
    let mut model = friday_search_open(90, 30);
    let renamed = classchat_common::protocol::GroupEvent::Renamed {
        old: "cs101".parse().unwrap(),
        new: "cs102".parse().unwrap(),
    };
    arrives(&mut model, event("#cs102", 12, "carol", now(), renamed));
    assert_eq!(listed(&model)[0], ("#cs102".into(), 7));
    press(&mut model, plain(KeyCode::Enter));
    assert_eq!(selected_name(&model), "#cs102");
    assert!(model.find(&conv("#cs101")).is_none(), "not made again");
}
