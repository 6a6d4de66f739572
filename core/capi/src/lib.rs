//! The C ABI of `websocket.h`: the 13 `WebSocket*` exports of `libwspc.so` / `libwspc.a`, with the
//! exact Windows names, types and values (header: `core/capi/include/websocket.h`).
//!
//! This crate (`wspc-capi`, whose library is named `wspc` so that the C libraries keep their
//! names) is a thin shell over the engine crate `wspc` ([`Session`]): each export checks its pointers, converts C
//! arrays and strings into Rust slices, makes one call on the session and converts the result
//! back. There is no second engine here. A handle's session is a `Session<RawBuf, usize>` over
//! caller memory (`RawBuf`) with the `PVOID` context carried as an address.
//!
//! # Handles
//!
//! A `WEB_SOCKET_HANDLE` is an opaque id, never a pointer: a registry maps live ids to handles, and
//! ids are never reused. A value that was never returned by `WebSocketCreate*Handle`, or that was
//! deleted, gets `E_INVALIDARG` (NULL included) instead of undefined behaviour; the three `VOID`
//! functions ignore it. Each handle is internally synchronised by a mutex held only for the
//! duration of one call, never across the caller's I/O (spec §6.5, §9 Q17): one thread may drive
//! the send queue while another drives the receive queue. Deleting a handle while another thread
//! is still inside a call on it is safe (that call finishes on the handle it found).
//!
//! # Decisions at the boundary
//!
//! - Argument errors: a NULL pointer that is required, or NULL with a non-zero length or count, is
//!   `E_POINTER`; unknown enum values, wrong property sizes, global-only property types given to
//!   `Create*Handle`, duplicate properties and strings that are not UTF-8 are `E_INVALIDARG`.
//!   Every other failure is the engine's [`Error::hresult`].
//! - `E_FAIL` is returned only if a panic was caught at the boundary (no panic ever unwinds into
//!   C; the handle is unusable afterwards) or the operating system's random source failed.
//! - Outputs on failure: `*phWebSocket` is set to NULL, the `Begin*Handshake` outputs to NULL and
//!   0, and `WebSocketGetAction` reports `WEB_SOCKET_NO_ACTION` with no buffers and a NULL action
//!   context, so loops written like the Windows SDK sample stay well-defined.
//! - `WebSocketGetAction` writes a buffer type of 0 (what .NET calls `BufferType.None`) for
//!   `NO_ACTION` and `RECEIVE_FROM_NETWORK`. With `NO_ACTION` it writes a count of 0 and a NULL
//!   action context; `*pvApplicationContext` is left untouched for `NO_ACTION` and for an automatic
//!   pong (spec §5.8).
//! - A buffer of length 0 is always returned with a NULL pointer.
//! - `INDICATE_SEND_COMPLETE` echoes the descriptor given to `WebSocketSend` (1 buffer, or 0 if
//!   none was given; §9 Q6).
//! - `WebSocketSend(CLOSE)` with a buffer whose `usStatus` is 1005 (`EMPTY`) and no reason sends a
//!   close frame without a body, like a NULL buffer.
//! - `WebSocketEndClientHandshake`: when `pulSelectedExtensionCount` is given, its capacity must be
//!   at least the `ulExtensionCount` given to `WebSocketBeginClientHandshake`, else
//!   `E_NOT_SUFFICIENT_BUFFER` (checked before the handshake is ended; the required count is
//!   written back). `*pulSelectedSubprotocol` is written only when a subprotocol was selected.
//! - Header arrays returned by the `Begin*Handshake` functions are NUL-terminated copies, valid
//!   until the matching `End*` succeeds, until the first session call that opens the handle, or
//!   until the handle is deleted (§9 Q16).
//! - `WebSocketGetGlobalProperty` answers only the keep-alive interval (from the
//!   `WSPC_KEEPALIVE_INTERVAL` environment variable, §9 Q14) and the supported versions (`{13}`);
//!   other types are `E_INVALIDARG`; a `*ulSize` too small gets the size needed and
//!   `E_NOT_SUFFICIENT_BUFFER`.
//!
//! # Unsafe code
//!
//! The engine crate forbids `unsafe`; this crate is where the raw pointers of C are turned into
//! slices, and every `unsafe` block here states why it is sound.
//! The contract it relies on is the C caller's, from the Windows documentation: pointers passed in
//! are valid for the lengths given, send and receive buffers stay valid until their
//! `INDICATE_*_COMPLETE`, an `ALLOCATED_BUFFER` block outlives its handle.
//!
//! Pointers into the handle's block are handed out re-derived from the block's base pointer
//! (`BlockBase`), so a later call, which borrows the block afresh, does not end their validity.
//! With two threads on one handle, the caller may read or write a region it was handed by one
//! action while another thread is inside the engine: the engine borrows only the ranges it works
//! on ([`Buffer::bytes`](engine::session::Buffer::bytes) over a `RawBuf`), never the whole block, and
//! never a region that is handed out, so the two never alias.
#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![allow(non_camel_case_types, non_snake_case)]

mod mem;
mod types;

use engine::close::CloseStatus;
use engine::error::Error;
use engine::properties::{self, GlobalProperty, Properties, Property, PropertyType, Role};
use engine::session::action::{Action, ActionId, BufferType, Queue};
use engine::session::Session;
use mem::{c_array, c_headers, c_str, c_strs, len_u32, BlockBase, HeaderStore, OwnedBlock, RawBuf};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::{self, null_mut};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
pub use types::*;

// ----- handles -------------------------------------------------------------------------------

/// What a handle id stands for.
struct Handle {
    state: Mutex<State>,
}

/// One handle's state. Fields drop in order: the session (which only points into the block)
/// before the block.
struct State {
    session: Session<RawBuf, usize>,
    /// The output of the `Begin*Handshake` call, while it must stay valid.
    headers: Option<HeaderStore>,
    /// `ulExtensionCount` of `WebSocketBeginClientHandshake`.
    offered_extensions: usize,
    /// Where the block is, to hand out pointers into it (see [`BlockBase`]).
    base: BlockBase,
    _block: Option<OwnedBlock>,
}

impl State {
    /// After `End*` or a session call: once the handle is open (or aborted), the handshake's
    /// header array is no longer needed (spec §5.2, §5.4).
    fn release_handshake(&mut self) {
        if self.session.is_open() || self.session.is_aborted() {
            self.headers = None;
        }
    }
}

struct Registry {
    next: usize,
    live: BTreeMap<usize, Arc<Handle>>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    next: 1,
    live: BTreeMap::new(),
});

/// The registry survives a panic elsewhere: its own operations cannot leave it half-updated.
fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

