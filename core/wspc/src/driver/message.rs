//! Whole messages (what most applications read and write), pieces (for streaming), and the
//! assembler that turns pieces into messages under a cap.

use crate::close::CloseStatus;
use crate::error::{Error, ProtocolError};
use crate::session::action::BufferType;

/// A whole message or a control frame, as the drivers read and write them (the tokio-tungstenite
/// convention).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message; received text has been checked to be UTF-8.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// A ping with its payload (at most 125 bytes). Only sent: pings from the peer are answered
    /// by the engine and not delivered.
    Ping(Vec<u8>),
    /// A pong with its payload (at most 125 bytes): received when the peer answers a ping, or
    /// sent unsolicited (a one-way keep-alive).
    Pong(Vec<u8>),
    /// A close frame: received, the peer's (the driver has answered it); sent, ours. `None` is a
    /// close without a status (the peer sees 1005).
    Close(Option<CloseFrame>),
}

impl Message {
    /// A text message.
    pub fn text(s: impl Into<String>) -> Self {
        Self::Text(s.into())
    }

    /// A binary message.
    pub fn binary(b: impl Into<Vec<u8>>) -> Self {
        Self::Binary(b.into())
    }

    /// The payload bytes (the reason for a close).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Text(s) => s.as_bytes(),
            Self::Binary(b) | Self::Ping(b) | Self::Pong(b) => b,
            Self::Close(f) => f.as_ref().map_or(&[], |f| f.reason.as_bytes()),
        }
    }

    /// The payload length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// True when the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True for text and binary messages.
    pub fn is_data(&self) -> bool {
        matches!(self, Self::Text(_) | Self::Binary(_))
    }
}

/// The status and reason of a close frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseStatus,
    /// The reason (at most 123 bytes of UTF-8 to be sent).
    pub reason: String,
}

/// One piece of a message as it arrived, for applications that stream large messages instead of
/// assembling them; valid until the next call on the connection.
#[derive(Debug)]
pub struct Piece<'a> {
    /// `*_FRAGMENT` for a piece that does not end its message, `*_MESSAGE` for the one that does,
    /// `PingPong` for a pong, `Close` for the peer's close (or 1006 when the stream ended).
    pub buffer_type: BufferType,
    /// The bytes of the piece, the pong payload, or the close reason.
    pub data: &'a [u8],
    /// For `Close`: the status (1005 if the frame had none, 1006 if the stream ended without one).
    pub close_status: Option<CloseStatus>,
}

/// The most a message buffer is sized for ahead of its bytes, on the peer's word (a frame
/// header announcing its length): beyond it the buffer grows as the bytes arrive, so a header
/// announcing a large frame costs nothing until its payload comes.
const RESERVE_MAX: usize = 1 << 20;

/// Message buffers sent and done with, kept per thread for the next messages assembled on it:
/// a server that sends back what it receives (an echo, a relay) then assembles each message in
/// memory that the last one just left, instead of a fresh allocation of that size (which glibc
/// serves outside its fast per-thread cache above 1 KiB). Only buffers of
/// [`MIN`](buffers::MIN) to [`MAX`](buffers::MAX) bytes of capacity are kept, at most
/// [`KEPT`](crate::driver::pool::KEPT) per thread (1 MiB in all); smaller ones are cheap to allocate.
pub(crate) mod buffers {
    use super::super::pool::Pool;

    pub(crate) const MIN: usize = 4 * 1024;
    pub(crate) const MAX: usize = 256 * 1024;

    thread_local! {
        static BUFFERS: Pool = const { Pool::new() };
    }

    /// An empty buffer with room for `n` bytes: the last one given back on this thread if it
    /// is large enough, else a new one.
    pub(crate) fn take(n: usize) -> Vec<u8> {
        Pool::take(&BUFFERS, |b| b.capacity() >= n).unwrap_or_else(|| Vec::with_capacity(n))
    }

    /// How many buffers this thread keeps now.
    #[cfg(test)]
    pub(crate) fn kept() -> usize {
        Pool::kept(&BUFFERS)
    }

    /// A buffer whose bytes were sent: kept for [`take`] if its size is worth keeping and
    /// there is room.
    pub(crate) fn give_back(mut buffer: Vec<u8>) {
        if (MIN..=MAX).contains(&buffer.capacity()) {
            buffer.clear();
            Pool::give_back(&BUFFERS, buffer);
        }
    }
}

/// Collects the pieces of one message up to a cap.
#[derive(Debug, Default)]
pub(crate) struct Assembler {
    buf: Vec<u8>,
    max: Option<usize>,
}

impl Assembler {
    pub(crate) fn new(max: Option<usize>) -> Self {
        Self {
            buf: Vec::new(),
            max,
        }
    }

