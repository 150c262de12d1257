// SPDX-License-Identifier: GPL-2.0
/*
 * What names the VM of a process, parsed from /proc's text. Every input may be anything the
 * process or its owner chose (a cgroup directory name, a command line): nothing is trusted to be
 * terminated, short or well formed, and what does not parse names nothing.
 */
#include <errno.h>
#include <string.h>

#include "procinfo.h"
#include "uuid.h"

/* A string of n bytes is word, exactly. */
static int is_word(const char *s, size_t n, const char *word)
{
	return n == strlen(word) && !memcmp(s, word, n);
}

/* Splits a line of /proc/PID/cgroup, "ID:CONTROLLERS:PATH"; the path may hold colons. */
static int cgroup_line(const char *line, size_t n, const char **ctrl, size_t *clen,
		       const char **path, size_t *plen)
{
	const char *c1 = memchr(line, ':', n), *c2;

	if (!c1)
		return -EINVAL;
	c2 = memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - line));
	if (!c2)
		return -EINVAL;
	*ctrl = c1 + 1;
	*clen = (size_t)(c2 - c1 - 1);
	*path = c2 + 1;
	*plen = n - (size_t)(c2 + 1 - line);
	return 0;
}

int mdg_cgroup_path(const char *text, size_t len, char *path, size_t plen)
{
	const char *end = text + len, *p, *nl, *ctrl, *v, *found = NULL;
	size_t n, clen, vlen, flen = 0;
	int pass;

	/* pass 0: the unified hierarchy, "0::PATH"; pass 1: cgroup v1's "N:name=systemd:PATH" */
	for (pass = 0; pass < 2 && !found; pass++) {
		for (p = text; p < end && !found; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(end - p));
			if (!nl)
				nl = end;
			n = (size_t)(nl - p);
			if (cgroup_line(p, n, &ctrl, &clen, &v, &vlen))
				continue;
			if (pass == 0 && !(is_word(p, (size_t)(ctrl - 1 - p), "0") && !clen))
				continue;
			if (pass == 1 && !is_word(ctrl, clen, "name=systemd"))
				continue;
			if (vlen && v[0] == '/' && !memchr(v, '\0', vlen)) {
				found = v;
				flen = vlen;
			}
		}
	}
	if (!found)
		return -ENOENT;
	if (flen >= plen)
		return -ENAMETOOLONG;
	memcpy(path, found, flen);
	path[flen] = '\0';
	return 0;
}