fn register(state: State) -> Result<WEB_SOCKET_HANDLE, HRESULT> {
    let handle = Arc::new(Handle {
        state: Mutex::new(state),
    });
    let mut reg = registry();
    let id = reg.next;
    // Ids are never reused; running out (only conceivable with 32-bit pointers) is an error.
    reg.next = id.checked_add(1).ok_or(E_OUTOFMEMORY)?;
    reg.live.insert(id, handle);
    Ok(ptr::without_provenance_mut(id))
}

fn lookup(h: WEB_SOCKET_HANDLE) -> Option<Arc<Handle>> {
    registry().live.get(&h.addr()).cloned()
}

/// Runs `f` on the handle's state under its mutex. Unknown handle: `E_INVALIDARG`; a handle whose
/// mutex was poisoned by a caught panic: `E_FAIL`.
fn with_state<R>(
    h: WEB_SOCKET_HANDLE,
    f: impl FnOnce(&mut State) -> Result<R, HRESULT>,
) -> Result<R, HRESULT> {
    let handle = lookup(h).ok_or(E_INVALIDARG)?;
    let mut state = handle.state.lock().map_err(|_| E_FAIL)?;
    f(&mut state)
}

fn hr(e: Error) -> HRESULT {
    e.hresult().0
}

/// Runs an export's body; a panic becomes `E_FAIL` and never unwinds into C.
fn guard(f: impl FnOnce() -> Result<(), HRESULT>) -> HRESULT {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => S_OK,
        Ok(Err(e)) => e,
        Err(payload) => {
            discard(payload);
            E_FAIL
        }
    }
}

/// [`guard`] for the `VOID` exports.
fn guard_void(f: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        discard(payload);
    }
}

/// Drops a panic payload; if dropping it panics in turn, that second payload is leaked rather
/// than unwound into C.
fn discard(payload: Box<dyn std::any::Any + Send>) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
}

// ----- conversions ---------------------------------------------------------------------------

/// A buffer with no bytes: a NULL pointer and a length of 0.
const EMPTY: WEB_SOCKET_BUFFER = WEB_SOCKET_BUFFER {
    Data: WEB_SOCKET_BUFFER_DATA {
        pbBuffer: null_mut(),
        ulBufferLength: 0,
    },
};

/// The pointer handed to C for `bytes`: NULL if empty, else rebased (see [`BlockBase`]).
fn c_ptr(bytes: *mut u8, len: usize, base: BlockBase) -> *mut u8 {
    if len == 0 {
        null_mut()
    } else {
        base.rebase(bytes)
    }
}

fn data_buffer(bytes: &[u8], base: BlockBase) -> WEB_SOCKET_BUFFER {
    WEB_SOCKET_BUFFER {
        Data: WEB_SOCKET_BUFFER_DATA {
            pbBuffer: c_ptr(bytes.as_ptr().cast_mut(), bytes.len(), base),
            ulBufferLength: len_u32(bytes.len()),
        },
    }
}

fn close_buffer(reason: &[u8], status: CloseStatus, base: BlockBase) -> WEB_SOCKET_BUFFER {
    WEB_SOCKET_BUFFER {
        CloseStatus: WEB_SOCKET_BUFFER_CLOSE_STATUS {
            pbReason: c_ptr(reason.as_ptr().cast_mut(), reason.len(), base),
            ulReasonLength: len_u32(reason.len()),
            usStatus: status.0,
        },
    }
}

/// An action flattened into what `WebSocketGetAction` writes, so the handle can be unlocked
/// before anything is written to the caller's memory.
struct ActionOut {
    action: WEB_SOCKET_ACTION,
    buffer_type: WEB_SOCKET_BUFFER_TYPE,
    buffers: [WEB_SOCKET_BUFFER; 2],
    count: usize,
    app_context: Option<usize>,
    action_context: PVOID,
}

fn lower(action: Action<'_, usize>, base: BlockBase) -> ActionOut {
    let mut out = ActionOut {
        action: WEB_SOCKET_ACTION(action.kind() as i32),
        buffer_type: WEB_SOCKET_BUFFER_TYPE(0),
        buffers: [EMPTY; 2],
        count: 0,
        app_context: None,
        // Action ids are never 0, so a NULL context always means "no action".
        action_context: action.id().map_or(null_mut(), |id| {
            ptr::without_provenance_mut(id.to_raw() as usize)
        }),
    };
    let bt = |t: BufferType| WEB_SOCKET_BUFFER_TYPE(t as u32 as i32);
    match action {
        Action::NoAction => {}
        Action::SendToNetwork(a) => {
            out.buffer_type = bt(a.buffer_type);
            for (slot, b) in out.buffers.iter_mut().zip(a.buffers()) {
                *slot = data_buffer(b, base);
                out.count += 1;
            }
            out.app_context = a.context.copied();
        }
        Action::IndicateSendComplete(a) => {
            out.buffer_type = bt(a.buffer_type);
            match (a.close_status, a.payload) {
                (Some(status), reason) => {
                    out.buffers[0] = close_buffer(reason.unwrap_or_default(), status, base);
                    out.count = 1;
                }
                (None, Some(payload)) => {
                    out.buffers[0] = data_buffer(payload, base);
                    out.count = 1;
                }
                (None, None) => {}
            }
            out.app_context = Some(*a.context);
        }
        Action::ReceiveFromNetwork(a) => {
            // The caller writes into it: the pointer comes from the `&mut` borrow (rebased).
            let len = a.buffer.len();
            out.buffers[0] = WEB_SOCKET_BUFFER {
                Data: WEB_SOCKET_BUFFER_DATA {
                    pbBuffer: c_ptr(a.buffer.as_mut_ptr(), len, base),
                    ulBufferLength: len_u32(len),
                },
            };
            out.count = 1;
            out.app_context = Some(*a.context);
        }
        Action::IndicateReceiveComplete(a) => {
            out.buffer_type = bt(a.buffer_type);
            out.buffers[0] = match (a.buffer_type, a.close_status) {
                (BufferType::Close, status) => {
                    close_buffer(a.data, status.unwrap_or(CloseStatus::EMPTY), base)
                }
                _ => data_buffer(a.data, base),
            };
            out.count = 1;
            out.app_context = Some(*a.context);
        }
    }
    out
}

/// The per-handle properties of a `Create*Handle` call.
struct Parsed {
    list: Vec<Property>,
    block: Option<RawBuf>,
}

