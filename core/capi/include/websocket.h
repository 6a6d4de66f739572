/*
 * websocket.h — the WebSocket Protocol Component API (Windows websocket.dll) for wspc on Linux.
 *
 * Same names, values, structure layouts and function signatures as the Windows header, with the
 * Linux mapping of the wspc specification (§2): ULONG, BOOL and HRESULT are 32-bit whatever the
 * size of C `long`, enums are 32-bit values, and WINAPI is the platform C convention.
 *
 * The base Windows types are declared only when no windows.h came first (_WINDEF_ undefined):
 * code that includes a windows.h of its own and then this header keeps that windows.h's
 * definitions, which must use the same widths (HRESULT, ULONG, BOOL 32-bit). The status codes are
 * guarded one by one.
 *
 * Link with -lwspc (pkg-config --cflags --libs wspc).
 */

#ifndef __WEBSOCKET_H__
#define __WEBSOCKET_H__

#include <stdint.h>

#ifndef _WINDEF_
typedef int32_t HRESULT;
typedef uint32_t ULONG;
typedef uint16_t USHORT;
typedef int32_t BOOL;
typedef uint8_t BYTE;
typedef BYTE *PBYTE;
typedef void *PVOID;
typedef char *PCHAR;
typedef const char *PCSTR;
#ifndef VOID
#define VOID void
#endif
#ifndef WINAPI
#define WINAPI
#endif
#endif /* _WINDEF_ */

#ifndef S_OK
#define S_OK ((HRESULT)0x00000000)
#endif
#ifndef E_FAIL
#define E_FAIL ((HRESULT)0x80004005)
#endif
#ifndef E_POINTER
#define E_POINTER ((HRESULT)0x80004003)
#endif
#ifndef E_OUTOFMEMORY
#define E_OUTOFMEMORY ((HRESULT)0x8007000E)
#endif
#ifndef E_INVALIDARG
#define E_INVALIDARG ((HRESULT)0x80070057)
#endif
#ifndef E_NOT_SUFFICIENT_BUFFER
#define E_NOT_SUFFICIENT_BUFFER ((HRESULT)0x8007007A)
#endif
/* Illegal operation for the current protocol state. */
#ifndef E_INVALID_PROTOCOL_OPERATION
#define E_INVALID_PROTOCOL_OPERATION ((HRESULT)0x83760001)
#endif
/* Malformed handshake headers or malformed received data. */
#ifndef E_INVALID_PROTOCOL_FORMAT
#define E_INVALID_PROTOCOL_FORMAT ((HRESULT)0x83760002)
#endif
#ifndef E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED
#define E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED ((HRESULT)0x83760003)
#endif
#ifndef E_SUBPROTOCOL_NOT_SUPPORTED
#define E_SUBPROTOCOL_NOT_SUPPORTED ((HRESULT)0x83760004)
#endif
#ifndef E_PROTOCOL_VERSION_NOT_SUPPORTED
#define E_PROTOCOL_VERSION_NOT_SUPPORTED ((HRESULT)0x83760005)
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef PVOID WEB_SOCKET_HANDLE;

#define WEB_SOCKET_MAX_CLOSE_REASON_LENGTH 123

typedef enum _WEB_SOCKET_CLOSE_STATUS {
    WEB_SOCKET_SUCCESS_CLOSE_STATUS = 1000,
    WEB_SOCKET_ENDPOINT_UNAVAILABLE_CLOSE_STATUS = 1001,
    WEB_SOCKET_PROTOCOL_ERROR_CLOSE_STATUS = 1002,
    WEB_SOCKET_INVALID_DATA_TYPE_CLOSE_STATUS = 1003,
    WEB_SOCKET_EMPTY_CLOSE_STATUS = 1005,
    WEB_SOCKET_ABORTED_CLOSE_STATUS = 1006,
    WEB_SOCKET_INVALID_PAYLOAD_CLOSE_STATUS = 1007,
    WEB_SOCKET_POLICY_VIOLATION_CLOSE_STATUS = 1008,
    WEB_SOCKET_MESSAGE_TOO_BIG_CLOSE_STATUS = 1009,
    WEB_SOCKET_UNSUPPORTED_EXTENSIONS_CLOSE_STATUS = 1010,
    WEB_SOCKET_SERVER_ERROR_CLOSE_STATUS = 1011,
    WEB_SOCKET_SECURE_HANDSHAKE_ERROR_CLOSE_STATUS = 1015
} WEB_SOCKET_CLOSE_STATUS;

