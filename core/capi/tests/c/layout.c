/* Layouts of the websocket.h structures per the spec's §2.1 table, the widths of the Linux
 * mapping, and the constant values of §3, checked as the C (or C++) compiler sees them.
 * Compiled as C11 and as C++17; exit status 0 = pass. */
#include <websocket.h>
#include <stddef.h>
#include <stdio.h>

static int failures;

#define EXPECT(cond)                                                                     \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);          \
            failures++;                                                                  \
        }                                                                                \
    } while (0)

typedef WEB_SOCKET_BUFFER B;

int main(void)
{
    B b;

    /* Base types of the Linux mapping (§2). */
    EXPECT(sizeof(HRESULT) == 4 && (HRESULT)-1 < 0);
    EXPECT(sizeof(ULONG) == 4 && (ULONG)-1 > 0);
    EXPECT(sizeof(USHORT) == 2);
    EXPECT(sizeof(BOOL) == 4);
    EXPECT(sizeof(BYTE) == 1);
    EXPECT(sizeof(PVOID) == sizeof(void *));
    EXPECT(sizeof(WEB_SOCKET_HANDLE) == sizeof(void *));

    /* Enums are 32-bit values. */
    EXPECT(sizeof(WEB_SOCKET_BUFFER_TYPE) == 4);
    EXPECT(sizeof(WEB_SOCKET_ACTION) == 4);
    EXPECT(sizeof(WEB_SOCKET_ACTION_QUEUE) == 4);
    EXPECT(sizeof(WEB_SOCKET_PROPERTY_TYPE) == 4);
    EXPECT(sizeof(WEB_SOCKET_CLOSE_STATUS) == 4);

    /* §2.1 */
    if (sizeof(void *) == 8) {
        EXPECT(sizeof(WEB_SOCKET_HTTP_HEADER) == 32);
        EXPECT(offsetof(WEB_SOCKET_HTTP_HEADER, pcName) == 0);
        EXPECT(offsetof(WEB_SOCKET_HTTP_HEADER, ulNameLength) == 8);
        EXPECT(offsetof(WEB_SOCKET_HTTP_HEADER, pcValue) == 16);
        EXPECT(offsetof(WEB_SOCKET_HTTP_HEADER, ulValueLength) == 24);

        EXPECT(sizeof(WEB_SOCKET_PROPERTY) == 24);
        EXPECT(offsetof(WEB_SOCKET_PROPERTY, Type) == 0);
        EXPECT(offsetof(WEB_SOCKET_PROPERTY, pvValue) == 8);
        EXPECT(offsetof(WEB_SOCKET_PROPERTY, ulValueSize) == 16);

        EXPECT(sizeof(WEB_SOCKET_BUFFER) == 16);
        EXPECT((char *)&b.Data.pbBuffer - (char *)&b == 0);
        EXPECT((char *)&b.Data.ulBufferLength - (char *)&b == 8);
        EXPECT((char *)&b.CloseStatus.pbReason - (char *)&b == 0);
        EXPECT((char *)&b.CloseStatus.ulReasonLength - (char *)&b == 8);
        EXPECT((char *)&b.CloseStatus.usStatus - (char *)&b == 12);
    } else {
        EXPECT(sizeof(WEB_SOCKET_HTTP_HEADER) == 16);
        EXPECT(sizeof(WEB_SOCKET_PROPERTY) == 12);
        EXPECT(sizeof(WEB_SOCKET_BUFFER) == 12);
    }
    EXPECT(offsetof(B, Data) == 0 && offsetof(B, CloseStatus) == 0);
    /* .NET reads returned headers with a stride of 4 pointers. */
    EXPECT(sizeof(WEB_SOCKET_HTTP_HEADER) == 4 * sizeof(void *));

    /* §3 values. */
    EXPECT((unsigned)WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE == 0x80000000u);
    EXPECT((unsigned)WEB_SOCKET_UTF8_FRAGMENT_BUFFER_TYPE == 0x80000001u);
    EXPECT((unsigned)WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE == 0x80000002u);
    EXPECT((unsigned)WEB_SOCKET_BINARY_FRAGMENT_BUFFER_TYPE == 0x80000003u);
    EXPECT((unsigned)WEB_SOCKET_CLOSE_BUFFER_TYPE == 0x80000004u);
    EXPECT((unsigned)WEB_SOCKET_PING_PONG_BUFFER_TYPE == 0x80000005u);
    EXPECT((unsigned)WEB_SOCKET_UNSOLICITED_PONG_BUFFER_TYPE == 0x80000006u);
    EXPECT(WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE < 0); /* negative as a 32-bit signed value */
    EXPECT(WEB_SOCKET_NO_ACTION == 0 && WEB_SOCKET_SEND_TO_NETWORK_ACTION == 1 &&
           WEB_SOCKET_INDICATE_SEND_COMPLETE_ACTION == 2 &&
           WEB_SOCKET_RECEIVE_FROM_NETWORK_ACTION == 3 &&
           WEB_SOCKET_INDICATE_RECEIVE_COMPLETE_ACTION == 4);
    EXPECT(WEB_SOCKET_SEND_ACTION_QUEUE == 1 && WEB_SOCKET_RECEIVE_ACTION_QUEUE == 2 &&
           WEB_SOCKET_ALL_ACTION_QUEUE == 3);
    EXPECT(WEB_SOCKET_RECEIVE_BUFFER_SIZE_PROPERTY_TYPE == 0 &&
           WEB_SOCKET_SEND_BUFFER_SIZE_PROPERTY_TYPE == 1 &&
           WEB_SOCKET_DISABLE_MASKING_PROPERTY_TYPE == 2 &&
           WEB_SOCKET_ALLOCATED_BUFFER_PROPERTY_TYPE == 3 &&
           WEB_SOCKET_DISABLE_UTF8_VERIFICATION_PROPERTY_TYPE == 4 &&
           WEB_SOCKET_KEEPALIVE_INTERVAL_PROPERTY_TYPE == 5 &&
           WEB_SOCKET_SUPPORTED_VERSIONS_PROPERTY_TYPE == 6);
    EXPECT(WEB_SOCKET_SUCCESS_CLOSE_STATUS == 1000 &&
           WEB_SOCKET_ENDPOINT_UNAVAILABLE_CLOSE_STATUS == 1001 &&
           WEB_SOCKET_PROTOCOL_ERROR_CLOSE_STATUS == 1002 &&
           WEB_SOCKET_INVALID_DATA_TYPE_CLOSE_STATUS == 1003 &&
           WEB_SOCKET_EMPTY_CLOSE_STATUS == 1005 && WEB_SOCKET_ABORTED_CLOSE_STATUS == 1006 &&
           WEB_SOCKET_INVALID_PAYLOAD_CLOSE_STATUS == 1007 &&
           WEB_SOCKET_POLICY_VIOLATION_CLOSE_STATUS == 1008 &&
           WEB_SOCKET_MESSAGE_TOO_BIG_CLOSE_STATUS == 1009 &&
           WEB_SOCKET_UNSUPPORTED_EXTENSIONS_CLOSE_STATUS == 1010 &&
           WEB_SOCKET_SERVER_ERROR_CLOSE_STATUS == 1011 &&
           WEB_SOCKET_SECURE_HANDSHAKE_ERROR_CLOSE_STATUS == 1015);
    EXPECT(WEB_SOCKET_MAX_CLOSE_REASON_LENGTH == 123);
    EXPECT(S_OK == 0);
    EXPECT((unsigned)E_INVALID_PROTOCOL_OPERATION == 0x83760001u);
    EXPECT((unsigned)E_INVALID_PROTOCOL_FORMAT == 0x83760002u);
    EXPECT((unsigned)E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED == 0x83760003u);
    EXPECT((unsigned)E_SUBPROTOCOL_NOT_SUPPORTED == 0x83760004u);
    EXPECT((unsigned)E_PROTOCOL_VERSION_NOT_SUPPORTED == 0x83760005u);
    EXPECT((unsigned)E_INVALIDARG == 0x80070057u);
    EXPECT((unsigned)E_OUTOFMEMORY == 0x8007000Eu);
    EXPECT((unsigned)E_POINTER == 0x80004003u);
    EXPECT((unsigned)E_NOT_SUFFICIENT_BUFFER == 0x8007007Au);
    EXPECT((unsigned)E_FAIL == 0x80004005u);
    EXPECT(E_INVALID_PROTOCOL_OPERATION < 0 && E_POINTER < 0);

    if (failures > 0) {
        return 1;
    }
    printf("layout: ok\n");
    return 0;
}
