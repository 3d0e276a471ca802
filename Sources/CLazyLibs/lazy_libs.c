// libpq and libcurl, loaded on first use.
//
// Linking them (`-lpq -lcurl`) made every run load both with their whole trees (libcrypto, libssl, GnuTLS
// through LDAP, Kerberos, libssh2, nghttp2, p11-kit, ...), all bound at start (Debian builds them with -z now):
// about a quarter of a dead-port run's page faults and 7 MiB of its resident memory, for libraries that run
// never calls. Instead this file defines each libpq / libcurl function preflight calls, under the library's own
// name and prototype (the headers come from CLibPQ and CCurl, and the compiler checks each definition against
// them), as a trampoline to the library's definition, found once by dlopen + dlsym. The executable links with
// --as-needed, so with nothing left referring to libpq or libcurl they drop out of its DT_NEEDED.
//
// - The trampolines are hidden: the executable does not export them, so they never interpose on the libraries'
//   own calls between their functions, and dlsym on the library's handle finds the library's definition.
// - PreflightProbes calls preflight_libpq_load / preflight_libcurl_load before its first call into a library,
//   and a failure becomes that probe's error ("cannot load libpq (libpq.so.5): ...; install libpq5").
// - A trampoline reached without that (a probe that forgot to ask) loads the library itself; if it cannot be
//   loaded it must not jump to NULL: it writes the same line to stderr and ends the process with exit code 2
//   (README: "usage or config error": preflight cannot run here as installed).
// - The test bundles may still link libpq and libcurl directly: dlopen of a loaded soname returns it.

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <libpq-fe.h>

#include "lazy_libs.h"

#define HIDDEN __attribute__((visibility("hidden")))

// The functions the executable uses (`readelf --dyn-syms` of a binary linked without this file). A function
// missing here still links, to the library itself, and --as-needed puts the library back into DT_NEEDED:
// LazyLibraryTests and scripts/test-install.sh fail then.
#define LIBPQ_FUNCTIONS(X) \
    X(PQcancel) X(PQclear) X(PQconndefaults) X(PQconnectPoll) X(PQconnectStartParams) X(PQconninfoFree) \
    X(PQconninfoParse) X(PQconsumeInput) X(PQerrorMessage) X(PQfinish) X(PQflush) X(PQfname) X(PQfreeCancel) \
    X(PQfreemem) X(PQgetCancel) X(PQgetResult) X(PQgetisnull) X(PQgetvalue) X(PQisBusy) X(PQnfields) \
    X(PQntuples) X(PQresultErrorMessage) X(PQresultStatus) X(PQsendQuery) X(PQsendQueryParams) \
    X(PQsetnonblocking) X(PQsocket) X(PQstatus)

#define LIBCURL_FUNCTIONS(X) \
    X(curl_easy_cleanup) X(curl_easy_getinfo) X(curl_easy_init) X(curl_easy_perform) X(curl_easy_setopt) \
    X(curl_easy_strerror) X(curl_global_init) X(curl_multi_add_handle) X(curl_multi_cleanup) \
    X(curl_multi_info_read) X(curl_multi_init) X(curl_multi_perform) X(curl_multi_poll) \
    X(curl_multi_remove_handle) X(curl_multi_setopt) X(curl_slist_append) X(curl_slist_free_all)

#define SLOT_INDEX(name) SLOT_##name,
#define SLOT_NAME(name) #name,
enum { LIBPQ_FUNCTIONS(SLOT_INDEX) LIBPQ_COUNT };
enum { LIBCURL_FUNCTIONS(SLOT_INDEX) LIBCURL_COUNT };
static const char *const libpq_names[] = { LIBPQ_FUNCTIONS(SLOT_NAME) };
static const char *const libcurl_names[] = { LIBCURL_FUNCTIONS(SLOT_NAME) };

struct lazy_library {
    const char *label;    // "libpq"
    const char *soname;   // "libpq.so.5"
    const char *package;  // Debian's package that ships it
    const char *const *names;
    size_t count;
    void **slots;
    pthread_once_t once;
    int loaded;
    char error[512];
};

