//! `capi`: arbitrary sequences of the 13 `websocket.h` functions on real handles, with arbitrary
//! arguments (NULL pointers, wrong sizes and counts, unknown enum values, stale and made-up
//! handles), called exactly as a C program would.
//!
//! This is the one harness that needs `unsafe`: it is a C caller. It upholds the C contract that
//! the functions document (pointers valid for the lengths given, send and receive buffers and
//! caller blocks alive until the handle is deleted) and breaks everything else on purpose.
//!
//! Input: a script of operations (a byte mod 16, then arguments) on four handle slots.
//! Invariants: no crash and no sanitizer report; every result is one of the documented HRESULTs
//! and never `E_FAIL` (which would mean a panic was caught at the boundary); failed calls leave
//! the documented outputs (NULL handle, NULL header array, `NO_ACTION`); returned header arrays
//! are readable and NUL-terminated; `INDICATE_*` actions carry the contexts of the sends and
//! receives in FIFO order, and after an abort every accepted operation completes; calls on deleted
//! or made-up handles fail with `E_INVALIDARG` (or `E_POINTER` for a missing out-pointer); once
//! every handle is deleted the heap is back where it started (no leak, with a counting allocator).
#![allow(unsafe_code)]

use super::{heap, Reader, BYTES_PER_INPUT};
use capi::*;
use core::ffi::c_char;
use std::collections::VecDeque;
use std::ptr::{self, null, null_mut};
use wspc::error::HResult;

const SLOTS: usize = 4;
const MAX_HANDLES: usize = 8;

/// Every HRESULT the C ABI documents, but `E_FAIL`.
const RESULTS: [HResult; 10] = [
    HResult::S_OK,
    HResult::E_INVALID_PROTOCOL_OPERATION,
    HResult::E_INVALID_PROTOCOL_FORMAT,
    HResult::E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED,
    HResult::E_SUBPROTOCOL_NOT_SUPPORTED,
    HResult::E_PROTOCOL_VERSION_NOT_SUPPORTED,
    HResult::E_INVALIDARG,
    HResult::E_OUTOFMEMORY,
    HResult::E_POINTER,
    HResult::E_NOT_SUFFICIENT_BUFFER,
];

fn check(hr: HRESULT) -> HRESULT {
    assert_ne!(hr, E_FAIL, "E_FAIL: a panic was caught at the C boundary");
    assert!(
        RESULTS.iter().any(|r| r.0 == hr),
        "undocumented HRESULT {hr:#x}"
    );
    hr
}

fn pv(n: usize) -> PVOID {
    ptr::without_provenance_mut(n)
}

/// A sentinel the functions must not write where they promise not to.
const UNTOUCHED: usize = 0x5EA1;

/// An action handed out and not completed yet.
#[derive(Clone, Copy, Debug)]
struct Pending {
    context: PVOID,
    read: Option<(*mut u8, usize)>,
}

#[derive(Debug, Default)]
struct Slot {
    h: Option<WEB_SOCKET_HANDLE>,
    live: bool,
    /// Contexts of accepted sends and receives, in order.
    sends: VecDeque<usize>,
    recvs: VecDeque<usize>,
    /// Bytes waiting to be read by this handle, and bytes it wrote.
    inbox: Vec<u8>,
    outbox: Vec<u8>,
    /// The headers its last `Begin*Handshake` returned, copied.
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    pending: Vec<Pending>,
}

impl Slot {
    fn forget(&mut self) {
        self.live = false;
        self.sends.clear();
        self.recvs.clear();
        self.pending.clear();
    }
}

/// Memory handed to the library: kept until every handle is deleted. Strings and small buffers
/// are carved from chunks that never move (a chunk is never grown past its capacity), and the
/// chunks are kept for the next input on this thread, so an input costs no allocation for them.
#[derive(Default)]
struct Arena {
    chunks: Vec<Vec<u8>>,
    /// The chunk being carved.
    at: usize,
    blocks: Vec<Box<[u64]>>,
}

/// The size of an arena chunk (a longer request gets a chunk of its own).
const CHUNK: usize = 16 * 1024;

