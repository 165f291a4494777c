//! What people may call themselves and write, so that nobody can pass for somebody else:
//! nicknames, the test of whether two names look alike, chat text, and the script check that
//! room names share. Pure logic, tested natively; the rules follow Unicode's security
//! mechanisms (UTS #39) through the `unicode-security` crate.
//!
//! A nickname is trimmed and normalised (NFC, every kind of space made a plain space, runs
//! of spaces made one), then refused when it holds a character that is invisible or changes
//! how text around it is shown (controls, format characters such as zero-width spaces and
//! bidirectional overrides, line separators, private-use and unassigned code points, Hangul
//! fillers), when it shows nothing, when it piles combining marks on one letter, when it
//! mixes scripts that look alike (Latin with Cyrillic or Greek), or when it is too long:
//! `max_chars` user-perceived characters (grapheme clusters, so "é" counts once however it
//! is encoded) and four bytes per character at most.
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};
use unicode_security::{skeleton, RestrictionLevel, RestrictionLevelDetection};
use unicode_segmentation::UnicodeSegmentation;

/// Combining marks one character may carry: enough for Vietnamese and Indic scripts, not for
/// "Zalgo" text that spills over the lines around it.
const MAX_MARKS_PER_CHARACTER: usize = 4;

/// Characters that show nothing but are not format characters: Hangul fillers, the Braille
/// blank, the combining grapheme joiner and Khmer's inherent vowels.
const INVISIBLE: &[char] = &[
    '\u{034F}', '\u{115F}', '\u{1160}', '\u{17B4}', '\u{17B5}', '\u{2800}', '\u{3164}', '\u{FFA0}',
];

const ZERO_WIDTH_JOINER: char = '\u{200D}';

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NickProblem {
    Empty,
    TooLong {
        max_chars: usize,
    },
    /// A character that is invisible or reorders text, with its code point for the message.
    Hidden(char),
    TooManyMarks,
    MixedScripts,
}

impl NickProblem {
    pub fn message(&self) -> String {
        match self {
            Self::Empty => "nickname is empty".to_owned(),
            Self::TooLong { max_chars } => {
                format!("nickname is limited to {max_chars} characters")
            }
            Self::Hidden(c) => format!(
                "nickname may not hold invisible, formatting or control characters (U+{:04X})",
                u32::from(*c)
            ),
            Self::TooManyMarks => "nickname has too many accents on one letter".to_owned(),
            Self::MixedScripts => {
                "nickname mixes alphabets that look alike (like Latin and Cyrillic)".to_owned()
            }
        }
    }
}

/// The nickname as it will be shown, or why it cannot be one (see the module's doc).
pub fn nickname(raw: &str, max_chars: usize) -> Result<String, NickProblem> {
    let nick = normalise_spaces(&raw.nfc().collect::<String>());
    if let Some(hidden) = first_hidden(&nick) {
        return Err(NickProblem::Hidden(hidden));
    }
    if !nick.chars().any(is_visible) {
        return Err(NickProblem::Empty);
    }
    let characters = nick.graphemes(true).count();
    if characters > max_chars || nick.len() > max_chars * 4 {
        return Err(NickProblem::TooLong { max_chars });
    }
    let marks = |g: &str| g.chars().filter(|&c| is_mark(c)).count();
    if nick
        .graphemes(true)
        .any(|g| marks(g) > MAX_MARKS_PER_CHARACTER)
    {
        return Err(NickProblem::TooManyMarks);
    }
    if mixes_lookalike_scripts(&nick) {
        return Err(NickProblem::MixedScripts);
    }
    Ok(nick)
}

/// What a name looks like, for telling whether two names could be taken for each other: the
/// UTS #39 skeleton, case aside ("Ann", "ann" and "Аnn" with a Cyrillic "А" all look like
/// "ann"; "rn" looks like "m", "B0B" like "bob"). Lower case again after the skeleton,
/// because the skeleton maps some characters to capitals ("0" to "O").
pub fn lookalike_key(nick: &str) -> String {
    skeleton(&nick.to_lowercase())
        .collect::<String>()
        .to_lowercase()
}

/// Whether `text` shows anything: a chat line of zero-width spaces is empty.
pub fn has_visible(text: &str) -> bool {
    text.chars().any(is_visible)
}

/// Whether the letters of `text` mix scripts beyond what UTS #39 calls moderately
/// restrictive: Latin with Cyrillic or Greek, say, but not Latin with Hangul or Han.
pub fn mixes_lookalike_scripts(text: &str) -> bool {
    let letters: String = text.chars().filter(|c| c.is_alphanumeric()).collect();
    letters.as_str().detect_restriction_level() > RestrictionLevel::ModeratelyRestrictive
}