/// Reads the `ULONG`/`BOOL` a property points at (4 bytes, else `E_INVALIDARG`).
///
/// # Safety
/// A non-NULL `p.pvValue` must be valid for `p.ulValueSize` bytes.
unsafe fn read_u32(p: &WEB_SOCKET_PROPERTY) -> Result<u32, HRESULT> {
    if p.ulValueSize as usize != size_of::<u32>() {
        return Err(E_INVALIDARG);
    }
    if p.pvValue.is_null() {
        return Err(E_POINTER);
    }
    // SAFETY: non-NULL and valid for 4 bytes (contract); no alignment is assumed.
    Ok(unsafe { p.pvValue.cast::<u32>().read_unaligned() })
}

/// # Safety
/// Each property's `pvValue` must be valid for its `ulValueSize` bytes (for `ALLOCATED_BUFFER`:
/// for one `PVOID`, and the block it holds for `ulValueSize` bytes, for the handle's lifetime).
unsafe fn parse_properties(props: &[WEB_SOCKET_PROPERTY]) -> Result<Parsed, HRESULT> {
    let mut parsed = Parsed {
        list: Vec::with_capacity(props.len()),
        block: None,
    };
    for p in props {
        if p.Type.0 == properties::PERMESSAGE_DEFLATE_PROPERTY_TYPE {
            // wspc's own (`WSPC_PROPERTY_PERMESSAGE_DEFLATE` in websocket.h): a ULONG, 0 off,
            // 1 on with the defaults; refused in a build without the engine's `deflate` feature.
            // SAFETY: forwarded contract.
            let value = unsafe { read_u32(p) }?;
            let prop = Property::from_wspc_type(p.Type.0, value).map_err(|_| E_INVALIDARG)?;
            parsed.list.push(prop);
            continue;
        }
        let ty = PropertyType::from_raw(p.Type.0).ok_or(E_INVALIDARG)?;
        // SAFETY: forwarded contract (called only for the four 4-byte types).
        let value = || unsafe { read_u32(p) };
        let prop = match ty {
            PropertyType::ReceiveBufferSize => Property::ReceiveBufferSize(value()?),
            PropertyType::SendBufferSize => Property::SendBufferSize(value()?),
            PropertyType::DisableMasking => Property::DisableMasking(value()? != 0),
            PropertyType::DisableUtf8Verification => {
                Property::DisableUtf8Verification(value()? != 0)
            }
            PropertyType::AllocatedBuffer => {
                // Spec §4: pvValue points to a PVOID holding the block; ulValueSize is its length.
                if parsed.block.is_some() {
                    return Err(E_INVALIDARG);
                }
                if p.pvValue.is_null() {
                    return Err(E_POINTER);
                }
                // SAFETY: non-NULL and valid for one PVOID (contract); no alignment is assumed.
                let block = unsafe { p.pvValue.cast::<PVOID>().read_unaligned() };
                // SAFETY: the block is valid for `ulValueSize` bytes for the handle's lifetime.
                parsed.block = Some(unsafe { RawBuf::new(block.cast::<u8>(), p.ulValueSize) }?);
                continue;
            }
            // Global-only types (§9 Q14).
            PropertyType::KeepaliveInterval | PropertyType::SupportedVersions => {
                return Err(E_INVALIDARG)
            }
        };
        parsed.list.push(prop);
    }
    Ok(parsed)
}

/// # Safety
/// As for `WebSocketCreateClientHandle`.
/// The masking-key source of a new handle: seeded from the operating system (RFC 6455 §10.3
/// wants keys an attacker cannot predict). Fuzzing builds seed a fixed value instead, so that an
/// input runs the same way every time and no system call is made per handle.
fn handle_rng() -> Result<StdRng, HRESULT> {
    #[cfg(fuzzing)]
    return Ok(StdRng::seed_from_u64(0x5eed));
    #[cfg(not(fuzzing))]
    StdRng::try_from_os_rng().map_err(|_| E_FAIL)
}

unsafe fn create(
    role: Role,
    pProperties: *const WEB_SOCKET_PROPERTY,
    ulPropertyCount: ULONG,
    phWebSocket: *mut WEB_SOCKET_HANDLE,
) -> Result<(), HRESULT> {
    if phWebSocket.is_null() {
        return Err(E_POINTER);
    }
    // SAFETY: non-NULL, and the caller gives a writable WEB_SOCKET_HANDLE.
    unsafe { phWebSocket.write(null_mut()) };
    // SAFETY: the caller gives `ulPropertyCount` properties.
    let props = unsafe { c_array(pProperties, ulPropertyCount) }?;
    // SAFETY: the caller's properties point at valid values.
    let parsed = unsafe { parse_properties(props) }?;
    let props = Properties::from_list(role, &parsed.list).map_err(|e| hr(e.into()))?;
    let (block, owned) = match parsed.block {
        Some(block) => (block, None),
        None => {
            let owned = OwnedBlock::new(props.block_size())?;
            (owned.raw(), Some(owned))
        }
    };
    let rng = handle_rng()?;
    let base = block.base();
    let session = Session::with_block(role, props, block, rng).map_err(hr)?;
    let h = register(State {
        session,
        headers: None,
        offered_extensions: 0,
        base,
        _block: owned,
    })?;
    // SAFETY: checked non-NULL and writable above.
    unsafe { phWebSocket.write(h) };
    Ok(())
}

/// Stores a `Begin*Handshake` result in the handle and points the out-parameters at it.
///
/// # Safety
/// Both pointers are non-NULL and writable.
unsafe fn hand_out_headers(
    state: &mut State,
    headers: &[engine::handshake::Header],
    pHeaders: *mut *mut WEB_SOCKET_HTTP_HEADER,
    pulCount: *mut ULONG,
) {
    let store = state.headers.insert(HeaderStore::new(headers));
    let (array, count) = store.as_c();
    // SAFETY: non-NULL and writable (function contract).
    unsafe {
        pHeaders.write(array);
        pulCount.write(count);
    }
}

// ----- the 13 exports ------------------------------------------------------------------------

/// `WebSocketCreateClientHandle` (spec §5.1): a client handle with per-handle properties 0–4.
/// `pProperties` may be NULL when `ulPropertyCount` is 0.
///
/// # Safety
/// `pProperties` points to `ulPropertyCount` properties whose `pvValue` point at values of
/// `ulValueSize` bytes (an `ALLOCATED_BUFFER` block must outlive the handle); `phWebSocket` is
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn WebSocketCreateClientHandle(
    pProperties: *const WEB_SOCKET_PROPERTY,
    ulPropertyCount: ULONG,
    phWebSocket: *mut WEB_SOCKET_HANDLE,
) -> HRESULT {
    // SAFETY: the caller's contract is `create`'s.
    guard(|| unsafe { create(Role::Client, pProperties, ulPropertyCount, phWebSocket) })
}

