//! permessage-deflate (RFC 7692) through the opening handshake, for a handle whose
//! [`Properties::permessage_deflate`](crate::Properties::permessage_deflate) is set (cargo
//! feature `deflate`). The session calls these around the name-only handshake functions
//! ([`ClientHandshake`](super::client::ClientHandshake), [`accept`](super::server::accept)),
//! which keep their Windows semantics for the application's own extensions.
//!
//! - Client: the offer ([`offer`]) is appended, as one more extension, to the application's
//!   extension strings, so the request's `Sec-WebSocket-Extensions` carries both (the
//!   application's first). The response goes through the name check of
//!   [`ClientHandshake::end`](super::client::ClientHandshake::end) as before (an extension that
//!   was not offered, or one answered twice, is refused there), then its permessage-deflate
//!   elements through [`accept_response`]. The selected-extension indices reported to the
//!   application cover its own extensions only: permessage-deflate is the engine's, never among
//!   them (the C ABI's `pulSelectedExtensions` indexes the application's array).
//! - Server: the request is checked by [`accept`](super::server::accept) with the
//!   application's selected extensions as before, then [`respond`] answers the first acceptable
//!   permessage-deflate offer, and its answer is appended to the response's
//!   `Sec-WebSocket-Extensions` after the application's selections.
//! - Either side refuses an application extension string named permessage-deflate while the
//!   property is on ([`Misuse::InvalidArgument`](crate::Misuse::InvalidArgument)): the engine
//!   negotiates it, and two negotiations of one extension cannot both hold.

use super::{all_elements, extension_name, scan, Header, HeaderRef, SEC_WEBSOCKET_EXTENSIONS};
use crate::deflate::{accept_response, offer, respond, DeflateConfig, Params, EXTENSION_NAME};
use crate::error::Error;

/// Refuses application extension strings named permessage-deflate (see the module docs).
pub(crate) fn check_not_named(extensions: &[&str]) -> Result<(), Error> {
    let named = extensions
        .iter()
        .any(|e| extension_name(e.as_bytes()).eq_ignore_ascii_case(EXTENSION_NAME.as_bytes()));
    if named {
        return Err(Error::arg(
            "permessage-deflate is negotiated by the engine (its property is set): \
             do not name it among the extensions",
        ));
    }
    Ok(())
}

/// Client, `begin`: our offer, to follow the application's extensions (which must not name
/// permessage-deflate).
pub(crate) fn client_offer(config: &DeflateConfig, extensions: &[&str]) -> Result<String, Error> {
    check_not_named(extensions)?;
    Ok(offer(config))
}

/// Client, `end`, after [`ClientHandshake::end`](super::client::ClientHandshake::end) accepted
/// the response: what the server's permessage-deflate answer agrees to, `None` if it declined.
///
/// # Errors
///
/// The answer does not honour the offer, or is not valid: [`NegotiationError`](
/// crate::deflate::NegotiationError) as a handshake error (`ExtensionNotSupported`, or
/// `Malformed` for syntax).
pub(crate) fn client_agreed(
    config: &DeflateConfig,
    response_headers: &[HeaderRef<'_>],
) -> Result<Option<Params>, Error> {
    let [values] = scan(response_headers, [SEC_WEBSOCKET_EXTENSIONS]).map_err(Error::malformed)?;
    let ours: Vec<&[u8]> = all_elements(&values)
        .filter(|e| extension_name(e).eq_ignore_ascii_case(EXTENSION_NAME.as_bytes()))
        .collect();
    Ok(accept_response(config, &ours)?)
}

/// Server, `begin`, after [`accept`](super::server::accept) produced `response` for the
/// application's selected extensions (checked by [`check_not_named`] beforehand): answers the
/// first acceptable permessage-deflate offer of the request, appending the answer to
/// `response`; returns what was agreed, `None` if no offer was acceptable (the response is then
/// unchanged).
pub(crate) fn server_agree(
    config: &DeflateConfig,
    request_headers: &[HeaderRef<'_>],
    response: &mut Vec<Header>,
) -> Result<Option<Params>, Error> {
    let [values] = scan(request_headers, [SEC_WEBSOCKET_EXTENSIONS]).map_err(Error::malformed)?;
    let Some((params, answer)) = respond(config, &values) else {
        return Ok(None);
    };
    match response
        .iter_mut()
        .find(|h| h.name.eq_ignore_ascii_case(SEC_WEBSOCKET_EXTENSIONS))
    {
        Some(h) => {
            h.value.push_str(", ");
            h.value.push_str(&answer);
        }
        None => response.push(Header::new(SEC_WEBSOCKET_EXTENSIONS, answer)),
    }
    Ok(Some(params))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::hdr;

    #[test]
    fn only_the_engine_names_permessage_deflate() {
        assert!(check_not_named(&["x-foo", "permessage-deflater"]).is_ok());
        for named in ["permessage-deflate", " PerMessage-Deflate ; x=1"] {
            assert!(check_not_named(&["x-foo", named]).is_err(), "{named}");
        }
        let offer = client_offer(&DeflateConfig::DEFAULT, &["x-foo"]).unwrap();
        assert_eq!(offer, "permessage-deflate; client_max_window_bits");
    }

    #[test]
    fn the_server_appends_its_answer_after_the_applications_selections() {
        let request = [hdr(
            "sec-websocket-extensions",
            "x-foo, permessage-deflate; client_no_context_takeover",
        )];
        let config = DeflateConfig::DEFAULT;
        let mut response = vec![Header::new(SEC_WEBSOCKET_EXTENSIONS, "x-foo")];
        let params = server_agree(&config, &request, &mut response)
            .unwrap()
            .unwrap();
        assert!(params.remote_no_context_takeover);
        assert_eq!(
            response[0].value,
            "x-foo, permessage-deflate; client_no_context_takeover"
        );
        let mut response = Vec::new();
        assert!(server_agree(&config, &request, &mut response)
            .unwrap()
            .is_some());
        assert_eq!(response.len(), 1);
        // No offer: nothing is added.
        let mut response = Vec::new();
        let none = server_agree(&config, &[hdr("Host", "h")], &mut response).unwrap();
        assert!(none.is_none() && response.is_empty());
    }

    #[test]
    fn the_client_reads_only_permessage_deflate_elements() {
        let config = DeflateConfig::DEFAULT;
        let response = [
            hdr("Sec-WebSocket-Extensions", "x-foo; a=1"),
            hdr(
                "Sec-WebSocket-Extensions",
                "permessage-deflate; server_max_window_bits=10",
            ),
        ];
        let params = client_agreed(&config, &response).unwrap().unwrap();
        assert_eq!(params.remote_max_window_bits, 10);
        assert_eq!(client_agreed(&config, &response[..1]).unwrap(), None);
        let bad = [hdr("Sec-WebSocket-Extensions", "permessage-deflate; nope")];
        assert_eq!(
            client_agreed(&config, &bad),
            Err(Error::Handshake(
                crate::HandshakeError::ExtensionNotSupported
            ))
        );
    }
}