static void *libpq_slots[LIBPQ_COUNT];
static void *libcurl_slots[LIBCURL_COUNT];
static struct lazy_library libpq = {
    "libpq", "libpq.so.5", "libpq5", libpq_names, LIBPQ_COUNT, libpq_slots, PTHREAD_ONCE_INIT, 0, {0}};
static struct lazy_library libcurl = {
    "libcurl", "libcurl.so.4", "libcurl4", libcurl_names, LIBCURL_COUNT, libcurl_slots, PTHREAD_ONCE_INIT, 0, {0}};

/// dlopen + one dlsym per function into `slots`; 0 and the handle, or -1 with one line in `err` (nothing stays open).
static int open_library(const struct lazy_library *lib, const char *soname, void **slots, void **opened, char *err,
                        size_t n) {
    void *handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        const char *why = dlerror();
        snprintf(err, n, "cannot load %s (%s): %s; install %s", lib->label, soname, why ? why : "dlopen failed",
                 lib->package);
        return -1;
    }
    for (size_t i = 0; i < lib->count; i++) {
        // dlsym on the handle searches that library and its dependencies, never the executable.
        void *f = dlsym(handle, lib->names[i]);
        if (f == NULL) {
            snprintf(err, n, "cannot load %s (%s): it has no %s; install %s", lib->label, soname, lib->names[i],
                     lib->package);
            dlclose(handle);
            return -1;
        }
        slots[i] = f;
    }
    *opened = handle;
    return 0;
}

/// The process's table: the handle stays open for the process's life.
static void load(struct lazy_library *lib) {
    void *handle = NULL;
    lib->loaded = open_library(lib, lib->soname, lib->slots, &handle, lib->error, sizeof lib->error) == 0;
}
static void load_libpq(void) { load(&libpq); }
static void load_libcurl(void) { load(&libcurl); }

/// pthread_once orders the table's writes before every reader's return from it.
static int ensure(struct lazy_library *lib, void (*once)(void), char *err, size_t n) {
    pthread_once(&lib->once, once);
    if (lib->loaded) return 0;
    if (err != NULL && n > 0) snprintf(err, n, "%s", lib->error);
    return -1;
}

int preflight_libpq_load(char *err, size_t n) { return ensure(&libpq, load_libpq, err, n); }
int preflight_libcurl_load(char *err, size_t n) { return ensure(&libcurl, load_libcurl, err, n); }

static int load_from(const struct lazy_library *lib, const char *soname, char *err, size_t n) {
    void *slots[LIBPQ_COUNT > LIBCURL_COUNT ? LIBPQ_COUNT : LIBCURL_COUNT];
    char scratch[512];
    char *out = (err != NULL && n > 0) ? err : scratch;
    size_t size = (err != NULL && n > 0) ? n : sizeof scratch;
    void *handle = NULL;
    if (open_library(lib, soname, slots, &handle, out, size) != 0) return -1;
    dlclose(handle);  // a reference count: a library the process uses stays loaded
    return 0;
}

int preflight_libpq_load_from(const char *soname, char *err, size_t n) { return load_from(&libpq, soname, err, n); }
int preflight_libcurl_load_from(const char *soname, char *err, size_t n) { return load_from(&libcurl, soname, err, n); }

/// The library's function at `index`, loading the library first if no probe has; never NULL.
static void *resolve(struct lazy_library *lib, void (*once)(void), size_t index) {
    if (ensure(lib, once, NULL, 0) != 0) {
        char line[600];
        int len = snprintf(line, sizeof line, "preflight: %s\n", lib->error);
        if (len > 0) (void)!write(STDERR_FILENO, line, (size_t)len < sizeof line ? (size_t)len : sizeof line - 1);
        _exit(2);  // not exit(): other threads are running, and atexit handlers must not race them
    }
    return lib->slots[index];
}

#define PQ(name) ((__typeof__(&name))resolve(&libpq, load_libpq, SLOT_##name))
#define CURLFN(name) ((__typeof__(&name))resolve(&libcurl, load_libcurl, SLOT_##name))

// MARK: libpq

