//! Memory at the boundary: caller memory seen as engine buffers ([`RawBuf`]), the block a handle
//! allocates itself ([`OwnedBlock`]), the header arrays handed back to C ([`HeaderStore`]), and the
//! readers that turn C arrays and strings into Rust slices.

use super::types::{
    E_INVALIDARG, E_OUTOFMEMORY, E_POINTER, HRESULT, PCSTR, ULONG, WEB_SOCKET_HTTP_HEADER,
};
use core::ffi::{c_char, CStr};
use core::ops::Range;
use core::ptr::{self, NonNull};
use core::slice;
use engine::handshake::{Header, HeaderRef, MAX_HEADER_COUNT};
use engine::session::Buffer;

/// A `u32` length for C. Every length handed to C is bounded by a `ULONG` the caller gave or by a
/// buffer size of at most 65536, so saturation never happens in practice.
pub(super) fn len_u32(n: usize) -> ULONG {
    ULONG::try_from(n).unwrap_or(ULONG::MAX)
}

/// Memory the engine may read and write but does not own: a caller's send payload or receive
/// buffer, a caller's `ALLOCATED_BUFFER` block, or an [`OwnedBlock`].
///
/// Invariant: `len == 0`, or `ptr` is valid for reads and writes of `len` bytes for as long as the
/// engine holds the `RawBuf` (the caller's contract from spec §6.5: send and receive buffers until
/// the matching `INDICATE_*_COMPLETE`, the block until the handle is deleted).
#[derive(Debug)]
pub(super) struct RawBuf {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: a `RawBuf` is a pointer and a length; the memory it names is only accessed under the
// handle's mutex, from whichever thread holds it, and the C caller promised it stays valid until
// the engine gives the buffer back, whichever thread that happens on.
unsafe impl Send for RawBuf {}

impl RawBuf {
    /// Caller memory `ptr[..len]`. A NULL `ptr` is allowed only with `len == 0`.
    ///
    /// # Safety
    /// `ptr` must satisfy the type invariant for as long as the engine holds the result.
    pub(super) unsafe fn new(ptr: *mut u8, len: ULONG) -> Result<Self, HRESULT> {
        if ptr.is_null() && len != 0 {
            return Err(E_POINTER);
        }
        Ok(Self {
            ptr,
            len: len as usize,
        })
    }
}

impl RawBuf {
    /// The base of this memory, for [`BlockBase::rebase`].
    pub(super) fn base(&self) -> BlockBase {
        BlockBase {
            ptr: self.ptr,
            len: self.len,
        }
    }
}

impl Buffer for RawBuf {
    fn len(&self) -> usize {
        self.len
    }

    fn bytes(&self, range: Range<usize>) -> &[u8] {
        assert!(
            range.start <= range.end && range.end <= self.len,
            "range outside the buffer"
        );
        if range.is_empty() {
            return &[];
        }
        // SAFETY: non-zero `len` implies a non-NULL `ptr` valid for `len` bytes (type invariant),
        // and the range lies within them (checked above). Only these bytes are borrowed, so other
        // ranges of the same block may be in use by the caller on another thread.
        unsafe { slice::from_raw_parts(self.ptr.add(range.start), range.len()) }
    }

    fn bytes_mut(&mut self, range: Range<usize>) -> &mut [u8] {
        assert!(
            range.start <= range.end && range.end <= self.len,
            "range outside the buffer"
        );
        if range.is_empty() {
            return &mut [];
        }
        // SAFETY: as in `bytes`, and the memory is writable (type invariant); `&mut self` keeps
        // this the only slice made from this `RawBuf` at a time.
        unsafe { slice::from_raw_parts_mut(self.ptr.add(range.start), range.len()) }
    }

