//! RFC 7692 §7.1: every negotiation rule, for the client (offer, answer check) and the server
//! (answer to an offer list).

use crate::deflate::{
    accept_response, offer, respond, DeflateConfig, NegotiationError, Parameter, Params, WindowBits,
};
use crate::error::{Error, HResult, HandshakeError};

use NegotiationError as E;
use Parameter::{
    ClientMaxWindowBits as Cmwb, ClientNoContextTakeover as Cnct, ServerMaxWindowBits as Smwb,
    ServerNoContextTakeover as Snct,
};

fn bits(n: u8) -> Option<WindowBits> {
    Some(WindowBits::new(n).unwrap())
}

fn params(local: u8, local_nct: bool, remote: u8, remote_nct: bool) -> Params {
    Params {
        local_max_window_bits: local,
        local_no_context_takeover: local_nct,
        remote_max_window_bits: remote,
        remote_no_context_takeover: remote_nct,
    }
}

/// The client's check of one answer value, with the default configuration changed by `f`.
fn client(f: impl FnOnce(&mut DeflateConfig), answer: &str) -> Result<Option<Params>, E> {
    let mut config = DeflateConfig::default();
    f(&mut config);
    accept_response(&config, &[answer])
}

/// The server's answer to one offer value, with the default configuration changed by `f`.
fn server(f: impl FnOnce(&mut DeflateConfig), offers: &str) -> Option<(Params, String)> {
    let mut config = DeflateConfig::default();
    f(&mut config);
    respond(&config, &[offers])
}

fn dflt(_: &mut DeflateConfig) {}

// ---- configuration ----

#[test]
fn window_bits_are_9_to_15() {
    assert_eq!(WindowBits::new(8), None);
    assert_eq!(WindowBits::new(16), None);
    assert_eq!(WindowBits::new(0), None);
    assert_eq!(WindowBits::new(9), Some(WindowBits::MIN));
    assert_eq!(WindowBits::new(15), Some(WindowBits::MAX));
    assert_eq!(WindowBits::new(12).map(WindowBits::get), Some(12));
    assert_eq!(WindowBits::MAX.to_string(), "15");
}

#[test]
fn defaults_are_as_documented() {
    let c = DeflateConfig::default();
    assert_eq!(c, DeflateConfig::DEFAULT);
    assert!(!c.server_no_context_takeover && !c.client_no_context_takeover);
    assert_eq!(c.server_max_window_bits, None);
    assert_eq!(c.client_max_window_bits, Some(WindowBits::MAX));
    assert_eq!(c.level, 6);
    assert_eq!(c.limits.max_message_size, Some(64 << 20));
    assert_eq!(c.limits.max_ratio, None);
    assert_eq!(c.limits.ratio_floor, 1 << 20);
}

// ---- client: the offer ----

#[test]
fn client_default_offer_is_what_browsers_send() {
    assert_eq!(
        offer(&DeflateConfig::default()),
        "permessage-deflate; client_max_window_bits"
    );
}

#[test]
fn client_offer_with_every_parameter() {
    let mut c = DeflateConfig {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        server_max_window_bits: bits(10),
        client_max_window_bits: bits(12),
        ..DeflateConfig::DEFAULT
    };
    assert_eq!(
        offer(&c),
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=10; client_max_window_bits=12"
    );
    c.client_max_window_bits = None;
    c.server_max_window_bits = bits(15);
    assert_eq!(
        offer(&c),
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=15"
    );
}

#[test]
fn client_offer_is_a_valid_extension_string_for_the_handshake() {
    // The offer goes through ClientHandshake::begin's argument check (one extension, no comma).
    let c = DeflateConfig {
        server_max_window_bits: bits(9),
        ..DeflateConfig::DEFAULT
    };
    let nonce = [7u8; 16];
    for o in [offer(&DeflateConfig::default()), offer(&c)] {
        let r = crate::handshake::client::ClientHandshake::begin(nonce, &[], &[&o], &[]);
        assert!(r.is_ok(), "{o}");
    }
}