HIDDEN int PQcancel(PGcancel *cancel, char *errbuf, int errbufsize) { return PQ(PQcancel)(cancel, errbuf, errbufsize); }
HIDDEN void PQclear(PGresult *res) { PQ(PQclear)(res); }
HIDDEN PQconninfoOption *PQconndefaults(void) { return PQ(PQconndefaults)(); }
HIDDEN PostgresPollingStatusType PQconnectPoll(PGconn *conn) { return PQ(PQconnectPoll)(conn); }
HIDDEN PGconn *PQconnectStartParams(const char *const *keywords, const char *const *values, int expand_dbname) {
    return PQ(PQconnectStartParams)(keywords, values, expand_dbname);
}
HIDDEN void PQconninfoFree(PQconninfoOption *connOptions) { PQ(PQconninfoFree)(connOptions); }
HIDDEN PQconninfoOption *PQconninfoParse(const char *conninfo, char **errmsg) { return PQ(PQconninfoParse)(conninfo, errmsg); }
HIDDEN int PQconsumeInput(PGconn *conn) { return PQ(PQconsumeInput)(conn); }
HIDDEN char *PQerrorMessage(const PGconn *conn) { return PQ(PQerrorMessage)(conn); }
HIDDEN void PQfinish(PGconn *conn) { PQ(PQfinish)(conn); }
HIDDEN int PQflush(PGconn *conn) { return PQ(PQflush)(conn); }
HIDDEN char *PQfname(const PGresult *res, int field_num) { return PQ(PQfname)(res, field_num); }
HIDDEN void PQfreeCancel(PGcancel *cancel) { PQ(PQfreeCancel)(cancel); }
HIDDEN void PQfreemem(void *ptr) { PQ(PQfreemem)(ptr); }
HIDDEN PGcancel *PQgetCancel(PGconn *conn) { return PQ(PQgetCancel)(conn); }
HIDDEN PGresult *PQgetResult(PGconn *conn) { return PQ(PQgetResult)(conn); }
HIDDEN int PQgetisnull(const PGresult *res, int tup_num, int field_num) { return PQ(PQgetisnull)(res, tup_num, field_num); }
HIDDEN char *PQgetvalue(const PGresult *res, int tup_num, int field_num) { return PQ(PQgetvalue)(res, tup_num, field_num); }
HIDDEN int PQisBusy(PGconn *conn) { return PQ(PQisBusy)(conn); }
HIDDEN int PQnfields(const PGresult *res) { return PQ(PQnfields)(res); }
HIDDEN int PQntuples(const PGresult *res) { return PQ(PQntuples)(res); }
HIDDEN char *PQresultErrorMessage(const PGresult *res) { return PQ(PQresultErrorMessage)(res); }
HIDDEN ExecStatusType PQresultStatus(const PGresult *res) { return PQ(PQresultStatus)(res); }
HIDDEN int PQsendQuery(PGconn *conn, const char *query) { return PQ(PQsendQuery)(conn, query); }
HIDDEN int PQsendQueryParams(PGconn *conn, const char *command, int nParams, const Oid *paramTypes,
                             const char *const *paramValues, const int *paramLengths, const int *paramFormats,
                             int resultFormat) {
    return PQ(PQsendQueryParams)(conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats,
                                 resultFormat);
}
HIDDEN int PQsetnonblocking(PGconn *conn, int arg) { return PQ(PQsetnonblocking)(conn, arg); }
HIDDEN int PQsocket(const PGconn *conn) { return PQ(PQsocket)(conn); }
HIDDEN ConnStatusType PQstatus(const PGconn *conn) { return PQ(PQstatus)(conn); }

// MARK: libcurl