thread_local! {
    /// The arena chunks of the previous input, emptied.
    static SPARE: core::cell::RefCell<Vec<Vec<u8>>> = const { core::cell::RefCell::new(Vec::new()) };
}

impl Arena {
    fn new() -> Self {
        let chunks = SPARE.with(|s| core::mem::take(&mut *s.borrow_mut()));
        Self {
            chunks,
            at: 0,
            blocks: Vec::new(),
        }
    }

    /// The bytes of every chunk's allocation.
    fn capacity(&self) -> usize {
        self.chunks.iter().map(Vec::capacity).sum()
    }

    fn bytes(&mut self, data: &[u8]) -> *mut u8 {
        self.joined(&[data])
    }

    /// `parts` one after the other in one carved region; its start.
    fn joined(&mut self, parts: &[&[u8]]) -> *mut u8 {
        let n: usize = parts.iter().map(|p| p.len()).sum();
        loop {
            if self.at == self.chunks.len() {
                self.chunks.push(Vec::with_capacity(CHUNK.max(n)));
            }
            let chunk = &mut self.chunks[self.at];
            if chunk.capacity() - chunk.len() >= n {
                let start = chunk.len();
                parts.iter().for_each(|p| chunk.extend_from_slice(p));
                return chunk[start..].as_mut_ptr();
            }
            self.at += 1;
        }
    }

    /// A NUL-terminated copy.
    fn c_str(&mut self, s: &[u8]) -> *const c_char {
        self.joined(&[s, &[0]]).cast::<c_char>().cast_const()
    }

    /// Every handle is deleted: keep the chunks (emptied) for the next input.
    fn recycle(mut self) {
        self.chunks.iter_mut().for_each(Vec::clear);
        SPARE.with(|s| *s.borrow_mut() = core::mem::take(&mut self.chunks));
    }
}

struct Harness {
    slots: [Slot; SLOTS],
    arena: Arena,
    handles: Vec<WEB_SOCKET_HANDLE>,
    next_ctx: usize,
}

/// Reads a returned header array: readable for the lengths given, NUL-terminated (§9 Q16).
///
/// # Safety
/// `headers` is what a `Begin*Handshake` call just returned.
unsafe fn read_headers(
    headers: *mut WEB_SOCKET_HTTP_HEADER,
    count: ULONG,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    if count == 0 {
        return Vec::new();
    }
    assert!(!headers.is_null(), "{count} headers at NULL");
    // SAFETY: the library returns `count` headers, valid until the handshake ends.
    let list = unsafe { std::slice::from_raw_parts(headers, count as usize) };
    list.iter()
        .map(|h| {
            // SAFETY: each string is valid for its length plus the NUL (§9 Q16).
            let (name, value) = unsafe {
                (
                    std::slice::from_raw_parts(h.pcName.cast::<u8>(), h.ulNameLength as usize + 1),
                    std::slice::from_raw_parts(
                        h.pcValue.cast::<u8>(),
                        h.ulValueLength as usize + 1,
                    ),
                )
            };
            assert_eq!(
                (name.last(), value.last()),
                (Some(&0), Some(&0)),
                "not NUL-terminated"
            );
            (
                name[..name.len() - 1].to_vec(),
                value[..value.len() - 1].to_vec(),
            )
        })
        .collect()
}

impl Harness {
    fn ctx(&mut self) -> usize {
        self.next_ctx += 1;
        self.next_ctx
    }

    /// The handle for an operation: a slot's (live or stale), NULL, or a made-up value.
    fn handle(&self, r: &mut Reader<'_>) -> (Option<usize>, WEB_SOCKET_HANDLE) {
        let b = r.u8();
        match b % 8 {
            i @ 0..4 => {
                let i = usize::from(i);
                (Some(i), self.slots[i].h.unwrap_or(null_mut()))
            }
            4 => (None, null_mut()),
            _ => (None, pv(0xDEAD_0000 + usize::from(b))),
        }
    }

    /// After a call on `slot` that returned `hr`: a deleted, missing or made-up handle must fail.
    fn expect_dead(&self, slot: Option<usize>, hr: HRESULT) {
        let live = slot.is_some_and(|i| self.slots[i].live);
        if !live {
            assert!(
                hr == E_INVALIDARG || hr == E_POINTER,
                "{hr:#x} on a dead handle"
            );
        }
    }