/// `WebSocketCreateServerHandle` (spec §5.1): a server handle.
///
/// # Safety
/// As for [`WebSocketCreateClientHandle`].
#[no_mangle]
pub unsafe extern "C" fn WebSocketCreateServerHandle(
    pProperties: *const WEB_SOCKET_PROPERTY,
    ulPropertyCount: ULONG,
    phWebSocket: *mut WEB_SOCKET_HANDLE,
) -> HRESULT {
    // SAFETY: the caller's contract is `create`'s.
    guard(|| unsafe { create(Role::Server, pProperties, ulPropertyCount, phWebSocket) })
}

/// `WebSocketBeginClientHandshake` (spec §5.2): the headers to add to the GET request, valid until
/// `WebSocketEndClientHandshake` succeeds or the handle is deleted.
///
/// # Safety
/// The string arrays hold `ul*Count` NUL-terminated strings (or are NULL with a count of 0), the
/// header array `ulInitialHeaderCount` headers whose names and values are valid for their
/// lengths, and both out-pointers are NULL or writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn WebSocketBeginClientHandshake(
    hWebSocket: WEB_SOCKET_HANDLE,
    pszSubprotocols: *const PCSTR,
    ulSubprotocolCount: ULONG,
    pszExtensions: *const PCSTR,
    ulExtensionCount: ULONG,
    pInitialHeaders: *const WEB_SOCKET_HTTP_HEADER,
    ulInitialHeaderCount: ULONG,
    pAdditionalHeaders: *mut *mut WEB_SOCKET_HTTP_HEADER,
    pulAdditionalHeaderCount: *mut ULONG,
) -> HRESULT {
    guard(|| {
        if pAdditionalHeaders.is_null() || pulAdditionalHeaderCount.is_null() {
            return Err(E_POINTER);
        }
        // SAFETY: both non-NULL and writable (contract).
        unsafe {
            pAdditionalHeaders.write(null_mut());
            pulAdditionalHeaderCount.write(0);
        }
        // SAFETY: the arrays are as described in the contract.
        let subprotocols = unsafe { c_strs(pszSubprotocols, ulSubprotocolCount) }?;
        // SAFETY: as above.
        let extensions = unsafe { c_strs(pszExtensions, ulExtensionCount) }?;
        // SAFETY: as above.
        let initial = unsafe { c_headers(pInitialHeaders, ulInitialHeaderCount) }?;
        with_state(hWebSocket, |state| {
            let headers = state
                .session
                .begin_client_handshake(&subprotocols, &extensions, &initial)
                .map_err(hr)?;
            state.offered_extensions = extensions.len();
            // SAFETY: both out-pointers checked non-NULL above.
            unsafe {
                hand_out_headers(
                    state,
                    &headers,
                    pAdditionalHeaders,
                    pulAdditionalHeaderCount,
                )
            };
            Ok(())
        })
    })
}

/// `WebSocketEndClientHandshake` (spec §5.3): checks the response headers and opens the handle.
/// The three out-parameters are optional; see the module docs for the extension capacity.
///
/// # Safety
/// `pResponseHeaders` holds `ulReponseHeaderCount` valid headers (or is NULL with a count of 0);
/// `pulSelectedExtensions` has room for `*pulSelectedExtensionCount` values; each out-pointer is
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn WebSocketEndClientHandshake(
    hWebSocket: WEB_SOCKET_HANDLE,
    pResponseHeaders: *const WEB_SOCKET_HTTP_HEADER,
    ulReponseHeaderCount: ULONG,
    pulSelectedExtensions: *mut ULONG,
    pulSelectedExtensionCount: *mut ULONG,
    pulSelectedSubprotocol: *mut ULONG,
) -> HRESULT {
    guard(|| {
        let capacity = if pulSelectedExtensionCount.is_null() {
            None
        } else {
            // SAFETY: non-NULL and readable (contract).
            Some(unsafe { pulSelectedExtensionCount.read() } as usize)
        };
        if capacity.is_some_and(|c| c > 0) && pulSelectedExtensions.is_null() {
            return Err(E_POINTER);
        }
        // SAFETY: the header array is as described in the contract.
        let response = unsafe { c_headers(pResponseHeaders, ulReponseHeaderCount) }?;
        let negotiated = with_state(hWebSocket, |state| {
            if let Some(capacity) = capacity {
                if capacity < state.offered_extensions {
                    // SAFETY: non-NULL (capacity was read from it) and writable.
                    unsafe { pulSelectedExtensionCount.write(len_u32(state.offered_extensions)) };
                    return Err(E_NOT_SUFFICIENT_BUFFER);
                }
            }
            let negotiated = state.session.end_client_handshake(&response).map_err(hr)?;
            state.release_handshake();
            Ok(negotiated)
        })?;
        if capacity.is_some() {
            // Never more than were offered (each offer answered at most once), so they fit.
            for (i, &index) in negotiated.extensions.iter().enumerate() {
                // SAFETY: i < extensions.len() <= offered <= capacity, the array's room.
                unsafe { pulSelectedExtensions.add(i).write(len_u32(index)) };
            }
            // SAFETY: non-NULL and writable.
            unsafe { pulSelectedExtensionCount.write(len_u32(negotiated.extensions.len())) };
        }
        if let (Some(index), false) = (negotiated.subprotocol, pulSelectedSubprotocol.is_null()) {
            // SAFETY: non-NULL and writable.
            unsafe { pulSelectedSubprotocol.write(len_u32(index)) };
        }
        Ok(())
    })
}