/* systemd's unit name escapes, "\xNN" only, undone; out gets the bytes and a NUL. */
static int unit_unescape(const char *s, size_t n, char *out, size_t len)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '\\') {
			if (n - i < 4 || s[i + 1] != 'x')
				return -EINVAL;
			hi = mdg_hex_digit(s[i + 2]);
			lo = mdg_hex_digit(s[i + 3]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -EINVAL;
			c = (char)(hi << 4 | lo);
			i += 3;
		}
		if (o + 1 >= len)
			return -ENAMETOOLONG;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

/* The next component of a cgroup path at *p, in c and n; 0 when none is left. */
static int next_component(const char **p, const char **c, size_t *n)
{
	while (**p == '/')
		(*p)++;
	if (!**p)
		return 0;
	*c = *p;
	*n = strcspn(*p, "/");
	*p += *n;
	return 1;
}

int mdg_cgroup_vm(const char *path, char *vm, size_t len)
{
	static const char prefix[] = "machine-", suffix[] = ".scope";
	char machine[MDG_NAME_MAX + 16];
	const char *it = path, *c, *p;
	size_t n, m;
	int ret;

	while (next_component(&it, &c, &n)) {
		if (n <= strlen(prefix) + strlen(suffix) ||
		    memcmp(c, prefix, strlen(prefix)) != 0 ||
		    memcmp(c + n - strlen(suffix), suffix, strlen(suffix)) != 0)
			continue;
		ret = unit_unescape(c + strlen(prefix), n - strlen(prefix) - strlen(suffix),
				    machine, sizeof(machine));
		if (ret)
			return ret;
		/* libvirt names QEMU's machines "qemu-ID-NAME" */
		if (strncmp(machine, "qemu-", 5) != 0)
			return -ENOENT;
		p = machine + 5;
		m = strspn(p, "0123456789");
		if (!m || p[m] != '-' || !p[m + 1])
			return -ENOENT;
		p += m + 1;
		m = strlen(p);
		if (m >= len)
			return -ENAMETOOLONG;
		memcpy(vm, p, m + 1);
		return 0;
	}
	return -ENOENT;
}

/* A pod UID, '_' read as '-': a UUID (lower case out) or the kubelet's 32 hex digits. */
static int pod_uid(const char *s, size_t n, char *uid, size_t len)
{
	size_t i;

	if (len < MDG_POD_LEN)
		return -ENAMETOOLONG;
	if (n != 36 && n != 32)
		return -ENOENT;
	for (i = 0; i < n; i++) {
		int dash = n == 36 && (i == 8 || i == 13 || i == 18 || i == 23);
		char c = s[i];

		if (c == '_')
			c = '-';
		else if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (dash ? c != '-' : mdg_hex_digit(c) < 0)
			return -ENOENT;
		uid[i] = c;
	}
	uid[n] = '\0';
	return 0;
}

int mdg_cgroup_pod(const char *path, char *uid, size_t len)
{
	static const char suffix[] = ".slice";
	const char *it = path, *c, *p;
	int under_kubepods = 0;
	size_t n, i;

	while (next_component(&it, &c, &n)) {
		/* systemd driver: kubepods[-QOS]-pod<UID>.slice */
		if (n > strlen("kubepods-pod") + strlen(suffix) && !memcmp(c, "kubepods-", 9) &&
		    !memcmp(c + n - strlen(suffix), suffix, strlen(suffix))) {
			/* the last "-pod": a QoS class has none, a UID cannot */
			for (p = NULL, i = 8; i + 4 <= n; i++) {
				if (!memcmp(c + i, "-pod", 4))
					p = c + i;
			}
			if (p)
				return pod_uid(p + 4, (size_t)(c + n - strlen(suffix) - p - 4), uid,
					       len);
			continue;
		}
		/* cgroupfs driver: /kubepods[/QOS]/pod<UID>/ */
		if (is_word(c, n, "kubepods")) {
			under_kubepods = 1;
			continue;
		}
		if (under_kubepods && n > 3 && !memcmp(c, "pod", 3))
			return pod_uid(c + 3, n - 3, uid, len);
	}
	return -ENOENT;
}

/*
 * One -name option's value: the guest name it gives, if any, into name. -ENOENT: it gives none;
 * -ENODATA: it gives an empty one.
 */
static int name_opts(const char *s, char *name, size_t nlen)
{
	char elem[MDG_NAME_MAX + 16];
	int first = 1, found = -ENOENT, guest;
	size_t o, w, vlen;
	const char *v;

	while (*s) {
		/* an element ends at a single comma; ",," is a comma in it */
		for (o = 0, w = 0; *s && !(s[0] == ',' && s[1] != ','); s++, o++) {
			if (s[0] == ',')
				s++;
			if (w + 1 < sizeof(elem))
				elem[w++] = *s;
		}
		elem[w] = '\0';
		if (*s)
			s++;
		/* "guest=NAME", or a first element without a key: the implied guest */
		guest = !strncmp(elem, "guest=", 6) ? 6 : first && !strchr(elem, '=') ? 0 : -1;
		first = 0;
		if (guest < 0)
			continue;
		v = elem + guest;
		vlen = o - (size_t)guest;
		if (!vlen) {
			found = -ENODATA;
		} else if (o > w || vlen >= nlen) {
			found = -ENAMETOOLONG;
		} else {
			memcpy(name, v, vlen + 1);
			found = 0;
		}
	}
	return found;
}

int mdg_qemu_guest_name(const char *cmdline, size_t len, char *name, size_t nlen)
{
	const char *p = cmdline, *end = cmdline + len, *nul;
	int want = 0, ret = -ENOENT, r;

	for (; p < end; p = nul + 1) {
		nul = memchr(p, '\0', (size_t)(end - p));
		if (!nul)
			break; /* cut off: not a whole argument */
		if (want) {
			r = name_opts(p, name, nlen);
			/* QEMU merges its -name options: the last guest name counts, even empty */
			if (r != -ENOENT)
				ret = r;
			want = 0;
			continue;
		}
		want = !strcmp(p, "-name") || !strcmp(p, "--name");
	}
	return ret == -ENODATA ? -ENOENT : ret;
}

int mdg_stat_start_ticks(const char *text, size_t len, uint64_t *ticks)
{
	const char *p = NULL, *end = text + len;
	uint64_t v = 0;
	size_t i;
	int field;

	/* "PID (COMM) STATE ...": COMM may hold anything, ')' included; the last ')' ends it */
	for (i = 0; i < len; i++) {
		if (text[i] == ')')
			p = text + i + 1;
	}
	if (!p)
		return -EINVAL;
	/* fields 3 to 21 after it, then starttime */
	for (field = 2; field < 22; field++) {
		if (p >= end || *p != ' ')
			return -EINVAL;
		p++;
		if (field == 21)
			break;
		if (p >= end || *p == ' ')
			return -EINVAL; /* an empty field */
		while (p < end && *p != ' ')
			p++;
	}
	if (p >= end || *p < '0' || *p > '9')
		return -EINVAL;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p < end && *p != ' ' && *p != '\n')
		return -EINVAL;
	*ticks = v;
	return 0;
}

int mdg_status_pid_levels(const char *text, size_t len)
{
	static const char tag[] = "NSpid:";
	const size_t tlen = sizeof(tag) - 1;
	const char *p = text, *end = text + len;
	int levels = 0;

	/* a line that begins with the tag */
	while (p < end && ((size_t)(end - p) < tlen || memcmp(p, tag, tlen) != 0)) {
		p = memchr(p, '\n', (size_t)(end - p));
		if (!p)
			return -EINVAL;
		p++;
	}
	if (p >= end)
		return -EINVAL;
	for (p += tlen; p < end && *p != '\n';) {
		if (*p == ' ' || *p == '\t') {
			p++;
			continue;
		}
		if (*p < '0' || *p > '9')
			return -EINVAL;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		levels++;
	}
	return levels ? levels : -EINVAL;
}