// ---- client: checking the answer ----

#[test]
fn client_no_extension_in_the_answer_means_declined() {
    let none: [&str; 0] = [];
    assert_eq!(accept_response(&DeflateConfig::default(), &none), Ok(None));
    assert_eq!(client(dflt, ""), Ok(None));
    assert_eq!(client(dflt, " , ,"), Ok(None));
}

#[test]
fn client_plain_answer() {
    assert_eq!(
        client(dflt, "permessage-deflate"),
        Ok(Some(params(15, false, 15, false)))
    );
    // Names match case-insensitively; values may be quoted strings.
    assert_eq!(
        client(
            |c| c.server_max_window_bits = bits(10),
            "PerMessage-Deflate; Server_Max_Window_Bits=\"10\""
        ),
        Ok(Some(params(15, false, 10, false)))
    );
}

#[test]
fn client_refuses_an_unexpected_extension() {
    assert_eq!(client(dflt, "x-foo"), Err(E::UnexpectedExtension));
    assert_eq!(
        client(dflt, "permessage-deflate, x-foo"),
        Err(E::UnexpectedExtension)
    );
    assert_eq!(
        accept_response(
            &DeflateConfig::default(),
            &["x-foo; a=1", "permessage-deflate"]
        ),
        Err(E::UnexpectedExtension)
    );
}

#[test]
fn client_refuses_a_duplicated_extension() {
    assert_eq!(
        client(dflt, "permessage-deflate, permessage-deflate"),
        Err(E::DuplicateExtension)
    );
    assert_eq!(
        accept_response(
            &DeflateConfig::default(),
            &[
                "permessage-deflate",
                "permessage-deflate; server_no_context_takeover"
            ]
        ),
        Err(E::DuplicateExtension)
    );
}

#[test]
fn client_refuses_malformed_syntax() {
    for answer in [
        "permessage deflate",
        "permessage-deflate;",
        "permessage-deflate; ; server_no_context_takeover",
        "permessage-deflate; =10",
        "permessage-deflate; server max window bits=10",
        "permessage-deflate; server_max_window_bits=",
        "permessage-deflate; server_max_window_bits=1 0",
        "permessage-deflate; server_max_window_bits=\"10",
        "permessage-deflate; server_max_window_bits=\"1\"0\"",
        "\"permessage-deflate\"",
    ] {
        assert!(
            matches!(client(dflt, answer), Err(E::Malformed(_))),
            "{answer:?}"
        );
    }
}

#[test]
fn client_refuses_an_unknown_parameter() {
    assert_eq!(
        client(dflt, "permessage-deflate; x"),
        Err(E::UnknownParameter)
    );
    assert_eq!(
        client(dflt, "permessage-deflate; server_max_window=10"),
        Err(E::UnknownParameter)
    );
}

#[test]
fn client_refuses_a_duplicated_parameter() {
    let c = |c: &mut DeflateConfig| c.server_max_window_bits = bits(15);
    for (answer, p) in [
        (
            "server_no_context_takeover; server_no_context_takeover",
            Snct,
        ),
        (
            "client_no_context_takeover; CLIENT_no_context_takeover",
            Cnct,
        ),
        ("server_max_window_bits=10; server_max_window_bits=10", Smwb),
        ("client_max_window_bits=10; client_max_window_bits=9", Cmwb),
    ] {
        let answer = format!("permessage-deflate; {answer}");
        assert_eq!(
            client(c, &answer),
            Err(E::DuplicateParameter(p)),
            "{answer}"
        );
    }
}

#[test]
fn client_refuses_invalid_values() {
    let c = |c: &mut DeflateConfig| c.server_max_window_bits = bits(15);
    for (answer, p) in [
        ("server_no_context_takeover=1", Snct),
        ("client_no_context_takeover=\"x\"", Cnct),
        ("server_max_window_bits", Smwb),
        ("server_max_window_bits=7", Smwb),
        ("server_max_window_bits=16", Smwb),
        ("server_max_window_bits=08", Smwb),
        ("server_max_window_bits=\"\"", Smwb),
        ("client_max_window_bits=0", Cmwb),
        ("client_max_window_bits=1000", Cmwb),
        // §7.1.2.2: in an answer, client_max_window_bits always has a value.
        ("client_max_window_bits", Cmwb),
    ] {
        let answer = format!("permessage-deflate; {answer}");
        assert_eq!(client(c, &answer), Err(E::InvalidValue(p)), "{answer}");
    }
}

