//! RFC 7692 §5 and §7.1: the offer, the server's answer, and the client's check of the answer.
//! Pure functions over `Sec-WebSocket-Extensions` values.

use std::fmt;

use super::codec::{Compressor, Decompressor};
use super::config::{DeflateConfig, WindowBits};
use super::header::{elements, extension, param, window_bits};
use crate::error::{Error, HandshakeError};
use crate::handshake::is_token;

/// The extension's name, `permessage-deflate` (RFC 7692 §7).
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// The RSV bit a negotiated permessage-deflate claims, as in
/// [`FrameHeader::rsv`](crate::frame::FrameHeader::rsv): RSV1, set on the first frame of each
/// compressed message (RFC 7692 §6).
pub const RSV_BIT: u8 = 0b100;

/// The four parameters of permessage-deflate (RFC 7692 §7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Parameter {
    /// `server_no_context_takeover` (§7.1.1.1).
    ServerNoContextTakeover,
    /// `client_no_context_takeover` (§7.1.1.2).
    ClientNoContextTakeover,
    /// `server_max_window_bits` (§7.1.2.1).
    ServerMaxWindowBits,
    /// `client_max_window_bits` (§7.1.2.2).
    ClientMaxWindowBits,
}

impl Parameter {
    const ALL: [Self; 4] = [
        Self::ServerNoContextTakeover,
        Self::ClientNoContextTakeover,
        Self::ServerMaxWindowBits,
        Self::ClientMaxWindowBits,
    ];

    /// The parameter's name as written in the header.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::ServerNoContextTakeover => "server_no_context_takeover",
            Self::ClientNoContextTakeover => "client_no_context_takeover",
            Self::ServerMaxWindowBits => "server_max_window_bits",
            Self::ClientMaxWindowBits => "client_max_window_bits",
        }
    }
}

impl fmt::Display for Parameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a client refuses the server's answer. (A server never fails on an offer: it declines
/// offers it cannot accept, see [`respond`].)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NegotiationError {
    /// The header value is not an extension list (RFC 6455 §9.1): a name or parameter name that
    /// is not a token, an empty parameter, a value that is neither a token nor a quoted string.
    Malformed(&'static str),
    /// The answer holds an extension other than permessage-deflate.
    UnexpectedExtension,
    /// The answer accepts permessage-deflate more than once.
    DuplicateExtension,
    /// A parameter RFC 7692 does not define.
    UnknownParameter,
    /// A parameter given twice in one extension.
    DuplicateParameter(Parameter),
    /// A value where none is allowed, none where one is required, or a window size that is not
    /// 8 to 15 in decimal without leading zeros.
    InvalidValue(Parameter),
    /// `client_max_window_bits` in the answer although the client did not offer it (§7.1.2.2).
    NotOffered(Parameter),
    /// The answer does not honour the offer: a requested `server_no_context_takeover` or
    /// `server_max_window_bits` missing, or a window larger than the one offered (§7.1.1.1,
    /// §7.1.2.1, §7.1.2.2).
    NotHonoured(Parameter),
}

impl fmt::Display for NegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(what) => write!(f, "malformed Sec-WebSocket-Extensions: {what}"),
            Self::UnexpectedExtension => {
                write!(f, "an extension other than {EXTENSION_NAME} was accepted")
            }
            Self::DuplicateExtension => write!(f, "{EXTENSION_NAME} accepted twice"),
            Self::UnknownParameter => write!(f, "unknown {EXTENSION_NAME} parameter"),
            Self::DuplicateParameter(p) => write!(f, "{p} given twice"),
            Self::InvalidValue(p) => write!(f, "invalid value for {p}"),
            Self::NotOffered(p) => write!(f, "{p} in the answer but not in the offer"),
            Self::NotHonoured(p) => write!(f, "the answer does not honour the offered {p}"),
        }
    }
}

impl std::error::Error for NegotiationError {}

impl From<NegotiationError> for HandshakeError {
    /// [`Malformed`](NegotiationError::Malformed) is a malformed handshake; every other error
    /// means the server accepted the extension in a way the client cannot agree to:
    /// [`HandshakeError::ExtensionNotSupported`] (`E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED`).
    fn from(e: NegotiationError) -> Self {
        match e {
            NegotiationError::Malformed(what) => Self::Malformed(what),
            _ => Self::ExtensionNotSupported,
        }
    }
}

