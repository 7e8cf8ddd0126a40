//! `/reply`, `/edit` and `/unsend`: what they parse into, what they send, and
//! how their mistakes are explained.

use super::*;

fn conv(name: &str) -> Conv {
    name.parse().unwrap()
}

#[test]
fn reply_and_edit_keep_the_text_exactly_as_typed() {
    assert_eq!(
        parse("/reply #cs101 7  see  you there ").unwrap(),
        Command::Reply {
            to: conv("#cs101"),
            seq: 7,
            body: "see  you there ".into(),
        }
    );
    assert_eq!(
        parse("/edit bob 12 fixed the typo").unwrap(),
        Command::Edit {
            to: conv("bob"),
            seq: 12,
            body: "fixed the typo".into(),
        }
    );
    assert_eq!(
        parse("/UNSEND #cs101 3").unwrap(),
        Command::Unsend {
            to: conv("#cs101"),
            seq: 3,
        }
    );
}

#[test]
fn each_becomes_a_send_with_its_one_target() {
    let intent = |line: &str| parse(line).unwrap().into_intent(1);
    assert_eq!(
        intent("/reply bob 4 yes"),
        Intent::Send {
            to: conv("bob"),
            body: "yes".into(),
            target: Some(Target::Reply(4)),
        }
    );
    assert_eq!(
        intent("/edit bob 5 better"),
        Intent::Send {
            to: conv("bob"),
            body: "better".into(),
            target: Some(Target::Edit(5)),
        }
    );
    assert_eq!(
        intent("/unsend bob 6"),
        Intent::Send {
            to: conv("bob"),
            body: String::new(),
            target: Some(Target::Delete(6)),
        }
    );
    assert_eq!(
        intent("/msg bob plain"),
        Intent::Send {
            to: conv("bob"),
            body: "plain".into(),
            target: None,
        }
    );
}

#[test]
fn mistakes_in_reply_edit_and_unsend_are_explained_with_the_usage() {
    for (line, says) in [
        ("/reply", "say which conversation"),
        ("/reply bob", "say which message"),
        ("/reply bob x hi", "\"x\" is not a message number"),
        ("/reply bob 0 hi", "\"0\" is not a message number"),
        ("/reply bob -3 hi", "\"-3\" is not a message number"),
        ("/reply bob 3", "the message is empty"),
        ("/edit bob 3   ", "the message is empty"),
        ("/edit b@d 3 hi", "usage: /edit"),
        ("/unsend #cs101", "say which message"),
        ("/unsend #cs101 3 now", "too many arguments"),
    ] {
        let err = parse(line).unwrap_err().to_string();
        assert!(err.contains(says), "{line}: {err}");
        assert!(err.contains("usage: /"), "{line}: {err}");
    }
}

#[test]
fn the_table_says_which_arguments_they_take_for_completion() {
    for name in ["reply", "edit", "unsend"] {
        let spec = spec(name).unwrap();
        assert_eq!(spec.args[..2], [Arg::Conv, Arg::Number], "{name}");
    }
}
