//! permessage-deflate (RFC 7692) inside a session: the codec state a handle owns once the
//! handshake has agreed on the extension, and the buffers it works in.
//!
//! The session holds it as `Option<Box<Codec>>`: `None` unless the handshake agreed on
//! permessage-deflate (so always `None` without the cargo feature `deflate`, where `Codec` is an
//! empty enum and every method below is unreachable). The send side (send.rs) and the receive
//! side (recv.rs) call it; neither knows about zlib.
//!
//! Everything is allocated once, on first use, not when the handshake agrees, so that a
//! connection that never sends (or never receives) a compressed message does not pay for that
//! direction: the compressor (zlib's state, about 370 KiB at 15 bits) with the first compressed
//! send; the decompressor (about 46 KiB) with the first compressed message received; the output
//! buffer for decompressed pieces (the receive buffer size, so pieces stay within it) with the
//! first piece that goes to the internal buffer; and the buffer for the compressed payload of
//! the frame being sent (reused from frame to frame; a frame larger than `KEEP_CAPACITY` (1 MiB)
//! grows it, and it is trimmed back to that as soon as that frame is on the wire).

#[cfg(feature = "deflate")]
mod imp {
    use crate::deflate::{Compressor, Decompressor, DeflateConfig, DeflateError, Params};
    use crate::error::ProtocolError;

    /// The capacity the compressed-frame buffer keeps between frames (1 MiB): a larger frame
    /// grows it, and its completion trims it back, so one huge send does not pin its size.
    const KEEP_CAPACITY: usize = 1 << 20;

    /// The agreed permessage-deflate of one session.
    #[derive(Debug)]
    pub(in crate::session) struct Codec {
        params: Params,
        config: DeflateConfig,
        receive_buffer_size: usize,
        /// Made with the first compressed send.
        compressor: Option<Compressor>,
        /// Made with the first compressed message received.
        decompressor: Option<Decompressor>,
        /// The compressed payload of the frame being sent (the front send's).
        deflated: Vec<u8>,
        /// Decompressed bytes of the piece being delivered, when it goes to the internal buffer
        /// (empty until the first such piece, then the receive buffer size).
        inflated: Vec<u8>,
    }

    impl Codec {
        /// The codec for what the handshake agreed (`params`) under `config`, with an output
        /// buffer of `receive_buffer_size` bytes; nothing is allocated yet.
        pub(in crate::session) fn new(
            params: Params,
            config: &DeflateConfig,
            receive_buffer_size: usize,
        ) -> Self {
            Self {
                params,
                config: *config,
                receive_buffer_size,
                compressor: None,
                decompressor: None,
                deflated: Vec::new(),
                inflated: Vec::new(),
            }
        }

        /// What was agreed.
        pub(in crate::session) fn params(&self) -> Params {
            self.params
        }

        /// Compresses one outgoing frame's `payload` (the final frame of its message if `fin`)
        /// into the compressed-frame buffer, replacing the previous frame's bytes; returns the
        /// compressed length. `None` if zlib failed: the compressor is unusable from then on.
        pub(in crate::session) fn compress(&mut self, payload: &[u8], fin: bool) -> Option<usize> {
            self.frame_done();
            self.compressor
                .get_or_insert_with(|| self.params.compressor(&self.config))
                .compress(payload, fin, &mut self.deflated)
                .ok()
                .map(|()| self.deflated.len())
        }

        /// The compressed payload of the frame being sent.
        pub(in crate::session) fn deflated(&self) -> &[u8] {
            &self.deflated
        }

        /// The frame being sent is finished (sent, cancelled or drained): its bytes are no
        /// longer needed, and a buffer a large frame grew is trimmed back to `KEEP_CAPACITY`.
        pub(in crate::session) fn frame_done(&mut self) {
            self.deflated.clear();
            if self.deflated.capacity() > KEEP_CAPACITY {
                self.deflated.shrink_to(KEEP_CAPACITY);
            }
        }

