/* The flow of the Windows SDK WebSocket sample (Windows-classic-samples, Samples/Websocket), in
 * memory: create both handles, client Begin -> server Begin with the client's headers plus Host
 * -> client End with the server's response headers -> server End; the client sends a UTF-8
 * message whose bytes move client -> server through the actions and the server receives it; then
 * both close and the handles are deleted. Written the way Windows code is, against a windows.h of
 * its own; compiled as C11 and as C++17. Exit status 0 = pass. */
#include <windows.h>
#include <websocket.h>
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "common.h"

typedef struct Transport {
    Pipe c2s, s2c;
} Transport;

/* What RunLoop saw complete. */
typedef struct Seen {
    unsigned char data[256];
    ULONG length;
    WEB_SOCKET_BUFFER_TYPE type;
    int receives, sends;
    USHORT closeStatus;
    char reason[WEB_SOCKET_MAX_CLOSE_REASON_LENGTH + 1];
} Seen;

static HRESULT Initialize(_Out_ WEB_SOCKET_HANDLE *outClientHandle,
                          _Out_ WEB_SOCKET_HANDLE *outServerHandle)
{
    HRESULT hr = S_OK;
    WEB_SOCKET_HANDLE clientHandle = NULL;
    WEB_SOCKET_HANDLE serverHandle = NULL;

    hr = WebSocketCreateClientHandle(NULL, 0, &clientHandle);
    if (FAILED(hr)) {
        goto quit;
    }
    hr = WebSocketCreateServerHandle(NULL, 0, &serverHandle);
    if (FAILED(hr)) {
        goto quit;
    }
    *outClientHandle = clientHandle;
    *outServerHandle = serverHandle;
    clientHandle = NULL;
    serverHandle = NULL;

quit:
    if (clientHandle != NULL) {
        WebSocketDeleteHandle(clientHandle);
    }
    if (serverHandle != NULL) {
        WebSocketDeleteHandle(serverHandle);
    }
    return hr;
}

static HRESULT PerformHandshake(_In_ WEB_SOCKET_HANDLE clientHandle,
                                _In_ WEB_SOCKET_HANDLE serverHandle)
{
    static char hostName[] = "Host";
    static char hostValue[] = "localhost";
    HRESULT hr = S_OK;
    ULONG clientAdditionalHeaderCount = 0;
    WEB_SOCKET_HTTP_HEADER *clientAdditionalHeaders = NULL;
    ULONG serverAdditionalHeaderCount = 0;
    WEB_SOCKET_HTTP_HEADER *serverAdditionalHeaders = NULL;
    ULONG clientHeaderCount = 0;
    WEB_SOCKET_HTTP_HEADER *clientHeaders = NULL;
    WEB_SOCKET_HTTP_HEADER host;
    ULONG i;

    host.pcName = hostName;
    host.ulNameLength = ARRAYSIZE(hostName) - 1;
    host.pcValue = hostValue;
    host.ulValueLength = ARRAYSIZE(hostValue) - 1;

    hr = WebSocketBeginClientHandshake(clientHandle, NULL, 0, NULL, 0, NULL, 0,
                                       &clientAdditionalHeaders, &clientAdditionalHeaderCount);
    if (FAILED(hr)) {
        goto quit;
    }
    /* Connection, Upgrade, Sec-WebSocket-Key, Sec-WebSocket-Version: NUL-terminated copies. */
    CHECK(clientAdditionalHeaderCount == 4);
    for (i = 0; i < clientAdditionalHeaderCount; i++) {
        CHECK(header_is_nul_terminated(&clientAdditionalHeaders[i]));
    }
    CHECK(find_header(clientAdditionalHeaders, clientAdditionalHeaderCount, "Sec-WebSocket-Key"));
    CHECK(find_header(clientAdditionalHeaders, clientAdditionalHeaderCount, "Upgrade"));
    CHECK(find_header(clientAdditionalHeaders, clientAdditionalHeaderCount, "Connection"));
    CHECK(strcmp(find_header(clientAdditionalHeaders, clientAdditionalHeaderCount,
                             "Sec-WebSocket-Version")->pcValue, "13") == 0);

    clientHeaderCount = clientAdditionalHeaderCount + 1;
    clientHeaders = (WEB_SOCKET_HTTP_HEADER *)malloc(clientHeaderCount * sizeof *clientHeaders);
    if (clientHeaders == NULL) {
        hr = E_OUTOFMEMORY;
        goto quit;
    }
    CopyMemory(clientHeaders, clientAdditionalHeaders,
               clientAdditionalHeaderCount * sizeof(WEB_SOCKET_HTTP_HEADER));
    clientHeaders[clientAdditionalHeaderCount] = host;

    hr = WebSocketBeginServerHandshake(serverHandle, NULL, NULL, 0, clientHeaders,
                                       clientHeaderCount, &serverAdditionalHeaders,
                                       &serverAdditionalHeaderCount);
    if (FAILED(hr)) {
        goto quit;
    }
    /* Connection, Upgrade, Sec-WebSocket-Accept. */
    CHECK(serverAdditionalHeaderCount == 3);
    for (i = 0; i < serverAdditionalHeaderCount; i++) {
        CHECK(header_is_nul_terminated(&serverAdditionalHeaders[i]));
    }
    CHECK(find_header(serverAdditionalHeaders, serverAdditionalHeaderCount,
                      "Sec-WebSocket-Accept"));

    /* Once the handshake is done, the memory of the Begin functions is the component's again. */
    hr = WebSocketEndClientHandshake(clientHandle, serverAdditionalHeaders,
                                     serverAdditionalHeaderCount, NULL, NULL, NULL);
    if (FAILED(hr)) {
        goto quit;
    }
    hr = WebSocketEndServerHandshake(serverHandle);

quit:
    free(clientHeaders);
    return hr;
}