#[test]
fn client_refuses_client_max_window_bits_it_did_not_offer() {
    let not_offered = |c: &mut DeflateConfig| c.client_max_window_bits = None;
    assert_eq!(
        client(not_offered, "permessage-deflate; client_max_window_bits=10"),
        Err(E::NotOffered(Cmwb))
    );
    assert_eq!(
        client(not_offered, "permessage-deflate"),
        Ok(Some(params(15, false, 15, false)))
    );
}

#[test]
fn client_refuses_a_missing_server_no_context_takeover_it_requested() {
    let asked = |c: &mut DeflateConfig| c.server_no_context_takeover = true;
    assert_eq!(
        client(asked, "permessage-deflate"),
        Err(E::NotHonoured(Snct))
    );
    assert_eq!(
        client(asked, "permessage-deflate; server_no_context_takeover"),
        Ok(Some(params(15, false, 15, true)))
    );
}

#[test]
fn client_refuses_a_missing_or_larger_server_max_window_bits_it_requested() {
    let asked = |c: &mut DeflateConfig| c.server_max_window_bits = bits(10);
    assert_eq!(
        client(asked, "permessage-deflate"),
        Err(E::NotHonoured(Smwb))
    );
    assert_eq!(
        client(asked, "permessage-deflate; server_max_window_bits=11"),
        Err(E::NotHonoured(Smwb))
    );
    for (got, want) in [("10", 10), ("9", 9), ("8", 8)] {
        let answer = format!("permessage-deflate; server_max_window_bits={got}");
        assert_eq!(
            client(asked, &answer),
            Ok(Some(params(15, false, want, false)))
        );
    }
}

#[test]
fn client_refuses_a_larger_client_max_window_bits_than_offered() {
    let hinted = |c: &mut DeflateConfig| c.client_max_window_bits = bits(10);
    assert_eq!(
        client(hinted, "permessage-deflate; client_max_window_bits=11"),
        Err(E::NotHonoured(Cmwb))
    );
    assert_eq!(
        client(hinted, "permessage-deflate; client_max_window_bits=9"),
        Ok(Some(params(9, false, 15, false)))
    );
    // Unanswered, its own hint still binds the client.
    assert_eq!(
        client(hinted, "permessage-deflate"),
        Ok(Some(params(10, false, 15, false)))
    );
}

#[test]
fn client_accepts_what_the_server_may_add_unasked() {
    assert_eq!(
        client(
            dflt,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=12; client_max_window_bits=11"
        ),
        Ok(Some(params(11, true, 12, true)))
    );
}

#[test]
fn client_honours_its_own_client_no_context_takeover() {
    let offered = |c: &mut DeflateConfig| c.client_no_context_takeover = true;
    assert_eq!(
        client(offered, "permessage-deflate"),
        Ok(Some(params(15, true, 15, false)))
    );
}

#[test]
fn client_bound_to_8_bits_agrees() {
    // Our compressor then emits stored blocks only (see the codec tests).
    assert_eq!(
        client(dflt, "permessage-deflate; client_max_window_bits=8"),
        Ok(Some(params(8, false, 15, false)))
    );
}

#[test]
fn client_errors_map_to_handshake_errors() {
    assert_eq!(
        HandshakeError::from(E::Malformed("x")),
        HandshakeError::Malformed("x")
    );
    for e in [
        E::UnexpectedExtension,
        E::DuplicateExtension,
        E::UnknownParameter,
        E::DuplicateParameter(Snct),
        E::InvalidValue(Smwb),
        E::NotOffered(Cmwb),
        E::NotHonoured(Cnct),
    ] {
        assert_eq!(
            HandshakeError::from(e),
            HandshakeError::ExtensionNotSupported
        );
        assert_eq!(
            Error::from(e).hresult(),
            HResult::E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED
        );
        assert!(!e.to_string().is_empty());
    }
    assert_eq!(
        E::NotHonoured(Smwb).to_string(),
        "the answer does not honour the offered server_max_window_bits"
    );
}

