// SPDX-License-Identifier: GPL-2.0
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* vasprintf */
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <systemd/sd-journal.h>

#include "log.h"

static bool log_json;
static bool log_verbose;
static bool journal_err, journal_out;

static const int level_syslog[] = {
	[MDG_LOG_ERR] = LOG_ERR,
	[MDG_LOG_WARN] = LOG_WARNING,
	[MDG_LOG_INFO] = LOG_INFO,
	[MDG_LOG_DEBUG] = LOG_DEBUG,
};

static const char *const level_names[] = {
	[MDG_LOG_ERR] = "error",
	[MDG_LOG_WARN] = "warning",
	[MDG_LOG_INFO] = "info",
	[MDG_LOG_DEBUG] = "debug",
};

/*
 * Whether fd is journald's stream: systemd sets JOURNAL_STREAM to the "DEV:INO" of the stream
 * it connected the service's stdout and stderr to (systemd.exec(5)). Not inherited blindly: a
 * command run from a service's shell has the variable but another stdout.
 */
static bool is_journal_stream(int fd)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	/* NOLINTNEXTLINE(cert-err34-c): what does not parse is no journal stream */
	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(fd, &st))
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

void mdg_log_setup(bool json, bool verbose)
{
	log_json = json;
	log_verbose = verbose;
	journal_err = is_journal_stream(STDERR_FILENO);
	journal_out = is_journal_stream(STDOUT_FILENO);
}

bool mdg_log_journal_out(void)
{
	return journal_out;
}

int mdg_journal_send(int priority, const char *message, const char *const *fields, size_t n)
{
	char prio[16], msg[8192 + 8];
	struct iovec iov[32];
	size_t i, k = 0;
	int ret;

	if (n > sizeof(iov) / sizeof(iov[0]) - 3)
		return -E2BIG;
	snprintf(msg, sizeof(msg), "MESSAGE=%s", message);
	snprintf(prio, sizeof(prio), "PRIORITY=%d", priority);
	iov[k++] = (struct iovec){ .iov_base = msg, .iov_len = strlen(msg) };
	iov[k++] = (struct iovec){ .iov_base = prio, .iov_len = strlen(prio) };
	iov[k++] = (struct iovec){ .iov_base = (char *)"SYSLOG_IDENTIFIER=mdevguard",
				   .iov_len = strlen("SYSLOG_IDENTIFIER=mdevguard") };
	for (i = 0; i < n; i++)
		iov[k++] = (struct iovec){ .iov_base = (char *)fields[i],
					   .iov_len = strlen(fields[i]) };
	ret = sd_journal_sendv(iov, (int)k);
	return ret < 0 ? ret : 0;
}

static void log_line_json(enum mdg_log_level level, const char *msg)
{
	struct json_object *o = json_object_new_object();
	char ts[64];
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tv.tv_usec / 1000);
	json_object_object_add(o, "time", json_object_new_string(ts));
	json_object_object_add(o, "level", json_object_new_string(level_names[level]));
	json_object_object_add(o, "message", json_object_new_string(msg));
	fprintf(stderr, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

void mdg_vlog(enum mdg_log_level level, const char *fmt, va_list ap)
{
	char buf[4096], *msg = buf, *big = NULL;
	va_list copy;
	size_t n;
	int len;

	if (level == MDG_LOG_DEBUG && !log_verbose)
		return;
	va_copy(copy, ap);
	len = vsnprintf(buf, sizeof(buf), fmt, ap);
	/* A verifier log runs to megabytes, and its end says what failed: all of it, then. */
	if (len >= (int)sizeof(buf) && vasprintf(&big, fmt, copy) >= 0)
		msg = big;
	va_end(copy);
	/* libbpf ends its lines itself; one line each here */
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	if (log_json) {
		log_line_json(level, msg);
		free(big);
		return;
	}
	/* journald reads a "<N>" prefix as the line's syslog priority */
	if (journal_err)
		fprintf(stderr, "<%d>", level_syslog[level]);
	fprintf(stderr, "mdevguard: %s%s%s\n", level == MDG_LOG_INFO ? "" : level_names[level],
		level == MDG_LOG_INFO ? "" : ": ", msg);
	free(big);
}

#define DEFINE_LOG(name, level)					\
	void name(const char *fmt, ...)				\
	{							\
		va_list ap;					\
								\
		va_start(ap, fmt);				\
		mdg_vlog(level, fmt, ap);			\
		va_end(ap);					\
	}

DEFINE_LOG(mdg_err, MDG_LOG_ERR)
DEFINE_LOG(mdg_warn, MDG_LOG_WARN)
DEFINE_LOG(mdg_info, MDG_LOG_INFO)
DEFINE_LOG(mdg_debug, MDG_LOG_DEBUG)

int mdg_err_errno(int err, const char *fmt, ...)
{
	char msg[4096];
	va_list ap;

	if (err < 0)
		err = -err;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mdg_err("%s: %s", msg, strerror(err));
	return -err;
}

void mdg_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void mdg_warn_cb(void *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mdg_vlog(MDG_LOG_WARN, fmt, ap);
	va_end(ap);
}
