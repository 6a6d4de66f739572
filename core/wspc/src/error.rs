//! The one error type of wspc, its groups, and its stable mapping to HRESULT values.
//!
//! Errors are grouped by blame (as in rustls):
//! - [`Error::Protocol`]: the peer sent bytes that break RFC 6455. Carries the close status the RFC asks
//!   for ([`ProtocolError::close_status`]). Such an error sticks in the session.
//! - [`Error::Handshake`]: upgrade headers that are malformed or cannot be agreed on.
//! - [`Error::Misuse`]: the caller broke the API contract (wrong state, bad argument). Never caused by
//!   peer bytes.
//! - [`Error::InvalidProperty`]: a property passed to a constructor is unknown, mistyped or out of range.
//!
//! Every error maps to exactly one [`HResult`] (see [`Error::hresult`]); the mapping is stable.

use crate::close::CloseStatus;
use core::fmt;

/// A Windows `HRESULT` (a 32-bit status; negative values are failures).
///
/// An open code space, so a newtype with constants rather than an enum.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct HResult(pub i32);

impl HResult {
    /// `S_OK`: success.
    pub const S_OK: Self = Self(0);
    /// `E_INVALID_PROTOCOL_OPERATION` (`0x83760001`): illegal operation for the current protocol state.
    pub const E_INVALID_PROTOCOL_OPERATION: Self = Self(0x8376_0001_u32 as i32);
    /// `E_INVALID_PROTOCOL_FORMAT` (`0x83760002`): malformed handshake headers or malformed received data.
    pub const E_INVALID_PROTOCOL_FORMAT: Self = Self(0x8376_0002_u32 as i32);
    /// `E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED` (`0x83760003`).
    pub const E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED: Self = Self(0x8376_0003_u32 as i32);
    /// `E_SUBPROTOCOL_NOT_SUPPORTED` (`0x83760004`).
    pub const E_SUBPROTOCOL_NOT_SUPPORTED: Self = Self(0x8376_0004_u32 as i32);
    /// `E_PROTOCOL_VERSION_NOT_SUPPORTED` (`0x83760005`).
    pub const E_PROTOCOL_VERSION_NOT_SUPPORTED: Self = Self(0x8376_0005_u32 as i32);
    /// `E_INVALIDARG` (`0x80070057`).
    pub const E_INVALIDARG: Self = Self(0x8007_0057_u32 as i32);
    /// `E_OUTOFMEMORY` (`0x8007000E`).
    pub const E_OUTOFMEMORY: Self = Self(0x8007_000E_u32 as i32);
    /// `E_POINTER` (`0x80004003`).
    pub const E_POINTER: Self = Self(0x8000_4003_u32 as i32);
    /// `E_NOT_SUFFICIENT_BUFFER` (`0x8007007A`). No [`Error`] maps to it: the C ABI returns it
    /// for an output array that is too short.
    pub const E_NOT_SUFFICIENT_BUFFER: Self = Self(0x8007_007A_u32 as i32);

    /// True for failure codes (the top bit set).
    pub const fn is_failure(self) -> bool {
        self.0 < 0
    }
}

impl fmt::Debug for HResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HResult({:#010X})", self.0 as u32)
    }
}

impl fmt::Display for HResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010X}", self.0 as u32)
    }
}

/// The error of every fallible wspc operation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The peer broke RFC 6455. The session is faulted; see [`ProtocolError::close_status`].
    Protocol(ProtocolError),
    /// The upgrade headers are malformed or cannot be agreed on.
    Handshake(HandshakeError),
    /// The caller broke the API contract.
    Misuse(Misuse),
    /// A property is unknown, has the wrong size or is out of range.
    InvalidProperty(PropertyError),
}

