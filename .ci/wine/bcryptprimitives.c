/*
 * bcryptprimitives.dll for Wine 8, which lacks it: Go's runtime (1.22+)
 * loads ProcessPrng from it at start and cannot run without it. This one
 * fills the buffer from RtlGenRandom (advapi32's SystemFunction036), which
 * Wine has. Built by build-dll.sh; copied into the prefix's system32.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T size)
{
	/* RtlGenRandom takes a ULONG length; fill larger buffers in parts. */
	while (size > 0) {
		ULONG n = size > 0x10000000 ? 0x10000000 : (ULONG)size;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		size -= n;
	}
	return TRUE;
}