/* The sample's loop: get an action, do it, complete it, until NO_ACTION. */
static HRESULT RunLoop(_In_ WEB_SOCKET_HANDLE handle, _In_ Pipe *out, _In_ Pipe *in, Seen *seen)
{
    HRESULT hr = S_OK;
    WEB_SOCKET_BUFFER buffers[2];
    ULONG bufferCount;
    ULONG bytesTransferred;
    WEB_SOCKET_BUFFER_TYPE bufferType;
    WEB_SOCKET_ACTION action;
    PVOID actionContext;
    ULONG i;

    do {
        ZeroMemory(buffers, sizeof buffers);
        bufferCount = ARRAYSIZE(buffers);
        bytesTransferred = 0;

        hr = WebSocketGetAction(handle, WEB_SOCKET_ALL_ACTION_QUEUE, buffers, &bufferCount,
                                &action, &bufferType, NULL, &actionContext);
        if (FAILED(hr)) {
            /* Abort, but keep processing until all operations are completed. */
            WebSocketAbortHandle(handle);
        }

        switch (action) {
        case WEB_SOCKET_NO_ACTION:
            break;

        case WEB_SOCKET_RECEIVE_FROM_NETWORK_ACTION:
            assert(bufferCount >= 1);
            for (i = 0; i < bufferCount; i++) {
                ULONG n = (ULONG)pipe_read(in, buffers[i].Data.pbBuffer,
                                           buffers[i].Data.ulBufferLength);
                bytesTransferred += n;
                if (buffers[i].Data.ulBufferLength > n) {
                    break;
                }
            }
            break;

        case WEB_SOCKET_INDICATE_RECEIVE_COMPLETE_ACTION:
            if (bufferCount != 1) {
                assert(!"This should never happen.");
                hr = E_FAIL;
                goto quit;
            }
            seen->receives++;
            seen->type = bufferType;
            if (bufferType == WEB_SOCKET_CLOSE_BUFFER_TYPE) {
                seen->closeStatus = buffers[0].CloseStatus.usStatus;
                CHECK(buffers[0].CloseStatus.ulReasonLength < sizeof seen->reason);
                CHECK((buffers[0].CloseStatus.pbReason == NULL) ==
                      (buffers[0].CloseStatus.ulReasonLength == 0));
                memcpy(seen->reason, buffers[0].CloseStatus.pbReason ? (const char *)buffers[0].CloseStatus.pbReason : "",
                       buffers[0].CloseStatus.ulReasonLength);
                seen->reason[buffers[0].CloseStatus.ulReasonLength] = '\0';
            } else {
                CHECK(seen->length + buffers[0].Data.ulBufferLength <= sizeof seen->data);
                memcpy(seen->data + seen->length, buffers[0].Data.pbBuffer,
                       buffers[0].Data.ulBufferLength);
                seen->length += buffers[0].Data.ulBufferLength;
            }
            break;

        case WEB_SOCKET_SEND_TO_NETWORK_ACTION:
            for (i = 0; i < bufferCount; i++) {
                pipe_write(out, buffers[i].Data.pbBuffer, buffers[i].Data.ulBufferLength);
                bytesTransferred += buffers[i].Data.ulBufferLength;
            }
            break;

        case WEB_SOCKET_INDICATE_SEND_COMPLETE_ACTION:
            seen->sends++;
            break;

        default:
            assert(!"Invalid switch");
            hr = E_FAIL;
            goto quit;
        }

        if (FAILED(hr)) {
            WebSocketAbortHandle(handle);
        }
        /* Also called for NO_ACTION, with the NULL context GetAction wrote: ignored. */
        WebSocketCompleteAction(handle, actionContext, bytesTransferred);
    } while (action != WEB_SOCKET_NO_ACTION);

quit:
    return hr;
}

