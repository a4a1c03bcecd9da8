/*
 * bcryptprimitives.dll for Wine 8 (Debian 12's), which has none: Rust's std imports
 * ProcessPrng from it since Rust 1.78 (random HashMap keys), so without it no Rust test
 * binary starts under that Wine ("Library bcryptprimitives.dll ... not found"). Wine 9 and
 * later ship their own, and vm/windows.sh then installs nothing.
 *
 * ProcessPrng fills the buffer with random bytes and always returns TRUE on Windows; here
 * they come from RtlGenRandom (advapi32's SystemFunction036), which Wine implements.
 *
 * Built by vm/windows.sh:
 *   x86_64-w64-mingw32-gcc -shared -O2 -s -o bcryptprimitives.dll \
 *       vm/wine-bcryptprimitives.c -ladvapi32
 */
#include <windows.h>
#include <ntsecapi.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!RtlGenRandom(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
