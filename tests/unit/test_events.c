// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/events.c: the names of a decision line and of its JSON event, and the
 * memory of exited processes: a child named by its QEMU-style -name is the subject of an event
 * while it lives and of another after it exited and was reaped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "events.h"

#define UID "0b1e4f3a-9c2d-4e5f-8a6b-7c8d9e0f1a2b"

static void event(struct mdg_event *e, __u32 tgid)
{
	struct timespec ts;

	memset(e, 0, sizeof(*e));
	e->kind = MDG_EV_DECISION;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	e->boot_ns = (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
	e->pid = e->tgid = tgid;
	e->action = MDG_ACT_DENY;
	e->rule = MDG_RULE_RESTRICTED_DEVICE;
	memcpy(e->comm, "qemu", 5);
	memcpy(e->type, "nvidia-63", 10);
}

static const char *tail(const char *line)
{
	return strstr(line, " action=");
}

static void test_format_names(void **state)
{
	struct mdg_proc_names n = { .vm = "vm 1", .unit = "machine-qemu\\x2d3\\x2dvm1.scope",
				    .pod = UID };
	struct json_object *o, *v;
	struct mdg_event e;
	char line[MDG_EVENT_LINE_MAX];

	event(&e, 4711);
	assert_true(mdg_event_format(&e, "/usr/bin/qemu", "?", &n, MDG_LOG_TEXT, line,
				     sizeof(line)) > 0);
	assert_string_equal(tail(line),
			    " action=deny vm=vm\\x201 unit=machine-qemu\\x5cx2d3\\x5cx2dvm1.scope pod=" UID);
	/* only those that exist, in their order */
	n.unit[0] = '\0';
	assert_true(mdg_event_format(&e, "/usr/bin/qemu", "?", &n, MDG_LOG_TEXT, line,
				     sizeof(line)) > 0);
	assert_string_equal(tail(line), " action=deny vm=vm\\x201 pod=" UID);
	assert_true(mdg_event_format(&e, "/usr/bin/qemu", "?", NULL, MDG_LOG_TEXT, line,
				     sizeof(line)) > 0);
	assert_string_equal(tail(line), " action=deny");

	assert_true(mdg_event_format(&e, "/usr/bin/qemu", "?", &n, MDG_LOG_JSON, line,
				     sizeof(line)) > 0);
	o = json_tokener_parse(line);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "vm", &v));
	assert_string_equal(json_object_get_string(v), "vm 1");
	assert_false(json_object_object_get_ex(o, "unit", NULL));
	assert_true(json_object_object_get_ex(o, "pod", &v));
	assert_string_equal(json_object_get_string(v), UID);
	json_object_put(o);
}

/* mdg_events_handle()'s line, through a file standing for standard output. */
static void handle(struct mdg_events *ev, const struct mdg_event *e, char *line, size_t len)
{
	FILE *f = tmpfile();
	int saved, n;

	assert_non_null(f);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(f), STDOUT_FILENO) >= 0);
	mdg_events_handle(ev, (void *)e, sizeof(*e));
	fflush(stdout);
	assert_true(dup2(saved, STDOUT_FILENO) >= 0);
	close(saved);
	rewind(f);
	n = (int)fread(line, 1, len - 1, f);
	fclose(f);
	line[n > 0 ? n : 0] = '\0';
	if (n > 0 && line[n - 1] == '\n')
		line[n - 1] = '\0';
}

/* A child whose command line names a guest, once it has exec'd. */
static pid_t child(void)
{
	char path[64], buf[256];
	pid_t pid = fork();
	int i, fd;
	ssize_t n;

	assert_true(pid >= 0);
	if (!pid) {
		/*
		 * Away from the test's output: the shell's sleep outlives the SIGKILL of the shell,
		 * and would hold ctest's pipe open for its 60 s.
		 */
		fd = open("/dev/null", O_RDWR);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execl("/bin/sh", "/bin/sh", "-c", "sleep 60; :", "sh", "-name",
		      "guest=cached-vm,debug-threads=on", (char *)NULL);
		_exit(127);
	}
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	for (i = 0; i < 500; i++) {
		fd = open(path, O_RDONLY);
		n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
		if (fd >= 0)
			close(fd);
		if (n > 0 && memmem(buf, (size_t)n, "guest=", 6))
			return pid;
		usleep(10000);
	}
	fail_msg("child %d did not exec", pid);
	return -1;
}

