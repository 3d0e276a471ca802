// Typed wrappers for libcurl's variadic setopt/getinfo, which Swift cannot call.
#include <curl/curl.h>

typedef size_t (*preflight_curl_write_cb)(char *, size_t, size_t, void *);

static inline CURLcode preflight_easy_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode preflight_easy_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode preflight_easy_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode preflight_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode preflight_easy_setopt_write_cb(CURL *h, CURLoption o, preflight_curl_write_cb v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode preflight_easy_setopt_off_t(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }

static inline CURLcode preflight_easy_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode preflight_easy_getinfo_off_t(CURL *h, CURLINFO i, curl_off_t *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode preflight_easy_getinfo_string(CURL *h, CURLINFO i, char **v) { return curl_easy_getinfo(h, i, v); }

static inline CURLMcode preflight_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }

// Multi interface: CURLMsg carries a union Swift reads awkwardly; these name what the burst needs.
static inline int preflight_multi_msg_is_done(const CURLMsg *m) { return m->msg == CURLMSG_DONE; }
static inline CURLcode preflight_multi_msg_result(const CURLMsg *m) { return m->data.result; }
static inline CURL *preflight_multi_msg_handle(const CURLMsg *m) { return m->easy_handle; }
static inline CURLcode preflight_easy_getinfo_pointer(CURL *h, CURLINFO i, void **v) { return curl_easy_getinfo(h, i, v); }

// TLS evidence: the certificate chain (CURLOPT_CERTINFO) and libcurl's own handshake lines (protocol, cipher, ALPN).
typedef int (*preflight_curl_debug_cb)(CURL *, curl_infotype, char *, size_t, void *);
static inline CURLcode preflight_easy_setopt_debug_cb(CURL *h, CURLoption o, preflight_curl_debug_cb v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode preflight_easy_getinfo_certinfo(CURL *h, struct curl_certinfo **v) { return curl_easy_getinfo(h, CURLINFO_CERTINFO, v); }
static inline int preflight_certinfo_count(const struct curl_certinfo *c) { return c ? c->num_of_certs : 0; }
static inline struct curl_slist *preflight_certinfo_at(const struct curl_certinfo *c, int i) { return c->certinfo[i]; }
