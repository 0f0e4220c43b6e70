#ifndef PGMEND_CDEFLATE_SHIM_H
#define PGMEND_CDEFLATE_SHIM_H
#include <libdeflate.h>
#endif
