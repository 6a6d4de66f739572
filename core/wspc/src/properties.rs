//! Per-handle properties (`WEB_SOCKET_PROPERTY` types 0–4) and global properties (types 5–6),
//! plus wspc's own per-handle property, permessage-deflate (type
//! [`PERMESSAGE_DEFLATE_PROPERTY_TYPE`], outside the Windows range; cargo feature `deflate`).
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

/// The `WEB_SOCKET_PROPERTY_TYPE` value wspc reserves for its own permessage-deflate property
/// (RFC 7692): `0x1000`, named `WSPC_PROPERTY_PERMESSAGE_DEFLATE` for C, far outside the Windows
/// values (0–6), so that no future Windows type can collide with it.
///
/// In the Windows shape (`WEB_SOCKET_PROPERTY`) its value is a `ULONG` (`ulValueSize` 4): `0`
/// leaves permessage-deflate off (exactly websocket.dll's behaviour, as without the property),
/// `1` turns it on with `wspc::deflate::DeflateConfig::DEFAULT`; any
/// other value is out of range. [`Property::from_wspc_type`] turns such a pair into a
/// [`Property`]. A build without the cargo feature `deflate` refuses the type as unsupported.
/// Not a [`PropertyType`]: that enum mirrors the Windows one exactly.
pub const PERMESSAGE_DEFLATE_PROPERTY_TYPE: i32 = 0x1000;

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
    /// wspc's own: see [`Properties::permessage_deflate`] (raw type
    /// [`PERMESSAGE_DEFLATE_PROPERTY_TYPE`]).
    #[cfg(feature = "deflate")]
    PermessageDeflate(Option<crate::deflate::DeflateConfig>),
}

impl Property {
    /// The Windows type of this property; `None` for [`Property::PermessageDeflate`], which is
    /// wspc's own ([`raw_type`](Self::raw_type) answers for every property).
    pub const fn property_type(&self) -> Option<PropertyType> {
        Some(match self {
            Self::ReceiveBufferSize(_) => PropertyType::ReceiveBufferSize,
            Self::SendBufferSize(_) => PropertyType::SendBufferSize,
            Self::DisableMasking(_) => PropertyType::DisableMasking,
            Self::DisableUtf8Verification(_) => PropertyType::DisableUtf8Verification,
            #[cfg(feature = "deflate")]
            Self::PermessageDeflate(_) => return None,
        })
    }

    /// The `WEB_SOCKET_PROPERTY_TYPE` value this property is passed with: the Windows value, or
    /// [`PERMESSAGE_DEFLATE_PROPERTY_TYPE`] for wspc's own.
    pub const fn raw_type(&self) -> i32 {
        match self.property_type() {
            Some(t) => t as i32,
            None => PERMESSAGE_DEFLATE_PROPERTY_TYPE,
        }
    }

    /// wspc's own properties in the Windows shape: the property of raw type `raw_type` whose
    /// `ULONG` value is `value`. For [`PERMESSAGE_DEFLATE_PROPERTY_TYPE`], `0` gives
    /// `PermessageDeflate(None)` (off) and `1` `PermessageDeflate(Some(DeflateConfig::DEFAULT))`.
    /// (The Windows types are the caller's to map, through [`PropertyType::from_raw`].)
    ///
    /// # Errors
    ///
    /// [`PropertyError::UnsupportedType`] for any other type (the Windows ones included), and for
    /// permessage-deflate in a build without the cargo feature `deflate`;
    /// [`PropertyError::OutOfRange`] for a value other than 0 or 1.
    pub fn from_wspc_type(raw_type: i32, value: u32) -> Result<Self, PropertyError> {
        if raw_type != PERMESSAGE_DEFLATE_PROPERTY_TYPE {
            return Err(PropertyError::UnsupportedType(raw_type));
        }
        Self::permessage_deflate_from_ulong(value)
    }

    #[cfg(feature = "deflate")]
    fn permessage_deflate_from_ulong(value: u32) -> Result<Self, PropertyError> {
        match value {
            0 => Ok(Self::PermessageDeflate(None)),
            1 => Ok(Self::PermessageDeflate(Some(
                crate::deflate::DeflateConfig::DEFAULT,
            ))),
            _ => Err(PropertyError::OutOfRange {
                property: PERMESSAGE_DEFLATE_PROPERTY_TYPE,
                value: value.into(),
            }),
        }
    }

    #[cfg(not(feature = "deflate"))]
    fn permessage_deflate_from_ulong(_: u32) -> Result<Self, PropertyError> {
        Err(PropertyError::UnsupportedType(
            PERMESSAGE_DEFLATE_PROPERTY_TYPE,
        ))
    }