/// Trims, and makes every space a plain one with never two in a row.
fn normalise_spaces(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split(|c: char| c.general_category() == GeneralCategory::SpaceSeparator) {
        if !word.is_empty() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
    }
    out
}

/// The first character that is invisible or changes how the text around it shows. A
/// zero-width joiner between two symbols is an emoji sequence (a family, a flag), not hiding.
fn first_hidden(nick: &str) -> Option<char> {
    let chars: Vec<char> = nick.chars().collect();
    chars.iter().enumerate().find_map(|(i, &c)| {
        let hidden = match c.general_category() {
            GeneralCategory::Format if c == ZERO_WIDTH_JOINER => {
                !joins_emoji(&chars[..i], chars.get(i + 1))
            }
            GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::PrivateUse
            | GeneralCategory::Surrogate
            | GeneralCategory::Unassigned => true,
            _ => INVISIBLE.contains(&c),
        };
        hidden.then_some(c)
    })
}

/// Whether a joiner after `before` and ahead of `next` links two emoji.
fn joins_emoji(before: &[char], next: Option<&char>) -> bool {
    let symbol = |c: &char| c.general_category() == GeneralCategory::OtherSymbol;
    // Skip what decorates the emoji before: variation selectors and skin tones.
    let previous = before
        .iter()
        .rev()
        .find(|c| !is_mark(**c) && c.general_category() != GeneralCategory::ModifierSymbol);
    previous.is_some_and(symbol) && next.is_some_and(symbol)
}

fn is_mark(c: char) -> bool {
    c.general_category_group() == GeneralCategoryGroup::Mark
}

