//! `/pin`, `/unpin` and `/pins`: what they parse into, what they send, and
//! how their mistakes are explained.

use super::*;

fn group(name: &str) -> GroupName {
    name.parse().unwrap()
}

#[test]
fn pin_and_unpin_take_a_group_with_or_without_its_hash_and_a_seq() {
    assert_eq!(
        parse("/pin #cs101 4").unwrap(),
        Command::Pin {
            group: group("cs101"),
            seq: 4,
            pin: true,
        }
    );
    assert_eq!(
        parse("/UNPIN cs101 12").unwrap(),
        Command::Pin {
            group: group("cs101"),
            seq: 12,
            pin: false,
        }
    );
}

#[test]
fn pin_and_unpin_become_their_requests_with_the_req() {
    let intent = |line: &str| parse(line).unwrap().into_intent(7);
    assert_eq!(
        intent("/pin cs101 4"),
        Intent::Ask(ClientMessage::Pin {
            req: Some(7),
            group: group("cs101"),
            seq: 4,
        })
    );
    assert_eq!(
        intent("/unpin cs101 4"),
        Intent::Ask(ClientMessage::Unpin {
            req: Some(7),
            group: group("cs101"),
            seq: 4,
        })
    );
}

#[test]
fn pins_names_a_group_or_none_and_is_for_the_terminal_ui() {
    assert_eq!(
        parse("/pins #cs101").unwrap().into_intent(1),
        Intent::Pins {
            group: Some(group("cs101")),
        }
    );
    assert_eq!(
        parse("/pins").unwrap().into_intent(1),
        Intent::Pins { group: None }
    );
}

#[test]
fn a_pin_without_a_group_or_a_number_says_what_is_missing() {
    let problem = |line: &str| match parse(line) {
        Err(CommandError::Usage { problem, usage }) => (problem, usage),
        other => panic!("{line}: {other:?}"),
    };
    assert_eq!(
        problem("/pin"),
        ("say which group".into(), "/pin <group> <seq>")
    );
    assert_eq!(
        problem("/pin cs101").0,
        "say which message: its number (seq) in the conversation"
    );
    assert_eq!(
        problem("/unpin cs101 four").0,
        "\"four\" is not a message number (seq)"
    );
    assert_eq!(
        problem("/pin cs101 0").0,
        "\"0\" is not a message number (seq)"
    );
    assert_eq!(problem("/pin cs101 4 5").0, "too many arguments");
    assert_eq!(problem("/pins cs101 lab").0, "too many arguments");
    assert_eq!(problem("/pins #no/pe").1, "/pins [group]");
}
