//! A plain DEFLATE decoder (RFC 1951), written for the tests from the RFC alone: slow and
//! simple, independent of zlib-rs, and it reports what zlib does not: every back-reference's
//! distance, and the type of every block.

/// What a stream decoded to.
#[derive(Debug, Default)]
pub(super) struct Decoded {
    pub(super) data: Vec<u8>,
    /// `(position in data, distance)` of every back-reference.
    pub(super) matches: Vec<(usize, usize)>,
    /// BTYPE of every block: 0 stored, 1 fixed, 2 dynamic.
    pub(super) blocks: Vec<u8>,
}

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn bit(&mut self) -> Result<u32, &'static str> {
        let byte = self.data.get(self.pos / 8).ok_or("out of input")?;
        let b = (byte >> (self.pos % 8)) & 1;
        self.pos += 1;
        Ok(u32::from(b))
    }

    /// `n` bits, least significant first.
    fn bits(&mut self, n: u32) -> Result<u32, &'static str> {
        (0..n).try_fold(0, |v, i| Ok(v | self.bit()? << i))
    }
}

/// A canonical Huffman code (RFC 1951 §3.2.2), decoded bit by bit.
struct Huffman {
    counts: [u16; 16],
    symbols: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Self {
        let mut counts = [0u16; 16];
        for &l in lengths {
            counts[usize::from(l)] += 1;
        }
        counts[0] = 0;
        let mut symbols = Vec::new();
        for len in 1..16 {
            for (sym, &l) in lengths.iter().enumerate() {
                if usize::from(l) == len {
                    symbols.push(sym as u16);
                }
            }
        }
        Self { counts, symbols }
    }

    fn decode(&self, b: &mut Bits<'_>) -> Result<u16, &'static str> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= b.bit()? as i32;
            let count = i32::from(self.counts[len]);
            if code - first < count {
                return Ok(self.symbols[(index + code - first) as usize]);
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err("invalid Huffman code")
    }
}

const LBASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEXT: [u32; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DBASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DEXT: [u32; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// Decodes a raw DEFLATE stream of blocks up to the end of `stream` (which must end on a block
/// boundary) or a block with BFINAL set.
pub(super) fn decode(stream: &[u8]) -> Result<Decoded, &'static str> {
    let mut b = Bits {
        data: stream,
        pos: 0,
    };
    let mut out = Decoded::default();
    while b.pos < 8 * stream.len() {
        let last = b.bit()?;
        let btype = b.bits(2)?;
        out.blocks.push(btype as u8);
        match btype {
            0 => {
                b.pos = b.pos.div_ceil(8) * 8;
                let len = b.bits(16)?;
                if b.bits(16)? != !len & 0xffff {
                    return Err("stored block length mismatch");
                }
                for _ in 0..len {
                    out.data.push(b.bits(8)? as u8);
                }
            }
            1 => {
                let mut lengths = [8u8; 288];
                lengths[144..256].fill(9);
                lengths[256..280].fill(7);
                codes(
                    &mut b,
                    &Huffman::new(&lengths),
                    &Huffman::new(&[5; 30]),
                    &mut out,
                )?;
            }
            2 => {
                let (lit, dist) = dynamic_tables(&mut b)?;
                codes(&mut b, &lit, &dist, &mut out)?;
            }
            _ => return Err("reserved block type"),
        }
        if last == 1 {
            break;
        }
    }
    Ok(out)
}

fn dynamic_tables(b: &mut Bits<'_>) -> Result<(Huffman, Huffman), &'static str> {
    const ORDER: [usize; 19] = [
        16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
    ];
    let nlen = b.bits(5)? as usize + 257;
    let ndist = b.bits(5)? as usize + 1;
    let ncode = b.bits(4)? as usize + 4;
    let mut code_lengths = [0u8; 19];
    for &i in &ORDER[..ncode] {
        code_lengths[i] = b.bits(3)? as u8;
    }
    let code = Huffman::new(&code_lengths);
    let mut lengths = Vec::with_capacity(nlen + ndist);
    while lengths.len() < nlen + ndist {
        let (value, repeat) = match code.decode(b)? {
            sym @ 0..=15 => (sym as u8, 1),
            16 => (
                *lengths.last().ok_or("repeat with no length")?,
                3 + b.bits(2)?,
            ),
            17 => (0, 3 + b.bits(3)?),
            18 => (0, 11 + b.bits(7)?),
            _ => return Err("invalid code length code"),
        };
        lengths.extend(std::iter::repeat_n(value, repeat as usize));
    }
    if lengths.len() != nlen + ndist {
        return Err("code lengths overrun");
    }
    let (lit, dist) = lengths.split_at(nlen);
    Ok((Huffman::new(lit), Huffman::new(dist)))
}

fn codes(
    b: &mut Bits<'_>,
    lit: &Huffman,
    dist: &Huffman,
    out: &mut Decoded,
) -> Result<(), &'static str> {
    loop {
        let sym = usize::from(lit.decode(b)?);
        match sym {
            0..=255 => out.data.push(sym as u8),
            256 => return Ok(()),
            _ => {
                let i = sym - 257;
                let len = usize::from(*LBASE.get(i).ok_or("invalid length code")?)
                    + b.bits(LEXT[i])? as usize;
                let d = usize::from(dist.decode(b)?);
                let distance = usize::from(*DBASE.get(d).ok_or("invalid distance code")?)
                    + b.bits(DEXT[d])? as usize;
                if distance > out.data.len() {
                    return Err("distance before the start");
                }
                out.matches.push((out.data.len(), distance));
                for _ in 0..len {
                    out.data.push(out.data[out.data.len() - distance]);
                }
            }
        }
    }
}

#[test]
fn the_reference_decoder_reads_the_rfc_examples() {
    let hello = decode(&[
        0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00, 0xff, 0xff,
    ])
    .unwrap();
    assert_eq!(
        (&hello.data[..], &hello.blocks[..]),
        (&b"Hello"[..], &[1, 0][..])
    );
    let twice = decode(&[
        0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00, 0xff, 0xff, 0xf2, 0x00, 0x11, 0x00,
        0x00, 0x00, 0x00, 0xff, 0xff,
    ])
    .unwrap();
    assert_eq!(twice.data, b"HelloHello");
    // A literal H, then "ello" from 5 bytes back.
    assert_eq!(twice.matches, [(6, 5)]);
    let stored = decode(&[0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f]).unwrap();
    assert_eq!(
        (&stored.data[..], &stored.blocks[..]),
        (&b"Hello"[..], &[0][..])
    );
}
