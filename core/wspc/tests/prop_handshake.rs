//! Property 4 of issue 7: the opening handshake against a model written from RFC 6455 §4.
//!
//! Random request header sets (name case, whitespace, comma lists, repeats, missing or invalid
//! fields, wrong versions, keys that are not 16 bytes, bad header syntax) go to the wspc server;
//! random responses go to a wspc client. Each result must be what the model below predicts (accept
//! or the kind of refusal, in the check order `wspc::handshake` documents), and every
//! `Sec-WebSocket-Accept` must equal tungstenite's `derive_accept_key`.

use proptest::prelude::*;
use tungstenite::handshake::derive_accept_key;
use wspc::handshake::client::ClientHandshake;
use wspc::handshake::key::{accept_key, generate_key};
use wspc::handshake::{server, HeaderRef, Negotiated, MAX_HEADER_BYTES, MAX_HEADER_COUNT};
use wspc::{Error, HandshakeError, Header};
use wspc_testkit::prop::config;

/// A header as given to wspc.
#[derive(Clone, Debug)]
struct Hdr {
    name: String,
    value: Vec<u8>,
}

fn refs(headers: &[Hdr]) -> Vec<HeaderRef<'_>> {
    headers
        .iter()
        .map(|h| HeaderRef {
            name: h.name.as_bytes(),
            value: &h.value,
        })
        .collect()
}

/// Why a handshake is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    Malformed,
    Version,
    Subprotocol,
    Extension,
}

fn refusal(e: &Error) -> Refusal {
    match e {
        Error::Handshake(HandshakeError::Malformed(_)) => Refusal::Malformed,
        Error::Handshake(HandshakeError::UnsupportedVersion) => Refusal::Version,
        Error::Handshake(HandshakeError::SubprotocolNotSupported) => Refusal::Subprotocol,
        Error::Handshake(HandshakeError::ExtensionNotSupported) => Refusal::Extension,
        other => panic!("not a handshake refusal: {other:?}"),
    }
}

// ----- the model (RFC 6455 §4.1, §4.2, RFC 7230 §3.2, §7) ----------------------------------

/// RFC 7230 §3.2.6: token = 1*tchar.
fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// RFC 7230 §3.2.3: optional whitespace is SP and HTAB.
fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| b != b' ' && b != b'\t');
    let end = s.iter().rposition(|&b| b != b' ' && b != b'\t');
    match (start, end) {
        (Some(a), Some(b)) => &s[a..=b],
        _ => &[],
    }
}

/// The values of the headers called `name` (case-insensitively).
fn values<'a>(headers: &'a [Hdr], name: &str) -> Vec<&'a [u8]> {
    headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| &h.value[..])
        .collect()
}

/// RFC 7230 §7 and §3.2.2: the non-empty elements of all the comma lists of `name`, trimmed.
fn elements<'a>(headers: &'a [Hdr], name: &str) -> Vec<&'a [u8]> {
    values(headers, name)
        .into_iter()
        .flat_map(|v| v.split(|&b| b == b','))
        .map(trim)
        .filter(|e| !e.is_empty())
        .collect()
}

fn has_token(headers: &[Hdr], name: &str, token: &str) -> bool {
    elements(headers, name)
        .iter()
        .any(|e| e.eq_ignore_ascii_case(token.as_bytes()))
}

/// Caps and RFC 7230 §3.2 syntax: names are tokens; values hold no CR, LF or NUL.
fn well_formed(headers: &[Hdr]) -> bool {
    let bytes: usize = headers.iter().map(|h| h.name.len() + h.value.len()).sum();
    headers.len() <= MAX_HEADER_COUNT
        && bytes < MAX_HEADER_BYTES
        && headers
            .iter()
            .all(|h| is_token(h.name.as_bytes()) && !h.value.iter().any(|b| b"\r\n\0".contains(b)))
}

