#ifndef PGMEND_CZLIB_SHIM_H
#define PGMEND_CZLIB_SHIM_H
#include <zlib.h>
#endif