impl Error {
    /// The HRESULT this error maps to (stable).
    ///
    /// | group | HRESULT |
    /// |---|---|
    /// | `Protocol(_)` | `E_INVALID_PROTOCOL_FORMAT` |
    /// | `Handshake(Malformed(_))` | `E_INVALID_PROTOCOL_FORMAT` |
    /// | `Handshake(UnsupportedVersion)` | `E_PROTOCOL_VERSION_NOT_SUPPORTED` |
    /// | `Handshake(SubprotocolNotSupported)` | `E_SUBPROTOCOL_NOT_SUPPORTED` |
    /// | `Handshake(ExtensionNotSupported)` | `E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED` |
    /// | `Misuse(InvalidState(_))` | `E_INVALID_PROTOCOL_OPERATION` |
    /// | `Misuse(InvalidArgument(_))`, `Misuse(UnknownAction)`, `InvalidProperty(_)` | `E_INVALIDARG` |
    pub fn hresult(&self) -> HResult {
        match self {
            Self::Protocol(_) => HResult::E_INVALID_PROTOCOL_FORMAT,
            Self::Handshake(h) => match h {
                HandshakeError::Malformed(_) => HResult::E_INVALID_PROTOCOL_FORMAT,
                HandshakeError::UnsupportedVersion => HResult::E_PROTOCOL_VERSION_NOT_SUPPORTED,
                HandshakeError::SubprotocolNotSupported => HResult::E_SUBPROTOCOL_NOT_SUPPORTED,
                HandshakeError::ExtensionNotSupported => {
                    HResult::E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED
                }
            },
            Self::Misuse(m) => match m {
                Misuse::InvalidState(_) => HResult::E_INVALID_PROTOCOL_OPERATION,
                Misuse::InvalidArgument(_) | Misuse::UnknownAction => HResult::E_INVALIDARG,
            },
            Self::InvalidProperty(_) => HResult::E_INVALIDARG,
        }
    }

    /// The close status to send when failing the connection because of this error, if the error is
    /// the peer's fault (a protocol error). `None` for every other group.
    pub fn close_status(&self) -> Option<CloseStatus> {
        match self {
            Self::Protocol(p) => Some(p.close_status()),
            _ => None,
        }
    }

    pub(crate) fn state(what: &'static str) -> Self {
        Self::Misuse(Misuse::InvalidState(what))
    }

    pub(crate) fn arg(what: &'static str) -> Self {
        Self::Misuse(Misuse::InvalidArgument(what))
    }

    pub(crate) fn malformed(what: &'static str) -> Self {
        Self::Handshake(HandshakeError::Malformed(what))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Protocol(p) => write!(
                f,
                "protocol error: {p} (close status {})",
                p.close_status().0
            ),
            Self::Handshake(h) => write!(f, "handshake error: {h}"),
            Self::Misuse(m) => write!(f, "API misuse: {m}"),
            Self::InvalidProperty(p) => write!(f, "invalid property: {p}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Self::Protocol(e)
    }
}

impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Self {
        Self::Handshake(e)
    }
}

impl From<PropertyError> for Error {
    fn from(e: PropertyError) -> Self {
        Self::InvalidProperty(e)
    }
}

/// A violation of RFC 6455 by the peer. Each kind knows the close status the RFC asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProtocolError {
    /// Opcode 0x3–0x7 or 0xB–0xF (RFC 6455 §5.2).
    ReservedOpcode(u8),
    /// An RSV bit is set but no negotiated extension defines it (§5.2). The value holds the bits
    /// (RSV1 = 0b100, RSV2 = 0b010, RSV3 = 0b001).
    ReservedBits(u8),
    /// A control frame with FIN = 0 (§5.5).
    FragmentedControlFrame,
    /// A control frame with a payload over 125 bytes (§5.5).
    ControlFrameTooLong,
    /// A payload length not in its minimal encoding (§5.2).
    NonMinimalLength,
    /// A 64-bit payload length with its most significant bit set (§5.2).
    LengthMsbSet,
    /// A server received an unmasked frame (§5.1).
    UnmaskedFrame,
    /// A client received a masked frame (§5.1).
    MaskedFrame,
    /// A continuation frame with no message open (§5.4).
    UnexpectedContinuation,
    /// A text or binary frame while a fragmented message is still open (§5.4).
    ExpectedContinuation,
    /// A close frame with a 1-byte payload (§5.5.1).
    CloseFrameTooShort,
    /// A close frame with a status code that may not appear on the wire (§7.4).
    InvalidCloseStatus(u16),
    /// Text payload or close reason that is not valid UTF-8 (§8.1).
    InvalidUtf8,
    /// A message longer than the limit the application set (close status 1009): the drivers'
    /// message cap, or a permessage-deflate message that decompresses past
    /// `wspc::deflate::DeflateLimits` (a decompression bomb). Uncompressed
    /// messages of any length stream through the engine's fixed buffers.
    MessageTooBig,
    /// A permessage-deflate message (RFC 7692) whose compressed payload is not valid DEFLATE
    /// data, or refers back before its window or its message's independent start (close status
    /// 1007, as Node's `ws` sends: the payload is not what its frame says it is).
    InvalidCompressedData,
}

