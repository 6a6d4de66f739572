//! Per-handle properties (`WEB_SOCKET_PROPERTY` types 0–4) and global properties (types 5–6).
//!
//! Every limit is a field here; see the table in the crate docs.

use crate::error::PropertyError;

/// Smallest receive buffer size in bytes (`WEB_SOCKET_RECEIVE_BUFFER_SIZE_PROPERTY_TYPE`).
pub const MIN_RECEIVE_BUFFER_SIZE: u32 = 256;
/// Smallest send buffer size in bytes, for both roles (§9 Q2: a frame header of at most 14 bytes plus
/// a 2-byte close status must fit).
pub const MIN_SEND_BUFFER_SIZE: u32 = 16;
/// Largest receive or send buffer size in bytes.
pub const MAX_BUFFER_SIZE: u32 = 65536;
/// Default receive buffer size.
pub const DEFAULT_RECEIVE_BUFFER_SIZE: u32 = 4096;
/// Default send buffer size of a client handle.
pub const DEFAULT_CLIENT_SEND_BUFFER_SIZE: u32 = 4096;
/// Default send buffer size of a server handle (servers send payloads from the caller's memory).
pub const DEFAULT_SERVER_SEND_BUFFER_SIZE: u32 = 16;
/// Bytes of a handle's memory block beyond the two buffers: 16 for the frame header being sent and
/// 128 for the payload of an automatic pong. A caller-allocated block must hold at least
/// `receive_buffer_size + send_buffer_size + ALLOCATED_BUFFER_OVERHEAD` bytes (§9 Q3).
pub const ALLOCATED_BUFFER_OVERHEAD: usize = 144;

/// Default keep-alive interval in milliseconds.
pub const DEFAULT_KEEPALIVE_INTERVAL: u32 = 30_000;
/// Smallest keep-alive interval in milliseconds; lower configured values are raised to it.
pub const MIN_KEEPALIVE_INTERVAL: u32 = 15_000;
/// The environment variable read by [`keepalive_interval`] (the Linux stand-in for Windows'
/// `HKLM\SOFTWARE\Microsoft\WebSocket\KeepaliveInterval`, §9 Q14).
pub const KEEPALIVE_ENV: &str = "WSPC_KEEPALIVE_INTERVAL";

/// `WEB_SOCKET_PROPERTY_TYPE`, with the Windows values (exhaustive: it mirrors a fixed Windows
/// enum).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum PropertyType {
    /// `ULONG` receive buffer size in bytes (per handle).
    ReceiveBufferSize = 0,
    /// `ULONG` send buffer size in bytes (per handle).
    SendBufferSize = 1,
    /// `BOOL` disable masking (per handle).
    DisableMasking = 2,
    /// Caller-allocated memory block (per handle).
    AllocatedBuffer = 3,
    /// `BOOL` disable UTF-8 verification of received text (per handle).
    DisableUtf8Verification = 4,
    /// `ULONG` keep-alive interval in milliseconds (global).
    KeepaliveInterval = 5,
    /// `ULONG[]` supported protocol versions (global).
    SupportedVersions = 6,
}

impl PropertyType {
    /// The type for a raw Windows value, if it is one.
    pub const fn from_raw(raw: i32) -> Option<Self> {
        Some(match raw {
            0 => Self::ReceiveBufferSize,
            1 => Self::SendBufferSize,
            2 => Self::DisableMasking,
            3 => Self::AllocatedBuffer,
            4 => Self::DisableUtf8Verification,
            5 => Self::KeepaliveInterval,
            6 => Self::SupportedVersions,
            _ => return None,
        })
    }

    /// True for the types accepted by the handle constructors (0–4).
    pub const fn is_per_handle(self) -> bool {
        (self as i32) <= 4
    }
}

/// The role of a handle: clients mask what they send and expect unmasked input; servers the reverse.
/// Exhaustive: the two Windows handle kinds (RFC 6455 knows no third).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// A client handle (`WebSocketCreateClientHandle`).
    Client,
    /// A server handle (`WebSocketCreateServerHandle`).
    Server,
}

