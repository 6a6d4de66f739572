//! wspc: a sans-IO WebSocket (RFC 6455) engine with the Windows WebSocket Protocol Component API.
#![deny(missing_docs)]

pub mod close;
pub mod error;
pub mod frame;
pub mod handshake;
pub mod io;
pub mod mask;
pub mod utf8;

pub use close::{CloseStatus, MAX_CLOSE_REASON_LENGTH};
pub use error::{Error, HResult, HandshakeError, Misuse, PropertyError, ProtocolError};
pub mod properties;
pub mod session;

pub use handshake::{Header, HeaderRef, Negotiated};
pub use properties::{Properties, Property, PropertyType, Role};
pub use session::action::{
    Action, ActionId, ActionKind, BufferType, Completed, IndicateReceiveComplete,
    IndicateSendComplete, Queue, ReceiveFromNetwork, SendToNetwork,
};
pub use session::{Buffer, Session};
