/* errors.c -- GE's error manager: the reports that failing calls queue, and
 * the text GEGetErrorMsg / aclGetRecentErrMsg make of them (and drain).
 *
 * Modelled on hicann/runtime src/dfx/error_manager/error_manager.cc (the
 * ErrorManager that libge_runner.so and libascendcl.so share):
 *  - a report is an error code and a text; "inner" codes (E19999 from GE's
 *    REPORT_INNER_ERR_MSG, EH9999 from ACL's ACL_LOG_INNER_ERROR) get
 *    "[FUNC:..][FILE:..][LINE:..]" appended; an identical report (same code
 *    and text) is queued once; a queue holds at most 1001 reports;
 *  - the queue belongs to the reporting thread's work stream (INTERNAL_MODE,
 *    the default: work_stream_id is thread-local), so it is per thread here;
 *  - GetErrorMessage() formats every queued report (GetErrorMessage and
 *    AssembleInnerErrorMessage) and clears the queue: reading drains it.
 * GE and ACL read the same queue (ge_api.cc GEGetErrorMsg and acl.cpp
 * aclGetRecentErrMsgImpl both call GetErrMgrErrorMessage). */
#include "stub_internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define REPORT_CAP     1024   /* bytes of one report's text (LIMIT_PER_MESSAGE) */
#define REPORTS_MAX    1000   /* kMaxWorkSize: more than this are not queued */

typedef struct Report {
    char code[8];
    char when[40];
    char *text;
} Report;

/* One thread's queue, and the texts its last reads returned (valid until
 * that thread's next read, as CANN's thread_local strings). */
typedef struct ThreadErrors {
    Report *v;
    size_t n, cap;
    uint64_t epoch;
    char *ge_text;
    char *acl_text;
} ThreadErrors;

static _Atomic uint64_t g_epoch = 1;   /* bumped by GeStub_Reset: every queue is stale */
static pthread_key_t g_key;
static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;
static _Thread_local ThreadErrors *t_errors;

static void reports_clear(ThreadErrors *te)
{
    for (size_t i = 0; i < te->n; i++)
        free(te->v[i].text);
    te->n = 0;
}

static void thread_errors_free(void *p)
{
    ThreadErrors *te = p;
    reports_clear(te);
    free(te->v);
    free(te->ge_text);
    free(te->acl_text);
    free(te);
}

static void make_key(void) { pthread_key_create(&g_key, thread_errors_free); }

/* This thread's queue (NULL when out of memory), emptied if a reset
 * happened since it was last used. */
static ThreadErrors *thread_errors(void)
{
    if (!t_errors) {
        pthread_once(&g_key_once, make_key);
        t_errors = calloc(1, sizeof *t_errors);
        if (!t_errors)
            return NULL;
        t_errors->epoch = atomic_load(&g_epoch);
        pthread_setspecific(g_key, t_errors);
    }
    uint64_t now = atomic_load(&g_epoch);
    if (t_errors->epoch != now) {
        reports_clear(t_errors);
        t_errors->epoch = now;
    }
    return t_errors;
}

void messages_clear_all(void) { atomic_fetch_add(&g_epoch, 1); }

/* error_manager.cc IsInnerErrorCode: the digits after the two-letter prefix
 * are 9999 (and the param-check codes ending in 8888, unused here). */
static bool inner_code(const char *code)
{
    return strlen(code) == 6 && strcmp(code + 2, "9999") == 0;
}

