//! Property tests of the sanitiser and wrapping, for any text at all (the
//! `sanitise` fuzz target checks the same on a whole screen).

use proptest::prelude::*;
use unicode_segmentation::UnicodeSegmentation;

use super::*;

/// Escape sequences, C0 and C1 controls, bidi and zero-width characters, tag
/// characters, fillers, variation selectors and blanks, wide and combining
/// characters, among ordinary words.
fn hostile() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-z]{1,8}",
        "[ \t\n]{1,3}",
        Just("\x1b[2J".to_owned()),
        Just("\x1b]52;c;ZXZpbA==\x07".to_owned()),
        "[\\x00-\\x1f\\x7f\u{80}-\u{9f}]",
        "[\u{61c}\u{200b}-\u{200f}\u{202a}-\u{202e}\u{2060}-\u{2069}\u{feff}\u{ad}\u{180e}\u{2028}\u{2029}]",
        "[\u{34f}\u{115f}\u{1160}\u{3164}\u{ffa0}\u{2800}\u{fe00}-\u{fe0f}\u{e0001}\u{e0020}-\u{e007f}\u{e0100}]{1,4}",
        "[漢字👍\u{301}\u{fe0f}\u{200d}]{1,3}",
        // What terminals draw at other widths than unicode-width counts:
        // flags, skin tones, keycaps, halfwidth sound marks, spacing marks.
        "[\u{1f1e6}-\u{1f1ff}\u{1f3fb}-\u{1f3ff}\u{2764}\u{20e3}\u{ff76}\u{ff9e}\u{ff9f}\u{915}\u{93f}\u{e33}]{1,4}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|p| p.concat())
}

/// Nothing live is left, newlines aside when `newlines`.
fn inert(s: &str, newlines: bool) -> bool {
    s.chars().all(|c| !is_live(c) || (newlines && c == '\n'))
}

/// Every cluster is as wide as its characters added up, so a terminal that
/// draws them one by one fills the cells the view counts.
fn certain_width(s: &str) -> bool {
    use unicode_width::UnicodeWidthChar;
    s.graphemes(true).all(|g| {
        g.contains(char::is_control)
            || width(g) == g.chars().map(|c| c.width().unwrap_or(0)).sum::<usize>()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn cleaned_text_has_nothing_a_terminal_would_interpret(raw in hostile()) {
        let clean = clean(&raw);
        prop_assert!(inert(&clean, true), "{:?}", clean);
        prop_assert_eq!(super::clean(&clean), clean.clone(), "cleaning twice changes nothing");
        prop_assert!(inert(&clean_line(&raw), false));
        prop_assert!(certain_width(&clean), "{:?}", clean);
        prop_assert!(certain_width(&clean_line(&raw)));
    }

    #[test]
    fn wrapped_lines_fit_and_lose_nothing_but_spaces(raw in hostile(), max in 0..30usize) {
        let clean = clean(&raw);
        let lines = wrap(&clean, max);
        for line in &lines {
            let fits = width(line) <= max.max(1);
            prop_assert!(fits || line.graphemes(true).count() == 1, "{:?} wider than {}", line, max);
        }
        let words = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        prop_assert_eq!(words(&lines.concat()), words(&clean));
    }

    #[test]
    fn truncated_text_fits(raw in hostile(), max in 1..30usize) {
        let line = clean_line(&raw);
        prop_assert!(width(&truncate(&line, max)) <= max);
    }
}
