/* A minimal windows.h of the tests' own, standing in for the one a port of Windows code would
 * bring: it defines _WINDEF_ and the base types (in the spellings of the Windows SDK, with the
 * widths of the Linux mapping), the status codes it needs, and the macros the Windows SDK
 * WebSocket sample uses. websocket.h must keep all of these definitions. */
#ifndef _WINDEF_
#define _WINDEF_

#include <string.h>

#define VOID void
#define WINAPI
typedef char CHAR;
typedef CHAR *PCHAR;
typedef const CHAR *PCSTR;
typedef unsigned char BYTE;
typedef BYTE *PBYTE;
typedef unsigned short USHORT;
typedef unsigned int ULONG; /* 32-bit, as on Windows (never C `unsigned long` on Linux) */
typedef int BOOL;
typedef int HRESULT;
typedef void *PVOID;

#define TRUE 1
#define FALSE 0

/* Spelled as winerror.h spells them, so a second, unguarded definition would be an error. */
#define S_OK ((HRESULT)0L)
#define E_FAIL ((HRESULT)0x80004005L)
#define E_OUTOFMEMORY ((HRESULT)0x8007000EL)
#define E_INVALIDARG ((HRESULT)0x80070057L)
#define FAILED(hr) (((HRESULT)(hr)) < 0)
#define SUCCEEDED(hr) (((HRESULT)(hr)) >= 0)

#define ARRAYSIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CopyMemory(dst, src, n) memcpy((dst), (src), (n))
#define ZeroMemory(dst, n) memset((dst), 0, (n))

/* SAL annotations used by Windows code. */
#define _In_
#define _In_opt_
#define _Out_
#define _Inout_
#define _In_reads_(n)
#define _In_reads_bytes_opt_(n)

#endif /* _WINDEF_ */