        /// The capacity the compressed-frame buffer holds on to.
        #[cfg(test)]
        pub(in crate::session) fn deflated_capacity(&self) -> usize {
            self.deflated.capacity()
        }

        /// Decompresses from `input` into `out[from..]`, or into the internal buffer from `from`
        /// when `out` is `None`; returns `(consumed, produced)` as
        /// [`Decompressor::decompress`].
        pub(in crate::session) fn inflate(
            &mut self,
            input: &[u8],
            out: Option<&mut [u8]>,
            from: usize,
        ) -> Result<(usize, usize), ProtocolError> {
            let (d, out) = self.inflater(out);
            d.decompress(input, out.get_mut(from..).unwrap_or_default())
                .map_err(fault)
        }

        /// Ends the message into `out[from..]` (or the internal buffer); returns
        /// `(produced, done)` as [`Decompressor::finish_message`].
        pub(in crate::session) fn finish(
            &mut self,
            out: Option<&mut [u8]>,
            from: usize,
        ) -> Result<(usize, bool), ProtocolError> {
            let (d, out) = self.inflater(out);
            d.finish_message(out.get_mut(from..).unwrap_or_default())
                .map_err(fault)
        }

        /// The decompressor and the output: `out`, or the internal buffer; each made on first
        /// use.
        fn inflater<'a>(
            &'a mut self,
            out: Option<&'a mut [u8]>,
        ) -> (&'a mut Decompressor, &'a mut [u8]) {
            let out = match out {
                Some(out) => out,
                None => {
                    if self.inflated.is_empty() {
                        self.inflated = vec![0; self.receive_buffer_size];
                    }
                    &mut self.inflated[..]
                }
            };
            let (params, config) = (&self.params, &self.config);
            let d = self
                .decompressor
                .get_or_insert_with(|| params.decompressor(config));
            (d, out)
        }

        /// The first `n` bytes of the internal output buffer.
        pub(in crate::session) fn inflated(&self, n: usize) -> &[u8] {
            self.inflated.get(..n).unwrap_or_default()
        }
    }

    /// A decompression failure as the protocol error that fails the connection: invalid data
    /// 1007, a message past the limits 1009. `Internal` means the decompressor was called out
    /// of order, which the receive side never does; it is reported as invalid data.
    fn fault(e: DeflateError) -> ProtocolError {
        match e {
            DeflateError::TooBig => ProtocolError::MessageTooBig,
            DeflateError::Corrupt => ProtocolError::InvalidCompressedData,
            DeflateError::Internal(_) => {
                debug_assert!(false, "decompressor misused: {e}");
                ProtocolError::InvalidCompressedData
            }
        }
    }
}

#[cfg(not(feature = "deflate"))]
mod imp {
    use crate::error::ProtocolError;

    /// Without the cargo feature `deflate` nothing can be agreed: no value of this type exists,
    /// and the session's `Option<Box<Codec>>` is always `None`.
    #[derive(Debug)]
    pub(in crate::session) enum Codec {}

    impl Codec {
        pub(in crate::session) fn compress(&mut self, _: &[u8], _: bool) -> Option<usize> {
            match *self {}
        }

        pub(in crate::session) fn deflated(&self) -> &[u8] {
            match *self {}
        }

        pub(in crate::session) fn frame_done(&mut self) {
            match *self {}
        }

        pub(in crate::session) fn inflate(
            &mut self,
            _: &[u8],
            _: Option<&mut [u8]>,
            _: usize,
        ) -> Result<(usize, usize), ProtocolError> {
            match *self {}
        }

        pub(in crate::session) fn finish(
            &mut self,
            _: Option<&mut [u8]>,
            _: usize,
        ) -> Result<(usize, bool), ProtocolError> {
            match *self {}
        }

        pub(in crate::session) fn inflated(&self, _: usize) -> &[u8] {
            match *self {}
        }
    }
}

pub(super) use imp::Codec;