// ---- server: answering an offer list ----

#[test]
fn server_declines_without_an_offer() {
    let none: [&str; 0] = [];
    assert_eq!(respond(&DeflateConfig::default(), &none), None);
    assert_eq!(server(dflt, ""), None);
    assert_eq!(server(dflt, "x-foo, x-bar; permessage-deflate"), None);
}

#[test]
fn server_accepts_a_plain_offer() {
    assert_eq!(
        server(dflt, "permessage-deflate"),
        Some((params(15, false, 15, false), "permessage-deflate".into()))
    );
}

#[test]
fn server_accepts_the_browser_offer_with_its_defaults() {
    assert_eq!(
        server(dflt, "permessage-deflate; client_max_window_bits"),
        Some((params(15, false, 15, false), "permessage-deflate".into()))
    );
}

#[test]
fn server_takes_the_first_acceptable_offer_in_order() {
    let offers = [
        "x-foo",
        "permessage-deflate; server_max_window_bits=10, permessage-deflate",
    ];
    let (p, answer) = respond(&DeflateConfig::default(), &offers).unwrap();
    assert_eq!(p, params(10, false, 15, false));
    assert_eq!(answer, "permessage-deflate; server_max_window_bits=10");
}

#[test]
fn server_declines_malformed_offers_and_takes_the_next() {
    for bad in [
        "permessage-deflate; x",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=\"1 0\"",
        "permessage-deflate;",
        "permessage-deflate; a b",
    ] {
        assert_eq!(server(dflt, bad), None, "{bad:?}");
        let with_fallback = format!("{bad}, permessage-deflate; client_no_context_takeover");
        assert_eq!(
            server(dflt, &with_fallback),
            Some((
                params(15, false, 15, true),
                "permessage-deflate; client_no_context_takeover".into()
            )),
            "{bad:?}"
        );
    }
}

#[test]
fn server_declines_server_max_window_bits_8() {
    assert_eq!(
        server(dflt, "permessage-deflate; server_max_window_bits=8"),
        None
    );
    assert_eq!(
        server(
            dflt,
            "permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=9"
        ),
        Some((
            params(9, false, 15, false),
            "permessage-deflate; server_max_window_bits=9".into()
        ))
    );
}

#[test]
fn server_answers_server_no_context_takeover_offered_or_configured() {
    let want = Some((
        params(15, true, 15, false),
        "permessage-deflate; server_no_context_takeover".to_string(),
    ));
    assert_eq!(
        server(dflt, "permessage-deflate; server_no_context_takeover"),
        want
    );
    assert_eq!(
        server(
            |c| c.server_no_context_takeover = true,
            "permessage-deflate"
        ),
        want
    );
}

#[test]
fn server_answers_client_no_context_takeover_offered_or_configured() {
    let want = Some((
        params(15, false, 15, true),
        "permessage-deflate; client_no_context_takeover".to_string(),
    ));
    assert_eq!(
        server(dflt, "permessage-deflate; client_no_context_takeover"),
        want
    );
    assert_eq!(
        server(
            |c| c.client_no_context_takeover = true,
            "permessage-deflate"
        ),
        want
    );
}

