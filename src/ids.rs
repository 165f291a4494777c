//! Random identifiers made by the server (peer ids, resume tokens), from the platform's
//! CSPRNG through getrandom (crypto.getRandomValues in a Worker).

/// `bytes` random bytes as lowercase hex: 8 bytes make a 16-character peer id.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the platform CSPRNG is available");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_of_the_asked_length_and_distinct() {
        let a = random_hex(8);
        assert_eq!(a.len(), 16);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, random_hex(8));
    }
}