/// `WebSocketBeginServerHandshake` (spec §5.4): checks the request headers and returns the headers
/// to add to the `101` response, valid until `WebSocketEndServerHandshake`, the first session call
/// or deletion.
///
/// # Safety
/// `pszSubprotocolSelected` is NULL or a NUL-terminated string; `pszExtensionSelected` holds
/// `ulExtensionSelectedCount` strings (or is NULL with a count of 0); `pRequestHeaders` holds
/// `ulRequestHeaderCount` valid headers; both out-pointers are NULL or writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn WebSocketBeginServerHandshake(
    hWebSocket: WEB_SOCKET_HANDLE,
    pszSubprotocolSelected: PCSTR,
    pszExtensionSelected: *const PCSTR,
    ulExtensionSelectedCount: ULONG,
    pRequestHeaders: *const WEB_SOCKET_HTTP_HEADER,
    ulRequestHeaderCount: ULONG,
    pResponseHeaders: *mut *mut WEB_SOCKET_HTTP_HEADER,
    pulResponseHeaderCount: *mut ULONG,
) -> HRESULT {
    guard(|| {
        if pResponseHeaders.is_null() || pulResponseHeaderCount.is_null() {
            return Err(E_POINTER);
        }
        // SAFETY: both non-NULL and writable (contract).
        unsafe {
            pResponseHeaders.write(null_mut());
            pulResponseHeaderCount.write(0);
        }
        let subprotocol = if pszSubprotocolSelected.is_null() {
            None
        } else {
            // SAFETY: a NUL-terminated string (contract).
            Some(unsafe { c_str(pszSubprotocolSelected) }?)
        };
        // SAFETY: the arrays are as described in the contract.
        let extensions = unsafe { c_strs(pszExtensionSelected, ulExtensionSelectedCount) }?;
        // SAFETY: as above.
        let request = unsafe { c_headers(pRequestHeaders, ulRequestHeaderCount) }?;
        with_state(hWebSocket, |state| {
            let headers = state
                .session
                .begin_server_handshake(subprotocol, &extensions, &request)
                .map_err(hr)?;
            // SAFETY: both out-pointers checked non-NULL above.
            unsafe { hand_out_headers(state, &headers, pResponseHeaders, pulResponseHeaderCount) };
            Ok(())
        })
    })
}

/// `WebSocketEndServerHandshake` (spec §5.5): opens a server handle (optional: the first session
/// call does it) and releases the header array of `WebSocketBeginServerHandshake`.
#[no_mangle]
pub extern "C" fn WebSocketEndServerHandshake(hWebSocket: WEB_SOCKET_HANDLE) -> HRESULT {
    guard(|| {
        with_state(hWebSocket, |state| {
            state.session.end_server_handshake().map_err(hr)?;
            state.release_handshake();
            Ok(())
        })
    })
}

/// `WebSocketSend` (spec §5.6): queues one frame. `pBuffer` is copied during the call; the memory
/// it points at must stay valid and unchanged until the send's `INDICATE_SEND_COMPLETE`. It must
/// be NULL for `PING_PONG` and `UNSOLICITED_PONG`; NULL with `CLOSE` sends a close frame without a
/// body.
///
/// # Safety
/// `pBuffer` is NULL or points to a descriptor whose member for `BufferType` (`CloseStatus` for
/// `CLOSE`, else `Data`) is initialised and points at memory valid as described.
#[no_mangle]
pub unsafe extern "C" fn WebSocketSend(
    hWebSocket: WEB_SOCKET_HANDLE,
    BufferType: WEB_SOCKET_BUFFER_TYPE,
    pBuffer: *mut WEB_SOCKET_BUFFER,
    Context: PVOID,
) -> HRESULT {
    guard(|| {
        let ty = BufferType::from_raw(BufferType.0 as u32).ok_or(E_INVALIDARG)?;
        let context = Context.expose_provenance();
        enum Req {
            Plain(Option<RawBuf>),
            Close(CloseStatus, Option<RawBuf>),
        }
        let req = if pBuffer.is_null() {
            Req::Plain(None)
        } else if ty == BufferType::Close {
            // SAFETY: non-NULL, and for CLOSE the caller initialised `CloseStatus` (contract).
            let c = unsafe { (*pBuffer).CloseStatus };
            // SAFETY: the reason stays valid until the send completes (contract).
            let reason = unsafe { RawBuf::new(c.pbReason, c.ulReasonLength) }?;
            let reason = (c.ulReasonLength > 0).then_some(reason);
            if c.usStatus == CloseStatus::EMPTY.0 && reason.is_none() {
                Req::Plain(None)
            } else {
                Req::Close(CloseStatus(c.usStatus), reason)
            }
        } else {
            // SAFETY: non-NULL, and for other types the caller initialised `Data` (contract).
            let d = unsafe { (*pBuffer).Data };
            // SAFETY: the payload stays valid until the send completes (contract).
            Req::Plain(Some(unsafe { RawBuf::new(d.pbBuffer, d.ulBufferLength) }?))
        };
        with_state(hWebSocket, |state| {
            let result = match req {
                Req::Plain(payload) => state.session.send(ty, payload, context),
                Req::Close(status, reason) => state.session.send_close(status, reason, context),
            };
            state.release_handshake();
            result.map_err(hr)
        })
    })
}

/// `WebSocketReceive` (spec §5.7): queues one receive. NULL `pBuffer`: the data is delivered in
/// the internal receive buffer; otherwise data pieces are copied into `pBuffer->Data`, which must
/// stay valid until the receive's `INDICATE_RECEIVE_COMPLETE`.
///
/// # Safety
/// `pBuffer` is NULL or points to an initialised `Data` member describing writable memory valid as
/// described.
#[no_mangle]
pub unsafe extern "C" fn WebSocketReceive(
    hWebSocket: WEB_SOCKET_HANDLE,
    pBuffer: *mut WEB_SOCKET_BUFFER,
    pvContext: PVOID,
) -> HRESULT {
    guard(|| {
        let context = pvContext.expose_provenance();
        let buffer = if pBuffer.is_null() {
            None
        } else {
            // SAFETY: non-NULL with `Data` initialised (contract).
            let d = unsafe { (*pBuffer).Data };
            // SAFETY: the memory stays valid and writable until the receive completes.
            Some(unsafe { RawBuf::new(d.pbBuffer, d.ulBufferLength) }?)
        };
        with_state(hWebSocket, |state| {
            let result = match buffer {
                None => state.session.receive(context),
                Some(buffer) => state.session.receive_into(buffer, context),
            };
            state.release_handshake();
            result.map_err(hr)
        })
    })
}