    fn properties(&mut self, r: &mut Reader<'_>) -> (Vec<WEB_SOCKET_PROPERTY>, bool) {
        let n = r.u8() % 4;
        let mut props = Vec::new();
        let mut sizes = [4096u32, 4096];
        for _ in 0..n {
            let ty = r.u8();
            let ctl = r.u8();
            let value = u32::from(r.u16()) * 2;
            let size: ULONG = [4, 4, 4, 0, 8, 1, 4, 4][usize::from(ctl % 8)];
            // 0–7 (5 and 6 are global-only, 7 unknown), or one less from 128 up (so -1 too);
            // wspc's own permessage-deflate for one type byte in eight (its ULONG: 0, 1 or 2,
            // the last refused).
            let (kind, value) = if ty & 0x70 == 0x70 {
                (
                    wspc::properties::PERMESSAGE_DEFLATE_PROPERTY_TYPE,
                    value / 2 % 3,
                )
            } else {
                (i32::from(ty % 8) - i32::from(ty >> 7), value)
            };
            if let Ok(k @ 0..=1) = usize::try_from(kind) {
                sizes[k] = value;
            }
            let pv_value = if kind == 3 {
                // ALLOCATED_BUFFER: pvValue points at the block's address.
                let need = (sizes[0] + sizes[1] + 144) as usize;
                let words = (need / 8 + 2).min(1 << 15);
                let block = vec![0u64; words].into_boxed_slice();
                let misalign = usize::from(ctl >> 6);
                let base = block
                    .as_ptr()
                    .cast::<u8>()
                    .cast_mut()
                    .wrapping_add(misalign);
                self.arena.blocks.push(block);
                let holder = self.arena.bytes(&(base as usize).to_ne_bytes());
                let len = match (ctl >> 3) % 4 {
                    0 => need,
                    1 => need.saturating_sub(1),
                    2 => 0,
                    _ => words * 8 - misalign,
                };
                props.push(WEB_SOCKET_PROPERTY {
                    Type: WEB_SOCKET_PROPERTY_TYPE(3),
                    pvValue: holder.cast(),
                    ulValueSize: len.min(words * 8 - misalign) as ULONG,
                });
                continue;
            } else if ctl & 0x40 != 0 {
                null_mut()
            } else {
                self.arena.bytes(&value.to_ne_bytes()).cast()
            };
            props.push(WEB_SOCKET_PROPERTY {
                Type: WEB_SOCKET_PROPERTY_TYPE(kind),
                pvValue: pv_value,
                ulValueSize: size,
            });
        }
        let null_array = r.u8().is_multiple_of(16);
        (props, null_array)
    }

    fn create(&mut self, r: &mut Reader<'_>, server: bool) {
        let i = usize::from(r.u8()) % SLOTS;
        let (props, null_array) = self.properties(r);
        let null_out = r.u8().is_multiple_of(32);
        if self.handles.len() >= MAX_HANDLES {
            return;
        }
        let mut h: WEB_SOCKET_HANDLE = pv(UNTOUCHED);
        let array = if null_array { null() } else { props.as_ptr() };
        let out = if null_out {
            null_mut()
        } else {
            &mut h as *mut _
        };
        // SAFETY: the properties point at arena memory valid for their sizes (or NULL), blocks
        // outlive the handle, and `out` is NULL or writable.
        let hr = check(unsafe {
            if server {
                WebSocketCreateServerHandle(array, props.len() as ULONG, out)
            } else {
                WebSocketCreateClientHandle(array, props.len() as ULONG, out)
            }
        });
        if null_out {
            assert_eq!(hr, E_POINTER);
            return;
        }
        if hr != S_OK {
            assert!(h.is_null(), "a failed create left a handle");
            return;
        }
        assert!(!h.is_null());
        self.handles.push(h);
        let slot = &mut self.slots[i];
        *slot = Slot {
            h: Some(h),
            live: true,
            ..Slot::default()
        };
    }