    /// Adds a data piece; returns the message when `buffer_type` ends it. `more` is how many
    /// payload bytes the piece's frame still announces: the buffer is sized for them at once
    /// (up to the cap and [`RESERVE_MAX`]) rather than doubled piece by piece, which copied a
    /// 16 KiB message 1.75 times over in 4 KiB pieces. A message over the cap is
    /// [`ProtocolError::MessageTooBig`] (close 1009) before any of its excess is stored.
    pub(crate) fn push(
        &mut self,
        buffer_type: BufferType,
        data: &[u8],
        more: u64,
    ) -> Result<Option<Message>, Error> {
        if self
            .max
            .is_some_and(|max| data.len() > max - self.buf.len())
        {
            self.buf = Vec::new();
            return Err(ProtocolError::MessageTooBig.into());
        }
        if buffer_type.is_final() && self.buf.is_empty() {
            // A message in one piece: one copy, no growth.
            return Self::finish(buffer_type, data.to_vec()).map(Some);
        }
        let frame_rest = (data.len() as u64).saturating_add(more);
        self.reserve(data.len(), frame_rest).extend_from_slice(data);
        if !buffer_type.is_final() {
            return Ok(None);
        }
        Self::finish(buffer_type, core::mem::take(&mut self.buf)).map(Some)
    }

    /// True when `n` more bytes stay within the cap.
    pub(crate) fn fits(&self, n: usize) -> bool {
        self.max.is_none_or(|max| n <= max - self.buf.len())
    }

    /// The message buffer, for the engine to append `n` bytes of a frame that announces
    /// `frame_rest` more (these included) to: sized for the rest of the frame at once, as in
    /// [`push`](Self::push). The caller checked [`fits`](Self::fits) and calls
    /// [`appended`](Self::appended) after.
    pub(crate) fn reserve(&mut self, n: usize, frame_rest: u64) -> &mut Vec<u8> {
        let room = self.max.map_or(usize::MAX, |max| max - self.buf.len());
        let ahead = usize::try_from(frame_rest)
            .unwrap_or(usize::MAX)
            .min(room)
            .min(RESERVE_MAX);
        let want = ahead.max(n);
        if self.buf.capacity() == 0 && want >= buffers::MIN {
            self.buf = buffers::take(want);
        }
        self.buf.reserve(want);
        &mut self.buf
    }

    /// A piece of `buffer_type` was appended through [`reserve`](Self::reserve): the message,
    /// if it ends it.
    pub(crate) fn appended(&mut self, buffer_type: BufferType) -> Result<Option<Message>, Error> {
        if !buffer_type.is_final() {
            return Ok(None);
        }
        Self::finish(buffer_type, core::mem::take(&mut self.buf)).map(Some)
    }

    /// Drops the open message (its connection is failing).
    pub(crate) fn discard(&mut self) {
        self.buf = Vec::new();
    }

    fn finish(buffer_type: BufferType, bytes: Vec<u8>) -> Result<Message, Error> {
        if buffer_type.is_text() {
            // The engine checked the text already unless UTF-8 verification was turned off;
            // the string type is checked either way (with the engine's fast validator).
            wspc_simd::string_from_utf8(bytes)
                .map(Message::Text)
                .map_err(|_| ProtocolError::InvalidUtf8.into())
        } else {
            Ok(Message::Binary(bytes))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assembles_pieces_and_enforces_the_cap() {
        let mut a = Assembler::new(Some(5));
        assert_eq!(a.push(BufferType::Utf8Fragment, b"he", 0).unwrap(), None);
        assert_eq!(
            a.push(BufferType::Utf8Message, b"llo", 0).unwrap(),
            Some(Message::text("hello"))
        );
        assert_eq!(
            a.push(BufferType::BinaryMessage, b"12345", 0).unwrap(),
            Some(Message::binary(*b"12345"))
        );
        assert_eq!(a.push(BufferType::BinaryFragment, b"123", 0).unwrap(), None);
        assert_eq!(
            a.push(BufferType::BinaryMessage, b"456", 0).unwrap_err(),
            Error::Protocol(ProtocolError::MessageTooBig)
        );
        assert_eq!(
            a.push(BufferType::Utf8Message, &[0xff], 0).unwrap_err(),
            Error::Protocol(ProtocolError::InvalidUtf8)
        );
        // The rest of the frame is reserved at once, within the cap and RESERVE_MAX.
        let mut a = Assembler::new(None);
        assert_eq!(
            a.push(BufferType::BinaryFragment, &[1; 4096], 12288)
                .unwrap(),
            None
        );
        assert!(a.buf.capacity() >= 16384, "{}", a.buf.capacity());
        let mut capped = Assembler::new(Some(6000));
        assert_eq!(
            capped
                .push(BufferType::BinaryFragment, &[1; 4096], 1 << 40)
                .unwrap(),
            None
        );
        assert!(capped.buf.capacity() < 8192, "{}", capped.buf.capacity());
        let mut announced = Assembler::new(None);
        let r = announced.push(BufferType::BinaryFragment, &[1; 10], u64::MAX);
        assert_eq!(r.unwrap(), None);
        assert!(announced.buf.capacity() <= 2 * RESERVE_MAX);
        let mut unlimited = Assembler::new(None);
        assert!(unlimited
            .push(BufferType::BinaryMessage, &[0; 100], 0)
            .unwrap()
            .is_some());
    }
}