/// One per-handle property with its value (the memory-block property is given to the constructor
/// separately, as a typed buffer). Non-exhaustive: wspc may add properties of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Property {
    /// See [`Properties::receive_buffer_size`].
    ReceiveBufferSize(u32),
    /// See [`Properties::send_buffer_size`].
    SendBufferSize(u32),
    /// See [`Properties::disable_masking`].
    DisableMasking(bool),
    /// See [`Properties::disable_utf8_verification`].
    DisableUtf8Verification(bool),
}

impl Property {
    /// The Windows type of this property.
    pub const fn property_type(&self) -> PropertyType {
        match self {
            Self::ReceiveBufferSize(_) => PropertyType::ReceiveBufferSize,
            Self::SendBufferSize(_) => PropertyType::SendBufferSize,
            Self::DisableMasking(_) => PropertyType::DisableMasking,
            Self::DisableUtf8Verification(_) => PropertyType::DisableUtf8Verification,
        }
    }
}

/// The settings of one handle, validated.
///
/// Non-exhaustive, so that limits can be added: start from [`Properties::new`] (the defaults for
/// a role) and set the fields to change, or use [`Properties::from_list`].
///
/// ```
/// use wspc::properties::{Properties, Role};
///
/// let mut props = Properties::new(Role::Client);
/// props.receive_buffer_size = 512;
/// assert!(props.validate().is_ok());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Properties {
    /// Size in bytes of the internal receive buffer. Default 4096, range 256–65536
    /// ([`PropertyError::OutOfRange`] otherwise). It bounds every network read and every piece
    /// delivered by a receive, so a received message of any length costs no more memory.
    pub receive_buffer_size: u32,
    /// Size in bytes of the internal send buffer. Default 4096 (client) or 16 (server), range
    /// 16–65536 (§9 Q2). A client masks its payload into it in chunks of at most this size; a server
    /// sends payloads straight from the caller's memory and needs it only for frame headers.
    pub send_buffer_size: u32,
    /// Client: keep the MASK bit but use the all-zero key, so payloads go out without a copy.
    /// Server: accept unmasked frames from the client. Default false. Security-relevant: only for
    /// trusted peers (RFC 6455 §10.3).
    pub disable_masking: bool,
    /// Skip UTF-8 validation of received text and close reasons. Default false.
    pub disable_utf8_verification: bool,
}

impl Properties {
    /// The defaults for a role.
    pub const fn new(role: Role) -> Self {
        Self {
            receive_buffer_size: DEFAULT_RECEIVE_BUFFER_SIZE,
            send_buffer_size: match role {
                Role::Client => DEFAULT_CLIENT_SEND_BUFFER_SIZE,
                Role::Server => DEFAULT_SERVER_SEND_BUFFER_SIZE,
            },
            disable_masking: false,
            disable_utf8_verification: false,
        }
    }

    /// The defaults for a role overridden by `list`. Each type may appear once
    /// ([`PropertyError::Duplicate`]); sizes are range-checked.
    pub fn from_list(role: Role, list: &[Property]) -> Result<Self, PropertyError> {
        let mut props = Self::new(role);
        let mut seen = 0u8;
        for p in list {
            let bit = 1u8 << (p.property_type() as i32);
            if seen & bit != 0 {
                return Err(PropertyError::Duplicate(p.property_type() as i32));
            }
            seen |= bit;
            match *p {
                Property::ReceiveBufferSize(v) => props.receive_buffer_size = v,
                Property::SendBufferSize(v) => props.send_buffer_size = v,
                Property::DisableMasking(v) => props.disable_masking = v,
                Property::DisableUtf8Verification(v) => props.disable_utf8_verification = v,
            }
        }
        props.validate()?;
        Ok(props)
    }

    /// Check every limit.
    pub fn validate(&self) -> Result<(), PropertyError> {
        let check = |ty: PropertyType, v: u32, min: u32| {
            if (min..=MAX_BUFFER_SIZE).contains(&v) {
                Ok(())
            } else {
                Err(PropertyError::OutOfRange {
                    property: ty as i32,
                    value: v.into(),
                })
            }
        };
        check(
            PropertyType::ReceiveBufferSize,
            self.receive_buffer_size,
            MIN_RECEIVE_BUFFER_SIZE,
        )?;
        check(
            PropertyType::SendBufferSize,
            self.send_buffer_size,
            MIN_SEND_BUFFER_SIZE,
        )
    }