#[test]
fn server_max_window_bits_is_the_smaller_of_offer_and_configuration() {
    for (config, offered, want) in [
        (None, Some(10), Some(10)),
        (Some(12), Some(10), Some(10)),
        (Some(9), Some(10), Some(9)),
        (Some(11), None, Some(11)),
        (None, None, None),
    ] {
        let o = match offered {
            Some(b) => format!("permessage-deflate; server_max_window_bits={b}"),
            None => "permessage-deflate".into(),
        };
        let (p, answer) = server(|c| c.server_max_window_bits = config.and_then(bits), &o).unwrap();
        assert_eq!(
            p.local_max_window_bits,
            want.unwrap_or(15),
            "{config:?} {o}"
        );
        let expected = match want {
            Some(b) => format!("permessage-deflate; server_max_window_bits={b}"),
            None => "permessage-deflate".into(),
        };
        assert_eq!(answer, expected);
    }
}

#[test]
fn server_client_max_window_bits_only_if_offered() {
    for (config, offered, want) in [
        // Not offered: the server cannot ask, and decompresses with 15.
        (Some(10), None, None),
        (None, None, None),
        // Offered without a value: asked only below 15.
        (Some(10), Some(""), Some(10)),
        (Some(15), Some(""), None),
        (None, Some(""), None),
        // Offered with a value: the smaller one, echoed so the server knows the client's window.
        (Some(10), Some("=12"), Some(10)),
        (Some(12), Some("=10"), Some(10)),
        (None, Some("=11"), Some(11)),
        (None, Some("=8"), Some(8)),
    ] {
        let o = match offered {
            Some(v) => format!("permessage-deflate; client_max_window_bits{v}"),
            None => "permessage-deflate".into(),
        };
        let (p, answer) = server(|c| c.client_max_window_bits = config.and_then(bits), &o).unwrap();
        assert_eq!(
            p.remote_max_window_bits,
            want.unwrap_or(15),
            "{config:?} {o}"
        );
        let expected = match want {
            Some(b) => format!("permessage-deflate; client_max_window_bits={b}"),
            None => "permessage-deflate".into(),
        };
        assert_eq!(answer, expected, "{config:?} {o}");
    }
}

#[test]
fn server_reads_several_header_values_and_quoted_strings() {
    let offers = [
        "x-a; q=\"1,2\"",
        "PERMESSAGE-DEFLATE; Client_Max_Window_Bits=\"9\"",
    ];
    let (p, answer) = respond(&DeflateConfig::default(), &offers).unwrap();
    assert_eq!(p, params(15, false, 9, false));
    assert_eq!(answer, "permessage-deflate; client_max_window_bits=9");
    // Bytes work as well as strings.
    let bytes: [&[u8]; 1] = [b"permessage-deflate"];
    assert!(respond(&DeflateConfig::default(), &bytes).is_some());
}

/// Whatever both sides are configured with, a server's answer is one the client accepts, and
/// both agree on the same parameters, mirrored.
#[test]
fn server_answers_are_accepted_by_the_client_mirrored() {
    let windows = [None, bits(9), bits(12), bits(15)];
    let mut configs = Vec::new();
    for snct in [false, true] {
        for cnct in [false, true] {
            for smwb in windows {
                for cmwb in windows {
                    configs.push(DeflateConfig {
                        server_no_context_takeover: snct,
                        client_no_context_takeover: cnct,
                        server_max_window_bits: smwb,
                        client_max_window_bits: cmwb,
                        ..DeflateConfig::DEFAULT
                    });
                }
            }
        }
    }
    let mut pairs = 0;
    for client_config in &configs {
        let o = offer(client_config);
        for server_config in &configs {
            let (sp, answer) = respond(server_config, &[&o]).expect("accepted");
            let cp = accept_response(client_config, &[&answer])
                .unwrap_or_else(|e| panic!("{o} -> {answer}: {e}"))
                .expect("agreed");
            assert_eq!(
                cp.local_max_window_bits, sp.remote_max_window_bits,
                "{o} -> {answer}"
            );
            assert_eq!(
                cp.remote_max_window_bits, sp.local_max_window_bits,
                "{o} -> {answer}"
            );
            assert_eq!(cp.local_no_context_takeover, sp.remote_no_context_takeover);
            assert_eq!(cp.remote_no_context_takeover, sp.local_no_context_takeover);
            pairs += 1;
        }
    }
    assert_eq!(pairs, 64 * 64);
}