impl ProtocolError {
    /// The close status to fail the connection with: 1007 for invalid UTF-8 and invalid compressed
    /// data, 1009 for a message over a limit, 1002 for everything else.
    pub fn close_status(self) -> CloseStatus {
        match self {
            Self::InvalidUtf8 | Self::InvalidCompressedData => CloseStatus::INVALID_PAYLOAD,
            Self::MessageTooBig => CloseStatus::MESSAGE_TOO_BIG,
            _ => CloseStatus::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            Self::ReservedBits(bits) => write!(f, "RSV bits {bits:#05b} set without an extension"),
            Self::FragmentedControlFrame => f.write_str("fragmented control frame"),
            Self::ControlFrameTooLong => f.write_str("control frame payload over 125 bytes"),
            Self::NonMinimalLength => f.write_str("payload length not minimally encoded"),
            Self::LengthMsbSet => f.write_str("64-bit payload length with the top bit set"),
            Self::UnmaskedFrame => f.write_str("unmasked frame from a client"),
            Self::MaskedFrame => f.write_str("masked frame from a server"),
            Self::UnexpectedContinuation => f.write_str("continuation frame with no message open"),
            Self::ExpectedContinuation => f.write_str("new data frame inside a fragmented message"),
            Self::CloseFrameTooShort => f.write_str("close frame with a 1-byte payload"),
            Self::InvalidCloseStatus(code) => {
                write!(f, "close status {code} is not valid on the wire")
            }
            Self::InvalidUtf8 => f.write_str("invalid UTF-8 in a text message or close reason"),
            Self::MessageTooBig => f.write_str("message too big"),
            Self::InvalidCompressedData => {
                f.write_str("compressed message is not valid DEFLATE data")
            }
        }
    }
}

/// Why an upgrade handshake failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HandshakeError {
    /// A required header is missing or malformed, or a cap on header bytes or count was exceeded;
    /// the text says which.
    Malformed(&'static str),
    /// `Sec-WebSocket-Version` is not 13 (a server answers 426 with `Sec-WebSocket-Version: 13`).
    UnsupportedVersion,
    /// The subprotocols of the two sides do not agree (see the §9 Q10 decision in the crate docs).
    SubprotocolNotSupported,
    /// An extension was selected that was never offered.
    ExtensionNotSupported,
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(what) => write!(f, "malformed handshake: {what}"),
            Self::UnsupportedVersion => f.write_str("unsupported Sec-WebSocket-Version (need 13)"),
            Self::SubprotocolNotSupported => f.write_str("subprotocol not supported"),
            Self::ExtensionNotSupported => f.write_str("extension not supported"),
        }
    }
}

/// A breach of the API contract by the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Misuse {
    /// The operation is illegal in the handle's current state; the text says why.
    InvalidState(&'static str),
    /// An argument is invalid; the text says which.
    InvalidArgument(&'static str),
    /// `complete_action` got an action id that is not outstanding (never issued, or completed
    /// already).
    UnknownAction,
}

impl fmt::Display for Misuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidState(what) => write!(f, "invalid in this state: {what}"),
            Self::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
            Self::UnknownAction => f.write_str("action id is not outstanding"),
        }
    }
}