/// RFC 6455 §4.3: `version = DIGIT | NZDIGIT DIGIT | "1" DIGIT DIGIT | "2" DIGIT2 DIGIT`
/// (0–255).
fn version(s: &[u8]) -> Option<u8> {
    let ok = match s {
        [d] => d.is_ascii_digit(),
        [a, b] => (b'1'..=b'9').contains(a) && b.is_ascii_digit(),
        [a, b, c] => {
            (*a == b'1' && b.is_ascii_digit() && c.is_ascii_digit())
                || (*a == b'2'
                    && ((b'0'..=b'4').contains(b) && c.is_ascii_digit()
                        || *b == b'5' && (b'0'..=b'5').contains(c)))
        }
        _ => false,
    };
    ok.then(|| std::str::from_utf8(s).unwrap().parse().unwrap())
}

const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// RFC 6455 §4.2.1 item 5: the key is base64 (RFC 4648 §4, padded, canonical) of 16 bytes: 22
/// alphabet characters, the last of which carries 4 zero bits, then `==`.
fn key_ok(key: &[u8]) -> bool {
    let pos = |c: &u8| BASE64.iter().position(|b| b == c);
    key.len() == 24
        && key[..22].iter().all(|c| pos(c).is_some())
        && pos(&key[21]).is_some_and(|v| v & 0xF == 0)
        && &key[22..] == b"=="
}

/// What the server should answer to `request` with this selection (the order of the checks is
/// the one `wspc::handshake::server::accept` documents).
fn model_server(
    request: &[Hdr],
    subprotocol: Option<&str>,
    extensions: &[&str],
) -> Result<Vec<(String, String)>, Refusal> {
    use Refusal::*;
    if !well_formed(request) {
        return Err(Malformed);
    }
    // RFC 6455 §4.2.1 items 2–4.
    if values(request, "Host").len() != 1
        || !has_token(request, "Upgrade", "websocket")
        || !has_token(request, "Connection", "upgrade")
    {
        return Err(Malformed);
    }
    // Item 6 and §4.4.
    if values(request, "Sec-WebSocket-Version").is_empty() {
        return Err(Malformed);
    }
    let versions: Option<Vec<u8>> = elements(request, "Sec-WebSocket-Version")
        .into_iter()
        .map(version)
        .collect();
    match versions.as_deref() {
        None | Some([]) => return Err(Malformed),
        Some([13]) => {}
        Some(_) => return Err(Version),
    }
    // Item 5.
    let keys = values(request, "Sec-WebSocket-Key");
    let key = match keys[..] {
        [k] if key_ok(trim(k)) => trim(k),
        _ => return Err(Malformed),
    };
    // §4.2.2 item 5.5: a subprotocol the client asked for.
    let offered = elements(request, "Sec-WebSocket-Protocol");
    if !offered.iter().all(|p| is_token(p)) {
        return Err(Malformed);
    }
    if subprotocol.is_some_and(|s| !offered.contains(&s.as_bytes())) {
        return Err(Subprotocol);
    }
    // §4.2.2 item 5.6 and §9.1: extensions the client asked for, by name.
    let name = |e: &[u8]| trim(e.split(|&b| b == b';').next().unwrap_or(e)).to_ascii_lowercase();
    let asked: Vec<Vec<u8>> = elements(request, "Sec-WebSocket-Extensions")
        .into_iter()
        .map(name)
        .collect();
    if !asked.iter().all(|n| is_token(n)) {
        return Err(Malformed);
    }
    if !extensions
        .iter()
        .all(|e| asked.contains(&name(e.as_bytes())))
    {
        return Err(Extension);
    }
    let mut out = vec![
        ("Connection".into(), "Upgrade".into()),
        ("Upgrade".into(), "websocket".into()),
        ("Sec-WebSocket-Accept".into(), derive_accept_key(key)),
    ];
    if let Some(s) = subprotocol {
        out.push(("Sec-WebSocket-Protocol".into(), s.into()));
    }
    if !extensions.is_empty() {
        out.push(("Sec-WebSocket-Extensions".into(), extensions.join(", ")));
    }
    Ok(out)
}

