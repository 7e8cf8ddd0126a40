//! `/react` and `/unreact`: what they parse into, what they send, and how
//! their mistakes are explained.

use super::*;

fn conv(name: &str) -> Conv {
    name.parse().unwrap()
}

#[test]
fn react_and_unreact_name_the_message_and_the_emoji() {
    assert_eq!(
        parse("/react #cs101 4 👍").unwrap(),
        Command::React {
            to: conv("#cs101"),
            seq: 4,
            emoji: "👍".into(),
            on: true,
        }
    );
    assert_eq!(
        parse("/UNREACT bob 12  ❤️ ").unwrap(),
        Command::React {
            to: conv("bob"),
            seq: 12,
            emoji: "❤️".into(),
            on: false,
        }
    );
}

#[test]
fn each_becomes_a_send_with_the_emoji_as_its_body() {
    let intent = |line: &str| parse(line).unwrap().into_intent(1);
    assert_eq!(
        intent("/react bob 4 🎉"),
        Intent::Send {
            to: conv("bob"),
            body: "🎉".into(),
            target: Some(Target::React(4)),
        }
    );
    assert_eq!(
        intent("/unreact bob 4 🎉"),
        Intent::Send {
            to: conv("bob"),
            body: "🎉".into(),
            target: Some(Target::Unreact(4)),
        }
    );
}

#[test]
fn mistakes_in_react_and_unreact_are_explained_with_the_usage() {
    let too_long = format!("/react bob 3 {}", "x".repeat(REACTION_BYTES + 1));
    for (line, says) in [
        ("/react", "say which conversation"),
        ("/react bob", "say which message"),
        ("/react bob x 👍", "\"x\" is not a message number"),
        ("/react bob 3", "say which reaction"),
        ("/unreact bob 3   ", "say which reaction"),
        ("/react bob 3 no way", "without spaces"),
        (too_long.as_str(), "at most 32 bytes"),
    ] {
        let err = parse(line).unwrap_err().to_string();
        assert!(err.contains(says), "{line}: {err}");
        assert!(err.contains("usage: /"), "{line}: {err}");
    }
}

#[test]
fn tab_offers_the_usual_reactions_after_the_message_number() {
    for name in ["react", "unreact"] {
        let spec = spec(name).unwrap();
        assert_eq!(
            spec.args,
            [Arg::Conv, Arg::Number, Arg::Choice(REACTIONS)],
            "{name}"
        );
    }
    assert_eq!(REACTIONS.len(), 8, "the picker numbers them 1 to 8");
}
