//! Room names: what the router accepts before any Durable Object is touched, and what a
//! public list may show. Pure logic, tested natively.

use unicode_normalization::UnicodeNormalization;

use crate::text;

/// Longest room name, in characters (not bytes), after trimming.
pub const MAX_ROOM_NAME_CHARS: usize = 64;

/// A validated room name: 1 to 64 Unicode letters, digits, `-`, `_` or `.`, in NFC (so one
/// name has one room however it was typed), and not mixing alphabets that look alike
/// (`аdmin` with a Cyrillic `а` would pass for `admin` in the public list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomName(String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomNameError {
    Empty,
    TooLong,
    BadEncoding,
    BadCharacter(char),
    MixedScripts,
}

impl RoomNameError {
    pub fn message(&self) -> String {
        match self {
            Self::Empty => "room name is empty".to_owned(),
            Self::TooLong => format!("room name is longer than {MAX_ROOM_NAME_CHARS} characters"),
            Self::BadEncoding => "room name is not valid percent-encoded UTF-8".to_owned(),
            Self::BadCharacter(c) => {
                format!("room name may only hold letters, digits, '-', '_' and '.', not {c:?}")
            }
            Self::MixedScripts => {
                "room name mixes alphabets that look alike (like Latin and Cyrillic)".to_owned()
            }
        }
    }
}

impl RoomName {
    /// Validates a name as typed (already decoded): trims it, then checks length and characters.
    pub fn parse(raw: &str) -> Result<Self, RoomNameError> {
        let name: String = raw.trim().nfc().collect();
        if name.is_empty() {
            return Err(RoomNameError::Empty);
        }
        if name.chars().count() > MAX_ROOM_NAME_CHARS {
            return Err(RoomNameError::TooLong);
        }
        if let Some(bad) = name.chars().find(|&c| !is_name_char(c)) {
            return Err(RoomNameError::BadCharacter(bad));
        }
        if text::mixes_lookalike_scripts(&name) {
            return Err(RoomNameError::MixedScripts);
        }
        Ok(Self(name))
    }

    /// Validates a name as it stands in a URL path segment (percent-encoded).
    pub fn from_path_segment(segment: &str) -> Result<Self, RoomNameError> {
        let decoded = percent_decode(segment).ok_or(RoomNameError::BadEncoding)?;
        Self::parse(&decoded)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// Decodes `%XX` escapes; `None` for a malformed escape or bytes that are not UTF-8.
fn percent_decode(input: &str) -> Option<String> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = input.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_letters_digits_and_punctuation_from_any_script() {
        for name in ["a", "standup", "team-1_x.y", "방-1", "Ünïcödé", "日本語"] {
            assert_eq!(RoomName::parse(name).unwrap().as_str(), name);
        }
    }

    #[test]
    fn trims_before_checking() {
        assert_eq!(RoomName::parse("  lobby \t").unwrap().as_str(), "lobby");
    }

    #[test]
    fn rejects_empty_long_and_foreign_characters() {
        assert_eq!(RoomName::parse("   "), Err(RoomNameError::Empty));
        assert!(RoomName::parse(&"x".repeat(64)).is_ok());
        assert_eq!(
            RoomName::parse(&"x".repeat(65)),
            Err(RoomNameError::TooLong)
        );
        // 64 multi-byte characters are fine: the limit counts characters.
        assert!(RoomName::parse(&"방".repeat(64)).is_ok());
        for (name, bad) in [
            ("a b", ' '),
            ("a/b", '/'),
            ("<b>", '<'),
            ("a\u{0}", '\u{0}'),
        ] {
            assert_eq!(RoomName::parse(name), Err(RoomNameError::BadCharacter(bad)));
        }
    }

    #[test]
    fn decodes_path_segments() {
        assert_eq!(
            RoomName::from_path_segment("%EB%B0%A9-1").unwrap().as_str(),
            "방-1"
        );
        assert_eq!(
            RoomName::from_path_segment("%2e%2E").unwrap().as_str(),
            ".."
        );
        assert_eq!(
            RoomName::from_path_segment("a%20b"),
            Err(RoomNameError::BadCharacter(' '))
        );
        for bad in ["%", "%4", "%zz", "%FF"] {
            assert_eq!(
                RoomName::from_path_segment(bad),
                Err(RoomNameError::BadEncoding)
            );
        }
    }

    #[test]
    fn each_error_says_what_is_wrong() {
        assert_eq!(RoomNameError::Empty.message(), "room name is empty");
        assert_eq!(
            RoomNameError::TooLong.message(),
            format!("room name is longer than {MAX_ROOM_NAME_CHARS} characters")
        );
        assert!(RoomNameError::BadEncoding
            .message()
            .contains("percent-encoded"));
        assert!(RoomNameError::BadCharacter('!')
            .message()
            .ends_with("not '!'"));
        assert!(RoomNameError::MixedScripts.message().contains("Cyrillic"));
    }

    #[test]
    fn one_name_one_room_however_it_was_typed() {
        let composed = RoomName::parse("caf\u{e9}").unwrap();
        let decomposed = RoomName::parse("cafe\u{301}").unwrap();
        assert_eq!(composed, decomposed);
        assert_eq!(decomposed.as_str(), "caf\u{e9}");
        assert_eq!(RoomName::from_path_segment("cafe%CC%81"), Ok(composed));
    }

    #[test]
    fn lookalike_alphabets_may_not_mix() {
        for name in ["\u{430}dmin-announcements", "\u{3bf}fficial"] {
            assert_eq!(RoomName::parse(name), Err(RoomNameError::MixedScripts));
        }
        for name in ["admin-announcements", "команда", "team-방", "東京-tokyo"] {
            assert!(RoomName::parse(name).is_ok(), "{name}");
        }
    }
}