/// What the client should make of `response` after offering these, having sent `key` (the order
/// of the checks is the one `ClientHandshake::end` documents).
fn model_client(
    response: &[Hdr],
    key: &str,
    subprotocols: &[&str],
    extensions: &[&str],
) -> Result<Negotiated, Refusal> {
    use Refusal::*;
    if !well_formed(response)
        || !has_token(response, "Upgrade", "websocket")
        || !has_token(response, "Connection", "upgrade")
    {
        return Err(Malformed);
    }
    // RFC 6455 §4.1, the client's check 4.
    match values(response, "Sec-WebSocket-Accept")[..] {
        [a] if trim(a) == derive_accept_key(key.as_bytes()).as_bytes() => {}
        _ => return Err(Malformed),
    }
    // Check 6 (and spec §9 Q10: none selected while some were offered is a refusal too).
    let subprotocol = if values(response, "Sec-WebSocket-Protocol").is_empty() {
        if !subprotocols.is_empty() {
            return Err(Subprotocol);
        }
        None
    } else {
        match elements(response, "Sec-WebSocket-Protocol")[..] {
            [p] if is_token(p) => Some(
                subprotocols
                    .iter()
                    .position(|s| s.as_bytes() == p)
                    .ok_or(Subprotocol)?,
            ),
            _ => return Err(Malformed),
        }
    };
    // Check 5: each extension named was offered, and is answered once.
    let name = |e: &[u8]| trim(e.split(|&b| b == b';').next().unwrap_or(e)).to_ascii_lowercase();
    let mut chosen = Vec::new();
    for e in elements(response, "Sec-WebSocket-Extensions") {
        let n = name(e);
        if !is_token(&n) {
            return Err(Malformed);
        }
        match extensions.iter().position(|o| name(o.as_bytes()) == n) {
            Some(i) if !chosen.contains(&i) => chosen.push(i),
            _ => return Err(Extension),
        }
    }
    Ok(Negotiated {
        subprotocol,
        extensions: chosen,
    })
}

// ----- generators ------------------------------------------------------------------------------

/// `name` with the case of each letter picked by a bit of `mask`.
fn cased(name: &str, mask: u64) -> String {
    name.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 64) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

fn ows() -> impl Strategy<Value = &'static str> + Clone {
    prop_oneof![4 => Just(""), 1 => Just(" "), 1 => Just("\t"), 1 => Just(" \t ")]
}

/// 0 to 2 headers called `name`, mostly one with a value of `good`, else of `bad`, with random
/// name case and whitespace around the value.
fn field(
    name: &'static str,
    good: impl Strategy<Value = Vec<u8>> + Clone + 'static,
    bad: impl Strategy<Value = Vec<u8>> + Clone + 'static,
) -> impl Strategy<Value = Vec<Hdr>> {
    let value = prop_oneof![6 => good, 1 => bad];
    let one = (any::<u64>(), ows(), value, ows()).prop_map(move |(mask, a, v, b)| Hdr {
        name: cased(name, mask),
        value: [a.as_bytes(), &v, b.as_bytes()].concat(),
    });
    prop_oneof![
        1 => Just(vec![]),
        16 => proptest::collection::vec(one.clone(), 1),
        1 => proptest::collection::vec(one, 2),
    ]
}

fn pick(items: &[&'static str]) -> impl Strategy<Value = Vec<u8>> + Clone {
    prop::sample::select(items.to_vec()).prop_map(|s| s.as_bytes().to_vec())
}

/// Valid keys: base64 of 16 random bytes.
fn valid_key() -> impl Strategy<Value = Vec<u8>> + Clone {
    any::<[u8; 16]>().prop_map(|n| generate_like(&n))
}

/// Keys: mostly valid, else base64 of another length, non-canonical, unpadded or not base64.
fn key_value() -> impl Strategy<Value = Vec<u8>> + Clone {
    let b64 = |bytes: &[u8]| generate_like(bytes);
    prop_oneof![
        6 => any::<[u8; 16]>().prop_map(move |n| b64(&n)),
        2 => proptest::collection::vec(any::<u8>(), 0..=32).prop_map(move |n| b64(&n)),
        1 => any::<[u8; 16]>().prop_map(move |n| {
            // Non-zero trailing bits: decodes leniently to the same 16 bytes.
            let mut k = b64(&n);
            let p = BASE64.iter().position(|&c| c == k[21]).unwrap();
            k[21] = BASE64[p | 1];
            k
        }),
        1 => any::<[u8; 16]>().prop_map(move |n| b64(&n)[..22].to_vec()),
        1 => proptest::collection::vec(
            prop::sample::select(b"AQZaz09+/=-_!. ".to_vec()), 20..=28),
    ]
}

/// Padded base64 (RFC 4648 §4), written here rather than taken from wspc.
fn generate_like(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                BASE64[(n >> (18 - 6 * i) & 63) as usize]
            } else {
                b'='
            });
        }
    }
    out
}

