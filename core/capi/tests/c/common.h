/* Shared helpers of the C tests (compiled as C11 and as C++17): checks that exit non-zero, an
 * in-memory byte pipe, the handshake of the Windows SDK sample, and a single-threaded action pump
 * that also checks where every buffer returned by WebSocketGetAction lies. */
#ifndef WSPC_TEST_COMMON_H
#define WSPC_TEST_COMMON_H

#include <websocket.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What windows.h would give, for the tests that do without one. */
#ifndef FAILED
#define FAILED(hr) (((HRESULT)(hr)) < 0)
#endif
#ifndef SUCCEEDED
#define SUCCEEDED(hr) (((HRESULT)(hr)) >= 0)
#endif
#ifndef TRUE
#define TRUE 1
#endif
#ifndef ARRAYSIZE
#define ARRAYSIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);     \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)

#define CHECK_HR(expr, expected)                                                         \
    do {                                                                                 \
        HRESULT hr_ = (expr);                                                            \
        if (hr_ != (HRESULT)(expected)) {                                                \
            fprintf(stderr, "%s:%d: %s returned 0x%08X, expected %s (0x%08X)\n",         \
                    __FILE__, __LINE__, #expr, (unsigned)hr_, #expected,                 \
                    (unsigned)(HRESULT)(expected));                                      \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)

/* ----- an in-memory byte pipe ------------------------------------------------------------ */

typedef struct Pipe {
    unsigned char *data;
    size_t head, len, cap;
} Pipe;

static inline void pipe_write(Pipe *p, const void *src, size_t n)
{
    if (n == 0) {
        return;
    }
    if (p->len + n > p->cap) {
        size_t cap = (p->len + n) * 2;
        unsigned char *data = (unsigned char *)malloc(cap);
        CHECK(data != NULL);
        if (p->len > 0) {
            memcpy(data, p->data + p->head, p->len);
        }
        free(p->data);
        p->data = data;
        p->head = 0;
        p->cap = cap;
    } else if (p->head + p->len + n > p->cap) {
        memmove(p->data, p->data + p->head, p->len);
        p->head = 0;
    }
    memcpy(p->data + p->head + p->len, src, n);
    p->len += n;
}

static inline size_t pipe_read(Pipe *p, void *dst, size_t max)
{
    size_t n = p->len < max ? p->len : max;
    if (n > 0) {
        memcpy(dst, p->data + p->head, n);
    }
    p->head += n;
    p->len -= n;
    return n;
}

static inline void pipe_free(Pipe *p)
{
    free(p->data);
    memset(p, 0, sizeof *p);
}

/* ----- the handshake --------------------------------------------------------------------- */

/* True if `h` is NUL-terminated at its lengths (spec §9 Q16). */
static inline int header_is_nul_terminated(const WEB_SOCKET_HTTP_HEADER *h)
{
    return h->pcName != NULL && h->pcValue != NULL && strlen(h->pcName) == h->ulNameLength &&
           strlen(h->pcValue) == h->ulValueLength;
}

static inline const WEB_SOCKET_HTTP_HEADER *find_header(const WEB_SOCKET_HTTP_HEADER *headers,
                                                        ULONG count, const char *name)
{
    ULONG i;
    for (i = 0; i < count; i++) {
        if (headers[i].ulNameLength == strlen(name) &&
            memcmp(headers[i].pcName, name, headers[i].ulNameLength) == 0) {
            return &headers[i];
        }
    }
    return NULL;
}

/* Looks at the headers of a handshake while they are valid (before the End calls). */
typedef void (*HeaderCheck)(const WEB_SOCKET_HTTP_HEADER *request, ULONG request_count,
                            const WEB_SOCKET_HTTP_HEADER *response, ULONG response_count,
                            void *arg);

/* The sample's handshake: the client's headers plus Host go to the server, the server's to the
 * client; `check` (if not NULL) sees both sets of headers before the End calls. */
static inline void handshake_checked(WEB_SOCKET_HANDLE client, WEB_SOCKET_HANDLE server,
                                     HeaderCheck check, void *arg)
{
    static char host_name[] = "Host";
    static char host_value[] = "localhost";
    WEB_SOCKET_HTTP_HEADER *client_headers = NULL;
    WEB_SOCKET_HTTP_HEADER *server_headers = NULL;
    WEB_SOCKET_HTTP_HEADER request[16];
    ULONG client_count = 0, server_count = 0;

    CHECK_HR(WebSocketBeginClientHandshake(client, NULL, 0, NULL, 0, NULL, 0, &client_headers,
                                           &client_count),
             S_OK);
    CHECK(client_count > 0 && client_count < 16);
    memcpy(request, client_headers, client_count * sizeof request[0]);
    request[client_count].pcName = host_name;
    request[client_count].ulNameLength = 4;
    request[client_count].pcValue = host_value;
    request[client_count].ulValueLength = 9;
    CHECK_HR(WebSocketBeginServerHandshake(server, NULL, NULL, 0, request, client_count + 1,
                                           &server_headers, &server_count),
             S_OK);
    if (check != NULL) {
        check(client_headers, client_count, server_headers, server_count, arg);
    }
    CHECK_HR(WebSocketEndClientHandshake(client, server_headers, server_count, NULL, NULL, NULL),
             S_OK);
    CHECK_HR(WebSocketEndServerHandshake(server), S_OK);
}

static inline void handshake(WEB_SOCKET_HANDLE client, WEB_SOCKET_HANDLE server)
{
    handshake_checked(client, server, NULL, NULL);
}

/* ----- a single-threaded action pump ----------------------------------------------------- */

/* Written to *pvApplicationContext before each WebSocketGetAction, to see whether it is left
 * untouched. */
#define UNTOUCHED ((PVOID)(uintptr_t)0x5e5e5e5e)

typedef struct Peer {
    WEB_SOCKET_HANDLE h;
    Pipe *out, *in;
    ULONG capacity; /* pDataBuffers capacity given to GetAction (1 or 2) */

    /* A RECEIVE_FROM_NETWORK waiting for bytes in `in`. */
    int read_pending;
    PVOID read_action;
    PBYTE read_buf;
    ULONG read_len;

    /* What was received. */
    unsigned char rx[1 << 16];
    size_t rx_len;
    int rx_messages, rx_pieces;
    ULONG rx_max_piece;
    WEB_SOCKET_BUFFER_TYPE rx_last_type;
    PBYTE rx_last_ptr;
    int closes;
    USHORT close_status;
    unsigned char reason[128];
    ULONG reason_len;
    PBYTE reason_ptr;
    int pongs_received;
    int receives_done;
    PVOID last_receive_ctx;

    /* What was sent. */
    int network_sends, auto_pongs, sends_done;
    ULONG max_send_buffers;
    PVOID last_send_ctx;
    ULONG last_echo_count;
    WEB_SOCKET_BUFFER last_echo;

    /* Containment: internal buffers must lie in [block, block + block_len) and be at most
     * max_internal long; the application's own memory is [app, app + app_len). */
    const unsigned char *block;
    size_t block_len;
    ULONG max_internal;
    const unsigned char *app;
    size_t app_len;
    int sends_internal_only; /* a masking client: every network send buffer is internal */
    int progress;
} Peer;

static inline int lies_in(const void *ptr, ULONG len, const unsigned char *lo, size_t n)
{
    uintptr_t p = (uintptr_t)ptr, a = (uintptr_t)lo;
    return lo != NULL && p >= a && p + len <= a + n;
}

/* Checks one buffer returned by GetAction. `internal_only`: it must be the component's memory. */
static inline void check_buffer(const Peer *p, const void *ptr, ULONG len, int internal_only)
{
    if (ptr == NULL) {
        CHECK(len == 0);
        return;
    }
    CHECK(len > 0); /* zero-length buffers come as NULL */
    if (p->block == NULL) {
        return;
    }
    if (lies_in(ptr, len, p->block, p->block_len)) {
        CHECK(len <= p->max_internal);
        return;
    }
    CHECK(!internal_only);
    CHECK(lies_in(ptr, len, p->app, p->app_len));
}

/* Runs `queue` until NO_ACTION; returns the first failure of GetAction. p->progress tells whether
 * anything happened. A read with no bytes available stays pending until the next call. */
static inline HRESULT pump(Peer *p, WEB_SOCKET_ACTION_QUEUE queue)
{
    p->progress = 0;
    for (;;) {
        WEB_SOCKET_BUFFER buffers[2];
        ULONG count = p->capacity ? p->capacity : 2;
        ULONG i, total = 0;
        WEB_SOCKET_ACTION action;
        WEB_SOCKET_BUFFER_TYPE type;
        PVOID app_ctx = UNTOUCHED;
        PVOID action_ctx;
        HRESULT hr;

        if (p->read_pending) {
            size_t n = pipe_read(p->in, p->read_buf, p->read_len);
            if (n > 0) {
                p->read_pending = 0;
                p->progress = 1;
                WebSocketCompleteAction(p->h, p->read_action, (ULONG)n);
            }
        }
        memset(buffers, 0, sizeof buffers);
        hr = WebSocketGetAction(p->h, queue, buffers, &count, &action, &type, &app_ctx,
                                &action_ctx);
        if (FAILED(hr)) {
            CHECK(action == WEB_SOCKET_NO_ACTION && count == 0 && action_ctx == NULL);
            return hr;
        }
        if (action == WEB_SOCKET_NO_ACTION) {
            CHECK(count == 0 && action_ctx == NULL && app_ctx == UNTOUCHED);
            return S_OK;
        }
        CHECK(action_ctx != NULL);
        CHECK(count <= (p->capacity ? p->capacity : 2));
        p->progress = 1;
        switch (action) {
        case WEB_SOCKET_SEND_TO_NETWORK_ACTION:
            CHECK(count >= 1);
            if (count > p->max_send_buffers) {
                p->max_send_buffers = count;
            }
            for (i = 0; i < count; i++) {
                /* Only a server's (or unmasked client's) payload may be the app's memory; with a
                 * capacity of 1 it comes alone, after its header. */
                check_buffer(p, buffers[i].Data.pbBuffer, buffers[i].Data.ulBufferLength,
                             p->sends_internal_only);
                pipe_write(p->out, buffers[i].Data.pbBuffer, buffers[i].Data.ulBufferLength);
                total += buffers[i].Data.ulBufferLength;
            }
            p->network_sends++;
            if (app_ctx == UNTOUCHED) {
                CHECK(type == WEB_SOCKET_PING_PONG_BUFFER_TYPE);
                p->auto_pongs++;
            }
            WebSocketCompleteAction(p->h, action_ctx, total);
            break;
        case WEB_SOCKET_INDICATE_SEND_COMPLETE_ACTION:
            CHECK(count <= 1 && app_ctx != UNTOUCHED);
            p->sends_done++;
            p->last_send_ctx = app_ctx;
            p->last_echo_count = count;
            p->last_echo = buffers[0];
            WebSocketCompleteAction(p->h, action_ctx, 0);
            break;
        case WEB_SOCKET_RECEIVE_FROM_NETWORK_ACTION:
            CHECK(count == 1 && app_ctx != UNTOUCHED && type == 0);
            check_buffer(p, buffers[0].Data.pbBuffer, buffers[0].Data.ulBufferLength, 1);
            CHECK(buffers[0].Data.ulBufferLength > 0);
            p->read_pending = 1;
            p->read_action = action_ctx;
            p->read_buf = buffers[0].Data.pbBuffer;
            p->read_len = buffers[0].Data.ulBufferLength;
            break;
        case WEB_SOCKET_INDICATE_RECEIVE_COMPLETE_ACTION:
            CHECK(count == 1 && app_ctx != UNTOUCHED);
            p->receives_done++;
            p->last_receive_ctx = app_ctx;
            p->rx_last_type = type;
            if (type == WEB_SOCKET_CLOSE_BUFFER_TYPE) {
                check_buffer(p, buffers[0].CloseStatus.pbReason,
                             buffers[0].CloseStatus.ulReasonLength, 1);
                CHECK(buffers[0].CloseStatus.ulReasonLength <= WEB_SOCKET_MAX_CLOSE_REASON_LENGTH);
                p->closes++;
                p->close_status = buffers[0].CloseStatus.usStatus;
                p->reason_len = buffers[0].CloseStatus.ulReasonLength;
                p->reason_ptr = buffers[0].CloseStatus.pbReason;
                if (p->reason_len > 0) {
                    memcpy(p->reason, p->reason_ptr, p->reason_len);
                }
            } else if (type == WEB_SOCKET_PING_PONG_BUFFER_TYPE) {
                check_buffer(p, buffers[0].Data.pbBuffer, buffers[0].Data.ulBufferLength, 1);
                p->pongs_received++;
            } else {
                ULONG n = buffers[0].Data.ulBufferLength;
                check_buffer(p, buffers[0].Data.pbBuffer, n, 0);
                CHECK(p->rx_len + n <= sizeof p->rx);
                if (n > 0) {
                    memcpy(p->rx + p->rx_len, buffers[0].Data.pbBuffer, n);
                }
                p->rx_len += n;
                p->rx_pieces++;
                p->rx_last_ptr = buffers[0].Data.pbBuffer;
                if (n > p->rx_max_piece) {
                    p->rx_max_piece = n;
                }
                if (type == WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE ||
                    type == WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE) {
                    p->rx_messages++;
                }
            }
            WebSocketCompleteAction(p->h, action_ctx, 0);
            break;
        default:
            CHECK(!"unknown action");
        }
    }
}

/* Pumps both peers on the ALL queue until neither makes progress. */
static inline void pump_pair(Peer *a, Peer *b)
{
    int rounds = 0;
    do {
        CHECK_HR(pump(a, WEB_SOCKET_ALL_ACTION_QUEUE), S_OK);
        CHECK_HR(pump(b, WEB_SOCKET_ALL_ACTION_QUEUE), S_OK);
        CHECK(++rounds < 100000);
    } while (a->progress || b->progress);
}

#endif /* WSPC_TEST_COMMON_H */