typedef enum _WEB_SOCKET_PROPERTY_TYPE {
    WEB_SOCKET_RECEIVE_BUFFER_SIZE_PROPERTY_TYPE = 0,       /* ULONG, per handle */
    WEB_SOCKET_SEND_BUFFER_SIZE_PROPERTY_TYPE = 1,          /* ULONG, per handle */
    WEB_SOCKET_DISABLE_MASKING_PROPERTY_TYPE = 2,           /* BOOL, per handle */
    WEB_SOCKET_ALLOCATED_BUFFER_PROPERTY_TYPE = 3,          /* PVOID (see below), per handle */
    WEB_SOCKET_DISABLE_UTF8_VERIFICATION_PROPERTY_TYPE = 4, /* BOOL, per handle */
    WEB_SOCKET_KEEPALIVE_INTERVAL_PROPERTY_TYPE = 5,        /* ULONG ms, global */
    WEB_SOCKET_SUPPORTED_VERSIONS_PROPERTY_TYPE = 6         /* ULONG[], global */
} WEB_SOCKET_PROPERTY_TYPE;

/* wspc's own, outside the Windows range (not in websocket.dll): permessage-deflate (RFC 7692),
 * per handle, a ULONG: 0 off (the default: behaviour is exactly websocket.dll's), 1 on with
 * wspc's defaults (a client offers "permessage-deflate; client_max_window_bits", a server
 * accepts the first acceptable offer). Negotiated through the Begin and End handshake calls;
 * it never appears among the selected extension indices. Decompressed pieces are handed out
 * from memory of the handle's own, not from a WEB_SOCKET_ALLOCATED_BUFFER_PROPERTY_TYPE block. */
#define WSPC_PROPERTY_PERMESSAGE_DEFLATE ((WEB_SOCKET_PROPERTY_TYPE)0x1000)

typedef enum _WEB_SOCKET_ACTION_QUEUE {
    WEB_SOCKET_SEND_ACTION_QUEUE = 0x1,
    WEB_SOCKET_RECEIVE_ACTION_QUEUE = 0x2,
    WEB_SOCKET_ALL_ACTION_QUEUE = 0x3
} WEB_SOCKET_ACTION_QUEUE;

/* The Windows values 0x80000000..0x80000006, written so that every enumerator fits in an int
 * (as on Windows, where they are negative as 32-bit signed values) with no implementation-defined
 * conversion; `bufferType == 0x80000000` still compares true. */
typedef enum _WEB_SOCKET_BUFFER_TYPE {
    WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE = -0x7FFFFFFF - 1,     /* 0x80000000 */
    WEB_SOCKET_UTF8_FRAGMENT_BUFFER_TYPE = -0x7FFFFFFF,        /* 0x80000001 */
    WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE = -0x7FFFFFFF + 1,   /* 0x80000002 */
    WEB_SOCKET_BINARY_FRAGMENT_BUFFER_TYPE = -0x7FFFFFFF + 2,  /* 0x80000003 */
    WEB_SOCKET_CLOSE_BUFFER_TYPE = -0x7FFFFFFF + 3,            /* 0x80000004 */
    WEB_SOCKET_PING_PONG_BUFFER_TYPE = -0x7FFFFFFF + 4,        /* 0x80000005 */
    WEB_SOCKET_UNSOLICITED_PONG_BUFFER_TYPE = -0x7FFFFFFF + 5  /* 0x80000006 */
} WEB_SOCKET_BUFFER_TYPE;

typedef enum _WEB_SOCKET_ACTION {
    WEB_SOCKET_NO_ACTION = 0,
    WEB_SOCKET_SEND_TO_NETWORK_ACTION = 1,
    WEB_SOCKET_INDICATE_SEND_COMPLETE_ACTION = 2,
    WEB_SOCKET_RECEIVE_FROM_NETWORK_ACTION = 3,
    WEB_SOCKET_INDICATE_RECEIVE_COMPLETE_ACTION = 4
} WEB_SOCKET_ACTION, *PWEB_SOCKET_ACTION;

/* pvValue points AT the value and ulValueSize is its size (4 for ULONG and BOOL). For
 * WEB_SOCKET_ALLOCATED_BUFFER_PROPERTY_TYPE, pvValue points to a PVOID holding the block address
 * and ulValueSize is the block length: 8-byte aligned, at least receive buffer size + send buffer
 * size + 144 bytes, and it must outlive the handle. */
typedef struct _WEB_SOCKET_PROPERTY {
    WEB_SOCKET_PROPERTY_TYPE Type;
    PVOID pvValue;
    ULONG ulValueSize;
} WEB_SOCKET_PROPERTY, *PWEB_SOCKET_PROPERTY;

/* Lengths in bytes; input strings need no NUL terminator. Headers returned by this library are
 * NUL-terminated (the NUL is not counted). */
