//! What one side of a connection offers or accepts, and the limits of its decompressor.

use std::fmt;

/// The size of an LZ77 sliding window as its base-2 logarithm, 9 to 15 (512 bytes to 32 KiB).
///
/// RFC 7692 allows 8 as well, but zlib (and so zlib-rs) cannot compress into a raw DEFLATE
/// stream with a 256-byte window, so a configuration never names 8: what a peer says about 8 is
/// handled by the negotiation (see the module docs). The type exists so that an out-of-range
/// value cannot reach flate2, which panics outside 9..=15.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WindowBits(u8);

impl WindowBits {
    /// 9 bits: a 512-byte window, the smallest zlib compresses with.
    pub const MIN: Self = Self(9);
    /// 15 bits: a 32 KiB window, the DEFLATE maximum and the RFC 7692 default.
    pub const MAX: Self = Self(15);

    /// `Some` for 9 to 15, `None` otherwise.
    #[must_use]
    pub const fn new(bits: u8) -> Option<Self> {
        if bits >= Self::MIN.0 && bits <= Self::MAX.0 {
            Some(Self(bits))
        } else {
            None
        }
    }

    /// The number of bits.
    #[must_use]
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for WindowBits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The decompressor's limits per message (see the module docs, "Limits").
///
/// The defaults: at most 64 MiB decompressed per message (as the drivers' message cap), no ratio
/// cap, and a ratio floor of 1 MiB should a ratio cap be set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct DeflateLimits {
    /// The most decompressed bytes one message may produce; `None` for no limit. One byte more
    /// fails the message with [`DeflateError::TooBig`](super::DeflateError::TooBig) (close 1009).
    /// Default: `Some(64 MiB)`.
    pub max_message_size: Option<u64>,
    /// The most decompressed bytes per compressed byte of one message, checked once the message
    /// has produced more than [`ratio_floor`](Self::ratio_floor) bytes; beyond it
    /// [`DeflateError::TooBig`](super::DeflateError::TooBig) (close 1009). `None` for no ratio
    /// cap. Default: `None`: DEFLATE itself cannot exceed about 1032:1, so any cap is a policy,
    /// and the message cap already bounds what one message costs.
    pub max_ratio: Option<u32>,
    /// The decompressed bytes of a message below which the ratio is not checked (small messages
    /// legitimately compress far better than large ones). Default: 1 MiB.
    pub ratio_floor: u64,
}

impl DeflateLimits {
    /// The defaults, as a constant.
    pub const DEFAULT: Self = Self {
        max_message_size: Some(64 << 20),
        max_ratio: None,
        ratio_floor: 1 << 20,
    };
}

impl Default for DeflateLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What one side offers (client) or accepts (server) for permessage-deflate, and the codec
/// settings it then uses.
///
/// The four negotiation fields mean, for each role (RFC 7692 §7.1):
///
/// | field | client: what it offers | server: what it answers |
/// |---|---|---|
/// | `server_no_context_takeover` | `true`: requests it; an answer without it is refused | `true`: answers it to every offer; `false`: answers it when offered |
/// | `client_no_context_takeover` | `true`: offers it, and honours it whatever the answer | `true`: answers it to every offer; `false`: echoes it when offered |
/// | `server_max_window_bits` | `Some(n)`: requests `=n`; the answer must hold a value ≤ n | `Some(n)`: answers the smaller of n and the value asked, asked or not; `None`: the value asked, if any (15 otherwise) |
/// | `client_max_window_bits` | `None`: not offered; `Some(15)`: offered without a value; `Some(n)`: offered as `=n`, and we compress with at most n | `Some(n < 15)`: asks the smaller of n and the client's value of a client that offered the parameter; otherwise echoes the client's value if it gave one |
///
/// Defaults ([`DeflateConfig::DEFAULT`]): no `*_no_context_takeover`, no
/// `server_max_window_bits`, `client_max_window_bits` offered without a value (what browsers
/// offer), compression level 6, and [`DeflateLimits::DEFAULT`]. As a client, the default offer
/// is `permessage-deflate; client_max_window_bits`; as a server, the default accepts the first
/// acceptable offer (see [`respond`](super::respond)) with the windows it asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct DeflateConfig {
    /// See the table above.
    pub server_no_context_takeover: bool,
    /// See the table above.
    pub client_no_context_takeover: bool,
    /// See the table above.
    pub server_max_window_bits: Option<WindowBits>,
    /// See the table above.
    pub client_max_window_bits: Option<WindowBits>,
    /// The zlib compression level, 0 (stored blocks only) to 9 (best); values over 9 count as 9.
    /// Default: 6 (zlib's default).
    pub level: u8,
    /// The decompressor's limits.
    pub limits: DeflateLimits,
}

impl DeflateConfig {
    /// The defaults, as a constant.
    pub const DEFAULT: Self = Self {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: None,
        client_max_window_bits: Some(WindowBits::MAX),
        level: 6,
        limits: DeflateLimits::DEFAULT,
    };
}

impl Default for DeflateConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}
