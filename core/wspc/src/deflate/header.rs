//! The syntax of `Sec-WebSocket-Extensions` (RFC 6455 §9.1 with RFC 7230 lists and quoted
//! strings), as much of it as permessage-deflate needs:
//!
//! ```text
//! extension-list  = 1#extension                        ; commas, empty elements skipped
//! extension       = token *( OWS ";" OWS extension-param )
//! extension-param = token [ OWS "=" OWS ( token / quoted-string ) ]
//! ```
//!
//! Commas and semicolons inside a quoted string do not split. Every byte is looked at a constant
//! number of times: splitting is one forward scan, and each piece is trimmed and checked once.

use super::negotiation::NegotiationError;
use crate::handshake::{is_token, trim_ows};

/// Splits `s` at `sep` outside quoted strings (a backslash escapes the next byte inside one).
/// An unterminated quoted string runs to the end of `s`.
pub(super) struct Split<'a> {
    rest: Option<&'a [u8]>,
    sep: u8,
}

impl<'a> Split<'a> {
    pub(super) fn new(s: &'a [u8], sep: u8) -> Self {
        Self { rest: Some(s), sep }
    }
}

impl<'a> Iterator for Split<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let s = self.rest?;
        let (mut quoted, mut escaped) = (false, false);
        for (i, &b) in s.iter().enumerate() {
            if quoted {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    quoted = false;
                }
            } else if b == b'"' {
                quoted = true;
            } else if b == self.sep {
                self.rest = s.get(i + 1..);
                return s.get(..i);
            }
        }
        self.rest = None;
        Some(s)
    }
}

/// The non-empty, trimmed elements of several values of one list header, in order.
pub(super) fn elements<V: AsRef<[u8]>>(values: &[V]) -> impl Iterator<Item = &[u8]> {
    values
        .iter()
        .flat_map(|v| Split::new(v.as_ref(), b','))
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

/// One extension of the list: its name (not yet checked) and its parameters, unparsed.
pub(super) struct Extension<'a> {
    pub(super) name: &'a [u8],
    pub(super) params: Split<'a>,
}

/// Splits one element into its name and parameters.
pub(super) fn extension(element: &[u8]) -> Extension<'_> {
    let mut parts = Split::new(element, b';');
    let name = parts.next().map(trim_ows).unwrap_or_default();
    Extension {
        name,
        params: parts,
    }
}

/// One parameter: its name, and its value (still quoted if it was) when it has one.
pub(super) fn param(p: &[u8]) -> Result<(&[u8], Option<&[u8]>), NegotiationError> {
    let p = trim_ows(p);
    let (name, value) = match p.iter().position(|&b| b == b'=') {
        Some(i) => (
            trim_ows(p.get(..i).unwrap_or_default()),
            Some(trim_ows(p.get(i + 1..).unwrap_or_default())),
        ),
        None => (p, None),
    };
    if !is_token(name) {
        return Err(NegotiationError::Malformed(
            "extension parameter name is not a token",
        ));
    }
    Ok((name, value))
}

/// The value of a window-bits parameter: a token or a quoted string whose content is `8` to
/// `15` in decimal without leading zeros (RFC 7692 §7.1.2.1). `Err(Malformed)` when the value is
/// neither a token nor a well-formed quoted string, `Ok(None)` when it is well-formed but not such
/// a number.
pub(super) fn window_bits(value: &[u8]) -> Result<Option<u8>, NegotiationError> {
    const MALFORMED: NegotiationError = NegotiationError::Malformed(
        "extension parameter value is neither a token nor a quoted string",
    );
    // The unescaped content; longer than 2 bytes is never a valid number, so only its length
    // past that is kept.
    let mut digits = [0u8; 2];
    let mut len = 0usize;
    let mut push = |b: u8| {
        if let Some(slot) = digits.get_mut(len) {
            *slot = b;
        }
        len += 1;
    };
    match value {
        [b'"', inner @ .., b'"'] => {
            let mut bytes = inner.iter();
            while let Some(&b) = bytes.next() {
                let b = match b {
                    b'\\' => *bytes.next().ok_or(MALFORMED)?,
                    b'"' => return Err(MALFORMED),
                    _ => b,
                };
                // RFC 7230 §3.2.6: qdtext and quoted-pair exclude controls other than HTAB.
                if (b < 0x20 && b != b'\t') || b == 0x7f {
                    return Err(MALFORMED);
                }
                push(b);
            }
        }
        _ if is_token(value) => value.iter().for_each(|&b| push(b)),
        _ => return Err(MALFORMED),
    }
    Ok(match digits.get(..len) {
        Some([d @ b'8'..=b'9']) => Some(d - b'0'),
        Some([b'1', d @ b'0'..=b'5']) => Some(10 + d - b'0'),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str, sep: u8) -> Vec<&str> {
        Split::new(s.as_bytes(), sep)
            .map(|p| std::str::from_utf8(p).unwrap())
            .collect()
    }

    #[test]
    fn splitting_respects_quoted_strings() {
        assert_eq!(split("a, b", b','), ["a", " b"]);
        assert_eq!(split("a; x=\"1,2\", b", b','), ["a; x=\"1,2\"", " b"]);
        assert_eq!(split("x=\"a\\\"b;c\"; y", b';'), ["x=\"a\\\"b;c\"", " y"]);
        assert_eq!(split("x=\"open, b", b','), ["x=\"open, b"]);
        assert_eq!(split("", b','), [""]);
        assert_eq!(split(",", b','), ["", ""]);
    }

    #[test]
    fn elements_skip_empty_ones_across_values() {
        let values = ["a, ,b", "", " c ;d "];
        let got: Vec<&[u8]> = elements(&values).collect();
        assert_eq!(got, [&b"a"[..], b"b", b"c ;d"]);
    }

    #[test]
    fn parameters() {
        let e = extension(b"permessage-deflate ; a ; b = 10 ;c=\"x\"");
        assert_eq!(e.name, b"permessage-deflate");
        let ps: Vec<_> = e.params.map(|p| param(p).unwrap()).collect();
        assert_eq!(
            ps,
            [
                (&b"a"[..], None),
                (b"b", Some(&b"10"[..])),
                (b"c", Some(&b"\"x\""[..]))
            ]
        );
        assert!(param(b"").is_err());
        assert!(param(b"=1").is_err());
        assert!(param(b"a b=1").is_err());
    }

    #[test]
    fn window_bits_values() {
        for (v, want) in [
            ("8", Some(8)),
            ("9", Some(9)),
            ("10", Some(10)),
            ("15", Some(15)),
            ("\"12\"", Some(12)),
            ("\"1\\5\"", Some(15)),
            ("7", None),
            ("16", None),
            ("08", None),
            ("015", None),
            ("1", None),
            ("x", None),
            ("\"\"", None),
            ("\"150\"", None),
            ("-9", None),
        ] {
            assert_eq!(window_bits(v.as_bytes()), Ok(want), "{v:?}");
        }
        for v in [
            "", "\"", "\"10", "1 0", "\"1\"0\"", "\"1\\\"", "\"\x01\"", "1/0",
        ] {
            assert!(window_bits(v.as_bytes()).is_err(), "{v:?}");
        }
    }
}