/// Headers that the checks should skip, or that break the syntax.
fn extra_headers() -> impl Strategy<Value = Vec<Hdr>> {
    let name = prop_oneof![
        20 => pick(&["X-Foo", "Origin", "User-Agent", "Cookie", "Sec-WebSocket-Foo", "Hostname"]),
        1 => pick(&["Bad Name", "Bad:Name", "", "Caf\u{e9}", "(x)"]),
    ];
    let value = prop_oneof![
        20 => pick(&["", "1", "a, b", "websocket", "Upgrade", "13"]),
        1 => pick(&["a\r\nInjected: 1", "a\nb", "nul\0"]),
    ];
    proptest::collection::vec(
        (name, value).prop_map(|(n, value)| Hdr {
            name: String::from_utf8(n).unwrap(),
            value,
        }),
        0..=3,
    )
}

/// A request header set, shuffled.
fn request() -> impl Strategy<Value = Vec<Hdr>> {
    (
        field(
            "Host",
            pick(&["example.com", "", "h:8080", "[::1]"]),
            pick(&["a\0b"]),
        ),
        field(
            "Upgrade",
            pick(&["websocket", "WebSocket", "h2c, websocket", "websocket, h2c"]),
            pick(&["websocket2", "web socket", "", "h2c", ","]),
        ),
        field(
            "Connection",
            pick(&[
                "Upgrade",
                "upgrade",
                "keep-alive, Upgrade",
                "Upgrade,keep-alive",
                ",UPGRADE,",
            ]),
            pick(&["keep-alive", "upgrades", "", ","]),
        ),
        field(
            "Sec-WebSocket-Version",
            pick(&["13", "13,", ", 13"]),
            pick(&[
                "8", "13, 8", "8, 13", "13, 13", "", ",", "abc", "013", "256", "255", "0", "12",
                "1 3",
            ]),
        ),
        field("Sec-WebSocket-Key", valid_key(), key_value()),
        prop_oneof![
            2 => Just(vec![]),
            1 => field(
                "Sec-WebSocket-Protocol",
                pick(&["chat", "chat, v2", "superchat", "Chat", "", "chat, , v2", "v2"]),
                pick(&["a b", "chat, a/b", "\"chat\""]),
            ),
        ],
        prop_oneof![
            2 => Just(vec![]),
            1 => field(
                "Sec-WebSocket-Extensions",
                pick(&[
                    "permessage-deflate; client_max_window_bits",
                    "x-foo",
                    "X-FOO; a=1",
                    "x-bar, permessage-deflate",
                    "",
                ]),
                pick(&["; a", "x foo", "x-foo, ;a=1"]),
            ),
        ],
        extra_headers(),
    )
        .prop_flat_map(|(a, b, c, d, e, f, g, h)| {
            Just([a, b, c, d, e, f, g, h].concat()).prop_shuffle()
        })
}

/// A server's selection: a subprotocol or none, and extensions.
fn selection() -> impl Strategy<Value = (Option<&'static str>, Vec<&'static str>)> {
    (
        prop_oneof![
            3 => Just(None),
            1 => prop::sample::select(vec!["chat", "v2", "superchat"]).prop_map(Some),
        ],
        prop_oneof![
            3 => Just(vec![]),
            1 => prop::sample::select(vec!["permessage-deflate", "x-foo; a=1", "x-bar"])
                .prop_map(|e| vec![e]),
        ],
    )
}

/// A client's offers (distinct subprotocols; extensions with parameters).
fn offers() -> impl Strategy<Value = (Vec<&'static str>, Vec<&'static str>)> {
    (
        prop::sample::subsequence(vec!["chat", "v2", "superchat"], 0..=3).prop_shuffle(),
        prop::sample::subsequence(
            vec!["permessage-deflate; client_max_window_bits", "x-foo"],
            0..=2,
        ),
    )
}

/// How a response carries `Sec-WebSocket-Accept`.
#[derive(Clone, Copy, Debug)]
enum Accept {
    Right,
    Missing,
    Twice,
    OtherKey,
    Lowercase,
}

