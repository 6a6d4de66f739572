//! The C types and constants of `websocket.h` (spec §2–§3) with their Linux mapping: `ULONG` and
//! `BOOL` are 32-bit whatever the size of C `long`, enums are 32-bit values, structure layouts follow
//! the §2.1 table (checked by the tests below and by `tests/c/layout.c`).

use core::ffi::{c_char, c_void};
use engine::error::HResult;

/// `HRESULT`: a 32-bit status, negative for failures.
pub type HRESULT = i32;
/// `ULONG`: 32 bits on Linux too (never C `unsigned long`).
pub type ULONG = u32;
/// `USHORT`.
pub type USHORT = u16;
/// `BOOL`: non-zero is TRUE.
pub type BOOL = i32;
/// `PVOID`.
pub type PVOID = *mut c_void;
/// `PCSTR`: a NUL-terminated string.
pub type PCSTR = *const c_char;
/// `WEB_SOCKET_HANDLE`: an opaque value (`typedef PVOID WEB_SOCKET_HANDLE`).
pub type WEB_SOCKET_HANDLE = PVOID;

/// `S_OK`.
pub const S_OK: HRESULT = HResult::S_OK.0;
/// `E_FAIL` (`0x80004005`): returned only if the library itself failed (a panic was caught at the
/// boundary, or the operating system's random source failed).
pub const E_FAIL: HRESULT = 0x8000_4005_u32 as i32;
/// `E_INVALIDARG`.
pub const E_INVALIDARG: HRESULT = HResult::E_INVALIDARG.0;
/// `E_POINTER`.
pub const E_POINTER: HRESULT = HResult::E_POINTER.0;
/// `E_OUTOFMEMORY`.
pub const E_OUTOFMEMORY: HRESULT = HResult::E_OUTOFMEMORY.0;
/// `E_NOT_SUFFICIENT_BUFFER`.
pub const E_NOT_SUFFICIENT_BUFFER: HRESULT = HResult::E_NOT_SUFFICIENT_BUFFER.0;

/// `WEB_SOCKET_BUFFER_TYPE` (spec §3.1): the Windows values, negative as `i32`.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WEB_SOCKET_BUFFER_TYPE(pub i32);

/// `WEB_SOCKET_ACTION` (spec §3.2).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WEB_SOCKET_ACTION(pub i32);

impl WEB_SOCKET_ACTION {
    /// `WEB_SOCKET_NO_ACTION`.
    pub const NO_ACTION: Self = Self(0);
}

/// `WEB_SOCKET_ACTION_QUEUE` (spec §3.3).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WEB_SOCKET_ACTION_QUEUE(pub i32);

/// `WEB_SOCKET_PROPERTY_TYPE` (spec §3.4).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WEB_SOCKET_PROPERTY_TYPE(pub i32);

/// `WEB_SOCKET_HTTP_HEADER`: name and value are byte strings with lengths (not NUL-terminated on
/// input; the headers this library returns are NUL-terminated, the NUL not counted, §9 Q16).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct WEB_SOCKET_HTTP_HEADER {
    /// `PCHAR pcName`.
    pub pcName: *mut c_char,
    /// `ULONG ulNameLength`.
    pub ulNameLength: ULONG,
    /// `PCHAR pcValue`.
    pub pcValue: *mut c_char,
    /// `ULONG ulValueLength`.
    pub ulValueLength: ULONG,
}

/// `WEB_SOCKET_PROPERTY`: `pvValue` points at the value, `ulValueSize` is its size (§4).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct WEB_SOCKET_PROPERTY {
    /// `WEB_SOCKET_PROPERTY_TYPE Type`.
    pub Type: WEB_SOCKET_PROPERTY_TYPE,
    /// `PVOID pvValue`.
    pub pvValue: PVOID,
    /// `ULONG ulValueSize`.
    pub ulValueSize: ULONG,
}

/// The `Data` member of [`WEB_SOCKET_BUFFER`] (every buffer type except `CLOSE`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct WEB_SOCKET_BUFFER_DATA {
    /// `PBYTE pbBuffer`.
    pub pbBuffer: *mut u8,
    /// `ULONG ulBufferLength`.
    pub ulBufferLength: ULONG,
}