/// `WebSocketGetAction` (spec §5.8): the next action of `eActionQueue`. `*pulDataBufferCount` is
/// the capacity of `pDataBuffers` on input (at least 1; with 1, a frame header and an uncopied
/// payload come as two consecutive actions, §9 Q5) and the number of buffers filled on output.
/// Every action other than `NO_ACTION` must be completed once with `WebSocketCompleteAction` and
/// `*pvActionContext`; its buffers are valid until then.
///
/// # Safety
/// `pDataBuffers` has room for `*pulDataBufferCount` buffers; every other pointer is NULL or
/// writable (`pvApplicationContext` is optional, the others are required).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn WebSocketGetAction(
    hWebSocket: WEB_SOCKET_HANDLE,
    eActionQueue: WEB_SOCKET_ACTION_QUEUE,
    pDataBuffers: *mut WEB_SOCKET_BUFFER,
    pulDataBufferCount: *mut ULONG,
    pAction: *mut WEB_SOCKET_ACTION,
    pBufferType: *mut WEB_SOCKET_BUFFER_TYPE,
    pvApplicationContext: *mut PVOID,
    pvActionContext: *mut PVOID,
) -> HRESULT {
    guard(|| {
        if pulDataBufferCount.is_null()
            || pAction.is_null()
            || pBufferType.is_null()
            || pvActionContext.is_null()
        {
            return Err(E_POINTER);
        }
        // SAFETY: all four non-NULL; the count is readable and writable (contract).
        let capacity = unsafe {
            let capacity = pulDataBufferCount.read();
            pulDataBufferCount.write(0);
            pAction.write(WEB_SOCKET_ACTION::NO_ACTION);
            pBufferType.write(WEB_SOCKET_BUFFER_TYPE(0));
            pvActionContext.write(null_mut());
            capacity as usize
        };
        if capacity > 0 && pDataBuffers.is_null() {
            return Err(E_POINTER);
        }
        let queue = Queue::from_raw(eActionQueue.0 as u32).ok_or(E_INVALIDARG)?;
        let out = with_state(hWebSocket, |state| {
            let action = state
                .session
                .get_action_with_capacity(queue, capacity)
                .map_err(hr)?;
            let out = lower(action, state.base);
            state.release_handshake();
            Ok(out)
        })?;
        // The handle is unlocked again: the caller's I/O happens without the lock (§6.5).
        let count = out.count.min(capacity);
        debug_assert_eq!(count, out.count, "the engine honours the capacity");
        // SAFETY: `pDataBuffers` has room for `capacity >= count` buffers; the other pointers are
        // non-NULL and writable (checked above, or optional and checked here).
        unsafe {
            for (i, b) in out.buffers.iter().take(count).enumerate() {
                pDataBuffers.add(i).write(*b);
            }
            pulDataBufferCount.write(len_u32(count));
            pAction.write(out.action);
            pvActionContext.write(out.action_context);
            pBufferType.write(out.buffer_type);
            if let (Some(ctx), false) = (out.app_context, pvApplicationContext.is_null()) {
                pvApplicationContext.write(ptr::with_exposed_provenance_mut(ctx));
            }
        }
        Ok(())
    })
}

/// `WebSocketCompleteAction` (spec §5.9): reports the result of the action `pvActionContext`.
/// Sends: the bytes written (other than the total cancels the send); receives: the bytes read (0
/// is end of stream); `INDICATE_*`: ignored. Unknown handles and action contexts (NULL, the
/// context of a `NO_ACTION`, an action already completed) are ignored.
#[no_mangle]
pub extern "C" fn WebSocketCompleteAction(
    hWebSocket: WEB_SOCKET_HANDLE,
    pvActionContext: PVOID,
    ulBytesTransferred: ULONG,
) {
    guard_void(|| {
        let id = ActionId::from_raw(pvActionContext.addr() as u64);
        let _ = with_state(hWebSocket, |state| {
            // The returned context and buffer are the caller's own; nothing to free.
            let _ = state
                .session
                .complete_action(id, ulBytesTransferred as usize);
            Ok(())
        });
    });
}

/// `WebSocketAbortHandle` (spec §5.10): no more network actions; queued operations still complete
/// through `WebSocketGetAction`, then later sends and receives fail. Idempotent; a no-op before the
/// handshake completed; unknown handles are ignored.
#[no_mangle]
pub extern "C" fn WebSocketAbortHandle(hWebSocket: WEB_SOCKET_HANDLE) {
    guard_void(|| {
        let _ = with_state(hWebSocket, |state| {
            state.session.abort();
            Ok(())
        });
    });
}

/// `WebSocketDeleteHandle` (spec §5.11): frees the handle and all memory it allocated. The handle
/// value is never valid again. NULL and unknown handles are ignored.
#[no_mangle]
pub extern "C" fn WebSocketDeleteHandle(hWebSocket: WEB_SOCKET_HANDLE) {
    guard_void(|| {
        let removed = registry().live.remove(&hWebSocket.addr());
        // Dropped outside the registry lock; a call still running on the handle keeps it alive.
        drop(removed);
    });
}

