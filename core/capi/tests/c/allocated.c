/* Handles over caller-allocated blocks (WEB_SOCKET_ALLOCATED_BUFFER_PROPERTY_TYPE, spec §4) of
 * exactly RBS + SBS + 144 bytes: every internal buffer returned by WebSocketGetAction (network
 * reads, frame headers, masked payload copies, received pieces, pongs, close reasons) must lie
 * inside the block and be at most max(RBS, SBS) long; only the application's own payloads and
 * receive buffers may lie outside. Also: pieces bounded by the receive buffer or the caller's
 * buffer, fragments, ping/pong, capacity 1 (§9 Q5), close with a reason. Exit status 0 = pass. */
#include "common.h"

#define CLIENT_RBS 256
#define CLIENT_SBS 256
#define SERVER_RBS 256
#define SERVER_SBS 16

static uint64_t client_block[(CLIENT_RBS + CLIENT_SBS + 144) / 8];
static uint64_t server_block[(SERVER_RBS + SERVER_SBS + 144) / 8];
static unsigned char app[1 << 15]; /* all application payloads and receive buffers */
static Peer client, server;
static Pipe c2s, s2c;

static WEB_SOCKET_HANDLE create(int is_server, ULONG rbs, ULONG sbs, uint64_t *block, ULONG len)
{
    WEB_SOCKET_PROPERTY props[3];
    PVOID block_ptr = block;
    WEB_SOCKET_HANDLE h = NULL;

    props[0].Type = WEB_SOCKET_RECEIVE_BUFFER_SIZE_PROPERTY_TYPE;
    props[0].pvValue = &rbs;
    props[0].ulValueSize = sizeof rbs;
    props[1].Type = WEB_SOCKET_SEND_BUFFER_SIZE_PROPERTY_TYPE;
    props[1].pvValue = &sbs;
    props[1].ulValueSize = sizeof sbs;
    props[2].Type = WEB_SOCKET_ALLOCATED_BUFFER_PROPERTY_TYPE;
    props[2].pvValue = &block_ptr; /* points AT the block's address */
    props[2].ulValueSize = len;    /* the block's length */
    if (is_server) {
        CHECK_HR(WebSocketCreateServerHandle(props, 3, &h), S_OK);
    } else {
        CHECK_HR(WebSocketCreateClientHandle(props, 3, &h), S_OK);
    }
    return h;
}

static void send(Peer *p, WEB_SOCKET_BUFFER_TYPE type, unsigned char *data, ULONG len,
                 uintptr_t ctx)
{
    WEB_SOCKET_BUFFER b;
    b.Data.pbBuffer = data;
    b.Data.ulBufferLength = len;
    CHECK_HR(WebSocketSend(p->h, type, data ? &b : NULL, (PVOID)ctx), S_OK);
}