/* CurrentTimeFormatStr: local time with milli- and microseconds. */
static void report_time(char *buf, size_t cap)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    time_t secs = tv.tv_sec;
    localtime_r(&secs, &tm);
    int year = tm.tm_year + 1900;
    snprintf(buf, cap, "%04d-%02d-%02d-%02d:%02d:%02d.%03d.%03d", year % 10000,
             (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
             tm.tm_sec % 100, (int)(tv.tv_usec / 1000) % 1000, (int)(tv.tv_usec % 1000));
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

void report_error(const char *fn, const char *code, const char *file, int line,
                  const char *fmt, ...)
{
    ThreadErrors *te = thread_errors();
    if (!te || te->n > REPORTS_MAX)
        return;
    char text[REPORT_CAP];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (k < 0)
        return;
    size_t used = (size_t)k < sizeof text ? (size_t)k : sizeof text - 1;
    if (inner_code(code))   /* REPORT_INNER_ERR_MSG: where it was reported */
        snprintf(text + used, sizeof text - used, "[FUNC:%s][FILE:%s][LINE:%d]", fn,
                 base_name(file), line);
    for (size_t i = 0; i < te->n; i++)
        if (strcmp(te->v[i].code, code) == 0 && strcmp(te->v[i].text, text) == 0)
            return;   /* ReportInterErrMessage: an identical item is kept once */
    Report *nv = grow_array(te->v, &te->cap, te->n + 1, sizeof *nv);
    if (!nv)
        return;
    te->v = nv;
    Report r = { { 0 }, { 0 }, xstrdup(text) };
    if (!r.text)
        return;
    snprintf(r.code, sizeof r.code, "%s", code);
    report_time(r.when, sizeof r.when);
    te->v[te->n++] = r;
}

/* A growable string. */
typedef struct Text { char *s; size_t n, cap; bool oom; } Text;

__attribute__((format(printf, 2, 3))) static void text_add(Text *t, const char *fmt, ...)
{
    if (t->oom)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *ns = k < 0 ? NULL : grow_array(t->s, &t->cap, t->n + (size_t)k + 1, 1);
    if (!ns) {
        t->oom = true;
        return;
    }
    t->s = ns;
    va_start(ap, fmt);
    vsnprintf(t->s + t->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    t->n += (size_t)k;
}

/* ErrorManager::GetErrorMessage: the first report whose code is not an
 * inner code leads ("[PID: p] time title(code): text"), the others follow
 * under "TraceBack (most recent call last):"; when every code is an inner
 * one, AssembleInnerErrorMessage writes "<code>: Internal error!" and the
 * first report with its header.  The stand-in has no error titles (they
 * come from a JSON file CANN installs; not in the public sources). */
static void format_reports(const ThreadErrors *te, Text *out)
{
    int pid = (int)getpid();
    const Report *lead = NULL;
    for (size_t i = 0; i < te->n && !lead; i++)
        if (!inner_code(te->v[i].code))
            lead = &te->v[i];
    if (lead) {
        text_add(out, "[PID: %d] %s (%s): %s\n", pid, lead->when, lead->code, lead->text);
        bool traceback = false;
        for (size_t i = 0; i < te->n; i++) {
            const Report *r = &te->v[i];
            if (strcmp(r->code, lead->code) == 0 && strcmp(te->v[0].text, r->text) == 0)
                continue;
            if (!traceback)
                text_add(out, "TraceBack (most recent call last):\n");
            traceback = true;
            text_add(out, "        %s\n", r->text);
        }
        return;
    }
    const char *code = te->v[0].code;
    text_add(out, "%s: Internal error!\n", code);
    for (size_t i = 0; i < te->n; i++) {
        const Report *r = &te->v[i];
        if (i == 0) {
            text_add(out, "%s[PID: %d] %s (%s):  %s\n", code, pid, r->when, r->code, r->text);
            text_add(out, "TraceBack (most recent call last):\n");
        } else {
            text_add(out, "       %s\n", r->text);
        }
    }
}

/* The text of every report queued on this thread since its last read, which
 * empties the queue.  `slot` keeps it valid until the next read. */
static const char *take_text(char **slot, bool null_when_empty)
{
    ThreadErrors *te = thread_errors();
    if (!te)
        return null_when_empty ? NULL : "";
    Text out = { 0 };
    if (te->n)
        format_reports(te, &out);
    reports_clear(te);
    free(*slot);
    *slot = out.oom ? NULL : out.s;
    if (out.oom)
        free(out.s);
    if (!*slot || !**slot)
        return null_when_empty ? NULL : "";
    return *slot;
}

/* GEGetErrorMsg (c_geapi.cc): a thread_local std::string's c_str(), never
 * NULL, "" when nothing was queued. */
const char *ge_error_msg_locked(void)
{
    ThreadErrors *te = thread_errors();
    return te ? take_text(&te->ge_text, false) : "";
}

/* aclGetRecentErrMsg (acl.cpp aclGetRecentErrMsgImpl): NULL when there is
 * nothing (the stand-in has no device-side messages). */
const char *acl_recent_err_msg_locked(void)
{
    ThreadErrors *te = thread_errors();
    return te ? take_text(&te->acl_text, true) : NULL;
}
