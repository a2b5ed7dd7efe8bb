//! The key names that hold a login or a password, in JSON lines and CSV headers.
//!
//! Owns the two priority lists and their one-word, case-insensitive compare.

/// Key names that hold the login, in priority order (JSON keys and CSV headers,
/// compared ASCII case-insensitively).
pub const LOGIN_KEYS: [&str; 5] = ["email", "login", "username", "user", "mail"];
/// Key names that hold the password, in priority order.
pub const PASSWORD_KEYS: [&str; 4] = ["password", "pass", "passwd", "pwd"];

/// A key of at most 8 bytes as one word: its bytes little-endian, zero-padded,
/// ASCII letters lowercased. `(len, word)` identifies a key case-insensitively.
const fn key_word(key: &[u8]) -> u64 {
    let mut w = 0u64;
    let mut i = 0;
    while i < key.len() {
        w |= (key[i].to_ascii_lowercase() as u64) << (8 * i);
        i += 1;
    }
    w
}

/// [`key_word`] of each key, with its length. Every key is at most 8 bytes (checked
/// at compile time).
const fn key_words<const N: usize>(keys: [&str; N]) -> [(usize, u64); N] {
    let mut out = [(0, 0); N];
    let mut i = 0;
    while i < N {
        let k = keys[i].as_bytes();
        assert!(k.len() <= 8);
        out[i] = (k.len(), key_word(k));
        i += 1;
    }
    out
}

pub(super) const LOGIN_WORDS: [(usize, u64); LOGIN_KEYS.len()] = key_words(LOGIN_KEYS);
pub(super) const PASSWORD_WORDS: [(usize, u64); PASSWORD_KEYS.len()] = key_words(PASSWORD_KEYS);

/// The position of `key` among `words` (from [`key_words`]), ASCII
/// case-insensitively, with one compare a key: the key rule of JSON lines and CSV
/// headers (profiled: byte-by-byte compares were a tenth of a JSON line's cost).
#[inline]
pub(super) fn word_priority(words: &[(usize, u64)], key: &[u8]) -> Option<usize> {
    let len = key.len();
    let w = match len {
        0 => 0,
        1..=3 => {
            u64::from(key[0])
                | u64::from(key[len / 2]) << (8 * (len / 2))
                | u64::from(key[len - 1]) << (8 * (len - 1))
        }
        4..=8 => {
            // Two overlapping 4-byte loads: the overlap holds the same bytes twice.
            let half =
                |at: usize| u64::from(u32::from_le_bytes(key[at..at + 4].try_into().unwrap()));
            half(0) | half(len - 4) << (8 * (len - 4))
        }
        _ => return None,
    };
    let w = crate::login::lower8(w);
    words.iter().position(|&(l, k)| l == len && k == w)
}

#[cfg(test)]
mod tests {
    use super::*;

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// The keys' one-word compare is the case-insensitive byte compare.
            #[test]
            fn key_words_match_keys_case_insensitively(
                key in prop_oneof![
                    prop_oneof![
                        Just("email"), Just("login"), Just("username"), Just("user"),
                        Just("mail"), Just("password"), Just("pass"), Just("passwd"),
                        Just("pwd"),
                    ]
                    .prop_flat_map(|k| proptest::collection::vec(
                        (any::<bool>(), 0u8..8), k.len()..=k.len()
                    ).prop_map(move |m| {
                        // Random case, the odd byte changed (to NUL, 0xC9, '@'...).
                        k.bytes().zip(m).map(|(b, (up, change))| match change {
                            0 => 0,
                            1 => b | 0x80,
                            2 => b ^ 0x20,
                            _ if up => b.to_ascii_uppercase(),
                            _ => b,
                        }).collect::<Vec<u8>>()
                    })),
                    proptest::collection::vec(any::<u8>(), 0..10),
                ],
            ) {
                // The rule, byte by byte.
                let key_priority = |keys: &[&str], key: &[u8]| {
                    keys.iter().position(|k| k.as_bytes().eq_ignore_ascii_case(key))
                };
                prop_assert_eq!(word_priority(&LOGIN_WORDS, &key), key_priority(&LOGIN_KEYS, &key));
                prop_assert_eq!(word_priority(&PASSWORD_WORDS, &key), key_priority(&PASSWORD_KEYS, &key));
            }
        }
    }
}