impl From<NegotiationError> for Error {
    fn from(e: NegotiationError) -> Self {
        Self::Handshake(e.into())
    }
}

/// What was agreed, seen from one side: our compressor's window and context takeover, and the
/// peer's (which our decompressor follows).
///
/// Window sizes are the agreed values, 8 to 15. Our compressor bound to 8 (a client whose server
/// answered `client_max_window_bits=8`) emits stored blocks only; our decompressor decodes any
/// window up to 15 (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Params {
    /// The largest window our compressor may use.
    pub local_max_window_bits: u8,
    /// Our compressor starts each message with an empty window.
    pub local_no_context_takeover: bool,
    /// The largest window the peer's compressor may use.
    pub remote_max_window_bits: u8,
    /// The peer starts each message with an empty window: our decompressor resets after each
    /// message.
    pub remote_no_context_takeover: bool,
}

impl Params {
    /// Our compressor, at `config.level`.
    #[must_use]
    pub fn compressor(&self, config: &DeflateConfig) -> Compressor {
        Compressor::new(
            self.local_max_window_bits,
            self.local_no_context_takeover,
            config.level,
        )
    }

    /// Our decompressor, with `config.limits`.
    #[must_use]
    pub fn decompressor(&self, config: &DeflateConfig) -> Decompressor {
        Decompressor::new(self.remote_no_context_takeover, config.limits)
    }
}

/// The parameters of one permessage-deflate element, syntax and duplicates checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Raw {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: present without a value (allowed in offers only).
    client_max_window_bits: Option<Option<u8>>,
}

impl Raw {
    /// Parses the parameters of one element. Names match ASCII case-insensitively.
    fn parse<'a>(params: impl Iterator<Item = &'a [u8]>) -> Result<Self, NegotiationError> {
        let mut raw = Self::default();
        let mut seen = [false; 4];
        for p in params {
            let (name, value) = param(p)?;
            let (i, which) = Parameter::ALL
                .iter()
                .enumerate()
                .find(|(_, w)| w.name().as_bytes().eq_ignore_ascii_case(name))
                .ok_or(NegotiationError::UnknownParameter)?;
            let which = *which;
            match seen.get_mut(i) {
                Some(s) if !*s => *s = true,
                _ => return Err(NegotiationError::DuplicateParameter(which)),
            }
            let bits = match value {
                Some(v) => Some(window_bits(v)?.ok_or(NegotiationError::InvalidValue(which))?),
                None => None,
            };
            match (which, bits) {
                (Parameter::ServerNoContextTakeover, None) => raw.server_no_context_takeover = true,
                (Parameter::ClientNoContextTakeover, None) => raw.client_no_context_takeover = true,
                (Parameter::ServerMaxWindowBits, Some(b)) => raw.server_max_window_bits = Some(b),
                (Parameter::ClientMaxWindowBits, b) => raw.client_max_window_bits = Some(b),
                _ => return Err(NegotiationError::InvalidValue(which)),
            }
        }
        Ok(raw)
    }
}

/// Appends `; name` or `; name=bits`.
fn push_param(out: &mut String, p: Parameter, bits: Option<u8>) {
    out.push_str("; ");
    out.push_str(p.name());
    if let Some(b) = bits {
        out.push('=');
        out.push_str(&b.to_string());
    }
}