HIDDEN void curl_easy_cleanup(CURL *curl) { CURLFN(curl_easy_cleanup)(curl); }
HIDDEN CURL *curl_easy_init(void) { return CURLFN(curl_easy_init)(); }
HIDDEN CURLcode curl_easy_perform(CURL *curl) { return CURLFN(curl_easy_perform)(curl); }
HIDDEN const char *curl_easy_strerror(CURLcode code) { return CURLFN(curl_easy_strerror)(code); }
HIDDEN CURLcode curl_global_init(long flags) { return CURLFN(curl_global_init)(flags); }
HIDDEN CURLMcode curl_multi_add_handle(CURLM *multi, CURL *easy) { return CURLFN(curl_multi_add_handle)(multi, easy); }
HIDDEN CURLMcode curl_multi_cleanup(CURLM *multi) { return CURLFN(curl_multi_cleanup)(multi); }
HIDDEN CURLMsg *curl_multi_info_read(CURLM *multi, int *msgs_in_queue) { return CURLFN(curl_multi_info_read)(multi, msgs_in_queue); }
HIDDEN CURLM *curl_multi_init(void) { return CURLFN(curl_multi_init)(); }
HIDDEN CURLMcode curl_multi_perform(CURLM *multi, int *running) { return CURLFN(curl_multi_perform)(multi, running); }
HIDDEN CURLMcode curl_multi_poll(CURLM *multi, struct curl_waitfd extra_fds[], unsigned int extra_nfds, int timeout_ms,
                                 int *ret) {
    return CURLFN(curl_multi_poll)(multi, extra_fds, extra_nfds, timeout_ms, ret);
}
HIDDEN CURLMcode curl_multi_remove_handle(CURLM *multi, CURL *easy) { return CURLFN(curl_multi_remove_handle)(multi, easy); }
HIDDEN struct curl_slist *curl_slist_append(struct curl_slist *list, const char *data) {
    return CURLFN(curl_slist_append)(list, data);
}
HIDDEN void curl_slist_free_all(struct curl_slist *list) { CURLFN(curl_slist_free_all)(list); }

// The variadic three take exactly one argument after the option, and libcurl reads it with va_arg as the type
// the option's number names (CURLOPTTYPE_*: long below 10000, an object pointer, a function pointer, a
// curl_off_t, a blob pointer). The trampolines read it as that same type and pass it on, so no argument is
// reinterpreted (on x86-64 and aarch64 all of these travel in one general register anyway). getinfo's
// argument is always a pointer to where the answer goes.

static CURLcode forward_easy_setopt(CURL *curl, CURLoption option, va_list ap) {
    __typeof__(&curl_easy_setopt) real = CURLFN(curl_easy_setopt);
    if (option < CURLOPTTYPE_OBJECTPOINT) return real(curl, option, va_arg(ap, long));
    if (option < CURLOPTTYPE_FUNCTIONPOINT) return real(curl, option, va_arg(ap, void *));
    if (option < CURLOPTTYPE_OFF_T) return real(curl, option, va_arg(ap, void (*)(void)));
    if (option < CURLOPTTYPE_BLOB) return real(curl, option, va_arg(ap, curl_off_t));
    return real(curl, option, va_arg(ap, void *));
}

HIDDEN CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...) {
    va_list ap;
    va_start(ap, option);
    CURLcode rc = forward_easy_setopt(curl, option, ap);
    va_end(ap);
    return rc;
}

HIDDEN CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...) {
    va_list ap;
    va_start(ap, info);
    void *where = va_arg(ap, void *);
    va_end(ap);
    return CURLFN(curl_easy_getinfo)(curl, info, where);
}

static CURLMcode forward_multi_setopt(CURLM *multi, CURLMoption option, va_list ap) {
    __typeof__(&curl_multi_setopt) real = CURLFN(curl_multi_setopt);
    if (option < CURLOPTTYPE_OBJECTPOINT) return real(multi, option, va_arg(ap, long));
    if (option < CURLOPTTYPE_FUNCTIONPOINT) return real(multi, option, va_arg(ap, void *));
    if (option < CURLOPTTYPE_OFF_T) return real(multi, option, va_arg(ap, void (*)(void)));
    return real(multi, option, va_arg(ap, curl_off_t));
}

HIDDEN CURLMcode curl_multi_setopt(CURLM *multi, CURLMoption option, ...) {
    va_list ap;
    va_start(ap, option);
    CURLMcode rc = forward_multi_setopt(multi, option, ap);
    va_end(ap);
    return rc;
}
