//! Property 2 of issue 7: chunking invariance.
//!
//! One byte stream from a peer (valid, or with mutations that make it fail) is fed to a wspc handle
//! in random reads (1 byte up to the whole stream), with a random receive buffer size (256 B to
//! 64 KiB) and sometimes a caller receive buffer; what comes out must not depend on the split: the
//! same messages (concatenated), pongs received, pong replies written, and the same error.

use proptest::prelude::*;
use wspc::Property;
use wspc_testkit::pair::open_seeded;
use wspc_testkit::prop::*;
use wspc_testkit::stream::*;

proptest! {
    #![proptest_config(config(2048))]

    #[test]
    fn the_split_does_not_matter(
        to in role(),
        spec in stream_spec(4),
        mutations in proptest::collection::vec(mutation(), 0..=2),
        rbs in receive_buffer_size(),
        reads in read_sizes(),
        caller_buffer in prop_oneof![3 => Just(None), 1 => (1usize..=2048).prop_map(Some)],
        eof in prop_oneof![3 => Just(true), 1 => Just(false)],
        seed in any::<u64>(),
    ) {
        let mut frames = spec.frames(to);
        let bytes = mutate(&mut frames, &mutations, to);

        // The reference: the biggest buffer, the whole stream in one read where it fits.
        let mut ws = open_seeded(to, &[Property::ReceiveBufferSize(65536)], seed);
        let whole = receive_stream(&mut ws, &bytes, &Feed { eof, ..Feed::whole() });

        let mut ws = open_seeded(to, &[Property::ReceiveBufferSize(rbs)], seed);
        let feed = Feed { reads: reads.clone(), eof, caller_buffer };
        let split = receive_stream(&mut ws, &bytes, &feed);

        prop_assert_eq!(&split.events, &whole.events);
        prop_assert_eq!(&split.end, &whole.end);
        prop_assert_eq!(split.pongs(), whole.pongs());
        // A message cut short by an error (or the end of input) was delivered as far as the
        // bytes allowed: both runs delivered prefixes of the same message.
        match (&split.partial, &whole.partial) {
            (Some((t1, a)), Some((t2, b))) => {
                prop_assert_eq!(t1, t2);
                prop_assert!(a.starts_with(b) || b.starts_with(a), "{:?} / {:?}", a, b);
            }
            (None, None) => {}
            (Some((_, a)), None) | (None, Some((_, a))) => prop_assert!(
                a.is_empty() || !matches!(whole.end, End::Closed),
                "one run delivered part of a message the other did not: {:?}", a
            ),
        }
        // No piece is bigger than the buffer it was delivered in.
        prop_assert!(split.max_piece <= caller_buffer.unwrap_or(usize::MAX).min(rbs as usize));
    }
}