/// `WebSocketGetGlobalProperty` (spec §5.12): the keep-alive interval (`ULONG`, milliseconds) or
/// the supported versions (`ULONG[]`). `*ulSize` is the size of `pvValue` in bytes on input and
/// the bytes used (or needed, with `E_NOT_SUFFICIENT_BUFFER`) on output.
///
/// # Safety
/// `ulSize` is NULL or readable and writable; `pvValue` is NULL or writable for `*ulSize` bytes.
#[no_mangle]
pub unsafe extern "C" fn WebSocketGetGlobalProperty(
    eType: WEB_SOCKET_PROPERTY_TYPE,
    pvValue: PVOID,
    ulSize: *mut ULONG,
) -> HRESULT {
    guard(|| {
        if ulSize.is_null() {
            return Err(E_POINTER);
        }
        let ty = PropertyType::from_raw(eType.0).ok_or(E_INVALIDARG)?;
        let value = properties::global_property(ty).map_err(|e| hr(e.into()))?;
        let keepalive;
        let words: &[u32] = match value {
            GlobalProperty::KeepaliveInterval(ms) => {
                keepalive = [ms];
                &keepalive
            }
            GlobalProperty::SupportedVersions(versions) => versions,
        };
        let needed = size_of_val(words);
        // SAFETY: non-NULL, readable and writable (contract).
        let size = unsafe { ulSize.replace(len_u32(needed)) } as usize;
        if size < needed {
            return Err(E_NOT_SUFFICIENT_BUFFER);
        }
        if pvValue.is_null() {
            return Err(E_POINTER);
        }
        // SAFETY: `pvValue` is writable for `size >= needed` bytes; no alignment is assumed.
        unsafe {
            ptr::copy_nonoverlapping(words.as_ptr().cast::<u8>(), pvValue.cast::<u8>(), needed)
        };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::error::HResult;
    use engine::ActionKind;
    use std::slice;

    const ALL: WEB_SOCKET_ACTION_QUEUE = WEB_SOCKET_ACTION_QUEUE(3);

    fn create(server: bool) -> WEB_SOCKET_HANDLE {
        let mut h = null_mut();
        // SAFETY: no properties, and `h` is writable.
        let hr = unsafe {
            if server {
                WebSocketCreateServerHandle(ptr::null(), 0, &mut h)
            } else {
                WebSocketCreateClientHandle(ptr::null(), 0, &mut h)
            }
        };
        assert_eq!(hr, S_OK);
        assert!(!h.is_null());
        h
    }

    #[test]
    fn a_panic_becomes_e_fail() {
        assert_eq!(guard(|| panic!("caught at the boundary")), E_FAIL);
        guard_void(|| panic!("caught at the boundary"));
        assert_eq!(guard(|| Err(E_POINTER)), E_POINTER);
        assert_eq!(guard(|| Ok(())), S_OK);
    }

    #[test]
    fn unknown_deleted_and_poisoned_handles() {
        let h = create(true);
        let wrong_state = HResult::E_INVALID_PROTOCOL_OPERATION.0;
        assert_eq!(WebSocketEndServerHandshake(h), wrong_state);
        for bogus in [null_mut(), ptr::without_provenance_mut(usize::MAX)] {
            assert_eq!(WebSocketEndServerHandshake(bogus), E_INVALIDARG);
            WebSocketAbortHandle(bogus);
            WebSocketCompleteAction(bogus, null_mut(), 0);
            WebSocketDeleteHandle(bogus);
        }

        // A panic while the handle is locked poisons it: E_FAIL from then on, and it can still
        // be deleted.
        let handle = lookup(h).unwrap();
        let poisoner = std::thread::spawn(move || {
            let _state = handle.state.lock().unwrap();
            panic!("poison the handle");
        });
        assert!(poisoner.join().is_err());
        assert_eq!(WebSocketEndServerHandshake(h), E_FAIL);

        WebSocketDeleteHandle(h);
        assert_eq!(WebSocketEndServerHandshake(h), E_INVALIDARG);
        WebSocketDeleteHandle(h);
        let again = create(true);
        assert_ne!(again, h, "handle values are never reused");
        WebSocketDeleteHandle(again);
    }

    /// Runs a handle's actions until NO_ACTION: writes go to `out`, reads come from `input`,
    /// received pieces are appended to `got`.
    fn pump(h: WEB_SOCKET_HANDLE, out: &mut Vec<u8>, input: &mut Vec<u8>, got: &mut Vec<u8>) {
        loop {
            let (action, data, ctx) = next_action(h, ALL);
            let bytes = |d: &WEB_SOCKET_BUFFER_DATA| {
                if d.pbBuffer.is_null() {
                    &[][..]
                } else {
                    // SAFETY: GetAction's buffers are valid until the action is completed.
                    unsafe { slice::from_raw_parts(d.pbBuffer, d.ulBufferLength as usize) }
                }
            };
            match action {
                0 => {
                    assert!(ctx.is_null() && data.is_empty());
                    return;
                }
                1 => {
                    data.iter().for_each(|d| out.extend_from_slice(bytes(d)));
                    let total = data.iter().map(|d| d.ulBufferLength).sum();
                    WebSocketCompleteAction(h, ctx, total);
                }
                3 => {
                    let d = data[0];
                    let k = input.len().min(d.ulBufferLength as usize);
                    // SAFETY: the read buffer is writable for `ulBufferLength >= k` bytes.
                    unsafe { ptr::copy_nonoverlapping(input.as_ptr(), d.pbBuffer, k) };
                    input.drain(..k);
                    WebSocketCompleteAction(h, ctx, len_u32(k));
                }
                2 | 4 => {
                    if action == 4 {
                        got.extend_from_slice(bytes(&data[0]));
                    }
                    WebSocketCompleteAction(h, ctx, 0);
                }
                other => panic!("action {other}"),
            }
        }
    }

    /// A client and a server handle, handshake done (the server's ends implicitly).
    fn open_pair() -> (WEB_SOCKET_HANDLE, WEB_SOCKET_HANDLE) {
        let (client, server) = (create(false), create(true));
        let mut headers = null_mut();
        let mut count = 0;
        // SAFETY: no subprotocols, extensions or initial headers; the out-pointers are writable.
        let hr = unsafe {
            WebSocketBeginClientHandshake(
                client,
                ptr::null(),
                0,
                ptr::null(),
                0,
                ptr::null(),
                0,
                &mut headers,
                &mut count,
            )
        };
        assert_eq!(hr, S_OK);
        // SAFETY: `count` headers, valid until the client handshake ends.
        let mut request = unsafe { slice::from_raw_parts(headers, count as usize) }.to_vec();
        let mut host = *b"Host";
        request.push(WEB_SOCKET_HTTP_HEADER {
            pcName: host.as_mut_ptr().cast(),
            ulNameLength: 4,
            pcValue: null_mut(),
            ulValueLength: 0,
        });
        let (mut response, mut response_count) = (null_mut(), 0);
        // SAFETY: `request` holds valid headers; the out-pointers are writable.
        let hr = unsafe {
            WebSocketBeginServerHandshake(
                server,
                ptr::null(),
                ptr::null(),
                0,
                request.as_ptr(),
                len_u32(request.len()),
                &mut response,
                &mut response_count,
            )
        };
        assert_eq!(hr, S_OK);
        // SAFETY: the server's headers are valid until its first session call.
        let hr = unsafe {
            WebSocketEndClientHandshake(
                client,
                response,
                response_count,
                null_mut(),
                null_mut(),
                null_mut(),
            )
        };
        assert_eq!(hr, S_OK);
        (client, server)
    }

    /// One `WebSocketGetAction` with room for 2 buffers: the action, its `Data` buffers and its
    /// action context.
    fn next_action(
        h: WEB_SOCKET_HANDLE,
        queue: WEB_SOCKET_ACTION_QUEUE,
    ) -> (i32, Vec<WEB_SOCKET_BUFFER_DATA>, PVOID) {
        let mut bufs = [EMPTY; 2];
        let mut n: ULONG = 2;
        let mut action = WEB_SOCKET_ACTION(-1);
        let mut ty = WEB_SOCKET_BUFFER_TYPE(-1);
        let mut ctx = null_mut();
        // SAFETY: room for 2 buffers; every out-pointer is writable.
        let hr = unsafe {
            WebSocketGetAction(
                h,
                queue,
                bufs.as_mut_ptr(),
                &mut n,
                &mut action,
                &mut ty,
                null_mut(),
                &mut ctx,
            )
        };
        assert_eq!(hr, S_OK);
        // SAFETY: no close is sent or received in these tests, so every buffer is `Data`.
        let data = bufs[..n as usize]
            .iter()
            .map(|b| unsafe { b.Data })
            .collect();
        (action.0, data, ctx)
    }

    /// A server send whose header and payload together exceed the `ULONG` range (a payload within
    /// 10 bytes of 4 GiB, at capacity 2) goes out in actions whose sizes all fit a `ULONG`, each
    /// completed with its full count, and the send completes as sent.
    #[test]
    fn a_send_of_nearly_4_gib_is_split_into_ulong_sized_actions() {
        let (client, server) = open_pair();
        let len = ULONG::MAX - 5;
        // Zeroed memory is mapped lazily: the server sends it without reading it (no copy), so
        // this costs address space, not 4 GiB of RAM.
        let mut payload = vec![0u8; len as usize];
        let mut buffer = EMPTY;
        buffer.Data = WEB_SOCKET_BUFFER_DATA {
            pbBuffer: payload.as_mut_ptr(),
            ulBufferLength: len,
        };
        let binary = WEB_SOCKET_BUFFER_TYPE(BufferType::BinaryMessage as u32 as i32);
        // SAFETY: `payload` outlives the send, completed below.
        let hr = unsafe { WebSocketSend(server, binary, &mut buffer, null_mut()) };
        assert_eq!(hr, S_OK);
        let send = WEB_SOCKET_ACTION_QUEUE(Queue::Send as i32);
        let mut total = 0u64;
        let mut actions = 0;
        loop {
            let (action, data, ctx) = next_action(server, send);
            if action == ActionKind::IndicateSendComplete as i32 {
                WebSocketCompleteAction(server, ctx, 0);
                break;
            }
            assert_eq!(action, ActionKind::SendToNetwork as i32);
            let n: u64 = data.iter().map(|d| u64::from(d.ulBufferLength)).sum();
            assert!(n <= u64::from(ULONG::MAX), "an action of {n} bytes");
            total += n;
            actions += 1;
            WebSocketCompleteAction(server, ctx, n as ULONG);
        }
        // A 10-byte header (64-bit length) and the payload, in two actions.
        assert_eq!((total, actions), (u64::from(len) + 10, 2));
        drop(payload);
        WebSocketDeleteHandle(client);
        WebSocketDeleteHandle(server);
    }

    #[test]
    fn a_message_through_the_exports() {
        let (client, server) = open_pair();
        let mut message = *b"hello, C";
        let mut buffer = EMPTY;
        buffer.Data = WEB_SOCKET_BUFFER_DATA {
            pbBuffer: message.as_mut_ptr(),
            ulBufferLength: len_u32(message.len()),
        };
        let text = WEB_SOCKET_BUFFER_TYPE(BufferType::Utf8Message as u32 as i32);
        // SAFETY: `message` outlives the send (completed in the pump below).
        let hr = unsafe { WebSocketSend(client, text, &mut buffer, null_mut()) };
        assert_eq!(hr, S_OK);
        // SAFETY: no buffer: the internal receive buffer is used.
        let hr = unsafe { WebSocketReceive(server, ptr::null_mut(), null_mut()) };
        assert_eq!(hr, S_OK);
        let (mut wire, mut back, mut got) = (Vec::new(), Vec::new(), Vec::new());
        pump(client, &mut wire, &mut Vec::new(), &mut Vec::new());
        pump(server, &mut back, &mut wire, &mut got);
        assert_eq!(got, message);
        assert!(wire.is_empty() && back.is_empty());
        WebSocketDeleteHandle(client);
        WebSocketDeleteHandle(server);
    }

    /// The server's receive queue holds a network read into its block, written byte by byte on
    /// one thread, while another thread sends frames (whose headers the engine writes into the
    /// same block) on its send queue. Clean under `cargo miri test` (Stacked and Tree Borrows).
    #[test]
    fn send_and_receive_queues_on_two_threads() {
        const RECV: WEB_SOCKET_ACTION_QUEUE = WEB_SOCKET_ACTION_QUEUE(2);
        const SEND: WEB_SOCKET_ACTION_QUEUE = WEB_SOCKET_ACTION_QUEUE(1);
        let (client, server) = open_pair();
        let binary = WEB_SOCKET_BUFFER_TYPE(BufferType::BinaryMessage as u32 as i32);
        let mut abc = *b"abc";
        let mut buffer = EMPTY;
        buffer.Data = WEB_SOCKET_BUFFER_DATA {
            pbBuffer: abc.as_mut_ptr(),
            ulBufferLength: 3,
        };
        // SAFETY: `abc` outlives the send, completed by the pump.
        let hr = unsafe { WebSocketSend(client, binary, &mut buffer, null_mut()) };
        assert_eq!(hr, S_OK);
        let mut frame = Vec::new();
        pump(client, &mut frame, &mut Vec::new(), &mut Vec::new());

        // Handle values are plain ids: they cross threads as integers.
        let id = server.addr();
        let receiver = std::thread::spawn(move || {
            let server = ptr::without_provenance_mut(id);
            // SAFETY: no buffer: the internal receive buffer is used.
            let hr = unsafe { WebSocketReceive(server, ptr::null_mut(), null_mut()) };
            assert_eq!(hr, S_OK);
            let (action, data, ctx) = next_action(server, RECV);
            assert_eq!(action, 3);
            assert!(data[0].ulBufferLength as usize >= frame.len());
            for (i, &b) in frame.iter().enumerate() {
                // SAFETY: the read buffer is writable for its length until completed.
                unsafe { data[0].pbBuffer.add(i).write(b) };
                std::thread::yield_now();
            }
            WebSocketCompleteAction(server, ctx, len_u32(frame.len()));
            let (action, data, ctx) = next_action(server, RECV);
            assert_eq!(action, 4);
            // SAFETY: the piece is valid until completed.
            let piece = unsafe { slice::from_raw_parts(data[0].pbBuffer, 3) };
            assert_eq!(piece, b"abc");
            WebSocketCompleteAction(server, ctx, 0);
        });

        let mut payload = [7u8; 10];
        for _ in 0..20 {
            buffer.Data = WEB_SOCKET_BUFFER_DATA {
                pbBuffer: payload.as_mut_ptr(),
                ulBufferLength: len_u32(payload.len()),
            };
            // SAFETY: `payload` outlives the send, completed below.
            let hr = unsafe { WebSocketSend(server, binary, &mut buffer, null_mut()) };
            assert_eq!(hr, S_OK);
            let (action, data, ctx) = next_action(server, SEND);
            assert_eq!((action, data.len()), (1, 2));
            // SAFETY: the header is valid until completed.
            let header = unsafe { slice::from_raw_parts(data[0].pbBuffer, 2) };
            assert_eq!(header, [0x82, 10]);
            WebSocketCompleteAction(server, ctx, 12);
            let (action, _, ctx) = next_action(server, SEND);
            assert_eq!(action, 2);
            WebSocketCompleteAction(server, ctx, 0);
            std::thread::yield_now();
        }
        receiver.join().unwrap();
        WebSocketDeleteHandle(client);
        WebSocketDeleteHandle(server);
    }
}
