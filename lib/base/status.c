/*
 * Status strings, diagnostics and version (layer: base). All strings are
 * static; nothing here keeps state.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/common.h"

IQS_API const char *iqs_strerror(iqs_status status)
{
    switch (status) {
    case IQS_OK: return "success";
    case IQS_E_ARG: return "invalid argument";
    case IQS_E_IO: return "input/output error";
    case IQS_E_FORMAT: return "malformed data";
    case IQS_E_VERSION: return "unsupported format version";
    case IQS_E_CHECKSUM: return "checksum mismatch";
    case IQS_E_NOMEM: return "out of memory";
    case IQS_E_WORKSPACE: return "workspace missing or too small";
    case IQS_E_IMAGE: return "unusable image";
    case IQS_E_LIMIT: return "limit exceeded";
    case IQS_E_UNSUPPORTED: return "unsupported";
    case IQS_E_INTERNAL: return "internal error";
    case IQS_E_ENDIAN: return "big-endian host not supported";
    }
    return "unknown status";
}

IQS_API const char *iqs_version(void)
{
    return "0.1.0";
}

IQS_API unsigned iqs_version_number(void)
{
    return IQS_VERSION_NUMBER;
}

iqs_status iqs_diag_set(iqs_diag *diag, iqs_status status, const char *fmt, ...)
{
    if (diag) {
        va_list ap;
        diag->status = status;
        va_start(ap, fmt);
        vsnprintf(diag->msg, sizeof diag->msg, fmt, ap);
        va_end(ap);
    }
    return status;
}

void iqs_diag_ok(iqs_diag *diag)
{
    if (diag) {
        diag->status = IQS_OK;
        diag->msg[0] = '\0';
    }
}