/// Why a property was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PropertyError {
    /// The type is unknown, or global-only (keep-alive interval, supported versions) where a
    /// per-handle property was expected.
    UnsupportedType(i32),
    /// The value has the wrong size for its type.
    WrongSize {
        /// The property type.
        property: i32,
        /// The size given.
        size: u32,
    },
    /// The value is outside the allowed range.
    OutOfRange {
        /// The property type.
        property: i32,
        /// The value given.
        value: u64,
    },
    /// The caller-allocated block is too small or not 8-byte aligned.
    BadAllocatedBuffer {
        /// Bytes needed (receive size + send size + 144).
        needed: usize,
        /// Bytes given.
        given: usize,
    },
    /// The same property was given twice.
    Duplicate(i32),
}

impl fmt::Display for PropertyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedType(t) => write!(f, "property type {t} is not a per-handle property"),
            Self::WrongSize { property, size } => {
                write!(f, "property {property} has wrong value size {size}")
            }
            Self::OutOfRange { property, value } => {
                write!(f, "property {property} value {value} out of range")
            }
            Self::BadAllocatedBuffer { needed, given } => write!(
                f,
                "allocated buffer of {given} bytes is too small or misaligned (need {needed}, 8-byte aligned)"
            ),
            Self::Duplicate(t) => write!(f, "property {t} given twice"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hresult_values_match_winerror() {
        assert_eq!(HResult::E_INVALID_PROTOCOL_OPERATION.0 as u32, 0x8376_0001);
        assert_eq!(HResult::E_INVALID_PROTOCOL_FORMAT.0 as u32, 0x8376_0002);
        assert_eq!(
            HResult::E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED.0 as u32,
            0x8376_0003
        );
        assert_eq!(HResult::E_SUBPROTOCOL_NOT_SUPPORTED.0 as u32, 0x8376_0004);
        assert_eq!(
            HResult::E_PROTOCOL_VERSION_NOT_SUPPORTED.0 as u32,
            0x8376_0005
        );
        assert_eq!(HResult::E_INVALIDARG.0 as u32, 0x8007_0057);
        assert_eq!(HResult::E_OUTOFMEMORY.0 as u32, 0x8007_000E);
        assert_eq!(HResult::E_POINTER.0 as u32, 0x8000_4003);
        assert_eq!(HResult::E_NOT_SUFFICIENT_BUFFER.0 as u32, 0x8007_007A);
        assert!(HResult::E_POINTER.is_failure());
        assert!(!HResult::S_OK.is_failure());
    }

    #[test]
    fn every_group_maps_to_its_hresult() {
        assert_eq!(
            Error::from(ProtocolError::InvalidUtf8).hresult(),
            HResult::E_INVALID_PROTOCOL_FORMAT
        );
        assert_eq!(
            Error::from(HandshakeError::UnsupportedVersion).hresult(),
            HResult::E_PROTOCOL_VERSION_NOT_SUPPORTED
        );
        assert_eq!(
            Error::from(HandshakeError::SubprotocolNotSupported).hresult(),
            HResult::E_SUBPROTOCOL_NOT_SUPPORTED
        );
        assert_eq!(
            Error::from(HandshakeError::ExtensionNotSupported).hresult(),
            HResult::E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED
        );
        assert_eq!(
            Error::state("x").hresult(),
            HResult::E_INVALID_PROTOCOL_OPERATION
        );
        assert_eq!(Error::arg("x").hresult(), HResult::E_INVALIDARG);
        assert_eq!(
            Error::Misuse(Misuse::UnknownAction).hresult(),
            HResult::E_INVALIDARG
        );
        assert_eq!(
            Error::from(PropertyError::Duplicate(0)).hresult(),
            HResult::E_INVALIDARG
        );
    }

    #[test]
    fn protocol_errors_carry_rfc_close_status() {
        assert_eq!(ProtocolError::InvalidUtf8.close_status().0, 1007);
        assert_eq!(ProtocolError::MessageTooBig.close_status().0, 1009);
        assert_eq!(ProtocolError::InvalidCompressedData.close_status().0, 1007);
        assert_eq!(ProtocolError::ReservedOpcode(3).close_status().0, 1002);
        assert_eq!(ProtocolError::ReservedBits(4).close_status().0, 1002);
        assert_eq!(
            Error::from(ProtocolError::MaskedFrame).close_status(),
            Some(CloseStatus::PROTOCOL_ERROR)
        );
        assert_eq!(Error::state("x").close_status(), None);
    }
}