    fn addr(&self) -> usize {
        self.ptr.addr()
    }
}

/// The base pointer and length of a handle's block, kept by the shell beside the session.
///
/// Pointers into the block are handed to C re-derived from this base ([`rebase`](Self::rebase))
/// rather than taken from the engine's slices: the engine borrows the whole block afresh for
/// each call, which under Rust's aliasing rules would end the validity of a pointer derived from
/// an earlier borrow while the caller (maybe on another thread) still uses it. A pointer carrying
/// the base's own provenance stays valid for as long as the block does.
#[derive(Clone, Copy, Debug)]
pub(super) struct BlockBase {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: an address and a length, only used to derive pointers handed to C (never dereferenced
// here); the memory it names is owned as described on `RawBuf`.
unsafe impl Send for BlockBase {}

impl BlockBase {
    /// `p`, re-derived from the block's base if it points into the block; any other pointer
    /// (the caller's own payload or receive buffer) is returned as it is.
    pub(super) fn rebase(self, p: *mut u8) -> *mut u8 {
        let offset = p.addr().wrapping_sub(self.ptr.addr());
        if offset < self.len {
            self.ptr.wrapping_add(offset)
        } else {
            p
        }
    }
}

/// The memory block of a handle created without `ALLOCATED_BUFFER`: 8-byte aligned, zeroed, freed
/// when the handle is deleted (after its session, which only holds a [`RawBuf`] into it).
#[derive(Debug)]
pub(super) struct OwnedBlock {
    words: NonNull<u64>,
    count: usize,
    len: usize,
}

// SAFETY: the block is uniquely owned by this value (never aliased except through the `RawBuf`
// the same handle holds under the same mutex); freeing it from another thread is fine.
unsafe impl Send for OwnedBlock {}

impl OwnedBlock {
    /// A block of at least `len` bytes; `E_OUTOFMEMORY` if it cannot be allocated.
    pub(super) fn new(len: usize) -> Result<Self, HRESULT> {
        let count = len.div_ceil(8).max(1);
        let mut v: Vec<u64> = Vec::new();
        v.try_reserve_exact(count).map_err(|_| E_OUTOFMEMORY)?;
        v.resize(count, 0);
        let boxed = v.into_boxed_slice();
        let words = NonNull::new(Box::into_raw(boxed).cast::<u64>()).ok_or(E_OUTOFMEMORY)?;
        Ok(Self { words, count, len })
    }

    /// The block as engine memory.
    pub(super) fn raw(&self) -> RawBuf {
        RawBuf {
            ptr: self.words.as_ptr().cast::<u8>(),
            len: self.len,
        }
    }
}

impl Drop for OwnedBlock {
    fn drop(&mut self) {
        let slice = ptr::slice_from_raw_parts_mut(self.words.as_ptr(), self.count);
        // SAFETY: `slice` is exactly the `Box<[u64]>` leaked in `new`, freed only here, once.
        drop(unsafe { Box::from_raw(slice) });
    }
}

/// Headers returned by a `Begin*Handshake`: NUL-terminated copies (§9 Q16) and the
/// `WEB_SOCKET_HTTP_HEADER` array pointing into them, kept by the handle until the end of the
/// handshake, its first session call, or its deletion.
#[derive(Debug)]
pub(super) struct HeaderStore {
    /// `name\0value\0` for every header, in order. Never touched after construction, so the
    /// pointers in `array` stay valid (moving a `Vec` does not move its heap buffer).
    _bytes: Vec<u8>,
    array: Vec<WEB_SOCKET_HTTP_HEADER>,
}

// SAFETY: the raw pointers in `array` point into `_bytes`, owned by the same value and never
// mutated after construction; nothing is thread-bound.
unsafe impl Send for HeaderStore {}

impl HeaderStore {
    pub(super) fn new(headers: &[Header]) -> Self {
        let total = headers
            .iter()
            .map(|h| h.name.len() + h.value.len() + 2)
            .sum();
        let mut bytes = Vec::with_capacity(total);
        let mut spans = Vec::with_capacity(headers.len());
        for h in headers {
            let name = bytes.len();
            bytes.extend_from_slice(h.name.as_bytes());
            bytes.push(0);
            let value = bytes.len();
            bytes.extend_from_slice(h.value.as_bytes());
            bytes.push(0);
            spans.push((name, h.name.len(), value, h.value.len()));
        }
        let base = bytes.as_mut_ptr().cast::<c_char>();
        let array = spans
            .into_iter()
            .map(
                |(name, name_len, value, value_len)| WEB_SOCKET_HTTP_HEADER {
                    pcName: base.wrapping_add(name),
                    ulNameLength: len_u32(name_len),
                    pcValue: base.wrapping_add(value),
                    ulValueLength: len_u32(value_len),
                },
            )
            .collect();
        Self {
            _bytes: bytes,
            array,
        }
    }

    /// The array and its length, for the C out-parameters.
    pub(super) fn as_c(&mut self) -> (*mut WEB_SOCKET_HTTP_HEADER, ULONG) {
        (self.array.as_mut_ptr(), len_u32(self.array.len()))
    }
}

/// A C array of `count` elements. NULL is allowed only with `count == 0` (else `E_POINTER`).
///
/// # Safety
/// A non-NULL `ptr` must point to `count` initialised `T`s that outlive `'a`.
pub(super) unsafe fn c_array<'a, T>(ptr: *const T, count: ULONG) -> Result<&'a [T], HRESULT> {
    if count == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(E_POINTER);
    }
    // SAFETY: non-NULL and valid for `count` elements (function contract).
    Ok(unsafe { slice::from_raw_parts(ptr, count as usize) })
}

/// A byte string given as pointer and length (NULL allowed only with length 0).
///
/// # Safety
/// As [`c_array`].
unsafe fn c_bytes<'a>(ptr: *const c_char, len: ULONG) -> Result<&'a [u8], HRESULT> {
    // SAFETY: forwarded contract.
    unsafe { c_array(ptr.cast::<u8>(), len) }
}

/// A NUL-terminated string that must be UTF-8 (else `E_INVALIDARG`); NULL is `E_POINTER`.
///
/// # Safety
/// A non-NULL `s` must point to a NUL-terminated string that outlives `'a`.
pub(super) unsafe fn c_str<'a>(s: PCSTR) -> Result<&'a str, HRESULT> {
    if s.is_null() {
        return Err(E_POINTER);
    }
    // SAFETY: non-NULL and NUL-terminated (function contract).
    let s = unsafe { CStr::from_ptr(s) };
    s.to_str().map_err(|_| E_INVALIDARG)
}

/// An array of `count` strings (`PCSTR *`), each non-NULL and UTF-8.
///
/// # Safety
/// `arr` as for [`c_array`], each entry as for [`c_str`].
pub(super) unsafe fn c_strs<'a>(arr: *const PCSTR, count: ULONG) -> Result<Vec<&'a str>, HRESULT> {
    // SAFETY: forwarded contract.
    let entries = unsafe { c_array(arr, count) }?;
    entries
        .iter()
        // SAFETY: forwarded contract.
        .map(|&s| unsafe { c_str(s) })
        .collect()
}

/// An array of input headers. At most `MAX_HEADER_COUNT + 1` are converted: the engine refuses
/// any list longer than `MAX_HEADER_COUNT` before looking at it, and this keeps the work bounded
/// whatever count the caller passes.
///
/// # Safety
/// `arr` as for [`c_array`], and each header's name and value as for [`c_bytes`].
pub(super) unsafe fn c_headers<'a>(
    arr: *const WEB_SOCKET_HTTP_HEADER,
    count: ULONG,
) -> Result<Vec<HeaderRef<'a>>, HRESULT> {
    // SAFETY: forwarded contract.
    let headers = unsafe { c_array(arr, count) }?;
    headers
        .iter()
        .take(MAX_HEADER_COUNT + 1)
        .map(|h| {
            // SAFETY: forwarded contract.
            let name = unsafe { c_bytes(h.pcName, h.ulNameLength) }?;
            // SAFETY: forwarded contract.
            let value = unsafe { c_bytes(h.pcValue, h.ulValueLength) }?;
            Ok(HeaderRef { name, value })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_store_is_nul_terminated_and_stable() {
        let headers = [
            Header {
                name: "Upgrade".into(),
                value: "websocket".into(),
            },
            Header {
                name: "X".into(),
                value: String::new(),
            },
        ];
        let mut store = HeaderStore::new(&headers);
        let (ptr, n) = store.as_c();
        let moved = store;
        assert_eq!(n, 2);
        // SAFETY: `ptr` points to the 2 headers owned by `moved`, alive here.
        let arr = unsafe { slice::from_raw_parts(ptr, 2) };
        for (c, h) in arr.iter().zip(&headers) {
            // SAFETY: the strings are NUL-terminated copies owned by `moved`.
            let name = unsafe { CStr::from_ptr(c.pcName) };
            // SAFETY: as above.
            let value = unsafe { CStr::from_ptr(c.pcValue) };
            assert_eq!(name.to_bytes(), h.name.as_bytes());
            assert_eq!(value.to_bytes(), h.value.as_bytes());
            assert_eq!(c.ulNameLength as usize, h.name.len());
            assert_eq!(c.ulValueLength as usize, h.value.len());
        }
        drop(moved);
    }

    #[test]
    fn null_needs_zero_length() {
        // SAFETY: NULL with count 0 is never dereferenced.
        assert_eq!(unsafe { c_array::<u8>(ptr::null(), 0) }, Ok(&[][..]));
        // SAFETY: NULL with a count is refused before any access.
        assert_eq!(unsafe { c_array::<u8>(ptr::null(), 3) }, Err(E_POINTER));
        // SAFETY: as above.
        assert_eq!(unsafe { c_str(ptr::null()) }, Err(E_POINTER));
        // SAFETY: a static NUL-terminated string.
        assert_eq!(unsafe { c_str(c"\xff".as_ptr()) }, Err(E_INVALIDARG));
        let block = OwnedBlock::new(100).unwrap();
        let mut raw = block.raw();
        assert_eq!(raw.bytes_mut(0..100).len(), 100);
        assert_eq!(raw.addr() % 8, 0);
    }
}
