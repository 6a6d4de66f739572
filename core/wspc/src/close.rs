//! Close status codes (RFC 6455 §7.4) and the rules for which may appear on the wire.

use core::fmt;

/// A close status code (`WEB_SOCKET_CLOSE_STATUS`, carried in a `USHORT`).
///
/// An open code space (registered, library and private codes), so a newtype with constants.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(transparent)]
pub struct CloseStatus(pub u16);

impl CloseStatus {
    /// 1000: normal closure.
    pub const SUCCESS: Self = Self(1000);
    /// 1001: going away.
    pub const ENDPOINT_UNAVAILABLE: Self = Self(1001);
    /// 1002: protocol error.
    pub const PROTOCOL_ERROR: Self = Self(1002);
    /// 1003: a data type the endpoint cannot accept.
    pub const INVALID_DATA_TYPE: Self = Self(1003);
    /// 1005: no status code was present. Never sent on the wire.
    pub const EMPTY: Self = Self(1005);
    /// 1006: the connection closed without a close frame. Never sent on the wire.
    pub const ABORTED: Self = Self(1006);
    /// 1007: invalid payload data (e.g. text that is not UTF-8).
    pub const INVALID_PAYLOAD: Self = Self(1007);
    /// 1008: policy violation.
    pub const POLICY_VIOLATION: Self = Self(1008);
    /// 1009: message too big.
    pub const MESSAGE_TOO_BIG: Self = Self(1009);
    /// 1010: the client wanted extensions the server did not negotiate.
    pub const UNSUPPORTED_EXTENSIONS: Self = Self(1010);
    /// 1011: unexpected condition on the server.
    pub const SERVER_ERROR: Self = Self(1011);
    /// 1015: TLS handshake failure. Never sent on the wire.
    pub const SECURE_HANDSHAKE_ERROR: Self = Self(1015);

    /// Whether this code may appear in a close frame on the wire (RFC 6455 §7.4.1, §7.4.2 and the
    /// IANA registry): 1000–1003, 1007–1014 and 3000–4999. Everything else (0–999, 1004–1006, 1015,
    /// 1016–2999, 5000 and above) is refused when received (close status 1002) and when sent
    /// (invalid argument).
    pub const fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl fmt::Debug for CloseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CloseStatus({})", self.0)
    }
}

impl fmt::Display for CloseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<u16> for CloseStatus {
    fn from(code: u16) -> Self {
        Self(code)
    }
}

/// The longest close reason in bytes (`WEB_SOCKET_MAX_CLOSE_REASON_LENGTH`): a control frame carries
/// at most 125 bytes, two of which are the status code.
pub const MAX_CLOSE_REASON_LENGTH: usize = 123;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_validity_follows_rfc_and_iana() {
        for code in 0..=u16::MAX {
            let expected = matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999);
            assert_eq!(
                CloseStatus(code).is_valid_on_wire(),
                expected,
                "code {code}"
            );
        }
        for never in [1004, 1005, 1006, 1015, 999, 1016, 2999, 5000] {
            assert!(!CloseStatus(never).is_valid_on_wire());
        }
    }

    #[test]
    fn constants_have_windows_values() {
        assert_eq!(CloseStatus::SUCCESS.0, 1000);
        assert_eq!(CloseStatus::ENDPOINT_UNAVAILABLE.0, 1001);
        assert_eq!(CloseStatus::PROTOCOL_ERROR.0, 1002);
        assert_eq!(CloseStatus::INVALID_DATA_TYPE.0, 1003);
        assert_eq!(CloseStatus::EMPTY.0, 1005);
        assert_eq!(CloseStatus::ABORTED.0, 1006);
        assert_eq!(CloseStatus::INVALID_PAYLOAD.0, 1007);
        assert_eq!(CloseStatus::POLICY_VIOLATION.0, 1008);
        assert_eq!(CloseStatus::MESSAGE_TOO_BIG.0, 1009);
        assert_eq!(CloseStatus::UNSUPPORTED_EXTENSIONS.0, 1010);
        assert_eq!(CloseStatus::SERVER_ERROR.0, 1011);
        assert_eq!(CloseStatus::SECURE_HANDSHAKE_ERROR.0, 1015);
        assert_eq!(MAX_CLOSE_REASON_LENGTH, 123);
    }
}