    /// A bit of its own per type, for the duplicate check of [`Properties::from_list`].
    const fn bit(&self) -> u8 {
        match self.property_type() {
            Some(t) => 1 << (t as i32),
            None => 1 << 7,
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
    /// wspc's own: permessage-deflate (RFC 7692) with this configuration, `None` for off (the
    /// default: the handle then behaves exactly as websocket.dll's). A client offers it in
    /// `begin_client_handshake`, a server accepts an offer in `begin_server_handshake`; once
    /// agreed, data messages are compressed and decompressed by the session (see the crate docs,
    /// "permessage-deflate"). Its memory lies outside the block: see
    /// [`block_size`](Self::block_size).
    #[cfg(feature = "deflate")]
    pub permessage_deflate: Option<crate::deflate::DeflateConfig>,
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
            #[cfg(feature = "deflate")]
            permessage_deflate: None,
        }
    }

    /// The defaults for a role overridden by `list`. Each type may appear once
    /// ([`PropertyError::Duplicate`]); sizes are range-checked.
    pub fn from_list(role: Role, list: &[Property]) -> Result<Self, PropertyError> {
        let mut props = Self::new(role);
        let mut seen = 0u8;
        for p in list {
            let bit = p.bit();
            if seen & bit != 0 {
                return Err(PropertyError::Duplicate(p.raw_type()));
            }
            seen |= bit;
            match *p {
                Property::ReceiveBufferSize(v) => props.receive_buffer_size = v,
                Property::SendBufferSize(v) => props.send_buffer_size = v,
                Property::DisableMasking(v) => props.disable_masking = v,
                Property::DisableUtf8Verification(v) => props.disable_utf8_verification = v,
                #[cfg(feature = "deflate")]
                Property::PermessageDeflate(v) => props.permessage_deflate = v,
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
    /// peer sends, unless permessage-deflate is agreed: its codec (zlib's state: about 420 KiB
    /// with 15-bit windows, the default, and 290 KiB with 9), a buffer of the receive buffer size for
    /// decompressed pieces, and a buffer for the compressed payload of the frame being sent
    /// (reused, as large as the largest compressed frame) are allocated outside the block, once,
    /// when the handshake agrees on it.
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

    #[test]
    fn permessage_deflate_property_is_wspcs_own() {
        assert!(PropertyType::from_raw(PERMESSAGE_DEFLATE_PROPERTY_TYPE).is_none());
        assert_eq!(
            Property::from_wspc_type(0, 1),
            Err(PropertyError::UnsupportedType(0))
        );
        #[cfg(feature = "deflate")]
        {
            use crate::deflate::DeflateConfig;
            let on = Property::from_wspc_type(PERMESSAGE_DEFLATE_PROPERTY_TYPE, 1).unwrap();
            assert_eq!(
                on,
                Property::PermessageDeflate(Some(DeflateConfig::DEFAULT))
            );
            assert_eq!(on.raw_type(), 0x1000);
            let off = Property::from_wspc_type(PERMESSAGE_DEFLATE_PROPERTY_TYPE, 0).unwrap();
            assert_eq!(off, Property::PermessageDeflate(None));
            assert_eq!(
                Property::from_wspc_type(PERMESSAGE_DEFLATE_PROPERTY_TYPE, 2),
                Err(PropertyError::OutOfRange {
                    property: 0x1000,
                    value: 2
                })
            );
            // Off by default; the list sets it; twice is a duplicate of type 0x1000.
            assert_eq!(Properties::new(Role::Client).permessage_deflate, None);
            let p = Properties::from_list(Role::Server, &[on, Property::DisableMasking(true)]);
            assert_eq!(p.unwrap().permessage_deflate, Some(DeflateConfig::DEFAULT));
            assert_eq!(
                Properties::from_list(Role::Client, &[on, off]),
                Err(PropertyError::Duplicate(0x1000))
            );
        }
        #[cfg(not(feature = "deflate"))]
        assert_eq!(
            Property::from_wspc_type(PERMESSAGE_DEFLATE_PROPERTY_TYPE, 1),
            Err(PropertyError::UnsupportedType(0x1000))
        );
        assert_eq!(Property::DisableMasking(true).raw_type(), 2);
    }

    #[cfg(feature = "deflate")]
    #[test]
    fn permessage_deflate_has_no_windows_type() {
        let p = Property::PermessageDeflate(None);
        assert_eq!(p.property_type(), None);
        assert_eq!(p.raw_type(), PERMESSAGE_DEFLATE_PROPERTY_TYPE);
        assert_eq!(Property::SendBufferSize(1).raw_type(), 1);
    }
}
