//! RFC 7692 §7.2: compressing and decompressing message payloads, streamed and bounded.

use std::fmt;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::config::DeflateLimits;
use crate::close::CloseStatus;

/// The empty stored block a sync flush ends with, which the sender removes and the receiver
/// appends (RFC 7692 §7.2.1, §7.2.2).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The smallest window zlib compresses with; an agreed 8 is served differently (see
/// [`Compressor::new`]).
const ZLIB_MIN_BITS: u8 = 9;

/// The spare room kept in the output `Vec` before each zlib call: zlib wants more than 6 bytes
/// to finish a sync flush without repeating its marker.
const MIN_SPARE: usize = 64;

/// Why compressing or decompressing failed. The compressor or decompressor that returned it
/// returns it again on every later call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeflateError {
    /// The peer's compressed data is not valid DEFLATE, or refers back beyond the window or
    /// before the start of an independent message: fail the connection with close 1007.
    Corrupt,
    /// A message decompresses to more than [`DeflateLimits::max_message_size`], or beyond
    /// [`DeflateLimits::max_ratio`]: fail the connection with close 1009.
    TooBig,
    /// zlib failed while compressing, or the decompressor was called out of order (the text
    /// says which): close 1011. Not the peer's fault.
    Internal(&'static str),
}

impl DeflateError {
    /// The close status to fail the connection with: 1007 for [`Corrupt`](Self::Corrupt) (the
    /// payload is not what its frame says it is, as RFC 6455 §7.4.1 defines 1007), 1009 for
    /// [`TooBig`](Self::TooBig), 1011 for [`Internal`](Self::Internal).
    #[must_use]
    pub fn close_status(self) -> CloseStatus {
        match self {
            Self::Corrupt => CloseStatus::INVALID_PAYLOAD,
            Self::TooBig => CloseStatus::MESSAGE_TOO_BIG,
            Self::Internal(_) => CloseStatus::SERVER_ERROR,
        }
    }
}

impl fmt::Display for DeflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Corrupt => f.write_str("compressed message is not valid DEFLATE data"),
            Self::TooBig => f.write_str("decompressed message over the size or ratio limit"),
            Self::Internal(what) => write!(f, "permessage-deflate internal error: {what}"),
        }
    }
}

impl std::error::Error for DeflateError {}

/// Compresses outgoing messages (RFC 7692 §7.2.1), one call per frame.
///
/// Memory: zlib's deflate state, allocated once here (about 245 KiB at 9 bits to 370 KiB at 15,
/// see the module docs), and the caller's output `Vec`.
#[derive(Debug)]
pub struct Compressor {
    z: Compress,
    no_context_takeover: bool,
    in_message: bool,
    failed: Option<DeflateError>,
}

impl Compressor {
    /// A compressor whose window is at most `max_window_bits` (the agreed value, 8 to 15;
    /// larger counts as 15), resetting after each message when `no_context_takeover`, at zlib
    /// `level` 0 to 9 (larger counts as 9).
    ///
    /// A bound below 9 (only 8 can be agreed) cannot be met by zlib's matcher, so such a
    /// compressor uses level 0: stored blocks only, which hold no back-references at all and
    /// so respect any window.
    #[must_use]
    pub fn new(max_window_bits: u8, no_context_takeover: bool, level: u8) -> Self {
        let (bits, level) = if max_window_bits < ZLIB_MIN_BITS {
            (ZLIB_MIN_BITS, 0)
        } else {
            (max_window_bits.min(15), level.min(9))
        };
        Self {
            z: Compress::new_with_window_bits(Compression::new(u32::from(level)), false, bits),
            no_context_takeover,
            in_message: false,
            failed: None,
        }
    }

    /// Whether a message is open: its first frame was compressed and its final frame not yet.
    #[must_use]
    pub fn in_message(&self) -> bool {
        self.in_message
    }

