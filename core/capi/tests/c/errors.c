/* Error paths of the C ABI, each with its expected HRESULT: NULL arguments, bad property types and
 * sizes, stale, unknown and double-deleted handles, operations in the wrong state, handshake
 * failures, protocol errors in received data, global properties. Exit status 0 = pass. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "common.h"

static WEB_SOCKET_HANDLE new_handle(int server)
{
    WEB_SOCKET_HANDLE h = NULL;
    if (server) {
        CHECK_HR(WebSocketCreateServerHandle(NULL, 0, &h), S_OK);
    } else {
        CHECK_HR(WebSocketCreateClientHandle(NULL, 0, &h), S_OK);
    }
    CHECK(h != NULL);
    return h;
}

static void set_prop(WEB_SOCKET_PROPERTY *p, int type, PVOID value, ULONG size)
{
    p->Type = (WEB_SOCKET_PROPERTY_TYPE)type;
    p->pvValue = value;
    p->ulValueSize = size;
}

/* Creates a handle with `count` properties; on success deletes it again. On failure the handle
 * out-parameter must have been set to NULL. */
static HRESULT create_with(int server, const WEB_SOCKET_PROPERTY *props, ULONG count)
{
    WEB_SOCKET_HANDLE h = (WEB_SOCKET_HANDLE)(uintptr_t)0x1234;
    HRESULT hr = server ? WebSocketCreateServerHandle(props, count, &h)
                        : WebSocketCreateClientHandle(props, count, &h);
    if (SUCCEEDED(hr)) {
        CHECK(h != NULL);
        WebSocketDeleteHandle(h);
    } else {
        CHECK(h == NULL);
    }
    return hr;
}

static HRESULT create1(int server, int type, PVOID value, ULONG size)
{
    WEB_SOCKET_PROPERTY p;
    set_prop(&p, type, value, size);
    return create_with(server, &p, 1);
}