typedef struct _WEB_SOCKET_HTTP_HEADER {
    PCHAR pcName;
    ULONG ulNameLength;
    PCHAR pcValue;
    ULONG ulValueLength;
} WEB_SOCKET_HTTP_HEADER, *PWEB_SOCKET_HTTP_HEADER;

/* Data for every buffer type except CLOSE; CloseStatus for CLOSE (pbReason is NULL when
 * ulReasonLength is 0; the reason is UTF-8, at most WEB_SOCKET_MAX_CLOSE_REASON_LENGTH bytes). */
typedef union _WEB_SOCKET_BUFFER {
    struct {
        PBYTE pbBuffer;
        ULONG ulBufferLength;
    } Data;
    struct {
        PBYTE pbReason;
        ULONG ulReasonLength;
        USHORT usStatus;
    } CloseStatus;
} WEB_SOCKET_BUFFER, *PWEB_SOCKET_BUFFER;

HRESULT WINAPI WebSocketCreateClientHandle(
    const WEB_SOCKET_PROPERTY *pProperties,
    ULONG ulPropertyCount,
    WEB_SOCKET_HANDLE *phWebSocket);

HRESULT WINAPI WebSocketBeginClientHandshake(
    WEB_SOCKET_HANDLE hWebSocket,
    PCSTR *pszSubprotocols,
    ULONG ulSubprotocolCount,
    PCSTR *pszExtensions,
    ULONG ulExtensionCount,
    const WEB_SOCKET_HTTP_HEADER *pInitialHeaders,
    ULONG ulInitialHeaderCount,
    WEB_SOCKET_HTTP_HEADER **pAdditionalHeaders,
    ULONG *pulAdditionalHeaderCount);

HRESULT WINAPI WebSocketEndClientHandshake(
    WEB_SOCKET_HANDLE hWebSocket,
    const WEB_SOCKET_HTTP_HEADER *pResponseHeaders,
    ULONG ulReponseHeaderCount,
    ULONG *pulSelectedExtensions,
    ULONG *pulSelectedExtensionCount,
    ULONG *pulSelectedSubprotocol);

HRESULT WINAPI WebSocketCreateServerHandle(
    const WEB_SOCKET_PROPERTY *pProperties,
    ULONG ulPropertyCount,
    WEB_SOCKET_HANDLE *phWebSocket);

HRESULT WINAPI WebSocketBeginServerHandshake(
    WEB_SOCKET_HANDLE hWebSocket,
    PCSTR pszSubprotocolSelected,
    PCSTR *pszExtensionSelected,
    ULONG ulExtensionSelectedCount,
    const WEB_SOCKET_HTTP_HEADER *pRequestHeaders,
    ULONG ulRequestHeaderCount,
    WEB_SOCKET_HTTP_HEADER **pResponseHeaders,
    ULONG *pulResponseHeaderCount);

HRESULT WINAPI WebSocketEndServerHandshake(
    WEB_SOCKET_HANDLE hWebSocket);

HRESULT WINAPI WebSocketSend(
    WEB_SOCKET_HANDLE hWebSocket,
    WEB_SOCKET_BUFFER_TYPE BufferType,
    WEB_SOCKET_BUFFER *pBuffer,
    PVOID Context);

HRESULT WINAPI WebSocketReceive(
    WEB_SOCKET_HANDLE hWebSocket,
    WEB_SOCKET_BUFFER *pBuffer,
    PVOID pvContext);

HRESULT WINAPI WebSocketGetAction(
    WEB_SOCKET_HANDLE hWebSocket,
    WEB_SOCKET_ACTION_QUEUE eActionQueue,
    WEB_SOCKET_BUFFER *pDataBuffers,
    ULONG *pulDataBufferCount,
    WEB_SOCKET_ACTION *pAction,
    WEB_SOCKET_BUFFER_TYPE *pBufferType,
    PVOID *pvApplicationContext,
    PVOID *pvActionContext);

VOID WINAPI WebSocketCompleteAction(
    WEB_SOCKET_HANDLE hWebSocket,
    PVOID pvActionContext,
    ULONG ulBytesTransferred);

VOID WINAPI WebSocketAbortHandle(
    WEB_SOCKET_HANDLE hWebSocket);

VOID WINAPI WebSocketDeleteHandle(
    WEB_SOCKET_HANDLE hWebSocket);

HRESULT WINAPI WebSocketGetGlobalProperty(
    WEB_SOCKET_PROPERTY_TYPE eType,
    PVOID pvValue,
    ULONG *ulSize);

#ifdef __cplusplus
}
#endif

#endif /* __WEBSOCKET_H__ */