    fn strings(&mut self, r: &mut Reader<'_>) -> (Vec<*const c_char>, bool) {
        let n = r.u8() % 4;
        let mut out = Vec::new();
        for _ in 0..n {
            let len = usize::from(r.u8() % 24);
            out.push(self.arena.c_str(r.bytes(len)));
        }
        let null_array = r.u8().is_multiple_of(16);
        (out, null_array)
    }

    /// Headers: a slot's last output (plus `Host`), or made up from the input.
    fn header_list(&mut self, r: &mut Reader<'_>) -> Vec<WEB_SOCKET_HTTP_HEADER> {
        let ctl = r.u8();
        let Self { slots, arena, .. } = self;
        // Copied into the arena straight from where they are: no intermediate copies.
        let mut header = |n: &[u8], v: &[u8]| WEB_SOCKET_HTTP_HEADER {
            pcName: arena.bytes(n).cast(),
            ulNameLength: n.len() as ULONG,
            pcValue: arena.bytes(v).cast(),
            ulValueLength: v.len() as ULONG,
        };
        let mut out = Vec::new();
        if ctl & 4 == 0 {
            let last = &slots[usize::from(ctl) % SLOTS].headers;
            out.extend(last.iter().map(|(n, v)| header(n, v)));
            out.push(header(b"Host", b"fuzz"));
        }
        for _ in 0..(ctl >> 5) {
            let (n, v) = (usize::from(r.u8() % 32), usize::from(r.u8() % 64));
            let (n, v) = (r.bytes(n), r.bytes(v));
            out.push(header(n, v));
        }
        out
    }

    fn begin_client(&mut self, r: &mut Reader<'_>) {
        let (slot, h) = self.handle(r);
        let (subs, null_subs) = self.strings(r);
        let (exts, null_exts) = self.strings(r);
        let initial = self.header_list(r);
        let null_out = r.u8().is_multiple_of(32);
        let mut headers: *mut WEB_SOCKET_HTTP_HEADER = pv(UNTOUCHED).cast();
        let mut count: ULONG = 77;
        // SAFETY: the arrays hold the counts given (or are NULL), strings are NUL-terminated,
        // headers point at arena bytes of their lengths, the outputs are writable or NULL.
        let hr = check(unsafe {
            WebSocketBeginClientHandshake(
                h,
                if null_subs { null() } else { subs.as_ptr() },
                subs.len() as ULONG,
                if null_exts { null() } else { exts.as_ptr() },
                exts.len() as ULONG,
                initial.as_ptr(),
                initial.len() as ULONG,
                if null_out { null_mut() } else { &mut headers },
                &mut count,
            )
        });
        self.begun(slot, hr, null_out, headers, count);
    }

    /// The checks after `WebSocketBegin{Client,Server}Handshake`, the same for both: a dead
    /// handle is refused, a NULL output is `E_POINTER`, a success hands out a header list (kept
    /// for the slot), a failure leaves the outputs empty.
    fn begun(
        &mut self,
        slot: Option<usize>,
        hr: HRESULT,
        null_out: bool,
        headers: *mut WEB_SOCKET_HTTP_HEADER,
        count: ULONG,
    ) {
        self.expect_dead(slot, hr);
        if null_out {
            assert_eq!(hr, E_POINTER);
        } else if hr == S_OK {
            // SAFETY: just returned by a successful Begin*Handshake.
            let list = unsafe { read_headers(headers, count) };
            if let Some(i) = slot {
                self.slots[i].headers = list;
            }
        } else {
            assert!(headers.is_null() && count == 0, "outputs of a failed begin");
        }
    }

    fn end_client(&mut self, r: &mut Reader<'_>) {
        let (slot, h) = self.handle(r);
        let response = self.header_list(r);
        let ctl = r.u8();
        let mut selected = [0 as ULONG; 4];
        let mut count: ULONG = ULONG::from(ctl % 5);
        let mut sub: ULONG = 99;
        // SAFETY: the headers point at arena bytes; `selected` has room for 4 >= count values.
        let hr = check(unsafe {
            WebSocketEndClientHandshake(
                h,
                response.as_ptr(),
                response.len() as ULONG,
                if ctl & 0x10 != 0 {
                    null_mut()
                } else {
                    selected.as_mut_ptr()
                },
                if ctl & 0x20 != 0 {
                    null_mut()
                } else {
                    &mut count
                },
                if ctl & 0x40 != 0 {
                    null_mut()
                } else {
                    &mut sub
                },
            )
        });
        self.expect_dead(slot, hr);
    }