/// A character that puts something on the screen by itself.
fn is_visible(c: char) -> bool {
    !matches!(
        c.general_category_group(),
        GeneralCategoryGroup::Mark | GeneralCategoryGroup::Separator | GeneralCategoryGroup::Other
    ) && !INVISIBLE.contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 32;

    fn refused(nick: &str) -> NickProblem {
        nickname(nick, MAX).expect_err(nick)
    }

    #[test]
    fn ordinary_names_in_any_one_script_pass_normalised() {
        for (raw, shown) in [
            ("alice", "alice"),
            ("  Ann  Lee ", "Ann Lee"),
            ("민지", "민지"),
            ("Иван", "Иван"),
            ("Ελένη", "Ελένη"),
            ("José", "José"),
            ("Nguyễn Văn An", "Nguyễn Văn An"),
            ("क्षितिज", "क्षितिज"),
            ("Jin 민지", "Jin 민지"),
            ("山田 たろう", "山田 たろう"),
            ("<img src=x>", "<img src=x>"),
            ("ann 🙂", "ann 🙂"),
            ("❤️ fan", "❤️ fan"),
            ("dev 👩‍💻", "dev 👩‍💻"),
            ("family 👨‍👩‍👧", "family 👨‍👩‍👧"),
            // A joiner after a skin tone or a variation selector still joins emoji.
            ("dev 🧑🏽‍💻", "dev 🧑🏽‍💻"),
            ("❤️‍🔥", "❤️‍🔥"),
            // Other spaces become plain ones (an ideographic space from a Korean keyboard).
            ("민지\u{3000}김", "민지 김"),
            ("a\u{00A0}b", "a b"),
        ] {
            assert_eq!(nickname(raw, MAX).as_deref(), Ok(shown), "{raw:?}");
        }
    }

    #[test]
    fn composed_and_decomposed_forms_are_one_name() {
        let decomposed = "Jose\u{0301}";
        assert_eq!(nickname(decomposed, MAX).unwrap(), "José");
        assert_eq!(nickname(decomposed, MAX).unwrap().chars().count(), 4);
    }

    #[test]
    fn invisible_and_reordering_characters_are_refused_by_code_point() {
        for (nick, hidden) in [
            ("\u{202E}ecila", '\u{202E}'), // right-to-left override: shows as "alice"
            ("al\u{200B}ice", '\u{200B}'), // zero-width space
            ("\u{FEFF}alice", '\u{FEFF}'), // byte order mark
            ("ali\u{00AD}ce", '\u{00AD}'), // soft hyphen
            ("alice\u{E0041}", '\u{E0041}'), // tag character
            ("al\u{2028}ice", '\u{2028}'), // line separator
            ("al\u{2029}ice", '\u{2029}'), // paragraph separator
            ("\u{3164}", '\u{3164}'),      // Hangul filler: an invisible nickname
            ("a\u{3164}b", '\u{3164}'),
            ("a\u{115F}", '\u{115F}'),
            ("a\u{2800}", '\u{2800}'),    // Braille blank
            ("a\u{200D}b", '\u{200D}'),   // a joiner between letters is not an emoji
            ("🙂\u{200B}🙂", '\u{200B}'), // only a joiner may sit between two emoji
            ("🙂\u{2060}🙂", '\u{2060}'),
            ("🙂\u{200D}b", '\u{200D}'), // a joiner needs an emoji on both sides
            ("\u{200D}🙂", '\u{200D}'),
            ("a\u{E000}", '\u{E000}'), // private use
            ("a\u{0378}", '\u{0378}'), // unassigned
            ("a\u{0007}", '\u{0007}'),
            ("a\nb", '\n'),
            ("\u{2066}bob\u{2069}", '\u{2066}'),
        ] {
            assert_eq!(refused(nick), NickProblem::Hidden(hidden), "{nick:?}");
            assert!(refused(nick)
                .message()
                .contains(&format!("U+{:04X}", u32::from(hidden))));
        }
    }

    #[test]
    fn a_name_must_show_something() {
        for nick in ["", "   ", "\u{3000}", "\u{0301}\u{0301}", "\u{FE0F}"] {
            assert_eq!(refused(nick), NickProblem::Empty, "{nick:?}");
        }
    }

    #[test]
    fn length_counts_what_people_see_with_a_byte_cap() {
        assert!(nickname(&"a".repeat(MAX), MAX).is_ok());
        assert_eq!(
            refused(&"a".repeat(MAX + 1)),
            NickProblem::TooLong { max_chars: MAX }
        );
        // 32 accented letters, decomposed: 64 code points, 32 characters.
        assert!(nickname(&"e\u{0301}".repeat(MAX), MAX).is_ok());
        assert!(nickname(&"가".repeat(MAX), MAX).is_ok(), "3 bytes each");
        assert!(
            nickname(&"😀".repeat(MAX), MAX).is_ok(),
            "4 bytes each: the cap exactly"
        );
        // Emoji with skin tones are 8 bytes a character: 16 fit in 128 bytes, 17 do not.
        assert!(nickname(&"👍🏽".repeat(16), MAX).is_ok());
        assert_eq!(
            refused(&"👍🏽".repeat(17)),
            NickProblem::TooLong { max_chars: MAX }
        );
    }

    #[test]
    fn marks_piled_on_one_letter_are_refused() {
        // What passed before: one letter and 31 combining marks, 32 code points.
        let zalgo = format!("a{}", "\u{0301}".repeat(31));
        assert_eq!(refused(&zalgo), NickProblem::TooManyMarks);
        // "q" has no precomposed accented forms, so NFC leaves every mark in place.
        let four = "q\u{0301}\u{0300}\u{0302}\u{0303}";
        assert_eq!(nickname(four, MAX).unwrap().chars().count(), 5);
        let five = "q\u{0301}\u{0300}\u{0302}\u{0303}\u{0304}";
        assert_eq!(refused(five), NickProblem::TooManyMarks);
    }

    #[test]
    fn latin_mixed_with_cyrillic_or_greek_is_refused() {
        for nick in ["\u{0430}lice", "p\u{0430}ypal", "\u{03BF}scar", "Ivan Иван"] {
            assert_eq!(refused(nick), NickProblem::MixedScripts, "{nick:?}");
        }
    }

    #[test]
    fn lookalikes_share_a_key() {
        let key = lookalike_key;
        assert_eq!(key("alice"), key("Alice"));
        assert_eq!(key("alice"), key("\u{0430}lice"));
        assert_eq!(key("modern"), key("rnodern"));
        assert_eq!(key("paypal"), key("paypa1"));
        assert_eq!(key("bob"), key("B0B"));
        assert_ne!(key("alice"), key("alicia"));
        assert_ne!(key("민지"), key("민준"));
    }

    #[test]
    fn chat_must_show_something() {
        assert!(has_visible("hi"));
        assert!(has_visible(" 🙂 "));
        assert!(has_visible("."));
        for empty in [
            "\u{200B}",
            " \u{200B}\n\t",
            "\u{3164}",
            "\u{2800}\u{2800}",
            "\u{0301}",
        ] {
            assert!(!has_visible(empty), "{empty:?}");
        }
    }

    #[test]
    fn script_mixing_is_judged_on_letters_only() {
        assert!(!mixes_lookalike_scripts("team-1_a.b"));
        assert!(!mixes_lookalike_scripts("방-1"));
        assert!(!mixes_lookalike_scripts("team-방"));
        assert!(!mixes_lookalike_scripts("команда-7"));
        // Latin with one other script that does not look like it ("moderately restrictive").
        assert!(!mixes_lookalike_scripts("Raj राज"));
        assert!(!mixes_lookalike_scripts("Sami سامي"));
        assert!(mixes_lookalike_scripts("\u{0430}dmin-announcements"));
        assert!(mixes_lookalike_scripts("support-\u{03BF}fficial"));
    }
}
