//! The workloads of wspc's benchmarks, one function per library and workload, so that the
//! criterion benchmarks (`benches/inmemory.rs`) time exactly what the tests below check: each
//! library gets the same input bytes and must deliver the same messages.
//!
//! - [`inputs`]: payloads (binary, ASCII text, text with 40% non-ASCII characters) and the wire
//!   bytes of N masked client frames carrying them;
//! - [`mem`]: in-memory streams for the peers (blocking for tungstenite, tokio for
//!   fastwebsockets);
//! - [`echo`]: the echo servers of the loopback benchmark, and the same servers echoing over an
//!   in-memory pipe (the `driver` group);
//! - [`wspc_impl`], [`tungstenite_impl`], [`fastws_impl`]: receive (a server unmasking, checking
//!   UTF-8 and delivering), send (a client masking), and a round trip of small messages.
//!
//! Every receive returns a [`Tally`] of messages and payload bytes delivered, which the tests
//! compare across the three libraries.
#![allow(missing_docs)]

pub mod echo;
pub mod inputs;
pub mod mem;
pub mod serve;

pub mod fastws_impl;
pub mod tungstenite_impl;
pub mod wspc_impl;

/// What a receive delivered: messages (or final frames) and payload bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub messages: usize,
    pub bytes: usize,
}

/// The kind of payload of a workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Binary,
    /// ASCII text.
    Ascii,
    /// Text with 40% non-ASCII characters (two- to four-byte code points).
    NonAscii,
}

impl Kind {
    pub const ALL: [Self; 3] = [Self::Binary, Self::Ascii, Self::NonAscii];

    pub const fn is_text(self) -> bool {
        !matches!(self, Self::Binary)
    }

    pub const fn name(self) -> &'static str {
        match self {
            Self::Binary => "binary",
            Self::Ascii => "ascii",
            Self::NonAscii => "nonascii",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inputs::{payload, wire};

    /// The three libraries deliver the same messages from the same bytes.
    #[test]
    fn every_receive_delivers_the_same_messages() {
        for kind in Kind::ALL {
            for size in [16, 125, 1024, 65536, 300_000] {
                let p = payload(kind, size);
                let n = (1 << 20) / size.max(1024) + 3;
                let w = wire(kind, &p, n);
                let want = Tally {
                    messages: n,
                    bytes: n * p.len(),
                };
                for rbs in [4096, 65536] {
                    assert_eq!(wspc_impl::receive(&w, n, rbs), want, "wspc {kind:?} {size}");
                    assert_eq!(
                        tungstenite_impl::receive(&w, n, rbs),
                        want,
                        "tungstenite {kind:?} {size}"
                    );
                }
                assert_eq!(
                    fastws_impl::receive(&w, n, kind),
                    want,
                    "fastws {kind:?} {size}"
                );
            }
        }
    }

    /// What each client sends parses back as `n` masked frames of the payload.
    #[test]
    fn every_send_writes_n_masked_frames() {
        for kind in Kind::ALL {
            for size in [16, 1024, 65536] {
                let p = payload(kind, size);
                let n = 7;
                for (name, out) in [
                    ("wspc", wspc_impl::Sender::new().send(kind, &p, n).to_vec()),
                    (
                        "wspc send_into",
                        wspc_impl::Sender::new().send_into(kind, &p, n).to_vec(),
                    ),
                    (
                        "tungstenite",
                        tungstenite_impl::Sender::new().send(kind, &p, n).to_vec(),
                    ),
                    (
                        "fastws",
                        fastws_impl::Sender::new().send(kind, &p, n).to_vec(),
                    ),
                ] {
                    let (frames, end) = wspc_testkit::parse::parse_lax(&out);
                    assert_eq!(end, out.len(), "{name}: a cut frame");
                    assert_eq!(frames.len(), n, "{name} {kind:?} {size}");
                    for f in &frames {
                        assert!(f.head.mask.is_some(), "{name}: unmasked");
                        assert_eq!(f.payload, p, "{name}: payload");
                        assert_eq!(f.head.opcode, if kind.is_text() { 1 } else { 2 });
                    }
                }
            }
        }
    }

    #[test]
    fn every_round_trip_echoes_every_message() {
        let p = payload(Kind::Binary, 16);
        for (name, got) in [
            ("wspc", wspc_impl::round_trip(&p, 1000)),
            ("tungstenite", tungstenite_impl::round_trip(&p, 1000)),
            ("fastws", fastws_impl::round_trip(&p, 1000)),
        ] {
            assert_eq!(
                got,
                Tally {
                    messages: 1000,
                    bytes: 16_000
                },
                "{name}"
            );
        }
    }

    #[test]
    fn every_echo_server_echoes_every_message_in_memory() {
        for server in echo::Server::ALL {
            for size in [20, 1024, 70_000] {
                let (_, got) = echo::in_memory(server, 3, size, 50);
                assert_eq!(got, 50 * size, "{}", server.name());
            }
        }
    }

    /// The hand-written upgrade of the fastwebsockets server and the floor holds no buffer
    /// across an await: its future is part of every connection's task for as long as the
    /// connection lives, so a buffer in it would count in those servers' memory per connection.
    #[test]
    fn the_hand_written_upgrade_keeps_no_buffer_in_the_task() {
        let (mut end, _other) = tokio::io::duplex(64);
        let upgrade = echo::fastws_upgrade(&mut end);
        let size = core::mem::size_of_val(&upgrade);
        assert!(size <= 256, "the upgrade's future is {size} bytes");
    }

    #[test]
    fn every_server_accepts_the_same_request() {
        let request = inputs::upgrade_request();
        assert!(wspc_impl::accept(&request).starts_with(b"HTTP/1.1 101"));
        assert!(tungstenite_impl::accept(&request).starts_with(b"HTTP/1.1 101"));
    }
}