/// The `CloseStatus` member of [`WEB_SOCKET_BUFFER`] (`CLOSE` only).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct WEB_SOCKET_BUFFER_CLOSE_STATUS {
    /// `PBYTE pbReason`: NULL when `ulReasonLength` is 0.
    pub pbReason: *mut u8,
    /// `ULONG ulReasonLength`: at most 123.
    pub ulReasonLength: ULONG,
    /// `USHORT usStatus`.
    pub usStatus: USHORT,
}

/// `WEB_SOCKET_BUFFER`: which member is meant follows from the buffer type.
#[repr(C)]
#[derive(Clone, Copy)]
pub union WEB_SOCKET_BUFFER {
    /// For every type except `CLOSE`.
    pub Data: WEB_SOCKET_BUFFER_DATA,
    /// For `CLOSE`.
    pub CloseStatus: WEB_SOCKET_BUFFER_CLOSE_STATUS,
}

impl core::fmt::Debug for WEB_SOCKET_BUFFER {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("WEB_SOCKET_BUFFER { .. }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{align_of, offset_of, size_of};

    /// The §2.1 table, for the pointer width being built.
    #[test]
    fn layouts_match_the_spec_table() {
        let p = size_of::<*mut u8>();
        assert_eq!(size_of::<WEB_SOCKET_HANDLE>(), p);
        assert_eq!(size_of::<WEB_SOCKET_BUFFER_TYPE>(), 4);
        assert_eq!(size_of::<WEB_SOCKET_ACTION>(), 4);
        assert_eq!(size_of::<WEB_SOCKET_ACTION_QUEUE>(), 4);
        assert_eq!(size_of::<WEB_SOCKET_PROPERTY_TYPE>(), 4);
        if p == 8 {
            assert_eq!(size_of::<WEB_SOCKET_HTTP_HEADER>(), 32);
            assert_eq!(align_of::<WEB_SOCKET_HTTP_HEADER>(), 8);
            assert_eq!(offset_of!(WEB_SOCKET_HTTP_HEADER, pcName), 0);
            assert_eq!(offset_of!(WEB_SOCKET_HTTP_HEADER, ulNameLength), 8);
            assert_eq!(offset_of!(WEB_SOCKET_HTTP_HEADER, pcValue), 16);
            assert_eq!(offset_of!(WEB_SOCKET_HTTP_HEADER, ulValueLength), 24);

            assert_eq!(size_of::<WEB_SOCKET_PROPERTY>(), 24);
            assert_eq!(align_of::<WEB_SOCKET_PROPERTY>(), 8);
            assert_eq!(offset_of!(WEB_SOCKET_PROPERTY, Type), 0);
            assert_eq!(offset_of!(WEB_SOCKET_PROPERTY, pvValue), 8);
            assert_eq!(offset_of!(WEB_SOCKET_PROPERTY, ulValueSize), 16);

            assert_eq!(size_of::<WEB_SOCKET_BUFFER>(), 16);
            assert_eq!(align_of::<WEB_SOCKET_BUFFER>(), 8);
            assert_eq!(offset_of!(WEB_SOCKET_BUFFER_DATA, pbBuffer), 0);
            assert_eq!(offset_of!(WEB_SOCKET_BUFFER_DATA, ulBufferLength), 8);
            assert_eq!(offset_of!(WEB_SOCKET_BUFFER_CLOSE_STATUS, pbReason), 0);
            assert_eq!(
                offset_of!(WEB_SOCKET_BUFFER_CLOSE_STATUS, ulReasonLength),
                8
            );
            assert_eq!(offset_of!(WEB_SOCKET_BUFFER_CLOSE_STATUS, usStatus), 12);
        } else {
            assert_eq!(size_of::<WEB_SOCKET_HTTP_HEADER>(), 16);
            assert_eq!(size_of::<WEB_SOCKET_PROPERTY>(), 12);
            assert_eq!(size_of::<WEB_SOCKET_BUFFER>(), 12);
        }
    }

    #[test]
    fn status_codes() {
        assert_eq!(E_FAIL as u32, 0x8000_4005);
        assert_eq!(E_INVALIDARG as u32, 0x8007_0057);
        assert_eq!(E_POINTER as u32, 0x8000_4003);
        assert_eq!(E_OUTOFMEMORY as u32, 0x8007_000E);
        assert_eq!(E_NOT_SUFFICIENT_BUFFER as u32, 0x8007_007A);
        assert_eq!(S_OK, 0);
    }
}