int main(void)
{
    unsigned char *text = app, *binary = app + 1000, *reply = app + 4000, *rbuf = app + 20000;
    size_t i;

    CHECK(sizeof client_block == CLIENT_RBS + CLIENT_SBS + 144);
    CHECK(sizeof server_block == SERVER_RBS + SERVER_SBS + 144);
    client.h = create(0, CLIENT_RBS, CLIENT_SBS, client_block, sizeof client_block);
    server.h = create(1, SERVER_RBS, SERVER_SBS, server_block, sizeof server_block);
    client.out = server.in = &c2s;
    server.out = client.in = &s2c;
    client.block = (const unsigned char *)client_block;
    client.block_len = sizeof client_block;
    client.max_internal = CLIENT_RBS > CLIENT_SBS ? CLIENT_RBS : CLIENT_SBS;
    client.sends_internal_only = 1;
    server.block = (const unsigned char *)server_block;
    server.block_len = sizeof server_block;
    server.max_internal = SERVER_RBS > SERVER_SBS ? SERVER_RBS : SERVER_SBS;
    client.app = server.app = app;
    client.app_len = server.app_len = sizeof app;
    handshake(client.h, server.h);

    /* 1. Client to server: a 1000-byte text message of 2-byte characters, a 3000-byte binary
     * message in three fragments, a ping. Received through the internal buffer. */
    for (i = 0; i < 1000; i += 2) {
        text[i] = 0xC3;
        text[i + 1] = 0xA9; /* U+00E9 */
    }
    for (i = 0; i < 3000; i++) {
        binary[i] = (unsigned char)(i * 7);
    }
    send(&client, WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE, text, 1000, 1);
    send(&client, WEB_SOCKET_BINARY_FRAGMENT_BUFFER_TYPE, binary, 1000, 2);
    send(&client, WEB_SOCKET_BINARY_FRAGMENT_BUFFER_TYPE, binary + 1000, 1000, 3);
    send(&client, WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, binary + 2000, 1000, 4);
    send(&client, WEB_SOCKET_PING_PONG_BUFFER_TYPE, NULL, 0, 5);
    while (server.rx_messages < 2) {
        CHECK_HR(WebSocketReceive(server.h, NULL, (PVOID)10), S_OK);
        pump_pair(&client, &server);
    }
    CHECK(client.sends_done == 5 && client.last_send_ctx == (PVOID)5 &&
          client.last_echo_count == 0);
    CHECK(server.rx_len == 4000 && memcmp(server.rx, app, 4000) == 0);
    CHECK(server.rx_max_piece <= SERVER_RBS && server.rx_pieces >= 4000 / SERVER_RBS);
    CHECK(server.last_receive_ctx == (PVOID)10);
    /* The ping is answered on the server's receive queue, with no application context, while a
     * receive is posted (it stays pending). */
    CHECK_HR(WebSocketReceive(server.h, NULL, (PVOID)11), S_OK);
    pump_pair(&client, &server);
    CHECK(server.auto_pongs == 1 && server.read_pending);
    CHECK_HR(WebSocketReceive(client.h, NULL, (PVOID)12), S_OK);
    pump_pair(&client, &server);
    CHECK(client.pongs_received == 1 && client.last_receive_ctx == (PVOID)12);

    /* 2. Server to client with a GetAction capacity of 1: the header and the payload (the
     * application's own memory) come as two SEND_TO_NETWORK actions. The client receives into a
     * 100-byte buffer of its own: pieces of at most 100 bytes, in that buffer. */
    for (i = 0; i < 5000; i++) {
        reply[i] = (unsigned char)(i * 13 + 1);
    }
    server.capacity = 1;
    server.network_sends = 0;
    send(&server, WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, reply, 5000, 20);
    client.rx_len = 0;
    client.rx_messages = 0;
    while (client.rx_messages < 1) {
        WEB_SOCKET_BUFFER b;
        b.Data.pbBuffer = rbuf;
        b.Data.ulBufferLength = 100;
        CHECK_HR(WebSocketReceive(client.h, &b, (PVOID)21), S_OK);
        pump_pair(&client, &server);
        CHECK(client.rx_last_ptr == rbuf);
    }
    CHECK(server.max_send_buffers == 1 && server.network_sends == 2);
    CHECK(server.last_send_ctx == (PVOID)20 && server.last_echo_count == 1 &&
          server.last_echo.Data.pbBuffer == reply && server.last_echo.Data.ulBufferLength == 5000);
    CHECK(client.rx_len == 5000 && memcmp(client.rx, reply, 5000) == 0);
    CHECK(client.rx_max_piece == 100 && client.rx_last_type == WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE);

    /* 3. The server closes with a reason; the client's copy of it lies in the client's block. The
     * client answers; the server's pending receive gets it. */
    {
        BYTE *reason = app + 30000; /* the application's memory, like every payload */
        WEB_SOCKET_BUFFER b;
        memcpy(reason, "going away", sizeof "going away");
        b.CloseStatus.pbReason = reason;
        b.CloseStatus.ulReasonLength = (sizeof "going away" - 1);
        b.CloseStatus.usStatus = WEB_SOCKET_ENDPOINT_UNAVAILABLE_CLOSE_STATUS;
        CHECK_HR(WebSocketSend(server.h, WEB_SOCKET_CLOSE_BUFFER_TYPE, &b, (PVOID)30), S_OK);
        CHECK_HR(WebSocketReceive(client.h, NULL, (PVOID)31), S_OK);
        pump_pair(&client, &server);
        CHECK(client.closes == 1 &&
              client.close_status == WEB_SOCKET_ENDPOINT_UNAVAILABLE_CLOSE_STATUS);
        CHECK(client.reason_len == (sizeof "going away" - 1) &&
              memcmp(client.reason, reason, (sizeof "going away" - 1)) == 0);
        CHECK(lies_in(client.reason_ptr, client.reason_len, client.block, client.block_len));
        CHECK(server.last_echo_count == 1 && server.last_echo.CloseStatus.pbReason == reason &&
              server.last_echo.CloseStatus.usStatus == 1001);

        b.CloseStatus.pbReason = NULL;
        b.CloseStatus.ulReasonLength = 0;
        b.CloseStatus.usStatus = WEB_SOCKET_SUCCESS_CLOSE_STATUS;
        CHECK_HR(WebSocketSend(client.h, WEB_SOCKET_CLOSE_BUFFER_TYPE, &b, (PVOID)32), S_OK);
        pump_pair(&client, &server);
        CHECK(server.closes == 1 && server.close_status == WEB_SOCKET_SUCCESS_CLOSE_STATUS &&
              server.reason_len == 0 && server.reason_ptr == NULL);
        CHECK(server.last_receive_ctx == (PVOID)11);
    }

    WebSocketDeleteHandle(client.h);
    WebSocketDeleteHandle(server.h);
    pipe_free(&c2s);
    pipe_free(&s2c);
    printf("allocated: ok\n");
    return 0;
}