    fn begin_server(&mut self, r: &mut Reader<'_>) {
        let (slot, h) = self.handle(r);
        let ctl = r.u8();
        let sub = if ctl & 1 != 0 {
            let s = r.bytes(usize::from(ctl >> 4)).to_vec();
            self.arena.c_str(&s)
        } else {
            null()
        };
        let (exts, null_exts) = self.strings(r);
        let request = self.header_list(r);
        let null_out = ctl & 2 != 0 && r.u8().is_multiple_of(16);
        let mut headers: *mut WEB_SOCKET_HTTP_HEADER = pv(UNTOUCHED).cast();
        let mut count: ULONG = 77;
        // SAFETY: as for the client.
        let hr = check(unsafe {
            WebSocketBeginServerHandshake(
                h,
                sub,
                if null_exts { null() } else { exts.as_ptr() },
                exts.len() as ULONG,
                request.as_ptr(),
                request.len() as ULONG,
                &mut headers,
                if null_out { null_mut() } else { &mut count },
            )
        });
        self.begun(slot, hr, null_out, headers, count);
    }

    fn send(&mut self, r: &mut Reader<'_>) {
        let (slot, h) = self.handle(r);
        let ty = r.u8();
        let raw = if ty & 0x80 != 0 {
            i32::from(ty) - 128
        } else {
            (0x8000_0000u32 + u32::from(ty % 8)) as i32
        };
        let ctl = r.u8();
        let len = usize::from(r.u8());
        let data = r.bytes(len).to_vec();
        let p = self.arena.bytes(&data);
        let mut buffer = if raw == 0x8000_0004u32 as i32 {
            WEB_SOCKET_BUFFER {
                CloseStatus: WEB_SOCKET_BUFFER_CLOSE_STATUS {
                    pbReason: if data.is_empty() { null_mut() } else { p },
                    ulReasonLength: data.len() as ULONG,
                    usStatus: 1000 + u16::from(ctl) * 17,
                },
            }
        } else {
            WEB_SOCKET_BUFFER {
                Data: WEB_SOCKET_BUFFER_DATA {
                    pbBuffer: if data.is_empty() { null_mut() } else { p },
                    ulBufferLength: data.len() as ULONG,
                },
            }
        };
        let ctx = self.ctx();
        let pbuf = if ctl & 1 != 0 {
            null_mut()
        } else {
            &mut buffer as *mut _
        };
        // SAFETY: the descriptor (or NULL) points at arena bytes, alive until deletion.
        let hr = check(unsafe { WebSocketSend(h, WEB_SOCKET_BUFFER_TYPE(raw), pbuf, pv(ctx)) });
        self.expect_dead(slot, hr);
        if let (S_OK, Some(i)) = (hr, slot) {
            self.slots[i].sends.push_back(ctx);
        }
    }

    fn receive(&mut self, r: &mut Reader<'_>) {
        let (slot, h) = self.handle(r);
        let ctl = r.u8();
        let len = usize::from(ctl >> 1);
        let p = self.arena.bytes(&vec![0; len]);
        let mut buffer = WEB_SOCKET_BUFFER {
            Data: WEB_SOCKET_BUFFER_DATA {
                pbBuffer: if len == 0 && ctl & 1 != 0 {
                    null_mut()
                } else {
                    p
                },
                ulBufferLength: len as ULONG,
            },
        };
        let ctx = self.ctx();
        let pbuf = if ctl & 1 == 0 {
            null_mut()
        } else {
            &mut buffer as *mut _
        };
        // SAFETY: NULL or a descriptor of writable arena bytes, alive until deletion.
        let hr = check(unsafe { WebSocketReceive(h, pbuf, pv(ctx)) });
        self.expect_dead(slot, hr);
        if let (S_OK, Some(i)) = (hr, slot) {
            self.slots[i].recvs.push_back(ctx);
        }
    }