    /// Bytes of the handle's one memory block: receive buffer + send buffer +
    /// [`ALLOCATED_BUFFER_OVERHEAD`]. This is all the memory a session uses for data, whatever the
    /// peer sends.
    pub const fn block_size(&self) -> usize {
        self.receive_buffer_size as usize
            + self.send_buffer_size as usize
            + ALLOCATED_BUFFER_OVERHEAD
    }
}

/// The keep-alive interval in milliseconds that the host should use for sending unsolicited pongs
/// (the engine never sends on its own). Read from the environment variable [`KEEPALIVE_ENV`];
/// default 30000; values below 15000 are raised to 15000; an unparsable value gives the default.
pub fn keepalive_interval() -> u32 {
    std::env::var(KEEPALIVE_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .map_or(DEFAULT_KEEPALIVE_INTERVAL, |v| {
            v.max(MIN_KEEPALIVE_INTERVAL)
        })
}

/// The implemented protocol versions: `[13]`.
pub const fn supported_versions() -> &'static [u32] {
    &[13]
}

/// The value of a global property (exhaustive: one variant per Windows global property type,
/// [`PropertyType::KeepaliveInterval`] and [`PropertyType::SupportedVersions`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GlobalProperty {
    /// Milliseconds (see [`keepalive_interval`]).
    KeepaliveInterval(u32),
    /// Versions (see [`supported_versions`]).
    SupportedVersions(&'static [u32]),
}

/// `WebSocketGetGlobalProperty`: only [`PropertyType::KeepaliveInterval`] and
/// [`PropertyType::SupportedVersions`] are global; any other type is
/// [`PropertyError::UnsupportedType`].
pub fn global_property(ty: PropertyType) -> Result<GlobalProperty, PropertyError> {
    match ty {
        PropertyType::KeepaliveInterval => {
            Ok(GlobalProperty::KeepaliveInterval(keepalive_interval()))
        }
        PropertyType::SupportedVersions => {
            Ok(GlobalProperty::SupportedVersions(supported_versions()))
        }
        other => Err(PropertyError::UnsupportedType(other as i32)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_per_role() {
        let c = Properties::new(Role::Client);
        let s = Properties::new(Role::Server);
        assert_eq!((c.receive_buffer_size, c.send_buffer_size), (4096, 4096));
        assert_eq!((s.receive_buffer_size, s.send_buffer_size), (4096, 16));
        assert!(!c.disable_masking && !c.disable_utf8_verification);
        assert_eq!(c.block_size(), 4096 + 4096 + 144);
    }

    #[test]
    fn limits_are_enforced_at_both_ends() {
        use Property::*;
        for (p, ok) in [
            (ReceiveBufferSize(255), false),
            (ReceiveBufferSize(256), true),
            (ReceiveBufferSize(65536), true),
            (ReceiveBufferSize(65537), false),
            (SendBufferSize(15), false),
            (SendBufferSize(16), true),
            (SendBufferSize(65536), true),
            (SendBufferSize(65537), false),
        ] {
            let r = Properties::from_list(Role::Client, &[p]);
            assert_eq!(r.is_ok(), ok, "{p:?}");
            if !ok {
                assert!(matches!(r, Err(PropertyError::OutOfRange { .. })));
            }
        }
    }

    #[test]
    fn duplicates_are_refused() {
        let r = Properties::from_list(
            Role::Server,
            &[
                Property::DisableMasking(true),
                Property::DisableMasking(false),
            ],
        );
        assert_eq!(r, Err(PropertyError::Duplicate(2)));
    }

    #[test]
    fn global_properties() {
        assert_eq!(supported_versions(), &[13]);
        assert!(matches!(
            global_property(PropertyType::SupportedVersions),
            Ok(GlobalProperty::SupportedVersions(&[13]))
        ));
        assert_eq!(
            global_property(PropertyType::ReceiveBufferSize),
            Err(PropertyError::UnsupportedType(0))
        );
        assert!(keepalive_interval() >= MIN_KEEPALIVE_INTERVAL);
        for raw in 0..7 {
            assert_eq!(PropertyType::from_raw(raw).map(|t| t as i32), Some(raw));
        }
        assert_eq!(PropertyType::from_raw(7), None);
        assert!(PropertyType::DisableUtf8Verification.is_per_handle());
        assert!(!PropertyType::KeepaliveInterval.is_per_handle());
    }
}
