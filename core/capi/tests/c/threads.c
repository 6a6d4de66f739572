/* Two threads on one handle (spec §6.5, §9 Q17): on the client handle, one thread drives the
 * send queue and another the receive queue, concurrently, with blocking I/O on OS pipes between
 * GetAction and CompleteAction (the handle must not be locked across it). A third thread runs an
 * echo server on its own handle and pings now and then, so the client's receive thread also
 * writes automatic pongs while its send thread writes frames. Exit status 0 = pass. */
#define _POSIX_C_SOURCE 200809L
#include "common.h"
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#define MESSAGES 400
#define MAX_MESSAGE 9000
#define IN_FLIGHT 4

static WEB_SOCKET_HANDLE client, server;
static int c2s[2], s2c[2]; /* [0] read end, [1] write end */

static void write_all(int fd, const void *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        CHECK(n > 0);
        p += n;
        len -= (size_t)n;
    }
}

static size_t read_some(int fd, void *data, size_t len)
{
    for (;;) {
        ssize_t n = read(fd, data, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        CHECK(n >= 0);
        return (size_t)n;
    }
}

/* SEND_TO_NETWORK: write every buffer, then complete with the total. */
static void send_to_network(WEB_SOCKET_HANDLE h, int fd, const WEB_SOCKET_BUFFER *b, ULONG n,
                            PVOID action)
{
    ULONG i, total = 0;
    for (i = 0; i < n; i++) {
        write_all(fd, b[i].Data.pbBuffer, b[i].Data.ulBufferLength);
        total += b[i].Data.ulBufferLength;
    }
    WebSocketCompleteAction(h, action, total);
}

/* RECEIVE_FROM_NETWORK: one blocking read into the buffer (0 bytes would be end of stream, which
 * never comes here), then complete with what was read. */
static void receive_from_network(WEB_SOCKET_HANDLE h, int fd, const WEB_SOCKET_BUFFER *b,
                                 PVOID action)
{
    size_t got = read_some(fd, b->Data.pbBuffer, b->Data.ulBufferLength);
    CHECK(got > 0);
    WebSocketCompleteAction(h, action, (ULONG)got);
}

/* What one WebSocketGetAction returned. `app` is UNTOUCHED where GetAction wrote no context. */
typedef struct Action {
    WEB_SOCKET_BUFFER b[2];
    ULONG n;
    WEB_SOCKET_ACTION action;
    WEB_SOCKET_BUFFER_TYPE type;
    PVOID app, act;
} Action;

/* Gets the next action of `queue` on `h`, which must succeed. */
static void get_action(WEB_SOCKET_HANDLE h, WEB_SOCKET_ACTION_QUEUE queue, Action *a)
{
    a->n = 2;
    a->app = UNTOUCHED;
    CHECK_HR(WebSocketGetAction(h, queue, a->b, &a->n, &a->action, &a->type, &a->app, &a->act),
             S_OK);
}

/* Message i: its length, type and content are functions of i. */
static size_t message_len(int i)
{
    return (size_t)((i * 7919) % MAX_MESSAGE);
}

static WEB_SOCKET_BUFFER_TYPE message_type(int i)
{
    return i % 3 == 0 ? WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE : WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE;
}

static void fill_message(int i, unsigned char *p)
{
    size_t k, n = message_len(i);
    for (k = 0; k < n; k++) {
        p[k] = (unsigned char)('a' + (i + k) % 26); /* ASCII, so valid UTF-8 */
    }
}

/* ----- the client's send thread: the SEND queue only ------------------------------------- */

static unsigned char outgoing[IN_FLIGHT][MAX_MESSAGE];

/* Echoes received so far. The sender stays at most IN_FLIGHT messages ahead of them, which bounds
 * the bytes in each pipe well below its capacity: a blocking write (say, the receive thread's
 * automatic pong) then never waits on a peer that is itself blocked writing. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int echoes_ok;

static int echoes(void)
{
    int n;
    CHECK(pthread_mutex_lock(&lock) == 0);
    n = echoes_ok;
    CHECK(pthread_mutex_unlock(&lock) == 0);
    return n;
}

static void *client_sender(void *arg)
{
    int next = 0, done = 0, pings = 0;
    int slot_of[MESSAGES + 1];
    int free_slots[IN_FLIGHT], nfree = IN_FLIGHT;
    int closed = 0, close_done = 0;
    (void)arg;
    for (int k = 0; k < IN_FLIGHT; k++) {
        free_slots[k] = k;
    }
    while (!close_done) {
        Action a;

        if (next < MESSAGES && nfree > 0 && next - echoes() < IN_FLIGHT) {
            int slot = free_slots[--nfree];
            WEB_SOCKET_BUFFER m;
            fill_message(next, outgoing[slot]);
            slot_of[next + 1] = slot;
            m.Data.pbBuffer = outgoing[slot];
            m.Data.ulBufferLength = (ULONG)message_len(next);
            CHECK_HR(WebSocketSend(client, message_type(next), &m, (PVOID)(uintptr_t)(next + 1)),
                     S_OK);
            next++;
            if (next % 10 == 0) {
                CHECK_HR(WebSocketSend(client, WEB_SOCKET_PING_PONG_BUFFER_TYPE, NULL, NULL),
                         S_OK);
                pings++;
            }
        } else if (done == MESSAGES && !closed) {
            CHECK_HR(WebSocketSend(client, WEB_SOCKET_CLOSE_BUFFER_TYPE, NULL, (PVOID)(uintptr_t)0xC105E),
                     S_OK);
            closed = 1;
        }
        get_action(client, WEB_SOCKET_SEND_ACTION_QUEUE, &a);
        switch (a.action) {
        case WEB_SOCKET_NO_ACTION:
            sched_yield(); /* e.g. waiting behind an automatic pong of the receive thread */
            break;
        case WEB_SOCKET_SEND_TO_NETWORK_ACTION:
            send_to_network(client, c2s[1], a.b, a.n, a.act);
            break;
        case WEB_SOCKET_INDICATE_SEND_COMPLETE_ACTION:
            if (a.type == WEB_SOCKET_CLOSE_BUFFER_TYPE) {
                CHECK(a.app == (PVOID)(uintptr_t)0xC105E);
                close_done = 1;
            } else if (a.type != WEB_SOCKET_PING_PONG_BUFFER_TYPE) {
                uintptr_t id = (uintptr_t)a.app;
                CHECK(id == (uintptr_t)done + 1); /* in order */
                free_slots[nfree++] = slot_of[id];
                done++;
            }
            WebSocketCompleteAction(client, a.act, 0);
            break;
        default:
            CHECK(!"unexpected action on the send queue");
        }
    }
    CHECK(pings == MESSAGES / 10);
    return NULL;
}