    /// Compresses one frame's `payload` and appends the frame's compressed payload to `out`
    /// (which grows as needed; nothing else is allocated).
    ///
    /// - `fin == false` (a non-final frame of a fragmented message): all of `payload`, ended
    ///   with a sync flush whose `00 00 ff ff` stays in the frame, so that the peer can inflate
    ///   every byte of this frame as soon as it arrives (as Python `websockets` does). Without
    ///   the flush zlib would keep input back to find matches in it, and a streaming sender's
    ///   fragment could reach the peer only with a later one. The cost is about 5 bytes per
    ///   fragment and matches that do not cross a fragment boundary's flush point.
    /// - `fin == true`: ends the message with a sync flush and removes the trailing
    ///   `00 00 ff ff` (§7.2.1). A message with no data at all compresses to the single byte
    ///   `00`, an empty stored block with its length removed (§7.2.3.6). Without context
    ///   takeover the compressor then starts over with an empty window.
    ///
    /// # Errors
    ///
    /// [`DeflateError::Internal`] if zlib fails (it does not on valid use); the compressor is
    /// unusable afterwards and `out` may hold a partial frame.
    pub fn compress(
        &mut self,
        payload: &[u8],
        fin: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), DeflateError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let result = self.compress_frame(payload, fin, out);
        if let Err(e) = result {
            self.failed = Some(e);
        }
        result
    }

    fn compress_frame(
        &mut self,
        payload: &[u8],
        fin: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), DeflateError> {
        let start = out.len();
        if payload.is_empty() && !fin {
            // Every frame ends with a sync flush, so nothing is pending: an empty non-final
            // frame stays empty (zlib would emit an empty stored block after a reset).
            self.in_message = true;
            return Ok(());
        }
        let mut rest = payload;
        loop {
            if out.capacity() - out.len() < MIN_SPARE {
                // Vec::reserve grows geometrically, so the calls stay logarithmic in the output.
                out.reserve(MIN_SPARE + rest.len().min(1 << 16) / 2);
            }
            let (in_before, out_before) = (self.z.total_in(), out.len());
            let status = self
                .z
                .compress_vec(rest, out, FlushCompress::Sync)
                .map_err(|_| DeflateError::Internal("zlib failed to compress"))?;
            let used = usize::try_from(self.z.total_in() - in_before).unwrap_or(usize::MAX);
            rest = rest.get(used..).unwrap_or_default();
            let room_left = out.len() < out.capacity();
            if rest.is_empty() && room_left {
                break;
            }
            // zlib always progresses with input and room; a stall would loop forever.
            if used == 0 && out.len() == out_before && room_left {
                return Err(DeflateError::Internal(match status {
                    Status::BufError => "zlib made no progress",
                    _ => "zlib stopped with input left",
                }));
            }
        }
        self.in_message = !fin;
        if !fin {
            return Ok(());
        }
        if out.get(start..).is_some_and(|new| new.ends_with(&TAIL)) {
            out.truncate(out.len() - TAIL.len());
        } else if out.len() == start {
            // A sync flush right after another one (an empty message after a finished one)
            // emits nothing: the stream is at a byte boundary, and an empty stored block without
            // its length is the single byte 00 (§7.2.3.6).
            out.push(0x00);
        } else {
            return Err(DeflateError::Internal(
                "sync flush did not end with an empty stored block",
            ));
        }
        if self.no_context_takeover {
            self.z.reset();
        }
        Ok(())
    }
}

/// Decompresses incoming messages (RFC 7692 §7.2.2), streamed: compressed bytes go in as they
/// arrive, in pieces of any size, and decompressed bytes come out into slices of any size.
///
/// Per message: [`decompress`](Self::decompress) for the payload bytes of all its frames, then
/// [`finish_message`](Self::finish_message) until it reports the message done.
///
/// The window is always 32 KiB, whatever was agreed: a window larger than the peer's decodes
/// everything the peer may send, zlib-rs allocates 32 KiB for any window size anyway, and
/// flate2 resets a 15-bit inflater in place (it re-creates one of any other size). So a peer
/// that refers further back than it agreed to, but within 32 KiB, is not caught: RFC 7692 asks
/// the sender to keep within the window, not the receiver to check.
///
/// Memory: zlib's inflate state with its window, allocated here, and nothing else, whatever the
/// peer sends: output goes into the caller's slices.
#[derive(Debug)]
pub struct Decompressor {
    z: Decompress,
    no_context_takeover: bool,
    limits: DeflateLimits,
    /// Input has entered the current DEFLATE stream since its last known block boundary (the
    /// end of the previous message, or the end of a block with BFINAL set).
    fed: bool,
    /// The stream holds state since its last reset (so a reset is not wasted on a clean one).
    dirty: bool,
    /// Bytes of [`TAIL`] consumed; `Some` while `finish_message` is in progress.
    tail: Option<usize>,
    /// Compressed bytes consumed in this message.
    consumed: u64,
    /// Decompressed bytes produced in this message.
    produced: u64,
    failed: Option<DeflateError>,
}

impl Decompressor {
    /// A decompressor that starts each message with an empty window when the peer has
    /// `no_context_takeover`, and enforces `limits`.
    #[must_use]
    pub fn new(no_context_takeover: bool, limits: DeflateLimits) -> Self {
        Self {
            z: Decompress::new_with_window_bits(false, 15),
            no_context_takeover,
            limits,
            fed: false,
            dirty: false,
            tail: None,
            consumed: 0,
            produced: 0,
            failed: None,
        }
    }

    /// The decompressed bytes the open message has produced so far.
    #[must_use]
    pub fn message_size(&self) -> u64 {
        self.produced
    }

