//! Which characters a screen shows, acts on, reorders or hides: said once, for both sides.
//!
//! Text from other people can carry characters that draw nothing. Tag
//! characters (U+E0020–E007F) spell a whole sentence no one sees, so
//! "meet at 5" can carry " NO, AT 6 IN ROOM 9" for whichever program shows
//! them; a body of U+200B or U+3164 looks like no message at all. [`class`]
//! sorts every character by what it can do on a screen, from Unicode
//! properties rather than from examples:
//!
//! - [`Class::Control`]: `General_Category=Cc` (C0, DEL, C1), which a terminal acts on.
//! - [`Class::Bidi`]: `Bidi_Control`, which reorders the text around it.
//! - [`Class::Invisible`]: takes no room and draws nothing, so it can hide
//!   text: `Default_Ignorable_Code_Point` (soft hyphen, U+034F, zero-width
//!   space and joiners, word joiner, Hangul fillers U+115F, U+1160, U+3164,
//!   U+FFA0, variation selectors, U+FEFF, tag characters and the rest of
//!   U+E0000–E0FFF), the other format characters (`Cf`) except the prepended
//!   concatenation marks, which draw a sign (so also the interlinear annotation
//!   controls U+FFF9–FFFB and the Egyptian hieroglyph format controls
//!   U+13430–1343F), and U+16FE4 KHITAN SMALL SCRIPT FILLER.
//! - [`Class::Blank`]: drawn as an empty cell, like a space, though not
//!   `White_Space`: U+2800 BRAILLE PATTERN BLANK, U+1D159 MUSICAL SYMBOL NULL NOTEHEAD.
//! - [`Class::Shown`]: everything else, drawn as itself.
//!
//! [`is_blank`] says whether a text has nothing visible; the server refuses
//! such a message body. [`is_live`] says whether a character must not reach a
//! screen as it is; `files::safe_name` removes those (and blanks) from file
//! names, and a client escapes, replaces or drops them before it draws.

/// What a character can do on a screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// Drawn as itself: letters, digits, marks, symbols, and the spaces of
    /// `White_Space` that are not controls.
    Shown,
    /// A control character (C0, DEL, C1), which a terminal may act on: `\n`
    /// and `\t` are controls too.
    Control,
    /// A bidirectional control, which reorders the text around it.
    Bidi,
    /// Takes no room and draws nothing, so it can hide text.
    Invisible,
    /// Takes room like a space and draws nothing.
    Blank,
}

impl Class {
    /// Whether a character of this class must not reach a screen as it is: a
    /// terminal may act on it, or it may hide or reorder text.
    pub fn is_live(self) -> bool {
        matches!(self, Class::Control | Class::Bidi | Class::Invisible)
    }
}

/// The [`Class`] of `c`; tables as of Unicode 16.0.
pub fn class(c: char) -> Class {
    if c.is_control() {
        return Class::Control;
    }
    match c {
        '\u{061C}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}' => Class::Bidi,
        // Default_Ignorable_Code_Point, less the bidi controls above.
        '\u{00AD}'
        | '\u{034F}'
        | '\u{115F}'..='\u{1160}'
        | '\u{17B4}'..='\u{17B5}'
        | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200D}'
        | '\u{2060}'..='\u{2065}'
        | '\u{206A}'..='\u{206F}'
        | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}'
        | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFF8}'
        | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}' => Class::Invisible,
        // The format characters it leaves out that draw nothing either: the
        // interlinear annotation controls (a renderer may hide the annotated
        // text) and the Egyptian hieroglyph joiners and enclosures.
        '\u{FFF9}'..='\u{FFFB}' | '\u{13430}'..='\u{1343F}' => Class::Invisible,
        // A filler with no glyph, like the Hangul fillers above.
        '\u{16FE4}' => Class::Invisible,
        '\u{2800}' | '\u{1D159}' => Class::Blank,
        _ => Class::Shown,
    }
}

/// Whether `c` must not reach a screen as it is ([`Class::is_live`]).
pub fn is_live(c: char) -> bool {
    class(c).is_live()
}

