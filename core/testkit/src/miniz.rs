//! miniz_oxide's compressor used as an independent permessage-deflate sender (RFC 7692 §7.2.1):
//! raw DEFLATE with a 32 KiB window kept from message to message, a sync flush per frame, and the
//! final frame's `00 00 ff ff` removed. The engine's tests compare what wspc reads with what this
//! sent, so it shares no code with wspc's codec (zlib-rs).

use miniz_oxide::deflate::core::{
    compress_to_output, create_comp_flags_from_zip_params, CompressorOxide, TDEFLFlush, TDEFLStatus,
};

/// The bytes every sync flush ends with (an empty stored block's length and its complement).
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// A miniz_oxide compressor at one level, its window kept across messages (context takeover).
pub struct MinizSender(Box<CompressorOxide>);

impl MinizSender {
    /// A compressor at `level` (0–10).
    pub fn new(level: i32) -> Self {
        let flags = create_comp_flags_from_zip_params(level, -15, 0);
        Self(Box::new(CompressorOxide::new(flags)))
    }

    /// One frame's compressed payload: `data` and a sync flush; for the `last` frame of a
    /// message, without the flush's `00 00 ff ff`.
    ///
    /// The output goes through a callback that takes all of it, so one call compresses `data`
    /// and completes the flush. Through a slice (`stream::deflate`), miniz_oxide keeps what did
    /// not fit and, on the next call, writes only that and returns, sync request or not: a call
    /// can then leave room in the slice with the flush still not done, and stopping there (as a
    /// zlib caller would) loses the end of the frame.
    pub fn fragment(&mut self, data: &[u8], last: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let (status, consumed) = compress_to_output(&mut self.0, data, TDEFLFlush::Sync, |b| {
            out.extend_from_slice(b);
            true
        });
        assert_eq!(status, TDEFLStatus::Okay, "miniz_oxide failed to compress");
        assert_eq!(consumed, data.len(), "miniz_oxide left input");
        assert!(out.ends_with(&TAIL), "no sync flush at the end: {out:02x?}");
        if last {
            out.truncate(out.len() - TAIL.len());
        }
        out
    }

    /// A whole message as one frame's payload.
    pub fn message(&mut self, msg: &[u8]) -> Vec<u8> {
        self.fragment(msg, true)
    }
}
