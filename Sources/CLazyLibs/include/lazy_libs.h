// libpq and libcurl, opened on first use (dlopen) instead of at start-up: see lazy_libs.c.
#ifndef PREFLIGHT_LAZY_LIBS_H
#define PREFLIGHT_LAZY_LIBS_H

#include <stddef.h>

/// Opens libpq.so.5 once per process and resolves every libpq function preflight calls.
/// 0 when it is usable; else -1 and one line in `err`: "cannot load libpq (libpq.so.5): <dlerror>; install libpq5".
int preflight_libpq_load(char *err, size_t n);
/// The same for libcurl.so.4.
int preflight_libcurl_load(char *err, size_t n);

/// The same loader on another soname, into a table of its own (the process's is untouched, the library is
/// closed again): for tests of a library that is missing or is not libpq / libcurl.
int preflight_libpq_load_from(const char *soname, char *err, size_t n);
int preflight_libcurl_load_from(const char *soname, char *err, size_t n);

#endif
