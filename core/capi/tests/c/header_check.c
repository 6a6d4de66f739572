/* Compile-only check of websocket.h: alone, or (with -DWITH_WINDOWS_H) after a windows.h of the
 * program's own that defines _WINDEF_, the base types and some status codes. Compiled as C11,
 * C++17 and (after windows.h) C99 -pedantic-errors, where a second typedef of a base type would be
 * an error, with -Wall -Wextra -Werror. Every declaration of the header is used once. */
#ifdef WITH_WINDOWS_H
#include <windows.h>
#endif
#include <websocket.h>
#include <websocket.h> /* include guard */

#ifdef WITH_WINDOWS_H
#ifndef FAILED
#error "windows.h must come first"
#endif
#endif

typedef HRESULT(WINAPI *create_fn)(const WEB_SOCKET_PROPERTY *, ULONG, WEB_SOCKET_HANDLE *);
typedef HRESULT(WINAPI *begin_client_fn)(WEB_SOCKET_HANDLE, PCSTR *, ULONG, PCSTR *, ULONG,
                                         const WEB_SOCKET_HTTP_HEADER *, ULONG,
                                         WEB_SOCKET_HTTP_HEADER **, ULONG *);
typedef HRESULT(WINAPI *end_client_fn)(WEB_SOCKET_HANDLE, const WEB_SOCKET_HTTP_HEADER *, ULONG,
                                       ULONG *, ULONG *, ULONG *);
typedef HRESULT(WINAPI *begin_server_fn)(WEB_SOCKET_HANDLE, PCSTR, PCSTR *, ULONG,
                                         const WEB_SOCKET_HTTP_HEADER *, ULONG,
                                         WEB_SOCKET_HTTP_HEADER **, ULONG *);
typedef HRESULT(WINAPI *end_server_fn)(WEB_SOCKET_HANDLE);
typedef HRESULT(WINAPI *send_fn)(WEB_SOCKET_HANDLE, WEB_SOCKET_BUFFER_TYPE, WEB_SOCKET_BUFFER *,
                                 PVOID);
typedef HRESULT(WINAPI *receive_fn)(WEB_SOCKET_HANDLE, WEB_SOCKET_BUFFER *, PVOID);
typedef HRESULT(WINAPI *get_action_fn)(WEB_SOCKET_HANDLE, WEB_SOCKET_ACTION_QUEUE,
                                       WEB_SOCKET_BUFFER *, ULONG *, WEB_SOCKET_ACTION *,
                                       WEB_SOCKET_BUFFER_TYPE *, PVOID *, PVOID *);
typedef VOID(WINAPI *complete_fn)(WEB_SOCKET_HANDLE, PVOID, ULONG);
typedef VOID(WINAPI *handle_fn)(WEB_SOCKET_HANDLE);
typedef HRESULT(WINAPI *global_fn)(WEB_SOCKET_PROPERTY_TYPE, PVOID, ULONG *);

/* The exact signatures: each assignment must compile without a cast. */
create_fn check_create_client = WebSocketCreateClientHandle;
create_fn check_create_server = WebSocketCreateServerHandle;
begin_client_fn check_begin_client = WebSocketBeginClientHandshake;
end_client_fn check_end_client = WebSocketEndClientHandshake;
begin_server_fn check_begin_server = WebSocketBeginServerHandshake;
end_server_fn check_end_server = WebSocketEndServerHandshake;
send_fn check_send = WebSocketSend;
receive_fn check_receive = WebSocketReceive;
get_action_fn check_get_action = WebSocketGetAction;
complete_fn check_complete = WebSocketCompleteAction;
handle_fn check_abort = WebSocketAbortHandle;
handle_fn check_delete = WebSocketDeleteHandle;
global_fn check_global = WebSocketGetGlobalProperty;

int use_types(void);
int use_types(void)
{
    WEB_SOCKET_HTTP_HEADER header;
    PWEB_SOCKET_HTTP_HEADER pheader = &header;
    WEB_SOCKET_PROPERTY property;
    PWEB_SOCKET_PROPERTY pproperty = &property;
    WEB_SOCKET_BUFFER buffer;
    PWEB_SOCKET_BUFFER pbuffer = &buffer;
    WEB_SOCKET_ACTION action = WEB_SOCKET_NO_ACTION;
    PWEB_SOCKET_ACTION paction = &action;
    WEB_SOCKET_ACTION_QUEUE queue = WEB_SOCKET_ALL_ACTION_QUEUE;
    WEB_SOCKET_BUFFER_TYPE type = WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE;
    WEB_SOCKET_PROPERTY_TYPE ptype = WEB_SOCKET_RECEIVE_BUFFER_SIZE_PROPERTY_TYPE;
    WEB_SOCKET_CLOSE_STATUS status = WEB_SOCKET_SUCCESS_CLOSE_STATUS;
    USHORT us = (USHORT)status;
    BOOL flag = 1;
    BYTE byte = 0;
    PBYTE pbyte = &byte;
    PCHAR pchar = (PCHAR)0;
    PCSTR pcstr = "x";
    HRESULT hr = E_INVALID_PROTOCOL_OPERATION;

    pheader->pcName = pchar;
    pheader->ulNameLength = 0;
    pproperty->Type = ptype;
    pproperty->pvValue = &flag;
    pproperty->ulValueSize = sizeof flag;
    pbuffer->CloseStatus.pbReason = pbyte;
    pbuffer->CloseStatus.ulReasonLength = WEB_SOCKET_MAX_CLOSE_REASON_LENGTH;
    pbuffer->CloseStatus.usStatus = us;
    pbuffer->Data.pbBuffer = pbyte;
    return (int)*paction + (int)queue + (type == WEB_SOCKET_CLOSE_BUFFER_TYPE) + (pcstr != 0) +
           (hr == E_INVALID_PROTOCOL_FORMAT) + (hr == E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED) +
           (hr == E_SUBPROTOCOL_NOT_SUPPORTED) + (hr == E_PROTOCOL_VERSION_NOT_SUPPORTED) +
           (hr == E_INVALIDARG) + (hr == E_POINTER) + (hr == E_OUTOFMEMORY) +
           (hr == E_NOT_SUFFICIENT_BUFFER) + (hr == E_FAIL) + (hr == S_OK);
}