/// Client: the `Sec-WebSocket-Extensions` value that offers permessage-deflate as `config` says
/// (one offer; see [`DeflateConfig`] for what each field offers).
///
/// ```
/// use wspc::deflate::{offer, DeflateConfig, WindowBits};
/// assert_eq!(offer(&DeflateConfig::default()), "permessage-deflate; client_max_window_bits");
/// let mut config = DeflateConfig::default();
/// config.server_no_context_takeover = true;
/// config.server_max_window_bits = WindowBits::new(10);
/// config.client_max_window_bits = None;
/// assert_eq!(
///     offer(&config),
///     "permessage-deflate; server_no_context_takeover; server_max_window_bits=10"
/// );
/// ```
#[must_use]
pub fn offer(config: &DeflateConfig) -> String {
    let mut out = String::from(EXTENSION_NAME);
    if config.server_no_context_takeover {
        push_param(&mut out, Parameter::ServerNoContextTakeover, None);
    }
    if config.client_no_context_takeover {
        push_param(&mut out, Parameter::ClientNoContextTakeover, None);
    }
    if let Some(bits) = config.server_max_window_bits {
        push_param(&mut out, Parameter::ServerMaxWindowBits, Some(bits.get()));
    }
    if let Some(bits) = config.client_max_window_bits {
        let value = (bits < WindowBits::MAX).then_some(bits.get());
        push_param(&mut out, Parameter::ClientMaxWindowBits, value);
    }
    out
}

/// Client: checks the server's answer to [`offer`]`(config)` and returns what was agreed,
/// `None` when the server declined (no extension in its answer).
///
/// `values` are the `Sec-WebSocket-Extensions` header values of the response, in order (a
/// repeated header counts as one comma list).
///
/// # Errors
///
/// Checked per element, in order, then against the offer:
/// - a name or parameter that does not parse → [`NegotiationError::Malformed`];
/// - an extension other than permessage-deflate → [`NegotiationError::UnexpectedExtension`], a
///   second permessage-deflate → [`NegotiationError::DuplicateExtension`];
/// - an unknown parameter → [`NegotiationError::UnknownParameter`], a repeated one →
///   [`NegotiationError::DuplicateParameter`], a value missing (`server_max_window_bits`,
///   `client_max_window_bits` in an answer), unexpected (`*_no_context_takeover`) or not 8–15 →
///   [`NegotiationError::InvalidValue`];
/// - `client_max_window_bits` when not offered → [`NegotiationError::NotOffered`];
/// - `server_no_context_takeover` requested but missing, `server_max_window_bits` requested but
///   missing or larger, `client_max_window_bits` larger than offered →
///   [`NegotiationError::NotHonoured`].
///
/// What the server may add unasked is accepted (§7.1.1.1, §7.1.1.2, §7.1.2.1):
/// `server_no_context_takeover`, `client_no_context_takeover` and `server_max_window_bits`.
/// `client_max_window_bits=8` binds our compressor to a 256-byte window: it is accepted, and our
/// compressor then emits stored blocks only (valid under any window; see the module docs).
pub fn accept_response<V: AsRef<[u8]>>(
    config: &DeflateConfig,
    values: &[V],
) -> Result<Option<Params>, NegotiationError> {
    let mut answer = None;
    for element in elements(values) {
        let ext = extension(element);
        if !is_token(ext.name) {
            return Err(NegotiationError::Malformed(
                "extension name is not a token (RFC 6455 §9.1)",
            ));
        }
        if !ext.name.eq_ignore_ascii_case(EXTENSION_NAME.as_bytes()) {
            return Err(NegotiationError::UnexpectedExtension);
        }
        if answer.is_some() {
            return Err(NegotiationError::DuplicateExtension);
        }
        answer = Some(Raw::parse(ext.params)?);
    }
    let Some(a) = answer else {
        return Ok(None);
    };

    // §7.1.2.2: in an answer, client_max_window_bits always has a value.
    if a.client_max_window_bits == Some(None) {
        return Err(NegotiationError::InvalidValue(
            Parameter::ClientMaxWindowBits,
        ));
    }
    // §7.1.1.1: a server accepts server_no_context_takeover by answering it.
    if config.server_no_context_takeover && !a.server_no_context_takeover {
        return Err(NegotiationError::NotHonoured(
            Parameter::ServerNoContextTakeover,
        ));
    }
    // §7.1.2.1: requested, the answer holds the same or a smaller value; unrequested, the
    // server may still limit its own window.
    let remote_max_window_bits = match (config.server_max_window_bits, a.server_max_window_bits) {
        (Some(asked), Some(got)) if got <= asked.get() => got,
        (Some(_), _) => {
            return Err(NegotiationError::NotHonoured(
                Parameter::ServerMaxWindowBits,
            ))
        }
        (None, Some(got)) => got,
        (None, None) => WindowBits::MAX.get(),
    };
    // §7.1.2.2: only if offered, always with a value, never above the offered value; absent,
    // our own hint (if we gave one) still binds us.
    let local_max_window_bits = match (config.client_max_window_bits, a.client_max_window_bits) {
        (None, Some(Some(_))) => {
            return Err(NegotiationError::NotOffered(Parameter::ClientMaxWindowBits))
        }
        (Some(offered), Some(Some(got))) if got <= offered.get() => got,
        (Some(_), Some(Some(_))) => {
            return Err(NegotiationError::NotHonoured(
                Parameter::ClientMaxWindowBits,
            ))
        }
        (Some(offered), _) => offered.get(),
        (None, _) => WindowBits::MAX.get(),
    };
    Ok(Some(Params {
        local_max_window_bits,
        // §7.1.1.2: our own offer of client_no_context_takeover binds us even if unanswered.
        local_no_context_takeover: config.client_no_context_takeover
            || a.client_no_context_takeover,
        remote_max_window_bits,
        remote_no_context_takeover: a.server_no_context_takeover,
    }))
}