static void property_errors(void)
{
    static uint64_t block[(65536 * 2 + 144) / 8 + 1];
    WEB_SOCKET_PROPERTY props[3];
    ULONG v = 4096;
    BOOL b = TRUE;
    unsigned char bad_block_storage[16];
    PVOID block_ptr = block;
    PVOID null_ptr = NULL;
    PVOID misaligned = (unsigned char *)block + 1;
    int server;

    CHECK_HR(WebSocketCreateClientHandle(NULL, 0, NULL), E_POINTER);
    CHECK_HR(WebSocketCreateServerHandle(NULL, 0, NULL), E_POINTER);
    CHECK_HR(create_with(0, NULL, 1), E_POINTER);
    CHECK_HR(create_with(0, NULL, 0), S_OK);

    for (server = 0; server < 2; server++) {
        /* ULONG and BOOL values are 4 bytes; pvValue points at them. */
        CHECK_HR(create1(server, WEB_SOCKET_RECEIVE_BUFFER_SIZE_PROPERTY_TYPE, &v, 4), S_OK);
        CHECK_HR(create1(server, WEB_SOCKET_RECEIVE_BUFFER_SIZE_PROPERTY_TYPE, &v, 8),
                 E_INVALIDARG);
        CHECK_HR(create1(server, WEB_SOCKET_RECEIVE_BUFFER_SIZE_PROPERTY_TYPE, &v, 2),
                 E_INVALIDARG);
        CHECK_HR(create1(server, WEB_SOCKET_RECEIVE_BUFFER_SIZE_PROPERTY_TYPE, NULL, 4),
                 E_POINTER);
        CHECK_HR(create1(server, WEB_SOCKET_SEND_BUFFER_SIZE_PROPERTY_TYPE, &v, 0), E_INVALIDARG);
        CHECK_HR(create1(server, WEB_SOCKET_DISABLE_MASKING_PROPERTY_TYPE, &b, 4), S_OK);
        CHECK_HR(create1(server, WEB_SOCKET_DISABLE_MASKING_PROPERTY_TYPE, &b, 1), E_INVALIDARG);
        CHECK_HR(create1(server, WEB_SOCKET_DISABLE_UTF8_VERIFICATION_PROPERTY_TYPE, &b, 4), S_OK);
        CHECK_HR(create1(server, WEB_SOCKET_DISABLE_UTF8_VERIFICATION_PROPERTY_TYPE, NULL, 4),
                 E_POINTER);

        /* Ranges (§9 Q2): receive 256..65536, send 16..65536. */
        v = 255;
        CHECK_HR(create1(server, WEB_SOCKET_RECEIVE_BUFFER_SIZE_PROPERTY_TYPE, &v, 4),
                 E_INVALIDARG);
        v = 256;
        CHECK_HR(create1(server, WEB_SOCKET_RECEIVE_BUFFER_SIZE_PROPERTY_TYPE, &v, 4), S_OK);
        v = 65536;
        CHECK_HR(create1(server, WEB_SOCKET_RECEIVE_BUFFER_SIZE_PROPERTY_TYPE, &v, 4), S_OK);
        v = 65537;
        CHECK_HR(create1(server, WEB_SOCKET_RECEIVE_BUFFER_SIZE_PROPERTY_TYPE, &v, 4),
                 E_INVALIDARG);
        CHECK_HR(create1(server, WEB_SOCKET_SEND_BUFFER_SIZE_PROPERTY_TYPE, &v, 4), E_INVALIDARG);
        v = 15;
        CHECK_HR(create1(server, WEB_SOCKET_SEND_BUFFER_SIZE_PROPERTY_TYPE, &v, 4), E_INVALIDARG);
        v = 16;
        CHECK_HR(create1(server, WEB_SOCKET_SEND_BUFFER_SIZE_PROPERTY_TYPE, &v, 4), S_OK);

        /* Global-only and unknown types (§9 Q14). */
        v = 30000;
        CHECK_HR(create1(server, WEB_SOCKET_KEEPALIVE_INTERVAL_PROPERTY_TYPE, &v, 4),
                 E_INVALIDARG);
        CHECK_HR(create1(server, WEB_SOCKET_SUPPORTED_VERSIONS_PROPERTY_TYPE, &v, 4),
                 E_INVALIDARG);
        CHECK_HR(create1(server, 7, &v, 4), E_INVALIDARG);
        CHECK_HR(create1(server, -1, &v, 4), E_INVALIDARG);

        /* Duplicates. */
        v = 4096;
        set_prop(&props[0], WEB_SOCKET_RECEIVE_BUFFER_SIZE_PROPERTY_TYPE, &v, 4);
        set_prop(&props[1], WEB_SOCKET_RECEIVE_BUFFER_SIZE_PROPERTY_TYPE, &v, 4);
        CHECK_HR(create_with(server, props, 2), E_INVALIDARG);

        /* The allocated buffer (§4, §9 Q3): pvValue points to the block's address, ulValueSize
         * is the block's length, at least RBS + SBS + 144 and 8-byte aligned. */
        {
            ULONG rbs = 256, sbs = server ? 16 : 256, need = rbs + sbs + 144;
            set_prop(&props[0], WEB_SOCKET_RECEIVE_BUFFER_SIZE_PROPERTY_TYPE, &rbs, 4);
            set_prop(&props[1], WEB_SOCKET_SEND_BUFFER_SIZE_PROPERTY_TYPE, &sbs, 4);
            set_prop(&props[2], WEB_SOCKET_ALLOCATED_BUFFER_PROPERTY_TYPE, &block_ptr, need);
            CHECK_HR(create_with(server, props, 3), S_OK);
            props[2].ulValueSize = need - 1;
            CHECK_HR(create_with(server, props, 3), E_INVALIDARG);
            set_prop(&props[2], WEB_SOCKET_ALLOCATED_BUFFER_PROPERTY_TYPE, &misaligned, need);
            CHECK_HR(create_with(server, props, 3), E_INVALIDARG);
            set_prop(&props[2], WEB_SOCKET_ALLOCATED_BUFFER_PROPERTY_TYPE, &null_ptr, need);
            CHECK_HR(create_with(server, props, 3), E_POINTER);
            set_prop(&props[2], WEB_SOCKET_ALLOCATED_BUFFER_PROPERTY_TYPE, NULL, need);
            CHECK_HR(create_with(server, props, 3), E_POINTER);
            /* Twice. */
            set_prop(&props[0], WEB_SOCKET_ALLOCATED_BUFFER_PROPERTY_TYPE, &block_ptr, need);
            set_prop(&props[1], WEB_SOCKET_ALLOCATED_BUFFER_PROPERTY_TYPE, &block_ptr, need);
            CHECK_HR(create_with(server, props, 2), E_INVALIDARG);
            /* Defaults: 4096 + (4096 client | 16 server) + 144. */
            set_prop(&props[0], WEB_SOCKET_ALLOCATED_BUFFER_PROPERTY_TYPE, &block_ptr,
                     4096 + (server ? 16 : 4096) + 144);
            CHECK_HR(create_with(server, props, 1), S_OK);
            props[0].ulValueSize -= 1;
            CHECK_HR(create_with(server, props, 1), E_INVALIDARG);
        }
    }
    (void)bad_block_storage;
}

/* Before a handshake, or on a handle that is not live: Send, Receive and GetAction on `h` all fail
 * with `expected`, and GetAction reports no action. */
static void session_calls_fail(WEB_SOCKET_HANDLE h, HRESULT expected)
{
    WEB_SOCKET_BUFFER buffers[2];
    ULONG n = 2;
    WEB_SOCKET_ACTION action;
    WEB_SOCKET_BUFFER_TYPE type;
    PVOID ctx;

    CHECK_HR(WebSocketSend(h, WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, NULL, NULL), expected);
    CHECK_HR(WebSocketReceive(h, NULL, NULL), expected);
    CHECK_HR(WebSocketGetAction(h, WEB_SOCKET_ALL_ACTION_QUEUE, buffers, &n, &action, &type, NULL,
                                &ctx),
             expected);
    CHECK(action == WEB_SOCKET_NO_ACTION && n == 0 && ctx == NULL);
}