/* ----- the client's receive thread: the RECEIVE queue only ------------------------------- */

static int pongs_seen, client_close_status;

static void *client_receiver(void *arg)
{
    static unsigned char message[MAX_MESSAGE];
    size_t have = 0;
    int expect = 0, posted = 0;
    (void)arg;
    for (;;) {
        Action a;

        if (!posted) {
            CHECK_HR(WebSocketReceive(client, NULL, (PVOID)(uintptr_t)0xBEEF), S_OK);
            posted = 1;
        }
        get_action(client, WEB_SOCKET_RECEIVE_ACTION_QUEUE, &a);
        switch (a.action) {
        case WEB_SOCKET_NO_ACTION:
            sched_yield();
            break;
        case WEB_SOCKET_RECEIVE_FROM_NETWORK_ACTION:
            receive_from_network(client, s2c[0], &a.b[0], a.act);
            break;
        case WEB_SOCKET_SEND_TO_NETWORK_ACTION:
            /* An automatic pong for the server's ping: no application context. */
            CHECK(a.app == UNTOUCHED && a.type == WEB_SOCKET_PING_PONG_BUFFER_TYPE);
            send_to_network(client, c2s[1], a.b, a.n, a.act);
            break;
        case WEB_SOCKET_INDICATE_RECEIVE_COMPLETE_ACTION:
            CHECK(a.app == (PVOID)(uintptr_t)0xBEEF && a.n == 1);
            posted = 0;
            if (a.type == WEB_SOCKET_CLOSE_BUFFER_TYPE) {
                client_close_status = a.b[0].CloseStatus.usStatus;
                WebSocketCompleteAction(client, a.act, 0);
                CHECK(expect == MESSAGES);
                return NULL;
            }
            if (a.type == WEB_SOCKET_PING_PONG_BUFFER_TYPE) {
                pongs_seen++;
            } else {
                CHECK(have + a.b[0].Data.ulBufferLength <= sizeof message);
                if (a.b[0].Data.ulBufferLength > 0) {
                    memcpy(message + have, a.b[0].Data.pbBuffer, a.b[0].Data.ulBufferLength);
                }
                have += a.b[0].Data.ulBufferLength;
                if (a.type == WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE ||
                    a.type == WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE) {
                    static unsigned char want[MAX_MESSAGE];
                    CHECK(expect < MESSAGES);
                    CHECK(a.type == message_type(expect));
                    CHECK(have == message_len(expect));
                    fill_message(expect, want);
                    CHECK(memcmp(message, want, have) == 0);
                    CHECK(pthread_mutex_lock(&lock) == 0);
                    echoes_ok++;
                    CHECK(pthread_mutex_unlock(&lock) == 0);
                    expect++;
                    have = 0;
                }
            }
            WebSocketCompleteAction(client, a.act, 0);
            break;
        default:
            CHECK(!"unexpected action on the receive queue");
        }
    }
}

/* ----- the echo server: one thread, ALL queue -------------------------------------------- */

typedef struct Echo {
    unsigned char data[MAX_MESSAGE];
    size_t len;
} Echo;