static HRESULT PerformDataExchange(_In_ WEB_SOCKET_HANDLE clientHandle,
                                   _In_ WEB_SOCKET_HANDLE serverHandle,
                                   _In_ Transport *transport)
{
    HRESULT hr = S_OK;
    BYTE dataToSend[] = {'H', 'e', 'l', 'l', 'o', ' ', 'W', 'o', 'r', 'l', 'd'};
    WEB_SOCKET_BUFFER buffer;
    Seen client, server;

    memset(&client, 0, sizeof client);
    memset(&server, 0, sizeof server);
    buffer.Data.pbBuffer = dataToSend;
    buffer.Data.ulBufferLength = ARRAYSIZE(dataToSend);

    hr = WebSocketSend(clientHandle, WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE, &buffer, NULL);
    if (FAILED(hr)) {
        goto quit;
    }
    hr = RunLoop(clientHandle, &transport->c2s, &transport->s2c, &client);
    if (FAILED(hr)) {
        goto quit;
    }
    CHECK(client.sends == 1);
    /* A masked client frame: 2-byte header, 4-byte key, 11 bytes of payload. */
    CHECK(transport->c2s.len == 2 + 4 + 11);

    hr = WebSocketReceive(serverHandle, NULL, NULL);
    if (FAILED(hr)) {
        goto quit;
    }
    hr = RunLoop(serverHandle, &transport->s2c, &transport->c2s, &server);
    if (FAILED(hr)) {
        goto quit;
    }
    CHECK(transport->c2s.len == 0);
    CHECK(server.receives == 1);
    CHECK(server.type == WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE);
    CHECK(server.length == sizeof dataToSend);
    CHECK(memcmp(server.data, dataToSend, sizeof dataToSend) == 0);

quit:
    return hr;
}