static void test_exited_process(void **state)
{
	struct mdg_events ev;
	struct mdg_event e, before;
	char line[MDG_EVENT_LINE_MAX], alive[MDG_EVENT_LINE_MAX];
	pid_t pid;

	mdg_events_init(&ev, MDG_LOG_TEXT);
	/* an event from before the child started: the pid is not yet that process (start times
	 * are known to the clock tick, 10 ms) */
	event(&before, 0);
	usleep(50000);
	pid = child();
	before.pid = before.tgid = (__u32)pid;
	handle(&ev, &before, line, sizeof(line));
	assert_non_null(strstr(line, " exe=? "));
	assert_null(strstr(line, " vm="));

	event(&e, (__u32)pid);
	handle(&ev, &e, alive, sizeof(alive));
	assert_non_null(strstr(alive, " vm=cached-vm"));
	assert_null(strstr(alive, " exe=? "));

	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	handle(&ev, &e, line, sizeof(line));
	/* named as it was, executable included */
	assert_string_equal(strstr(line, " pid="), strstr(alive, " pid="));
	/* the earlier event still finds nothing: the process had not started */
	handle(&ev, &before, line, sizeof(line));
	assert_non_null(strstr(line, " exe=? "));
	assert_null(strstr(line, " vm="));
	mdg_events_free(&ev);
	mdg_events_free(&ev);
}

/*
 * A process that is gone when its event is read (a QEMU refused at its first open) is named by
 * what the BPF side read at the decision: the machine scope its cgroup was in, else QEMU's
 * -name in the start of its command line; a cut-off last argument names nothing.
 */
static void test_gone_named_by_event(void **state)
{
	static const char args[] = "/usr/bin/qemu-system-x86_64\0-name\0"
				   "guest=from-args,debug-threads=on\0-S\0";
	struct mdg_events ev;
	char line[MDG_EVENT_LINE_MAX];
	struct mdg_event e;
	size_t n;

	(void)state;
	mdg_events_init(&ev, MDG_LOG_TEXT);
	/* pid_max is at most 4194304: no process has this tgid */
	event(&e, 0x7ffffff0);
	handle(&ev, &e, line, sizeof(line));
	assert_non_null(strstr(line, " exe=? "));
	assert_null(strstr(line, " vm="));

	snprintf(e.scope, sizeof(e.scope), "machine-qemu\\x2d4\\x2dvm\\x2dgone.scope");
	memcpy(e.args, args, sizeof(args) - 1);
	e.args_len = sizeof(args) - 1;
	handle(&ev, &e, line, sizeof(line));
	assert_non_null(strstr(line, " vm=vm-gone "));
	assert_non_null(strstr(line, " unit=machine-qemu"));

	/* a machine scope that is not libvirt's QEMU: the command line */
	snprintf(e.scope, sizeof(e.scope), "machine-nspawn.scope");
	handle(&ev, &e, line, sizeof(line));
	assert_non_null(strstr(line, " vm=from-args"));

	/* the read stopped inside the guest's name: not a name */
	e.scope[0] = '\0';
	n = strlen("/usr/bin/qemu-system-x86_64") + 1 + strlen("-name") + 1 + strlen("guest=from");
	e.args_len = (__u32)n;
	handle(&ev, &e, line, sizeof(line));
	assert_null(strstr(line, " vm="));
	/* a length past the buffer is not believed */
	e.args_len = sizeof(e.args) + 1;
	handle(&ev, &e, line, sizeof(line));
	assert_null(strstr(line, " vm="));
	mdg_events_free(&ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_names),
		cmocka_unit_test(test_exited_process),
		cmocka_unit_test(test_gone_named_by_event),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