static void *echo_server(void *arg)
{
    Echo *current = (Echo *)calloc(1, sizeof(Echo));
    int receiving = 0, closing = 0, echoed = 0;
    (void)arg;
    CHECK(current != NULL);
    for (;;) {
        Action a;

        if (!receiving && !closing) {
            CHECK_HR(WebSocketReceive(server, NULL, NULL), S_OK);
            receiving = 1;
        }
        get_action(server, WEB_SOCKET_ALL_ACTION_QUEUE, &a);
        switch (a.action) {
        case WEB_SOCKET_NO_ACTION:
            CHECK(closing);
            free(current);
            return NULL; /* our close went out */
        case WEB_SOCKET_RECEIVE_FROM_NETWORK_ACTION:
            receive_from_network(server, c2s[0], &a.b[0], a.act);
            break;
        case WEB_SOCKET_SEND_TO_NETWORK_ACTION:
            send_to_network(server, s2c[1], a.b, a.n, a.act);
            break;
        case WEB_SOCKET_INDICATE_SEND_COMPLETE_ACTION:
            if (a.app != NULL) {
                free(a.app); /* an echoed message */
            }
            WebSocketCompleteAction(server, a.act, 0);
            break;
        case WEB_SOCKET_INDICATE_RECEIVE_COMPLETE_ACTION:
            receiving = 0;
            if (a.type == WEB_SOCKET_CLOSE_BUFFER_TYPE) {
                WEB_SOCKET_BUFFER c;
                c.CloseStatus.pbReason = NULL;
                c.CloseStatus.ulReasonLength = 0;
                c.CloseStatus.usStatus = a.b[0].CloseStatus.usStatus; /* 1005: no body */
                WebSocketCompleteAction(server, a.act, 0);
                CHECK_HR(WebSocketSend(server, WEB_SOCKET_CLOSE_BUFFER_TYPE, &c, NULL), S_OK);
                closing = 1;
                break;
            }
            if (a.type != WEB_SOCKET_PING_PONG_BUFFER_TYPE) {
                CHECK(current->len + a.b[0].Data.ulBufferLength <= MAX_MESSAGE);
                if (a.b[0].Data.ulBufferLength > 0) {
                    memcpy(current->data + current->len, a.b[0].Data.pbBuffer,
                           a.b[0].Data.ulBufferLength);
                }
                current->len += a.b[0].Data.ulBufferLength;
            }
            WebSocketCompleteAction(server, a.act, 0);
            if (a.type == WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE ||
                a.type == WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE) {
                /* Echo it; the Echo (the payload memory) is freed at INDICATE_SEND_COMPLETE. */
                WEB_SOCKET_BUFFER m;
                m.Data.pbBuffer = current->data;
                m.Data.ulBufferLength = (ULONG)current->len;
                CHECK_HR(WebSocketSend(server, a.type, &m, current), S_OK);
                current = (Echo *)calloc(1, sizeof(Echo));
                CHECK(current != NULL);
                if (++echoed % 7 == 0) {
                    CHECK_HR(WebSocketSend(server, WEB_SOCKET_PING_PONG_BUFFER_TYPE, NULL, NULL),
                             S_OK);
                }
            }
            break;
        default:
            CHECK(!"unexpected action");
        }
    }
}

int main(void)
{
    pthread_t sender, receiver, echo;
    WEB_SOCKET_PROPERTY prop;
    ULONG rbs = 1024;

    /* A small receive buffer: many reads and pieces per message. */
    prop.Type = WEB_SOCKET_RECEIVE_BUFFER_SIZE_PROPERTY_TYPE;
    prop.pvValue = &rbs;
    prop.ulValueSize = sizeof rbs;
    CHECK_HR(WebSocketCreateClientHandle(&prop, 1, &client), S_OK);
    CHECK_HR(WebSocketCreateServerHandle(NULL, 0, &server), S_OK);
    handshake(client, server);
    CHECK(pipe(c2s) == 0 && pipe(s2c) == 0);

    CHECK(pthread_create(&echo, NULL, echo_server, NULL) == 0);
    CHECK(pthread_create(&receiver, NULL, client_receiver, NULL) == 0);
    CHECK(pthread_create(&sender, NULL, client_sender, NULL) == 0);
    CHECK(pthread_join(sender, NULL) == 0);
    CHECK(pthread_join(receiver, NULL) == 0);
    CHECK(pthread_join(echo, NULL) == 0);

    CHECK(echoes_ok == MESSAGES);
    /* Every ping is answered, except that the last one's pong may be dropped: when the last
     * ping and the client's close arrive in one read, the server queues its own close before the
     * pong could go out, and no automatic pongs follow a close (spec §6.4). */
    CHECK(pongs_seen == MESSAGES / 10 || pongs_seen == MESSAGES / 10 - 1);
    CHECK(client_close_status == WEB_SOCKET_EMPTY_CLOSE_STATUS);

    WebSocketAbortHandle(client);
    WebSocketDeleteHandle(client);
    WebSocketDeleteHandle(server);
    CHECK_HR(WebSocketReceive(client, NULL, NULL), E_INVALIDARG);
    close(c2s[0]);
    close(c2s[1]);
    close(s2c[0]);
    close(s2c[1]);
    printf("threads: ok (%d echoes, %d pongs)\n", echoes_ok, pongs_seen);
    return 0;
}