static void handle_errors(void)
{
    int local = 0;
    WEB_SOCKET_HANDLE deleted = new_handle(0);
    WEB_SOCKET_HANDLE other;
    WEB_SOCKET_HANDLE bogus[4];
    WEB_SOCKET_HTTP_HEADER *headers;
    ULONG count;
    size_t i;

    WebSocketDeleteHandle(deleted);
    WebSocketDeleteHandle(deleted); /* double delete: ignored */
    other = new_handle(0);
    CHECK(other != deleted); /* handle values are never reused */

    bogus[0] = NULL;
    bogus[1] = (WEB_SOCKET_HANDLE)(uintptr_t)0xdeadbeef;
    bogus[2] = &local;
    bogus[3] = deleted;
    for (i = 0; i < ARRAYSIZE(bogus); i++) {
        WEB_SOCKET_HANDLE h = bogus[i];
        CHECK_HR(WebSocketBeginClientHandshake(h, NULL, 0, NULL, 0, NULL, 0, &headers, &count),
                 E_INVALIDARG);
        CHECK(headers == NULL && count == 0);
        CHECK_HR(WebSocketEndClientHandshake(h, NULL, 0, NULL, NULL, NULL), E_INVALIDARG);
        CHECK_HR(WebSocketBeginServerHandshake(h, NULL, NULL, 0, NULL, 0, &headers, &count),
                 E_INVALIDARG);
        CHECK_HR(WebSocketEndServerHandshake(h), E_INVALIDARG);
        session_calls_fail(h, E_INVALIDARG);
        /* The VOID functions ignore it. */
        WebSocketCompleteAction(h, (PVOID)(uintptr_t)1, 10);
        WebSocketAbortHandle(h);
        WebSocketDeleteHandle(h);
    }
    CHECK(local == 0);
    /* The live handle is unaffected. */
    CHECK_HR(WebSocketBeginClientHandshake(other, NULL, 0, NULL, 0, NULL, 0, &headers, &count),
             S_OK);
    WebSocketDeleteHandle(other);
}

static void state_errors(void)
{
    WEB_SOCKET_HANDLE c = new_handle(0), s = new_handle(1);
    WEB_SOCKET_HTTP_HEADER *headers;
    ULONG count, n;
    WEB_SOCKET_BUFFER buffers[2];
    WEB_SOCKET_ACTION action;
    WEB_SOCKET_BUFFER_TYPE type;
    PVOID ctx;
    BYTE payload[4] = {1, 2, 3, 4};
    WEB_SOCKET_BUFFER buffer;

    /* Session functions before the handshake. */
    session_calls_fail(c, E_INVALID_PROTOCOL_OPERATION);
    CHECK_HR(WebSocketSend(s, WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, NULL, NULL),
             E_INVALID_PROTOCOL_OPERATION);

    /* Handshake functions of the wrong role or order. */
    CHECK_HR(WebSocketEndClientHandshake(c, NULL, 0, NULL, NULL, NULL),
             E_INVALID_PROTOCOL_OPERATION);
    CHECK_HR(WebSocketEndServerHandshake(s), E_INVALID_PROTOCOL_OPERATION);
    CHECK_HR(WebSocketEndServerHandshake(c), E_INVALID_PROTOCOL_OPERATION);
    CHECK_HR(WebSocketBeginServerHandshake(c, NULL, NULL, 0, NULL, 0, &headers, &count),
             E_INVALID_PROTOCOL_OPERATION);
    CHECK_HR(WebSocketBeginClientHandshake(s, NULL, 0, NULL, 0, NULL, 0, &headers, &count),
             E_INVALID_PROTOCOL_OPERATION);
    handshake(c, s);
    CHECK_HR(WebSocketBeginClientHandshake(c, NULL, 0, NULL, 0, NULL, 0, &headers, &count),
             E_INVALID_PROTOCOL_OPERATION);
    CHECK_HR(WebSocketEndServerHandshake(s), E_INVALID_PROTOCOL_OPERATION);

    /* Switching text/binary inside a message. */
    buffer.Data.pbBuffer = payload;
    buffer.Data.ulBufferLength = sizeof payload;
    CHECK_HR(WebSocketSend(c, WEB_SOCKET_UTF8_FRAGMENT_BUFFER_TYPE, &buffer, NULL), S_OK);
    CHECK_HR(WebSocketSend(c, WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, &buffer, NULL),
             E_INVALID_PROTOCOL_OPERATION);
    CHECK_HR(WebSocketSend(c, WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE, &buffer, NULL), S_OK);

    /* Data after a close; a second close. */
    CHECK_HR(WebSocketSend(c, WEB_SOCKET_CLOSE_BUFFER_TYPE, NULL, NULL), S_OK);
    CHECK_HR(WebSocketSend(c, WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, &buffer, NULL),
             E_INVALID_PROTOCOL_OPERATION);
    CHECK_HR(WebSocketSend(c, WEB_SOCKET_CLOSE_BUFFER_TYPE, NULL, NULL),
             E_INVALID_PROTOCOL_OPERATION);
    CHECK_HR(WebSocketSend(c, WEB_SOCKET_PING_PONG_BUFFER_TYPE, NULL, NULL), S_OK);

    /* After an abort: sends and receives fail, queued operations drain as completions. */
    CHECK_HR(WebSocketSend(s, WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, &buffer, (PVOID)7), S_OK);
    CHECK_HR(WebSocketReceive(s, NULL, (PVOID)8), S_OK);
    WebSocketAbortHandle(s);
    WebSocketAbortHandle(s); /* idempotent */
    CHECK_HR(WebSocketSend(s, WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, &buffer, NULL),
             E_INVALID_PROTOCOL_OPERATION);
    CHECK_HR(WebSocketReceive(s, NULL, NULL), E_INVALID_PROTOCOL_OPERATION);
    {
        int sends = 0, receives = 0;
        for (;;) {
            PVOID app = UNTOUCHED;
            n = 2;
            CHECK_HR(WebSocketGetAction(s, WEB_SOCKET_ALL_ACTION_QUEUE, buffers, &n, &action,
                                        &type, &app, &ctx),
                     S_OK);
            if (action == WEB_SOCKET_NO_ACTION) {
                break;
            }
            if (action == WEB_SOCKET_INDICATE_SEND_COMPLETE_ACTION) {
                CHECK(app == (PVOID)7 && type == WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE);
                /* The descriptor given to Send, echoed (§9 Q6). */
                CHECK(n == 1 && buffers[0].Data.pbBuffer == payload &&
                      buffers[0].Data.ulBufferLength == sizeof payload);
                sends++;
            } else {
                /* Q7: a receive ended by an abort completes as CLOSE 1006 without a reason. */
                CHECK(action == WEB_SOCKET_INDICATE_RECEIVE_COMPLETE_ACTION);
                CHECK(app == (PVOID)8 && type == WEB_SOCKET_CLOSE_BUFFER_TYPE && n == 1);
                CHECK(buffers[0].CloseStatus.usStatus == WEB_SOCKET_ABORTED_CLOSE_STATUS);
                CHECK(buffers[0].CloseStatus.pbReason == NULL &&
                      buffers[0].CloseStatus.ulReasonLength == 0);
                receives++;
            }
            WebSocketCompleteAction(s, ctx, 0);
        }
        CHECK(sends == 1 && receives == 1);
    }
    WebSocketDeleteHandle(c);
    WebSocketDeleteHandle(s);
}

