/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Diagnostics: one line each on stderr, "mdevguard: error: ..." or, with --log-format json, one
 * JSON object per line ({"time", "level", "message"}), so that a log collector reads them as it
 * reads the decision lines. libbpf's messages come through here too; debug only with --verbose.
 */
#ifndef MDG_LOG_H
#define MDG_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum mdg_log_level {
	MDG_LOG_ERR = 0,
	MDG_LOG_WARN,
	MDG_LOG_INFO,
	MDG_LOG_DEBUG,
};

void mdg_log_setup(bool json, bool verbose);
void mdg_vlog(enum mdg_log_level level, const char *fmt, va_list ap);

void mdg_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mdg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mdg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mdg_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Logs an error that has an errno, as "...: <strerror>", and returns that errno negated; err may
 * be given either way round. The errno is taken before logging, which may change errno:
 *	return mdg_err_errno(errno, "cannot open %s", path);
 */
int mdg_err_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Whether stdout is journald's stream (the service runs under systemd): see events.c. */
bool mdg_log_journal_out(void);

/*
 * One journal entry: MESSAGE, PRIORITY (syslog's), SYSLOG_IDENTIFIER=mdevguard and fields,
 * each "KEY=value" (at most 29); 0 or -errno.
 */
int mdg_journal_send(int priority, const char *message, const char *const *fields, size_t n);

/* A parser's error for its caller: fmt into err[errlen]; nothing when err is NULL or empty. */
void mdg_set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* For mdg_sysfs_scan(): ctx unused. */
void mdg_warn_cb(void *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