/// Whether `s` has nothing visible: only `White_Space` (space, tab, line
/// breaks, no-break and other Unicode spaces, U+2028, U+2029, U+3000…),
/// controls, bidi controls, invisible and blank characters. An empty text is
/// blank.
pub fn is_blank(s: &str) -> bool {
    // Most texts start with a letter, digit or sign shown as it is.
    if s.as_bytes().first().is_some_and(u8::is_ascii_graphic) {
        return false;
    }
    s.chars()
        .all(|c| c.is_whitespace() || class(c) != Class::Shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Default_Ignorable_Code_Point as DerivedCoreProperties.txt (Unicode
    /// 16.0) lists it, written out apart from [`class`] so each checks the other.
    const DEFAULT_IGNORABLE: [(char, char); 17] = [
        ('\u{00AD}', '\u{00AD}'),
        ('\u{034F}', '\u{034F}'),
        ('\u{061C}', '\u{061C}'),
        ('\u{115F}', '\u{1160}'),
        ('\u{17B4}', '\u{17B5}'),
        ('\u{180B}', '\u{180F}'),
        ('\u{200B}', '\u{200F}'),
        ('\u{202A}', '\u{202E}'),
        ('\u{2060}', '\u{206F}'),
        ('\u{3164}', '\u{3164}'),
        ('\u{FE00}', '\u{FE0F}'),
        ('\u{FEFF}', '\u{FEFF}'),
        ('\u{FFA0}', '\u{FFA0}'),
        ('\u{FFF0}', '\u{FFF8}'),
        ('\u{1BCA0}', '\u{1BCA3}'),
        ('\u{1D173}', '\u{1D17A}'),
        ('\u{E0000}', '\u{E0FFF}'),
    ];

    /// Bidi_Control, from PropList.txt.
    const BIDI_CONTROL: [(char, char); 4] = [
        ('\u{061C}', '\u{061C}'),
        ('\u{200E}', '\u{200F}'),
        ('\u{202A}', '\u{202E}'),
        ('\u{2066}', '\u{2069}'),
    ];

    fn within(table: &[(char, char)], c: char) -> bool {
        table.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
    }

    fn every_char() -> impl Iterator<Item = char> {
        (0..=u32::from(char::MAX)).filter_map(char::from_u32)
    }

    /// The invisible characters that are not default ignorable: format
    /// characters that draw nothing, and a filler.
    const INVISIBLE_TOO: [(char, char); 3] = [
        ('\u{FFF9}', '\u{FFFB}'),
        ('\u{13430}', '\u{1343F}'),
        ('\u{16FE4}', '\u{16FE4}'),
    ];

    #[test]
    fn bidi_and_invisible_are_the_unicode_properties_and_the_few_written_down() {
        for c in every_char() {
            let want = if within(&BIDI_CONTROL, c) {
                Class::Bidi
            } else if within(&DEFAULT_IGNORABLE, c) || within(&INVISIBLE_TOO, c) {
                Class::Invisible
            } else {
                continue;
            };
            assert_eq!(class(c), want, "U+{:04X}", u32::from(c));
        }
        for c in every_char().filter(|&c| matches!(class(c), Class::Bidi | Class::Invisible)) {
            let listed = within(&DEFAULT_IGNORABLE, c) || within(&INVISIBLE_TOO, c);
            assert!(listed, "U+{:04X} is neither", u32::from(c));
        }
    }

    #[test]
    fn controls_are_exactly_c0_del_and_c1() {
        for c in every_char() {
            let control = c <= '\u{1F}' || ('\u{7F}'..='\u{9F}').contains(&c);
            assert_eq!(
                class(c) == Class::Control,
                control,
                "U+{:04X}",
                u32::from(c)
            );
        }
    }

    #[test]
    fn the_characters_known_for_hiding_text_are_all_live() {
        let hiders = [
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{034F}',
            '\u{115F}',
            '\u{1160}',
            '\u{3164}',
            '\u{FFA0}',
            '\u{180E}',
            '\u{FE0F}',
            '\u{E0001}',
            '\u{E0020}',
            '\u{E0041}',
            '\u{E007F}',
            '\u{E0100}',
            '\u{FFF9}',
            '\u{13430}',
            '\u{16FE4}',
            '\u{202E}',
            '\u{2067}',
            '\u{1B}',
            '\u{9B}',
            '\u{7F}',
        ];
        for c in hiders {
            assert!(is_live(c), "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn ordinary_text_spaces_and_signs_are_shown() {
        for c in "aZ9 é漢字👍\u{301}\u{20E3}\u{A0}\u{3000}\u{2028}\u{0600}\u{06DD}\u{FFFC}€".chars()
        {
            assert_eq!(class(c), Class::Shown, "U+{:04X}", u32::from(c));
        }
        assert_eq!(class('\u{2800}'), Class::Blank);
        assert!(
            !is_live('\u{2800}'),
            "a blank takes room, so it hides nothing"
        );
    }

    #[test]
    fn text_with_nothing_visible_is_blank() {
        let tags: String = "NO, AT 6".chars().map(tag).collect();
        for s in [
            "",
            " \n\t\r",
            "\u{200B}\u{200B}",
            "\u{FEFF}",
            "\u{3164}\u{3164}",
            "\u{2800}",
            "\u{115F}\u{1160}\u{FFA0}",
            "\u{FE0F}\u{200D}\u{FE0F}",
            "\u{A0}\u{2003}\u{3000}\u{2028}\u{85}",
            "\u{202E}\u{2066}",
            "\u{1b}\u{7}",
            &tags,
            &format!(" \u{E0001}{tags}\u{E007F}\n\u{200B} "),
        ] {
            assert!(is_blank(s), "{s:?}");
        }
    }

    #[test]
    fn text_with_anything_visible_is_not_blank() {
        let hidden: String = " NO, AT 6".chars().map(tag).collect();
        for s in [
            "a",
            ".",
            "\u{200B}x\u{200B}",
            "👍",
            "\u{2764}\u{FE0F}",
            "\u{301}",
            &format!("meet at 5{hidden}"),
        ] {
            assert!(!is_blank(s), "{s:?}");
        }
    }

    /// The tag character that spells `c` unseen (tags mirror ASCII).
    fn tag(c: char) -> char {
        char::from_u32(0xE0000 + u32::from(c)).expect("ASCII has tag characters")
    }
}