static void argument_errors(void)
{
    WEB_SOCKET_HANDLE c = new_handle(0), s = new_handle(1);
    WEB_SOCKET_BUFFER buffer, buffers[2];
    BYTE reason[WEB_SOCKET_MAX_CLOSE_REASON_LENGTH + 1];
    BYTE bad_utf8[2] = {0xC3, 0x28};
    ULONG n;
    WEB_SOCKET_ACTION action;
    WEB_SOCKET_BUFFER_TYPE type;
    PVOID ctx;

    handshake(c, s);
    memset(reason, 'r', sizeof reason);

    /* WebSocketSend */
    CHECK_HR(WebSocketSend(c, (WEB_SOCKET_BUFFER_TYPE)0x12345, NULL, NULL), E_INVALIDARG);
    CHECK_HR(WebSocketSend(c, (WEB_SOCKET_BUFFER_TYPE)0, NULL, NULL), E_INVALIDARG);
    CHECK_HR(WebSocketSend(c, (WEB_SOCKET_BUFFER_TYPE)(-0x7FFFFFFF + 6), NULL, NULL),
             E_INVALIDARG);
    buffer.Data.pbBuffer = reason;
    buffer.Data.ulBufferLength = 1;
    CHECK_HR(WebSocketSend(c, WEB_SOCKET_PING_PONG_BUFFER_TYPE, &buffer, NULL), E_INVALIDARG);
    CHECK_HR(WebSocketSend(c, WEB_SOCKET_UNSOLICITED_PONG_BUFFER_TYPE, &buffer, NULL),
             E_INVALIDARG);
    buffer.Data.pbBuffer = NULL;
    buffer.Data.ulBufferLength = 5;
    CHECK_HR(WebSocketSend(c, WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, &buffer, NULL), E_POINTER);
    buffer.CloseStatus.pbReason = reason;
    buffer.CloseStatus.ulReasonLength = WEB_SOCKET_MAX_CLOSE_REASON_LENGTH + 1;
    buffer.CloseStatus.usStatus = 1000;
    CHECK_HR(WebSocketSend(c, WEB_SOCKET_CLOSE_BUFFER_TYPE, &buffer, NULL), E_INVALIDARG);
    buffer.CloseStatus.ulReasonLength = 3;
    buffer.CloseStatus.usStatus = WEB_SOCKET_ABORTED_CLOSE_STATUS; /* never on the wire */
    CHECK_HR(WebSocketSend(c, WEB_SOCKET_CLOSE_BUFFER_TYPE, &buffer, NULL), E_INVALIDARG);
    buffer.CloseStatus.usStatus = 999;
    CHECK_HR(WebSocketSend(c, WEB_SOCKET_CLOSE_BUFFER_TYPE, &buffer, NULL), E_INVALIDARG);
    buffer.CloseStatus.pbReason = bad_utf8;
    buffer.CloseStatus.ulReasonLength = sizeof bad_utf8;
    buffer.CloseStatus.usStatus = 1000;
    CHECK_HR(WebSocketSend(c, WEB_SOCKET_CLOSE_BUFFER_TYPE, &buffer, NULL), E_INVALIDARG);
    buffer.CloseStatus.pbReason = NULL;
    buffer.CloseStatus.ulReasonLength = 3;
    CHECK_HR(WebSocketSend(c, WEB_SOCKET_CLOSE_BUFFER_TYPE, &buffer, NULL), E_POINTER);

    /* WebSocketReceive */
    buffer.Data.pbBuffer = NULL;
    buffer.Data.ulBufferLength = 0;
    CHECK_HR(WebSocketReceive(c, &buffer, NULL), E_INVALIDARG);
    buffer.Data.ulBufferLength = 10;
    CHECK_HR(WebSocketReceive(c, &buffer, NULL), E_POINTER);

    /* WebSocketGetAction */
    n = 2;
    CHECK_HR(WebSocketGetAction(c, WEB_SOCKET_ALL_ACTION_QUEUE, buffers, NULL, &action, &type,
                                NULL, &ctx),
             E_POINTER);
    CHECK_HR(WebSocketGetAction(c, WEB_SOCKET_ALL_ACTION_QUEUE, buffers, &n, NULL, &type, NULL,
                                &ctx),
             E_POINTER);
    CHECK_HR(WebSocketGetAction(c, WEB_SOCKET_ALL_ACTION_QUEUE, buffers, &n, &action, NULL, NULL,
                                &ctx),
             E_POINTER);
    CHECK_HR(WebSocketGetAction(c, WEB_SOCKET_ALL_ACTION_QUEUE, buffers, &n, &action, &type,
                                NULL, NULL),
             E_POINTER);
    n = 2;
    CHECK_HR(WebSocketGetAction(c, WEB_SOCKET_ALL_ACTION_QUEUE, NULL, &n, &action, &type, NULL,
                                &ctx),
             E_POINTER);
    n = 0;
    CHECK_HR(WebSocketGetAction(c, WEB_SOCKET_ALL_ACTION_QUEUE, buffers, &n, &action, &type,
                                NULL, &ctx),
             E_INVALIDARG);
    n = 2;
    CHECK_HR(WebSocketGetAction(c, (WEB_SOCKET_ACTION_QUEUE)0, buffers, &n, &action, &type, NULL,
                                &ctx),
             E_INVALIDARG);
    n = 2;
    CHECK_HR(WebSocketGetAction(c, (WEB_SOCKET_ACTION_QUEUE)4, buffers, &n, &action, &type, NULL,
                                &ctx),
             E_INVALIDARG);

    /* WebSocketCompleteAction ignores contexts that are not outstanding, and a second
     * completion of the same action. */
    CHECK_HR(WebSocketSend(s, WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, NULL, (PVOID)3), S_OK);
    n = 2;
    CHECK_HR(WebSocketGetAction(s, WEB_SOCKET_SEND_ACTION_QUEUE, buffers, &n, &action, &type,
                                NULL, &ctx),
             S_OK);
    CHECK(action == WEB_SOCKET_SEND_TO_NETWORK_ACTION && n == 1 &&
          buffers[0].Data.ulBufferLength == 2);
    WebSocketCompleteAction(s, NULL, 2);
    WebSocketCompleteAction(s, (PVOID)(uintptr_t)0xfffffff, 2);
    WebSocketCompleteAction(s, ctx, 2);
    WebSocketCompleteAction(s, ctx, 2);
    n = 2;
    CHECK_HR(WebSocketGetAction(s, WEB_SOCKET_SEND_ACTION_QUEUE, buffers, &n, &action, &type,
                                NULL, &ctx),
             S_OK);
    CHECK(action == WEB_SOCKET_INDICATE_SEND_COMPLETE_ACTION && n == 0);
    WebSocketCompleteAction(s, ctx, 0);

    WebSocketDeleteHandle(c);
    WebSocketDeleteHandle(s);
}

