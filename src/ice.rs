//! The STUN and TURN servers a browser should use, with short-lived TURN credentials in
//! coturn's REST scheme (`use-auth-secret`):
//! `username = "<expiry unix s>:<member id>"`, `credential = base64(HMAC-SHA1(secret, username))`.
//! coturn recomputes the credential from the same shared secret and refuses an expired
//! username, so the Worker never talks to coturn and the secret never leaves the Worker.
//!
//! TURN credentials go only to people in a room: in their `welcome`, and in answer to an `ice`
//! frame while they stay (the room's relay decides). Anyone else, through `GET /api/ice`, gets
//! STUN only: a TURN server that hands credentials to anonymous callers is an open relay. The
//! username's second part is the member's id, so coturn's per-user quotas count per person.
//!
//! Configuration (`[vars]` and one secret): `STUN_URLS`, `TURN_URLS` (comma-separated),
//! `TURN_TTL_SECONDS`, and the secret `TURN_SECRET`. TURN is offered only when both its URLs
//! and its secret are set. Odd values never take the endpoint down: a URL with the wrong
//! scheme is dropped (a browser's RTCPeerConnection throws on one, which would break every
//! call), and a bad TTL falls back to the default.
//!
//! SHA-1, HMAC and base64 are written out here (about 60 lines, tested against their RFCs'
//! vectors) rather than pulled in as crates; SHA-1 is what coturn's scheme specifies, and
//! HMAC-SHA1 is still sound as a MAC.
use serde::Serialize;
use worker::{Env, Response, Result};

use crate::http;

pub const DEFAULT_STUN_URL: &str = "stun:stun.cloudflare.com:3478";
/// Ten minutes: members ask for fresh credentials before they expire, so a leaked one is
/// useful for minutes. coturn checks the expiry only when a relay is allocated: a call
/// already relayed goes on past it.
pub const DEFAULT_TTL_SECONDS: u64 = 600;
/// A credential must outlive the call setup; one that lives for hours is barely short-lived.
pub const TTL_RANGE_SECONDS: std::ops::RangeInclusive<u64> = 60..=3600;

/// What the Worker is configured to hand out. The secret stays in here: `answer` is the only
/// way out, and it carries only credentials derived from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceConfig {
    stun_urls: Vec<String>,
    turn: Option<Turn>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Turn {
    urls: Vec<String>,
    secret: String,
    ttl_seconds: u64,
}

/// ICE servers and when their credentials expire, shaped for
/// `new RTCPeerConnection({ iceServers })`: the `/api/ice` body, and `ice` in room frames.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IceAnswer {
    pub ice_servers: Vec<IceServer>,
    /// When the TURN credentials stop working (unix seconds); `None` without TURN.
    pub expires_at: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

impl IceConfig {
    /// Reads the configuration through `var` (the Worker's vars and secrets in production, a
    /// map in tests).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let mut stun_urls = url_list(var("STUN_URLS"), &["stun:", "stuns:"]);
        if stun_urls.is_empty() {
            stun_urls.push(DEFAULT_STUN_URL.to_owned());
        }
        let turn_urls = url_list(var("TURN_URLS"), &["turn:", "turns:"]);
        let secret = var("TURN_SECRET").filter(|secret| !secret.is_empty());
        let ttl_seconds = var("TURN_TTL_SECONDS")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or(DEFAULT_TTL_SECONDS, |ttl| {
                ttl.clamp(*TTL_RANGE_SECONDS.start(), *TTL_RANGE_SECONDS.end())
            });
        let turn = match (turn_urls.is_empty(), secret) {
            (false, Some(secret)) => Some(Turn {
                urls: turn_urls,
                secret,
                ttl_seconds,
            }),
            _ => None,
        };
        Self { stun_urls, turn }
    }

    /// STUN only: what anybody may have.
    pub fn stun_only(&self) -> IceAnswer {
        IceAnswer {
            ice_servers: vec![IceServer {
                urls: self.stun_urls.clone(),
                username: None,
                credential: None,
            }],
            expires_at: None,
        }
    }

    /// STUN, and TURN with credentials for `member` valid from `now_s` (unix seconds): only
    /// for a member of a room.
    pub fn for_member(&self, now_s: u64, member: &str) -> IceAnswer {
        let mut answer = self.stun_only();
        if let Some(turn) = &self.turn {
            let expiry = now_s + turn.ttl_seconds;
            let username = format!("{expiry}:{member}");
            let credential = turn_credential(turn.secret.as_bytes(), &username);
            answer.ice_servers.push(IceServer {
                urls: turn.urls.clone(),
                username: Some(username),
                credential: Some(credential),
            });
            answer.expires_at = Some(expiry);
        }
        answer
    }

    /// The configuration in the Worker's vars and its `TURN_SECRET`.
    pub fn from_env(env: &Env) -> Self {
        Self::from_vars(|name| match name {
            "TURN_SECRET" => env.secret(name).ok().map(|s| s.to_string()),
            _ => env.var(name).ok().map(|v| v.to_string()),
        })
    }
}

