/* SPDX-License-Identifier: GPL-2.0 */
/* Diagnostics: one line each, to stderr, prefixed with the program's name. */
#ifndef MDG_LOG_H
#define MDG_LOG_H


void mdg_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mdg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mdg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* For mdg_sysfs_scan(): ctx unused. */
void mdg_warn_cb(void *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
