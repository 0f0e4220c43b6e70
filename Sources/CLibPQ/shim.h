#ifndef PGMEND_CLIBPQ_SHIM_H
#define PGMEND_CLIBPQ_SHIM_H
// Debian and Homebrew put libpq-fe.h under include/postgresql; pkg-config adds that directory,
// and the fallback keeps the build working when pkg-config itself is missing.
#if __has_include(<libpq-fe.h>)
#include <libpq-fe.h>
#else
#include <postgresql/libpq-fe.h>
#endif
#endif