/* The client closes with 1000 "bye", the server sees it and answers 1000 without a reason. */
static HRESULT PerformClose(_In_ WEB_SOCKET_HANDLE clientHandle,
                            _In_ WEB_SOCKET_HANDLE serverHandle, _In_ Transport *transport)
{
    static BYTE reason[] = {'b', 'y', 'e'};
    HRESULT hr = S_OK;
    WEB_SOCKET_BUFFER buffer;
    Seen client, server;

    memset(&client, 0, sizeof client);
    memset(&server, 0, sizeof server);
    buffer.CloseStatus.pbReason = reason;
    buffer.CloseStatus.ulReasonLength = ARRAYSIZE(reason);
    buffer.CloseStatus.usStatus = WEB_SOCKET_SUCCESS_CLOSE_STATUS;
    hr = WebSocketSend(clientHandle, WEB_SOCKET_CLOSE_BUFFER_TYPE, &buffer, NULL);
    if (FAILED(hr)) {
        goto quit;
    }
    hr = RunLoop(clientHandle, &transport->c2s, &transport->s2c, &client);
    if (FAILED(hr)) {
        goto quit;
    }
    CHECK(client.sends == 1);

    hr = WebSocketReceive(serverHandle, NULL, NULL);
    if (FAILED(hr)) {
        goto quit;
    }
    hr = RunLoop(serverHandle, &transport->s2c, &transport->c2s, &server);
    if (FAILED(hr)) {
        goto quit;
    }
    CHECK(server.receives == 1 && server.type == WEB_SOCKET_CLOSE_BUFFER_TYPE);
    CHECK(server.closeStatus == WEB_SOCKET_SUCCESS_CLOSE_STATUS);
    CHECK(strcmp(server.reason, "bye") == 0);

    buffer.CloseStatus.pbReason = NULL;
    buffer.CloseStatus.ulReasonLength = 0;
    buffer.CloseStatus.usStatus = WEB_SOCKET_SUCCESS_CLOSE_STATUS;
    hr = WebSocketSend(serverHandle, WEB_SOCKET_CLOSE_BUFFER_TYPE, &buffer, NULL);
    if (FAILED(hr)) {
        goto quit;
    }
    hr = RunLoop(serverHandle, &transport->s2c, &transport->c2s, &server);
    if (FAILED(hr)) {
        goto quit;
    }
    CHECK(server.sends == 1);

    hr = WebSocketReceive(clientHandle, NULL, NULL);
    if (FAILED(hr)) {
        goto quit;
    }
    hr = RunLoop(clientHandle, &transport->c2s, &transport->s2c, &client);
    if (FAILED(hr)) {
        goto quit;
    }
    CHECK(client.receives == 1 && client.type == WEB_SOCKET_CLOSE_BUFFER_TYPE);
    CHECK(client.closeStatus == WEB_SOCKET_SUCCESS_CLOSE_STATUS && client.reason[0] == '\0');

    /* Nothing may follow a close. */
    CHECK_HR(WebSocketSend(clientHandle, WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, NULL, NULL),
             E_INVALID_PROTOCOL_OPERATION);
    CHECK_HR(WebSocketReceive(clientHandle, NULL, NULL), E_INVALID_PROTOCOL_OPERATION);

quit:
    return hr;
}

int main(void)
{
    HRESULT hr = S_OK;
    WEB_SOCKET_HANDLE clientHandle = NULL;
    WEB_SOCKET_HANDLE serverHandle = NULL;
    Transport transport;

    memset(&transport, 0, sizeof transport);
    hr = Initialize(&clientHandle, &serverHandle);
    if (FAILED(hr)) {
        goto quit;
    }
    hr = PerformHandshake(clientHandle, serverHandle);
    if (FAILED(hr)) {
        goto quit;
    }
    hr = PerformDataExchange(clientHandle, serverHandle, &transport);
    if (FAILED(hr)) {
        goto quit;
    }
    hr = PerformClose(clientHandle, serverHandle, &transport);

quit:
    if (clientHandle != NULL) {
        WebSocketDeleteHandle(clientHandle);
    }
    if (serverHandle != NULL) {
        WebSocketDeleteHandle(serverHandle);
    }
    pipe_free(&transport.c2s);
    pipe_free(&transport.s2c);
    if (FAILED(hr)) {
        fprintf(stderr, "Websocket failed with error 0x%08X\n", (unsigned)hr);
        return 1;
    }
    printf("sample flow: ok\n");
    return 0;
}
