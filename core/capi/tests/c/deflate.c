/* wspc's own property WSPC_PROPERTY_PERMESSAGE_DEFLATE through the C ABI: off unless asked for,
 * negotiated by the Begin/End handshake calls, and the RFC 7692 section 7.2.3.1 "Hello" frame on
 * the wire (RSV1 set, the compressed bytes f2 48 cd c9 c9 07 00). */
#include "common.h"

static WEB_SOCKET_HANDLE create(int server, ULONG deflate, HRESULT expected)
{
    WEB_SOCKET_PROPERTY prop;
    WEB_SOCKET_HANDLE h = NULL;
    prop.Type = WSPC_PROPERTY_PERMESSAGE_DEFLATE;
    prop.pvValue = &deflate;
    prop.ulValueSize = sizeof deflate;
    if (server) {
        CHECK_HR(WebSocketCreateServerHandle(&prop, 1, &h), expected);
    } else {
        CHECK_HR(WebSocketCreateClientHandle(&prop, 1, &h), expected);
    }
    return h;
}

static int has_deflate(const WEB_SOCKET_HTTP_HEADER *headers, ULONG count)
{
    const WEB_SOCKET_HTTP_HEADER *h = find_header(headers, count, "Sec-WebSocket-Extensions");
    return h != NULL && h->ulValueLength >= 18 && memcmp(h->pcValue, "permessage-deflate", 18) == 0;
}

/* Whether the request offers and the response accepts permessage-deflate, as expected. */
static void check_extension(const WEB_SOCKET_HTTP_HEADER *request, ULONG request_count,
                            const WEB_SOCKET_HTTP_HEADER *response, ULONG response_count,
                            void *arg)
{
    const int *expected = arg; /* {offered, agreed} */
    CHECK(has_deflate(request, request_count) == expected[0]);
    CHECK(has_deflate(response, response_count) == expected[1]);
}

/* The handshake of common.h, checking the extension headers on the way. */
static void negotiate(WEB_SOCKET_HANDLE client, WEB_SOCKET_HANDLE server, int offered, int agreed)
{
    int expected[2];
    expected[0] = offered;
    expected[1] = agreed;
    handshake_checked(client, server, check_extension, expected);
}

/* What the server puts on the wire for one send of "Hello". */
static size_t send_hello(WEB_SOCKET_HANDLE server, unsigned char *wire, size_t cap)
{
    static char hello[] = "Hello";
    WEB_SOCKET_BUFFER buf, out[2];
    ULONG count = 2, i;
    size_t n = 0;
    WEB_SOCKET_ACTION action;
    WEB_SOCKET_BUFFER_TYPE type;
    PVOID app = NULL, ctx = NULL;
    buf.Data.pbBuffer = (PBYTE)hello;
    buf.Data.ulBufferLength = 5;
    CHECK_HR(WebSocketSend(server, WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE, &buf, NULL), S_OK);
    CHECK_HR(WebSocketGetAction(server, WEB_SOCKET_SEND_ACTION_QUEUE, out, &count, &action, &type,
                                &app, &ctx),
             S_OK);
    CHECK(action == WEB_SOCKET_SEND_TO_NETWORK_ACTION);
    for (i = 0; i < count; i++) {
        CHECK(n + out[i].Data.ulBufferLength <= cap);
        memcpy(wire + n, out[i].Data.pbBuffer, out[i].Data.ulBufferLength);
        n += out[i].Data.ulBufferLength;
    }
    WebSocketCompleteAction(server, ctx, (ULONG)n);
    return n;
}

int main(void)
{
    static const unsigned char compressed[] = {0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    static const unsigned char plain[] = {0x81, 0x05, 'H', 'e', 'l', 'l', 'o'};
    unsigned char wire[64];
    WEB_SOCKET_HANDLE client, server;

    /* A value other than 0 or 1 is refused, and no handle is made. */
    CHECK(create(0, 2, E_INVALIDARG) == NULL);

    /* Both sides on: offered, accepted, and the frame is compressed with RSV1 set. */
    client = create(0, 1, S_OK);
    server = create(1, 1, S_OK);
    negotiate(client, server, 1, 1);
    CHECK(send_hello(server, wire, sizeof wire) == sizeof compressed);
    CHECK(memcmp(wire, compressed, sizeof compressed) == 0);
    WebSocketDeleteHandle(client);
    WebSocketDeleteHandle(server);

    /* Off on the server (explicitly, or by default): declined, and exactly websocket.dll's frame. */
    client = create(0, 1, S_OK);
    server = create(1, 0, S_OK);
    negotiate(client, server, 1, 0);
    CHECK(send_hello(server, wire, sizeof wire) == sizeof plain);
    CHECK(memcmp(wire, plain, sizeof plain) == 0);
    WebSocketDeleteHandle(client);
    WebSocketDeleteHandle(server);

    puts("deflate: ok");
    return 0;
}
