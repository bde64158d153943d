/* The report: one JSON object per line, written with a single write() so lines from the launcher and from init
   never interleave (a pipe write of at most PIPE_BUF bytes is atomic). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox.h"

static int report_fd = -1;

void report_init(int fd) { report_fd = fd; }

void report_close(void) {
    if (report_fd >= 0) close(report_fd);
    report_fd = -1;
}

/* Appends `s` as a JSON string (quotes included); stops early rather than overflow. */
static size_t put_string(char *out, size_t pos, size_t cap, const char *s) {
    if (pos + 2 >= cap) return pos;
    out[pos++] = '"';
    for (; *s && pos + 8 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[pos++] = '\\';
            out[pos++] = (char)c;
        } else if (c < 0x20) {
            pos += (size_t)snprintf(out + pos, cap - pos, "\\u%04x", c);
        } else {
            out[pos++] = (char)c;
        }
    }
    out[pos++] = '"';
    return pos;
}

/* Writes {"k1":"v1","k2":"v2",...}\n for NULL-terminated key/value pairs. */
static void write_object(const char *const *kv) {
    if (report_fd < 0) return;
    char line[1024];
    size_t pos = 0, cap = sizeof line - 2;
    line[pos++] = '{';
    for (int i = 0; kv[i] && kv[i + 1]; i += 2) {
        if (i > 0 && pos < cap) line[pos++] = ',';
        pos = put_string(line, pos, cap, kv[i]);
        if (pos < cap) line[pos++] = ':';
        pos = put_string(line, pos, cap, kv[i + 1]);
    }
    line[pos++] = '}';
    line[pos++] = '\n';
    ssize_t n;
    do n = write(report_fd, line, pos);
    while (n < 0 && errno == EINTR);
}

void report_layer(const char *layer, const char *state, const char *fmt, ...) {
    char detail[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    const char *kv[] = {"layer", layer, "state", state, "detail", detail, NULL};
    write_object(kv);
}

void report_exec(const char *path) {
    const char *kv[] = {"exec", path, NULL};
    write_object(kv);
}

void report_error(const char *fmt, ...) {
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "ela-sandbox: %s\n", msg);
    const char *kv[] = {"error", msg, NULL};
    write_object(kv);
}

void fail(const char *layer, const char *fmt, ...) {
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (layer) {
        report_layer(layer, "failed", "%s", msg);
        report_error("%s: %s", layer, msg);
    } else {
        report_error("%s", msg);
    }
    _exit(EXIT_SETUP);
}