static WEB_SOCKET_HTTP_HEADER hdr(const char *name, const char *value)
{
    WEB_SOCKET_HTTP_HEADER h;
    h.pcName = (PCHAR)name;
    h.ulNameLength = (ULONG)strlen(name);
    h.pcValue = (PCHAR)value;
    h.ulValueLength = (ULONG)strlen(value);
    return h;
}

static void handshake_errors(void)
{
    WEB_SOCKET_HANDLE c = new_handle(0), s;
    WEB_SOCKET_HTTP_HEADER *ch, *sh, request[8], response[8], bad;
    ULONG cn, sn, i, selected[4], selected_count, subprotocol;
    PCSTR subprotocols[2] = {"chat", "superchat"};
    PCSTR extensions[2] = {"foo", "bar; x=1"};
    PCSTR null_entry[1] = {NULL};
    PCSTR not_utf8[1] = {"\xff"};
    PCSTR chosen_ext[1] = {"bar"};

    /* Client Begin argument errors. */
    CHECK_HR(WebSocketBeginClientHandshake(c, NULL, 0, NULL, 0, NULL, 0, NULL, &cn), E_POINTER);
    CHECK_HR(WebSocketBeginClientHandshake(c, NULL, 0, NULL, 0, NULL, 0, &ch, NULL), E_POINTER);
    CHECK_HR(WebSocketBeginClientHandshake(c, NULL, 1, NULL, 0, NULL, 0, &ch, &cn), E_POINTER);
    CHECK_HR(WebSocketBeginClientHandshake(c, null_entry, 1, NULL, 0, NULL, 0, &ch, &cn),
             E_POINTER);
    CHECK_HR(WebSocketBeginClientHandshake(c, not_utf8, 1, NULL, 0, NULL, 0, &ch, &cn),
             E_INVALIDARG);
    CHECK_HR(WebSocketBeginClientHandshake(c, NULL, 0, NULL, 2, NULL, 0, &ch, &cn), E_POINTER);
    bad = hdr("X-Test", "v");
    bad.pcName = NULL;
    CHECK_HR(WebSocketBeginClientHandshake(c, NULL, 0, NULL, 0, &bad, 1, &ch, &cn), E_POINTER);
    CHECK_HR(WebSocketBeginClientHandshake(c, NULL, 0, NULL, 0, NULL, 1, &ch, &cn), E_POINTER);

    /* Negotiation of subprotocol and extensions, with the extension capacity check. */
    CHECK_HR(WebSocketBeginClientHandshake(c, subprotocols, 2, extensions, 2, NULL, 0, &ch, &cn),
             S_OK);
    CHECK(cn == 6 && cn < 7);
    for (i = 0; i < cn; i++) {
        CHECK(header_is_nul_terminated(&ch[i]));
    }
    CHECK(strcmp(find_header(ch, cn, "Sec-WebSocket-Protocol")->pcValue, "chat, superchat") == 0);
    memcpy(request, ch, cn * sizeof *ch);
    request[cn] = hdr("Host", "");

    s = new_handle(1);
    CHECK_HR(WebSocketBeginServerHandshake(s, NULL, NULL, 0, request, cn, &sh, &sn),
             E_INVALID_PROTOCOL_FORMAT); /* no Host */
    CHECK(sh == NULL && sn == 0);
    CHECK_HR(WebSocketBeginServerHandshake(s, "other", NULL, 0, request, cn + 1, &sh, &sn),
             E_SUBPROTOCOL_NOT_SUPPORTED);
    CHECK_HR(WebSocketBeginServerHandshake(s, NULL, NULL, 0, request, cn + 1, NULL, &sn),
             E_POINTER);
    CHECK_HR(WebSocketBeginServerHandshake(s, NULL, NULL, 0, NULL, 3, &sh, &sn), E_POINTER);
    CHECK_HR(WebSocketBeginServerHandshake(s, NULL, NULL, 1, request, cn + 1, &sh, &sn),
             E_POINTER);
    CHECK_HR(WebSocketBeginServerHandshake(s, "superchat", chosen_ext, 1, request, cn + 1, &sh,
                                           &sn),
             S_OK);
    CHECK(find_header(sh, sn, "Sec-WebSocket-Protocol") != NULL);
    memcpy(response, sh, sn * sizeof *sh);

    /* A tampered accept, an extension that was not offered, a missing subprotocol: the handle
     * stays in the handshake, its Begin headers still valid. */
    for (i = 0; i < sn; i++) {
        if (strcmp(response[i].pcName, "Sec-WebSocket-Accept") == 0) {
            response[i] = hdr("Sec-WebSocket-Accept", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        }
    }
    CHECK_HR(WebSocketEndClientHandshake(c, response, sn, NULL, NULL, NULL),
             E_INVALID_PROTOCOL_FORMAT);
    memcpy(response, sh, sn * sizeof *sh);
    response[sn] = hdr("Sec-WebSocket-Extensions", "baz");
    CHECK_HR(WebSocketEndClientHandshake(c, response, sn + 1, NULL, NULL, NULL),
             E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED);
    for (i = 0; i < sn; i++) {
        if (strcmp(response[i].pcName, "Sec-WebSocket-Protocol") == 0) {
            response[i] = hdr("X-Ignored", "1");
        }
    }
    CHECK_HR(WebSocketEndClientHandshake(c, response, sn, NULL, NULL, NULL),
             E_SUBPROTOCOL_NOT_SUPPORTED);
    CHECK(header_is_nul_terminated(&ch[0]));
    CHECK_HR(WebSocketEndClientHandshake(c, NULL, 2, NULL, NULL, NULL), E_POINTER);

    selected_count = 1; /* fewer than the 2 offered */
    CHECK_HR(WebSocketEndClientHandshake(c, sh, sn, selected, &selected_count, &subprotocol),
             E_NOT_SUFFICIENT_BUFFER);
    CHECK(selected_count == 2);
    selected_count = 2;
    CHECK_HR(WebSocketEndClientHandshake(c, sh, sn, NULL, &selected_count, &subprotocol),
             E_POINTER);
    selected_count = 4;
    subprotocol = 99;
    CHECK_HR(WebSocketEndClientHandshake(c, sh, sn, selected, &selected_count, &subprotocol),
             S_OK);
    CHECK(selected_count == 1 && selected[0] == 1 && subprotocol == 1);
    CHECK_HR(WebSocketEndClientHandshake(c, sh, sn, NULL, NULL, NULL),
             E_INVALID_PROTOCOL_OPERATION);
    WebSocketDeleteHandle(c);
    WebSocketDeleteHandle(s);

    /* Version other than 13: the server answers 426. */
    c = new_handle(0);
    s = new_handle(1);
    CHECK_HR(WebSocketBeginClientHandshake(c, NULL, 0, NULL, 0, NULL, 0, &ch, &cn), S_OK);
    memcpy(request, ch, cn * sizeof *ch);
    for (i = 0; i < cn; i++) {
        if (strcmp(request[i].pcName, "Sec-WebSocket-Version") == 0) {
            request[i] = hdr("Sec-WebSocket-Version", "12");
        }
    }
    request[cn] = hdr("Host", "x");
    CHECK_HR(WebSocketBeginServerHandshake(s, NULL, NULL, 0, request, cn + 1, &sh, &sn),
             E_PROTOCOL_VERSION_NOT_SUPPORTED);
    WebSocketDeleteHandle(c);
    WebSocketDeleteHandle(s);
}

/* Bad bytes from the peer: GetAction reports E_INVALID_PROTOCOL_FORMAT (again on later calls);
 * after an abort the pending receive drains. End of stream completes a receive as CLOSE 1006. */
static void protocol_errors(void)
{
    static Peer client, server;
    static Pipe c2s, s2c;
    /* A masked frame with the reserved opcode 0x3. */
    static const unsigned char reserved[] = {0x83, 0x80, 1, 2, 3, 4};
    /* A masked text frame that is not UTF-8 (mask 0: payload as is). */
    static const unsigned char bad_text[] = {0x81, 0x82, 0, 0, 0, 0, 0xC3, 0x28};
    WEB_SOCKET_PROPERTY prop;
    BOOL yes = TRUE;
    WEB_SOCKET_HANDLE s;

    memset(&client, 0, sizeof client);
    memset(&server, 0, sizeof server);
    client.h = new_handle(0);
    server.h = new_handle(1);
    client.out = server.in = &c2s;
    server.out = client.in = &s2c;
    handshake(client.h, server.h);

    pipe_write(&c2s, reserved, sizeof reserved);
    CHECK_HR(WebSocketReceive(server.h, NULL, (PVOID)1), S_OK);
    CHECK_HR(pump(&server, WEB_SOCKET_ALL_ACTION_QUEUE), E_INVALID_PROTOCOL_FORMAT);
    CHECK_HR(pump(&server, WEB_SOCKET_RECEIVE_ACTION_QUEUE), E_INVALID_PROTOCOL_FORMAT);
    /* The send side still works, so the connection can be failed with 1002. */
    {
        WEB_SOCKET_BUFFER close;
        close.CloseStatus.pbReason = NULL;
        close.CloseStatus.ulReasonLength = 0;
        close.CloseStatus.usStatus = WEB_SOCKET_PROTOCOL_ERROR_CLOSE_STATUS;
        CHECK_HR(WebSocketSend(server.h, WEB_SOCKET_CLOSE_BUFFER_TYPE, &close, (PVOID)2), S_OK);
        CHECK_HR(pump(&server, WEB_SOCKET_SEND_ACTION_QUEUE), S_OK);
        CHECK(server.sends_done == 1 && server.last_send_ctx == (PVOID)2);
        /* The echo of a close: CloseStatus with the status given. */
        CHECK(server.last_echo_count == 1 &&
              server.last_echo.CloseStatus.usStatus == WEB_SOCKET_PROTOCOL_ERROR_CLOSE_STATUS);
    }
    WebSocketAbortHandle(server.h);
    CHECK_HR(pump(&server, WEB_SOCKET_ALL_ACTION_QUEUE), S_OK);
    CHECK(server.receives_done == 1 && server.closes == 1 && server.last_receive_ctx == (PVOID)1 &&
          server.close_status == WEB_SOCKET_ABORTED_CLOSE_STATUS);

    /* The client reads the 1002 close, then end of stream. */
    CHECK_HR(WebSocketReceive(client.h, NULL, NULL), S_OK);
    CHECK_HR(pump(&client, WEB_SOCKET_ALL_ACTION_QUEUE), S_OK);
    CHECK(client.closes == 1 && client.close_status == WEB_SOCKET_PROTOCOL_ERROR_CLOSE_STATUS);
    {
        WEB_SOCKET_HANDLE c2 = new_handle(0), s2 = new_handle(1);
        WEB_SOCKET_BUFFER buffers[2];
        WEB_SOCKET_ACTION action;
        WEB_SOCKET_BUFFER_TYPE type;
        PVOID ctx;
        ULONG n = 2;
        handshake(c2, s2);
        CHECK_HR(WebSocketReceive(c2, NULL, (PVOID)5), S_OK);
        CHECK_HR(WebSocketGetAction(c2, WEB_SOCKET_RECEIVE_ACTION_QUEUE, buffers, &n, &action,
                                    &type, NULL, &ctx),
                 S_OK);
        CHECK(action == WEB_SOCKET_RECEIVE_FROM_NETWORK_ACTION);
        WebSocketCompleteAction(c2, ctx, 0); /* end of stream */
        n = 2;
        CHECK_HR(WebSocketGetAction(c2, WEB_SOCKET_RECEIVE_ACTION_QUEUE, buffers, &n, &action,
                                    &type, NULL, &ctx),
                 S_OK);
        CHECK(action == WEB_SOCKET_INDICATE_RECEIVE_COMPLETE_ACTION &&
              type == WEB_SOCKET_CLOSE_BUFFER_TYPE && n == 1 &&
              buffers[0].CloseStatus.usStatus == WEB_SOCKET_ABORTED_CLOSE_STATUS);
        WebSocketCompleteAction(c2, ctx, 0);
        CHECK_HR(WebSocketSend(c2, WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, NULL, NULL),
                 E_INVALID_PROTOCOL_OPERATION);
        WebSocketDeleteHandle(c2);
        WebSocketDeleteHandle(s2);
    }
    WebSocketDeleteHandle(client.h);
    WebSocketDeleteHandle(server.h);
    pipe_free(&c2s);
    pipe_free(&s2c);

    /* Invalid UTF-8 fails the receive, unless verification is disabled. */
    set_prop(&prop, WEB_SOCKET_DISABLE_UTF8_VERIFICATION_PROPERTY_TYPE, &yes, sizeof yes);
    for (int disabled = 0; disabled < 2; disabled++) {
        memset(&server, 0, sizeof server);
        CHECK_HR(WebSocketCreateServerHandle(&prop, (ULONG)disabled, &s), S_OK);
        client.h = new_handle(0);
        handshake(client.h, s);
        server.h = s;
        server.in = &c2s;
        server.out = &s2c;
        pipe_write(&c2s, bad_text, sizeof bad_text);
        CHECK_HR(WebSocketReceive(s, NULL, NULL), S_OK);
        if (disabled) {
            CHECK_HR(pump(&server, WEB_SOCKET_ALL_ACTION_QUEUE), S_OK);
            CHECK(server.rx_messages == 1 && server.rx_len == 2);
        } else {
            CHECK_HR(pump(&server, WEB_SOCKET_ALL_ACTION_QUEUE), E_INVALID_PROTOCOL_FORMAT);
        }
        WebSocketAbortHandle(s);
        WebSocketDeleteHandle(s);
        WebSocketDeleteHandle(client.h);
        pipe_free(&c2s);
        pipe_free(&s2c);
    }
}

static void global_property(void)
{
    ULONG value[2], size;

    unsetenv("WSPC_KEEPALIVE_INTERVAL");
    CHECK_HR(WebSocketGetGlobalProperty(WEB_SOCKET_KEEPALIVE_INTERVAL_PROPERTY_TYPE, value, NULL),
             E_POINTER);
    size = sizeof value;
    CHECK_HR(WebSocketGetGlobalProperty(WEB_SOCKET_RECEIVE_BUFFER_SIZE_PROPERTY_TYPE, value,
                                        &size),
             E_INVALIDARG);
    CHECK_HR(WebSocketGetGlobalProperty(WEB_SOCKET_ALLOCATED_BUFFER_PROPERTY_TYPE, value, &size),
             E_INVALIDARG);
    CHECK_HR(WebSocketGetGlobalProperty((WEB_SOCKET_PROPERTY_TYPE)99, value, &size),
             E_INVALIDARG);

    size = 4;
    CHECK_HR(WebSocketGetGlobalProperty(WEB_SOCKET_KEEPALIVE_INTERVAL_PROPERTY_TYPE, value, &size),
             S_OK);
    CHECK(size == 4 && value[0] == 30000);
    setenv("WSPC_KEEPALIVE_INTERVAL", "20000", 1);
    CHECK_HR(WebSocketGetGlobalProperty(WEB_SOCKET_KEEPALIVE_INTERVAL_PROPERTY_TYPE, value, &size),
             S_OK);
    CHECK(value[0] == 20000);
    setenv("WSPC_KEEPALIVE_INTERVAL", "1000", 1);
    CHECK_HR(WebSocketGetGlobalProperty(WEB_SOCKET_KEEPALIVE_INTERVAL_PROPERTY_TYPE, value, &size),
             S_OK);
    CHECK(value[0] == 15000); /* raised to the minimum */
    unsetenv("WSPC_KEEPALIVE_INTERVAL");

    size = 2;
    CHECK_HR(WebSocketGetGlobalProperty(WEB_SOCKET_KEEPALIVE_INTERVAL_PROPERTY_TYPE, value, &size),
             E_NOT_SUFFICIENT_BUFFER);
    CHECK(size == 4);
    size = 0;
    CHECK_HR(WebSocketGetGlobalProperty(WEB_SOCKET_SUPPORTED_VERSIONS_PROPERTY_TYPE, NULL, &size),
             E_NOT_SUFFICIENT_BUFFER);
    CHECK(size == 4);
    CHECK_HR(WebSocketGetGlobalProperty(WEB_SOCKET_SUPPORTED_VERSIONS_PROPERTY_TYPE, NULL, &size),
             E_POINTER);
    size = sizeof value;
    value[0] = 0;
    CHECK_HR(WebSocketGetGlobalProperty(WEB_SOCKET_SUPPORTED_VERSIONS_PROPERTY_TYPE, value, &size),
             S_OK);
    CHECK(size == 4 && value[0] == 13);
}

int main(void)
{
    property_errors();
    handle_errors();
    state_errors();
    argument_errors();
    handshake_errors();
    protocol_errors();
    global_property();
    printf("errors: ok\n");
    return 0;
}