    /// One `WebSocketGetAction` and, unless told to leave it, its I/O and completion.
    fn get_action(&mut self, r: &mut Reader<'_>) -> bool {
        let (slot, h) = self.handle(r);
        let ctl = r.u8();
        let queue = match ctl % 8 {
            0 => 1,
            1 => 2,
            7 => i32::from(ctl),
            _ => 3,
        };
        let short = r.u8();
        self.action(slot, h, queue, ctl, short)
    }

    fn action(
        &mut self,
        slot: Option<usize>,
        h: WEB_SOCKET_HANDLE,
        queue: i32,
        ctl: u8,
        short: u8,
    ) -> bool {
        let capacity = ULONG::from((ctl >> 3) % 3 + u8::from(ctl & 0x20 == 0));
        let empty = WEB_SOCKET_BUFFER {
            Data: WEB_SOCKET_BUFFER_DATA {
                pbBuffer: null_mut(),
                ulBufferLength: 0,
            },
        };
        let mut bufs = [empty; 2];
        let mut count = capacity;
        let mut action = WEB_SOCKET_ACTION(-1);
        let mut bt = WEB_SOCKET_BUFFER_TYPE(-1);
        let mut app: PVOID = pv(UNTOUCHED);
        let mut actx: PVOID = pv(UNTOUCHED);
        let null_app = ctl & 0x40 != 0;
        // SAFETY: `bufs` has room for 2 >= capacity buffers; the outputs are writable or NULL.
        let hr = check(unsafe {
            WebSocketGetAction(
                h,
                WEB_SOCKET_ACTION_QUEUE(queue),
                bufs.as_mut_ptr(),
                &mut count,
                &mut action,
                &mut bt,
                if null_app { null_mut() } else { &mut app },
                &mut actx,
            )
        });
        self.expect_dead(slot, hr);
        if hr != S_OK {
            assert_eq!((action, count), (WEB_SOCKET_ACTION::NO_ACTION, 0));
            assert!(actx.is_null());
            return false;
        }
        let Some(i) = slot else {
            unreachable!("S_OK on a made-up handle");
        };
        assert!(count <= capacity.max(1) && count <= 2);
        if action == WEB_SOCKET_ACTION::NO_ACTION {
            assert_eq!(count, 0);
            assert!(actx.is_null() && app.addr() == UNTOUCHED);
            return false;
        }
        assert!(!actx.is_null());
        let leave = short == 0xFF;
        let bufs = &bufs[..count as usize];
        let s = &mut self.slots[i];
        let front = |q: &mut VecDeque<usize>, app: PVOID| {
            let want = q.pop_front().expect("a completion with nothing posted");
            assert!(
                null_app || app.addr() == want,
                "context {:#x}, want {want:#x}",
                app.addr()
            );
        };
        let mut bytes = 0;
        let mut read = None;
        match action.0 {
            1 => {
                // SEND_TO_NETWORK: a frame segment; the context is the front send's, or left
                // untouched for an automatic pong.
                assert!(count >= 1);
                let auto = app.addr() == UNTOUCHED && !null_app;
                if !auto && !null_app {
                    assert_eq!(Some(&app.addr()), s.sends.front());
                }
                for b in bufs {
                    // SAFETY: `Data` is the member for data buffers; each is readable for its
                    // length until the action completes.
                    let d = unsafe { b.Data };
                    if d.ulBufferLength > 0 {
                        // SAFETY: as above.
                        let bytes = unsafe {
                            std::slice::from_raw_parts(d.pbBuffer, d.ulBufferLength as usize)
                        };
                        s.outbox.extend_from_slice(bytes);
                    } else {
                        assert!(d.pbBuffer.is_null());
                    }
                    bytes += d.ulBufferLength;
                }
                if short < 8 {
                    bytes = bytes.saturating_sub(u32::from(short) + 1);
                }
            }
            2 => front(&mut s.sends, app),
            3 => {
                assert_eq!(count, 1);
                // SAFETY: the one buffer of a read is `Data`.
                let d = unsafe { bufs[0].Data };
                assert!(d.ulBufferLength > 0 && !d.pbBuffer.is_null());
                read = Some((d.pbBuffer, d.ulBufferLength as usize));
            }
            4 => {
                assert_eq!(count, 1);
                // SAFETY: `CloseStatus` for a close, else `Data`; readable until completion.
                unsafe {
                    let (p, n) = if bt.0 == 0x8000_0004u32 as i32 {
                        (
                            bufs[0].CloseStatus.pbReason,
                            bufs[0].CloseStatus.ulReasonLength,
                        )
                    } else {
                        (bufs[0].Data.pbBuffer, bufs[0].Data.ulBufferLength)
                    };
                    if n > 0 {
                        let _ = std::slice::from_raw_parts(p, n as usize).to_vec();
                    }
                }
                front(&mut s.recvs, app);
            }
            a => panic!("unknown action {a}"),
        }
        let pending = Pending {
            context: actx,
            read,
        };
        if leave {
            s.pending.push(pending);
            return true;
        }
        self.finish(i, pending, bytes, short);
        true
    }