/// A response header set for a client that sent `key`, shuffled.
fn response(key: String) -> impl Strategy<Value = Vec<Hdr>> {
    let accept = prop_oneof![
        20 => Just(Accept::Right),
        1 => Just(Accept::Missing),
        1 => Just(Accept::Twice),
        1 => Just(Accept::OtherKey),
        1 => Just(Accept::Lowercase),
    ];
    (
        field(
            "Upgrade",
            pick(&["websocket", "WEBSOCKET", "websocket, x"]),
            pick(&["h2c", ""]),
        ),
        field(
            "Connection",
            pick(&["Upgrade", "UPGRADE", "close, upgrade"]),
            pick(&["close", ""]),
        ),
        accept,
        any::<u64>(),
        ows(),
        prop_oneof![
            2 => Just(vec![]),
            2 => field(
                "Sec-WebSocket-Protocol",
                pick(&["chat", "v2", "superchat"]),
                pick(&["other", "chat, v2", "", "a b", "CHAT"]),
            ),
        ],
        prop_oneof![
            2 => Just(vec![]),
            1 => field(
                "Sec-WebSocket-Extensions",
                pick(&[
                    "permessage-deflate",
                    "x-foo; a=1",
                    "X-Foo",
                    "permessage-deflate, x-foo",
                    "",
                ]),
                pick(&["x-bar", "; a", "x-foo, x-foo"]),
            ),
        ],
        extra_headers(),
    )
        .prop_flat_map(move |(up, conn, accept, mask, pad, proto, exts, extra)| {
            let right = derive_accept_key(key.as_bytes());
            let hdr = |v: String| Hdr {
                name: cased("Sec-WebSocket-Accept", mask),
                value: format!("{pad}{v}{pad}").into_bytes(),
            };
            let accept = match accept {
                Accept::Right => vec![hdr(right)],
                Accept::Missing => vec![],
                Accept::Twice => vec![hdr(right.clone()), hdr(right)],
                Accept::OtherKey => vec![hdr(derive_accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="))],
                Accept::Lowercase => vec![hdr(right.to_ascii_lowercase())],
            };
            Just([up, conn, accept, proto, exts, extra].concat()).prop_shuffle()
        })
}

proptest! {
    #![proptest_config(config(2048))]

    /// The server accepts exactly the requests the model accepts, refuses the others for the
    /// model's reason, and answers with the model's headers (tungstenite's accept value).
    #[test]
    fn server_agrees_with_the_model(request in request(), (sub, exts) in selection()) {
        let got = server::accept(sub, &exts, &refs(&request))
            .map(|hs| {
                hs.into_iter()
                    .map(|Header { name, value }| (name, value))
                    .collect::<Vec<_>>()
            })
            .map_err(|e| refusal(&e));
        prop_assert_eq!(got, model_server(&request, sub, &exts), "request {:?}", request);
    }

    /// The client accepts exactly the responses the model accepts, and reports the same choice.
    #[test]
    fn client_agrees_with_the_model(
        (subs, exts) in offers(),
        (nonce, response) in any::<[u8; 16]>()
            .prop_flat_map(|n| (Just(n), response(generate_key(n)))),
    ) {
        // The key sent is the nonce's base64 (RFC 6455 §4.1 item 7).
        let (hs, headers) = ClientHandshake::begin(nonce, &subs, &exts, &[]).unwrap();
        prop_assert_eq!(hs.key().as_bytes(), &generate_like(&nonce)[..]);
        prop_assert!(headers.iter().any(|h| h.name == "Sec-WebSocket-Key" && h.value == hs.key()));
        let got = hs.end(&refs(&response)).map_err(|e| refusal(&e));
        let expected = model_client(&response, hs.key(), &subs, &exts);
        prop_assert_eq!(got, expected, "response {:?}", response);
    }

    /// `Sec-WebSocket-Accept` is tungstenite's for any key, 16-byte nonces' keys first.
    #[test]
    fn accept_matches_tungstenite(
        nonce in any::<[u8; 16]>(),
        raw in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let key = generate_key(nonce);
        prop_assert_eq!(accept_key(key.as_bytes()), derive_accept_key(key.as_bytes()));
        prop_assert_eq!(accept_key(&raw), derive_accept_key(&raw));
    }
}
