//! `utf8_stream`: the streaming validator against `std::str::from_utf8`.

use wspc::utf8::{validate, Utf8Validator};

/// Input: `[n: u8] [n split bytes] text`. The text is fed in pieces whose lengths cycle through
/// the split bytes, each taken mod 17 (so empty pieces happen too; no split bytes, or only
/// multiples of 17, means one piece). After each piece the validator must fail exactly when std
/// says the text so far can no longer be the start of valid UTF-8; at the end `finish` must agree
/// with std on the whole text. A validator that failed starts over and accepts a fresh text.
pub fn utf8_stream(data: &[u8]) {
    let (&n, rest) = data.split_first().unwrap_or((&0, &[]));
    let (splits, text) = rest.split_at(usize::from(n).min(rest.len()));
    assert_eq!(validate(text), std::str::from_utf8(text).is_ok());
    let one_piece = splits.iter().all(|s| s % 17 == 0);

    let mut v = Utf8Validator::new();
    // std's verdict, kept incrementally: `text[..ok]` is complete valid text.
    let mut ok = 0;
    let mut at = 0;
    let mut i = 0;
    let mut failed = false;
    while at < text.len() || i == 0 {
        let len = if one_piece {
            text.len()
        } else {
            usize::from(splits[i % splits.len()] % 17)
        };
        i += 1;
        let end = (at + len).min(text.len());
        let got = v.feed(&text[at..end]);
        at = end;
        let impossible = match std::str::from_utf8(&text[ok..end]) {
            Ok(_) => {
                ok = end;
                false
            }
            Err(e) => {
                ok += e.valid_up_to();
                e.error_len().is_some()
            }
        };
        assert_eq!(got.is_err(), impossible, "{text:x?} split at {end}");
        if impossible {
            failed = true;
            break;
        }
        // At most 3 bytes of an unfinished sequence are pending.
        assert!(end - ok <= 3);
    }
    if failed {
        assert!(v.is_complete(), "a failed validator starts over");
        assert_eq!(v.feed("é€😀".as_bytes()), Ok(()));
        assert_eq!(v.finish(), Ok(()));
    } else {
        assert_eq!(v.is_complete(), ok == text.len());
        let whole = std::str::from_utf8(text).is_ok();
        assert_eq!(v.finish().is_ok(), whole, "{text:x?}");
        assert!(v.is_complete());
    }
}