    /// Complete a pending action: a read gets inbox bytes (0 = end of stream when `eof`).
    fn finish(&mut self, i: usize, p: Pending, mut bytes: ULONG, short: u8) {
        let s = &mut self.slots[i];
        if let Some((buf, len)) = p.read {
            let n = len.min(s.inbox.len());
            if n == 0 && short & 1 == 0 {
                // Nothing to read yet: keep the read for later.
                s.pending.push(p);
                return;
            }
            // SAFETY: the read buffer is writable for `len` bytes until completion (the handle
            // is alive: pending actions are dropped when it is deleted).
            unsafe { ptr::copy_nonoverlapping(s.inbox.as_ptr(), buf, n) };
            s.inbox.drain(..n);
            bytes = n as ULONG;
        }
        WebSocketCompleteAction(s.h.unwrap_or(null_mut()), p.context, bytes);
    }

    fn complete_pending(&mut self, r: &mut Reader<'_>) {
        let i = usize::from(r.u8()) % SLOTS;
        let short = r.u8();
        if let Some(p) = self.slots[i].pending.pop() {
            self.finish(i, p, 0, short);
        } else {
            // A made-up or stale action context: ignored.
            let (_, h) = self.handle(r);
            WebSocketCompleteAction(h, pv(usize::from(short) * 3), u32::from(short));
        }
    }

    fn global(&mut self, r: &mut Reader<'_>) {
        let ty = i32::from(r.u8() % 9) - 1;
        let ctl = r.u8();
        let mut value = [0u32; 4];
        let mut size: ULONG = [0, 2, 4, 8, 16][usize::from(ctl % 5)];
        let given = size;
        let pvalue = if ctl & 0x10 != 0 {
            null_mut()
        } else {
            value.as_mut_ptr().cast()
        };
        let psize = if ctl & 0x20 != 0 {
            null_mut()
        } else {
            &mut size as *mut _
        };
        // SAFETY: `value` is writable for 16 >= size bytes; both pointers writable or NULL.
        let hr = check(unsafe {
            WebSocketGetGlobalProperty(WEB_SOCKET_PROPERTY_TYPE(ty), pvalue, psize)
        });
        if hr == S_OK {
            assert!(size == 4 && given >= 4);
            assert!(ty != 6 || value[0] == 13);
        }
    }

    fn delete(&mut self, r: &mut Reader<'_>) {
        let (slot, h) = self.handle(r);
        WebSocketDeleteHandle(h);
        if let Some(i) = slot {
            self.slots[i].forget();
        }
    }

    fn abort(&mut self, r: &mut Reader<'_>) {
        let (_, h) = self.handle(r);
        WebSocketAbortHandle(h);
    }

    fn end_server(&mut self, r: &mut Reader<'_>) {
        let (slot, h) = self.handle(r);
        let hr = check(WebSocketEndServerHandshake(h));
        self.expect_dead(slot, hr);
    }

    /// Move what slot a wrote into slot b's inbox (or fuzzer bytes into a's inbox).
    fn wire(&mut self, r: &mut Reader<'_>) {
        let ctl = r.u8();
        let (a, b) = (usize::from(ctl) % SLOTS, usize::from(ctl >> 2) % SLOTS);
        if ctl & 0x80 != 0 {
            let len = usize::from(r.u8());
            let bytes = r.bytes(len).to_vec();
            self.slots[a].inbox.extend_from_slice(&bytes);
        } else {
            let out = std::mem::take(&mut self.slots[a].outbox);
            self.slots[b].inbox.extend_from_slice(&out);
        }
    }

