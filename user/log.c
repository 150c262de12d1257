// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <json-c/json.h>

#include "log.h"

static bool log_json;
static bool log_verbose;

static const char *const level_names[] = {
	[MDG_LOG_ERR] = "error",
	[MDG_LOG_WARN] = "warning",
	[MDG_LOG_INFO] = "info",
	[MDG_LOG_DEBUG] = "debug",
};

void mdg_log_setup(bool json, bool verbose)
{
	log_json = json;
	log_verbose = verbose;
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
	char msg[4096];
	size_t n;

	if (level == MDG_LOG_DEBUG && !log_verbose)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* libbpf ends its lines itself; one line each here */
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	if (log_json) {
		log_line_json(level, msg);
		return;
	}
	fprintf(stderr, "mdevguard: %s%s%s\n", level == MDG_LOG_INFO ? "" : level_names[level],
		level == MDG_LOG_INFO ? "" : ": ", msg);
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

void mdg_warn_cb(void *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mdg_vlog(MDG_LOG_WARN, fmt, ap);
	va_end(ap);
}