/// `GET /api/ice`: STUN servers only (TURN credentials are for members, see above).
pub fn respond(env: &Env) -> Result<Response> {
    http::json(200, &IceConfig::from_env(env).stun_only())
}

/// Splits a comma-separated list, keeping the entries with one of `schemes` and no spaces.
fn url_list(raw: Option<String>, schemes: &[&str]) -> Vec<String> {
    let raw = raw.unwrap_or_default();
    raw.split(',')
        .map(str::trim)
        .filter(|url| {
            let lower = url.to_ascii_lowercase();
            schemes
                .iter()
                .any(|scheme| lower.len() > scheme.len() && lower.starts_with(scheme))
                && !url.chars().any(|c| c.is_whitespace() || c.is_control())
        })
        .map(str::to_owned)
        .collect()
}

/// coturn's REST-scheme password for `username`.
pub fn turn_credential(secret: &[u8], username: &str) -> String {
    base64(&hmac_sha1(secret, username.as_bytes()))
}

/// SHA-1 (RFC 3174).
fn sha1(message: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    // Padding: a 1 bit, zeros up to 56 mod 64 bytes, then the length in bits, big-endian.
    let mut padded = message.to_vec();
    padded.push(0x80);
    padded.resize((message.len() + 9).next_multiple_of(64) - 8, 0);
    padded.extend_from_slice(&(message.len() as u64 * 8).to_be_bytes());

    for block in padded.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (word, bytes) in w.iter_mut().zip(block.chunks_exact(4)) {
            *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        for t in 16..80 {
            w[t] = (w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (t, &word) in w.iter().enumerate() {
            let (f, k) = match t {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let temp = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(word);
            (e, d, c, b, a) = (d, c, b.rotate_left(30), a, temp);
        }
        for (state, add) in h.iter_mut().zip([a, b, c, d, e]) {
            *state = state.wrapping_add(add);
        }
    }
    let mut digest = [0u8; 20];
    for (bytes, word) in digest.chunks_exact_mut(4).zip(h) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    digest
}

/// HMAC-SHA1 (RFC 2104): a key longer than SHA-1's 64-byte block is hashed first.
fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    let mut block = [0u8; 64];
    if key.len() > block.len() {
        block[..20].copy_from_slice(&sha1(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let padded = |pad: u8| block.iter().map(move |byte| byte ^ pad);
    let inner: Vec<u8> = padded(0x36).chain(message.iter().copied()).collect();
    let outer: Vec<u8> = padded(0x5c).chain(sha1(&inner)).collect();
    sha1(&outer)
}

/// Standard base64 with padding (RFC 4648 section 4).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let group = chunk.iter().enumerate().fold(0u32, |group, (i, &byte)| {
            group | u32::from(byte) << (16 - 8 * i)
        });
        // n input bytes make n + 1 symbols; '=' fills the group of four.
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                ALPHABET[(group >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    #[test]
    fn sha1_matches_rfc_3174() {
        let million_a = vec![b'a'; 1_000_000];
        let repeated = b"01234567".repeat(80);
        for (input, digest) in [
            (&b"abc"[..], "a9993e364706816aba3e25717850c26c9cd0d89d"),
            (
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
            ),
            (&million_a, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"),
            (&repeated, "dea356a2cddd90c7a7ecedc5ebb563934f460452"),
            // FIPS 180: the empty message.
            (b"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ] {
            assert_eq!(hex(&sha1(input)), digest, "{} bytes", input.len());
        }
    }

    #[test]
    fn sha1_pads_every_length_around_a_block_boundary() {
        // 55, 56 and 64 bytes: the length field fits, just does not fit, and a full block.
        for (len, digest) in [
            (55, "c1c8bbdc22796e28c0e15163d20899b65621d65a"),
            (56, "c2db330f6083854c99d4b5bfb6e8f29f201be699"),
            (64, "0098ba824b5c16427bd7a1122a5a442a25ec644d"),
        ] {
            assert_eq!(hex(&sha1(&vec![b'a'; len])), digest, "{len} bytes");
        }
    }

    #[test]
    fn hmac_sha1_matches_rfc_2202() {
        let cases: [(Vec<u8>, Vec<u8>, &str); 7] = [
            (
                vec![0x0b; 20],
                b"Hi There".to_vec(),
                "b617318655057264e28bc0b6fb378c8ef146be00",
            ),
            (
                b"Jefe".to_vec(),
                b"what do ya want for nothing?".to_vec(),
                "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
            ),
            (
                vec![0xaa; 20],
                vec![0xdd; 50],
                "125d7342b9ac11cd91a39af48aa17b4f63f175d3",
            ),
            (
                (1..=25).collect(),
                vec![0xcd; 50],
                "4c9007f4026250c6bc8414f9bf50c86c2d7235da",
            ),
            (
                vec![0x0c; 20],
                b"Test With Truncation".to_vec(),
                "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04",
            ),
            (
                vec![0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
                "aa4ae5e15272d00e95705637ce8a3b55ed402112",
            ),
            (
                vec![0xaa; 80],
                b"Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data"
                    .to_vec(),
                "e8e99d0f45237d786d6bbaa7965c7808bbff1a91",
            ),
        ];
        for (i, (key, data, mac)) in cases.iter().enumerate() {
            assert_eq!(hex(&hmac_sha1(key, data)), *mac, "RFC 2202 case {}", i + 1);
        }
    }

    #[test]
    fn hmac_sha1_keys_around_the_block_size() {
        // A key of exactly 64 bytes (what `openssl rand -hex 32` gives) is used as is; one of
        // 65 is hashed first. RFC 2202 only has 80-byte long keys, so these were computed with
        // Python: hmac.new(b"\xaa" * n, data, hashlib.sha1).hexdigest().
        let data = b"Test Using Larger Than Block-Size Key - Hash Key First";
        for (len, mac) in [
            (63, "5051aeaffc4125c3fbb47c870d1815d17248eed5"),
            (64, "070a98992c4c1a83474cb780fc564608df3cf503"),
            (65, "b5a88a552cdd7545b07b117d31e4be33c2ddcd57"),
        ] {
            assert_eq!(
                hex(&hmac_sha1(&vec![0xaa; len], data)),
                mac,
                "{len}-byte key"
            );
        }
        for (len, mac) in [
            (63, "d748d78f388a365549ac23f9b9d9cd24a90b217d"),
            (64, "e83ee1c362c86cc004df4f912a641c1bd844f36c"),
            (65, "5c0fb63dc6aea0bed8fa2f8ea120a144e15cbd50"),
        ] {
            assert_eq!(
                hex(&hmac_sha1(&vec![0xaa; len], b"Hi There")),
                mac,
                "{len}-byte key"
            );
        }
    }

    #[test]
    fn base64_matches_rfc_4648() {
        for (input, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), encoded, "{input:?}");
        }
        // Both of the alphabet's last two symbols.
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn turn_credential_is_coturns_rest_scheme() {
        // Python: base64(hmac.new(b"s3cret", b"1700003600:0123456789abcdef", sha1).digest())
        assert_eq!(
            turn_credential(b"s3cret", "1700003600:0123456789abcdef"),
            "FwufwB1thpBLerbTSNeL9LF/f6o="
        );
        // A secret of 64 characters, as `openssl rand -hex 32` makes. Python:
        // base64(hmac.new(b"0123456789abcdef" * 4, b"1700003600:0123456789abcdef", sha1).digest())
        assert_eq!(
            turn_credential(
                "0123456789abcdef".repeat(4).as_bytes(),
                "1700003600:0123456789abcdef"
            ),
            "YBfP7UFj+Zedek4sySTOQ9mLylU="
        );
    }

    #[test]
    fn stun_only_by_default() {
        let answer = IceConfig::from_vars(|_| None).for_member(1_700_000_000, "id");
        let json = serde_json::to_value(&answer).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "iceServers": [{ "urls": [DEFAULT_STUN_URL] }],
                "expiresAt": null
            })
        );
    }

    #[test]
    fn strangers_get_stun_only_even_with_turn_configured() {
        let config = IceConfig::from_vars(vars(&[
            ("TURN_URLS", "turn:t.example"),
            ("TURN_SECRET", "s3cret"),
        ]));
        let json = serde_json::to_value(config.stun_only()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "iceServers": [{ "urls": [DEFAULT_STUN_URL] }],
                "expiresAt": null
            })
        );
        let member = config.for_member(1000, "0123456789abcdef");
        let turn = member.ice_servers[1].username.as_deref();
        assert_eq!(
            turn,
            Some("1600:0123456789abcdef"),
            "the member's id, for quotas"
        );
    }

    #[test]
    fn turn_with_urls_and_secret() {
        let config = IceConfig::from_vars(vars(&[
            ("STUN_URLS", "stun:a.example:3478, stun:b.example"),
            (
                "TURN_URLS",
                "turn:t.example:3478?transport=udp,turns:t.example:5349",
            ),
            ("TURN_SECRET", "s3cret"),
            ("TURN_TTL_SECONDS", "600"),
        ]));
        let json =
            serde_json::to_value(config.for_member(1_700_000_000, "0123456789abcdef")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "iceServers": [
                    { "urls": ["stun:a.example:3478", "stun:b.example"] },
                    {
                        "urls": ["turn:t.example:3478?transport=udp", "turns:t.example:5349"],
                        "username": "1700000600:0123456789abcdef",
                        "credential": turn_credential(b"s3cret", "1700000600:0123456789abcdef"),
                    }
                ],
                "expiresAt": 1_700_000_600u64
            })
        );
        assert!(!json.to_string().contains("s3cret"));
    }

    #[test]
    fn turn_needs_both_urls_and_secret() {
        for pairs in [
            &[("TURN_URLS", "turn:t.example")][..],
            &[("TURN_SECRET", "s3cret")],
            &[("TURN_URLS", ""), ("TURN_SECRET", "s3cret")],
            &[("TURN_URLS", "turn:t.example"), ("TURN_SECRET", "")],
            &[
                ("TURN_URLS", "t.example, http://t.example"),
                ("TURN_SECRET", "s"),
            ],
        ] {
            let answer = IceConfig::from_vars(vars(pairs)).for_member(0, "id");
            assert_eq!(answer.ice_servers.len(), 1, "{pairs:?}");
            assert_eq!(answer.expires_at, None);
        }
    }

    #[test]
    fn ttl_defaults_and_is_clamped() {
        let expiry = |ttl: &str| {
            IceConfig::from_vars(vars(&[
                ("TURN_URLS", "turn:t.example"),
                ("TURN_SECRET", "s"),
                ("TURN_TTL_SECONDS", ttl),
            ]))
            .for_member(1000, "id")
            .expires_at
        };
        assert_eq!(expiry(" 120 "), Some(1120));
        for bad in ["", "x", "-5", "1.5"] {
            assert_eq!(expiry(bad), Some(1000 + DEFAULT_TTL_SECONDS), "{bad:?}");
        }
        assert_eq!(expiry("0"), Some(1060));
        assert_eq!(expiry("3600"), Some(1000 + 3600));
        assert_eq!(expiry("3601"), Some(1000 + 3600), "an hour at most");
        assert_eq!(expiry("99999999999"), Some(1000 + 3600));
    }

    #[test]
    fn odd_urls_are_dropped_and_stun_falls_back_to_the_default() {
        let config = IceConfig::from_vars(vars(&[
            (
                "STUN_URLS",
                " , stun:, turn:x, stun:ok.example , stun:a b,STUN:UP.example",
            ),
            ("TURN_URLS", "stun:x,turn:ok.example,,TURNS:up.example"),
            ("TURN_SECRET", "s"),
        ]));
        let answer = config.for_member(0, "id");
        assert_eq!(
            answer.ice_servers[0].urls,
            ["stun:ok.example", "STUN:UP.example"]
        );
        assert_eq!(
            answer.ice_servers[1].urls,
            ["turn:ok.example", "TURNS:up.example"]
        );
        for junk in ["", " , ", "http://x", "turn:x"] {
            let answer = IceConfig::from_vars(vars(&[("STUN_URLS", junk)])).for_member(0, "id");
            assert_eq!(answer.ice_servers[0].urls, [DEFAULT_STUN_URL], "{junk:?}");
        }
    }
}