    /// Abort every live handle, complete everything it still owes, and delete it.
    fn teardown(&mut self) {
        for i in 0..SLOTS {
            let Some(h) = self.slots[i].h.filter(|_| self.slots[i].live) else {
                continue;
            };
            WebSocketAbortHandle(h);
            while let Some(p) = self.slots[i].pending.pop() {
                // Reads complete with 0 bytes after the abort.
                self.slots[i].inbox.clear();
                self.finish(i, p, 0, 1);
            }
            for _ in 0..10_000 {
                if !self.action(Some(i), h, 3, 0x08, 0xFE) {
                    break;
                }
            }
            // After an abort, every accepted send and receive has completed (an unopened handle
            // has none).
            let s = &self.slots[i];
            assert!(
                s.sends.is_empty() && s.recvs.is_empty(),
                "operations never completed"
            );
            assert!(s.pending.is_empty());
        }
        for &h in &self.handles {
            WebSocketDeleteHandle(h);
        }
        for s in &mut self.slots {
            s.forget();
        }
    }
}

/// Input: operations (a byte mod 16, then arguments) on four handle slots, up to eight handles.
pub fn capi(data: &[u8]) {
    // Like the session harnesses, a bounded amount of work per input: the script's first
    // `BYTES_PER_INPUT` bytes (a few hundred calls), the rest ignored.
    let data = &data[..data.len().min(BYTES_PER_INPUT)];
    let before = heap();
    let pooled_before = SPARE.with(|s| s.borrow().iter().map(Vec::capacity).sum::<usize>());
    let pooled_after;
    {
        let mut r = Reader::new(data);
        let mut h = Harness {
            slots: Default::default(),
            arena: Arena::new(),
            handles: Vec::new(),
            next_ctx: 0x1000,
        };
        while !r.is_empty() {
            match r.u8() % 16 {
                0 => h.create(&mut r, false),
                1 => h.create(&mut r, true),
                2 => h.begin_client(&mut r),
                3 => h.end_client(&mut r),
                4 => h.begin_server(&mut r),
                5 => h.end_server(&mut r),
                6 => h.send(&mut r),
                7 => h.receive(&mut r),
                8 | 9 => {
                    h.get_action(&mut r);
                }
                10 => h.complete_pending(&mut r),
                11 => h.abort(&mut r),
                12 => h.delete(&mut r),
                13 => h.global(&mut r),
                _ => h.wire(&mut r),
            }
        }
        h.teardown();
        // Calls on deleted handles fail, and do not crash.
        for &handle in &h.handles {
            let mut count: ULONG = 1;
            let (mut action, mut bt, mut actx) =
                (WEB_SOCKET_ACTION(0), WEB_SOCKET_BUFFER_TYPE(0), null_mut());
            let mut bufs = [WEB_SOCKET_BUFFER {
                Data: WEB_SOCKET_BUFFER_DATA {
                    pbBuffer: null_mut(),
                    ulBufferLength: 0,
                },
            }];
            // SAFETY: all outputs writable.
            let hr = unsafe {
                WebSocketGetAction(
                    handle,
                    WEB_SOCKET_ACTION_QUEUE(3),
                    bufs.as_mut_ptr(),
                    &mut count,
                    &mut action,
                    &mut bt,
                    null_mut(),
                    &mut actx,
                )
            };
            assert_eq!(hr, E_INVALIDARG);
        }
        pooled_after = h.arena.capacity();
        h.arena.recycle();
    }
    if let (Some(a), Some(b)) = (before, heap()) {
        // The registry may keep one node of its map; nothing per handle survives deletion. The
        // arena's chunks stay for the next input: their growth is not a leak.
        let b = b - (pooled_after as isize - pooled_before as isize);
        assert!(
            b - a <= 1024,
            "{} bytes still allocated after every handle was deleted",
            b - a
        );
    }
}