    /// Decompresses from `input` (compressed payload bytes of the current message, from any of
    /// its frames, in order) into `out`; returns `(consumed, produced)`: the bytes of `input`
    /// used and the bytes written at the start of `out`.
    ///
    /// zlib keeps what it cannot write yet, so a few input bytes can yield much more output than
    /// `out` holds: call again with `&input[consumed..]` (empty once all is consumed) while
    /// `consumed < input.len()` or `produced == out.len()`. When a call consumes all its input
    /// and leaves room in `out`, everything the input yields has been written; the caller can
    /// read more input, or end the message. `out` must not be empty for progress.
    ///
    /// # Errors
    ///
    /// [`DeflateError::Corrupt`] for invalid data, [`DeflateError::TooBig`] past a limit (at
    /// most one byte over [`DeflateLimits::max_message_size`] is written before it),
    /// [`DeflateError::Internal`] if called while [`finish_message`](Self::finish_message) is in
    /// progress. The first two are final: every later call returns them again.
    pub fn decompress(
        &mut self,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<(usize, usize), DeflateError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        if self.tail.is_some() {
            return Err(DeflateError::Internal(
                "decompress while finish_message is in progress",
            ));
        }
        let (consumed, produced, _) = self.step(input, out)?;
        Ok((consumed, produced))
    }

    /// Ends the current message: feeds the `00 00 ff ff` the sender removed (§7.2.2) and drains
    /// what remains into `out`; returns `(produced, done)`. Call again, with fresh room, until
    /// `done`; then the next message can start. Without the peer's context takeover, the window
    /// is emptied for the next message.
    ///
    /// A message whose compressed payload was empty, or ended exactly after a block with BFINAL
    /// set, gets no tail: there is no block left open for it to close.
    ///
    /// # Errors
    ///
    /// As [`decompress`](Self::decompress).
    pub fn finish_message(&mut self, out: &mut [u8]) -> Result<(usize, bool), DeflateError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let fed_tail = match self.tail {
            Some(n) => n,
            None if !self.fed => {
                self.end_message();
                return Ok((0, true));
            }
            None => 0,
        };
        self.tail = Some(fed_tail);
        let (used, produced, ended) = self.step(TAIL.get(fed_tail..).unwrap_or_default(), out)?;
        // A stream that ended inside the tail (BFINAL) is complete: the rest is not fed to the
        // next stream, which would read it as the start of a block.
        let fed_tail = if ended { TAIL.len() } else { fed_tail + used };
        self.tail = Some(fed_tail);
        let done = fed_tail >= TAIL.len() && produced < out.len();
        if done {
            self.end_message();
        }
        Ok((produced, done))
    }

    fn end_message(&mut self) {
        if self.no_context_takeover && self.dirty {
            self.z.reset(false);
            self.dirty = false;
        }
        self.fed = false;
        self.tail = None;
        self.consumed = 0;
        self.produced = 0;
    }

    /// One zlib call within the limits; returns `(consumed, produced, stream_ended)`.
    fn step(&mut self, input: &[u8], out: &mut [u8]) -> Result<(usize, usize, bool), DeflateError> {
        // Room for one byte past the message cap, so that crossing it is seen without writing
        // more than that byte.
        let room = match self.limits.max_message_size {
            Some(max) => max.saturating_sub(self.produced).saturating_add(1),
            None => u64::MAX,
        };
        let room = usize::try_from(room).unwrap_or(usize::MAX).min(out.len());
        let out = out.get_mut(..room).unwrap_or_default();

        let (in_before, out_before) = (self.z.total_in(), self.z.total_out());
        let status = self.z.decompress(input, out, FlushDecompress::None);
        let used = self.z.total_in() - in_before;
        let made = self.z.total_out() - out_before;
        let status = match status {
            Ok(s) => s,
            Err(_) => return Err(self.fail(DeflateError::Corrupt)),
        };
        if used > 0 {
            self.fed = true;
            self.dirty = true;
        }
        self.consumed = self.consumed.saturating_add(used);
        self.produced = self.produced.saturating_add(made);
        let (used, made) = (
            usize::try_from(used).unwrap_or(usize::MAX),
            usize::try_from(made).unwrap_or(usize::MAX),
        );

        let ended = status == Status::StreamEnd;
        if ended {
            // A block with BFINAL set ends zlib's stream; what follows in the message (§7.2.3.4)
            // starts a new one, with an empty window.
            self.z.reset(false);
            self.fed = false;
            self.dirty = false;
        } else if used == 0 && made == 0 && !input.is_empty() && !out.is_empty() {
            // zlib progresses whenever it has input and room; a stall is a broken stream.
            return Err(self.fail(DeflateError::Corrupt));
        }

        if let Some(max) = self.limits.max_message_size {
            if self.produced > max {
                return Err(self.fail(DeflateError::TooBig));
            }
        }
        if let Some(ratio) = self.limits.max_ratio {
            if self.produced > self.limits.ratio_floor
                && self.produced > self.consumed.saturating_mul(u64::from(ratio))
            {
                return Err(self.fail(DeflateError::TooBig));
            }
        }
        Ok((used, made, ended))
    }

    fn fail(&mut self, e: DeflateError) -> DeflateError {
        self.failed = Some(e);
        e
    }
}