/// Server: picks the first acceptable permessage-deflate offer among the request's
/// `Sec-WebSocket-Extensions` values, in order, and returns what was agreed with the value of
/// the response's `Sec-WebSocket-Extensions` for it; `None` declines (no acceptable offer).
///
/// Elements of other extensions are skipped (they are the handshake's business). A
/// permessage-deflate offer is declined, and the next one tried, when it is malformed (a
/// parameter that does not parse, is unknown, repeated, or has a bad value) or asks
/// `server_max_window_bits=8` (our compressor cannot honour 8). Nothing in an offer fails the
/// handshake: a careful server declines rather than refuses, as python-websockets does.
///
/// The answer, for an accepted offer (see [`DeflateConfig`]):
/// - `server_no_context_takeover` if offered or configured; `client_no_context_takeover` if
///   offered (echoed) or configured;
/// - `server_max_window_bits=n` if offered or configured: n is the smaller of the two;
/// - `client_max_window_bits=n` if the client offered the parameter and either gave a value or
///   the configuration asks for less than 15: n is the smaller of the two (without it the client
///   may use 15, and our decompressor does).
#[must_use]
pub fn respond<V: AsRef<[u8]>>(config: &DeflateConfig, values: &[V]) -> Option<(Params, String)> {
    elements(values).find_map(|element| {
        let ext = extension(element);
        if !ext.name.eq_ignore_ascii_case(EXTENSION_NAME.as_bytes()) {
            return None;
        }
        let o = Raw::parse(ext.params).ok()?;
        let ours = config.server_max_window_bits.map_or(15, WindowBits::get);
        let local_max_window_bits = match o.server_max_window_bits {
            Some(8) => return None,
            Some(asked) => asked.min(ours),
            None => ours,
        };
        let answer_server_bits =
            o.server_max_window_bits.is_some() || config.server_max_window_bits.is_some();
        let wanted = config.client_max_window_bits.map_or(15, WindowBits::get);
        let client_bits = match o.client_max_window_bits {
            None => None,
            Some(None) => (wanted < 15).then_some(wanted),
            Some(Some(hint)) => Some(hint.min(wanted)),
        };
        let params = Params {
            local_max_window_bits,
            local_no_context_takeover: config.server_no_context_takeover
                || o.server_no_context_takeover,
            remote_max_window_bits: client_bits.unwrap_or(15),
            remote_no_context_takeover: config.client_no_context_takeover
                || o.client_no_context_takeover,
        };
        let mut answer = String::from(EXTENSION_NAME);
        if params.local_no_context_takeover {
            push_param(&mut answer, Parameter::ServerNoContextTakeover, None);
        }
        if params.remote_no_context_takeover {
            push_param(&mut answer, Parameter::ClientNoContextTakeover, None);
        }
        if answer_server_bits {
            let bits = Some(local_max_window_bits);
            push_param(&mut answer, Parameter::ServerMaxWindowBits, bits);
        }
        if client_bits.is_some() {
            push_param(&mut answer, Parameter::ClientMaxWindowBits, client_bits);
        }
        Some((params, answer))
    })
}
