// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpfobj.h"
#include "kstate.h"
#include "log.h"
#include "mdevguard.skel.h"

#define LSM_FILE "/sys/kernel/security/lsm"

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf's INFO is a walk through its loading steps: debug for us, like its DEBUG. */
	mdg_vlog(level == LIBBPF_WARN ? MDG_LOG_WARN : MDG_LOG_DEBUG, fmt, ap);
	return 0;
}

void mdg_bpf_log_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int check_lsm(void)
{
	char buf[512], copy[512], *tok, *save;
	ssize_t n;
	int fd;

	fd = open(LSM_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mdg_err_errno(errno, "cannot read %s; mount securityfs (mount -t securityfs securityfs /sys/kernel/security) so that the active LSMs can be checked",
				     LSM_FILE);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	memcpy(copy, buf, sizeof(buf));
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "bpf"))
			return 0;
	}
	mdg_err("BPF LSM is not active (active LSMs: %s): boot the kernel with lsm=%s%sbpf on its command line",
		buf[0] ? buf : "none", buf, buf[0] ? "," : "");
	return -EOPNOTSUPP;
}

/*
 * The programs read VFIO's and the mdev core's structures through the BTF of those modules and
 * trace two of VFIO's functions: both must be loaded first. Loading them is the host's business
 * (the unit does it before starting us); saying so is ours.
 */
static int check_vfio(void)
{
	static const char *const mods[] = { "vfio", "mdev" };
	char path[64];
	size_t i;

	for (i = 0; i < sizeof(mods) / sizeof(mods[0]); i++) {
		snprintf(path, sizeof(path), "/sys/module/%s", mods[i]);
		if (access(path, F_OK)) {
			mdg_err("the %s kernel module is not loaded: load VFIO and the mdev core first (modprobe -a vfio mdev); mdevguard recognises device files by their structures",
				mods[i]);
			return -ENOENT;
		}
	}
	return 0;
}

/*
 * VFIO files are recognised by their f_op, compared with the addresses of vfio_group_fops and
 * vfio_device_fops that libbpf reads from /proc/kallsyms at load. Without CAP_SYSLOG (under a
 * unit whose capability set lacks it, with perf_event_paranoid > 1 as on Debian) kallsyms shows
 * every address as 0, libbpf takes that, and no file would ever be VFIO's: every open and use
 * would be allowed. Refused here instead.
 */
static int check_kallsyms(void)
{
	static const char *const syms[] = { "vfio_group_fops", "vfio_device_fops" };
	unsigned long long addr;
	char line[512], name[256];
	size_t found = 0, i;
	FILE *f;

	f = fopen("/proc/kallsyms", "re");
	if (!f)
		return mdg_err_errno(errno, "cannot read /proc/kallsyms");
	while (found < sizeof(syms) / sizeof(syms[0]) && fgets(line, sizeof(line), f)) {
		/* NOLINTNEXTLINE(cert-err34-c): a line that does not parse names nothing we need */
		if (sscanf(line, "%llx %*c %255s", &addr, name) != 2)
			continue;
		for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
			if (strcmp(name, syms[i]) != 0)
				continue;
			if (!addr) {
				(void)fclose(f);
				mdg_err("/proc/kallsyms shows %s at address 0: run with CAP_SYSLOG (the unit's CapabilityBoundingSet= must keep it), or VFIO's files cannot be recognised",
					name);
				return -EPERM;
			}
			found++;
		}
	}
	(void)fclose(f);
	if (found < sizeof(syms) / sizeof(syms[0])) {
		mdg_err("/proc/kallsyms lacks vfio_group_fops or vfio_device_fops: load VFIO first (modprobe -a vfio mdev)");
		return -ENOENT;
	}
	return 0;
}

int mdg_bpf_check_kernel(void)
{
	int ret = check_lsm();

	if (!ret)
		ret = check_vfio();
	return ret ? ret : check_kallsyms();
}

/* Whether the running kernel has a function (an LSM hook's BPF attach point, say). */
static bool kernel_has(const char *func)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool has;

	if (!btf)
		return false;
	has = btf__find_by_name_kind(btf, func, BTF_KIND_FUNC) >= 0;
	btf__free(btf);
	return has;
}

static char *vlog_buf;
static const char *vlog_file;

static void verifier_log_setup(struct bpf_object *obj)
{
	const char *spec = getenv("MDG_VERIFIER_LOG");
	struct bpf_program *prog;
	char name[128];
	const char *colon;
	size_t size = 256 << 20;

	if (!spec || !(colon = strchr(spec, ':')))
		return;
	snprintf(name, sizeof(name), "%.*s", (int)(colon - spec), spec);
	prog = bpf_object__find_program_by_name(obj, name);
	if (!prog || (!vlog_buf && !(vlog_buf = calloc(1, size))))
		return;
	vlog_file = colon + 1;
	bpf_program__set_log_buf(prog, vlog_buf, size);
	bpf_program__set_log_level(prog, 2);
}

static void verifier_log_write(void)
{
	bool lost;
	FILE *f;

	if (!vlog_buf || !vlog_file || !(f = fopen(vlog_file, "we")))
		return;
	lost = fputs(vlog_buf, f) == EOF;
	if (fclose(f) == EOF || lost)
		mdg_warn("cannot write the verifier log to %s: %m", vlog_file);
}

/* How much the verifier walked for each program: its cost, which the start pays (SPEC §7). */
static void say_verified(struct mdg_bpf *b, double seconds)
{
	char line[2048];
	struct bpf_program *prog;
	size_t off = 0;

	bpf_object__for_each_program(prog, b->skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		off += snprintf(line + off, off < sizeof(line) ? sizeof(line) - off : 0, " %s=%u",
				bpf_program__name(prog) + 4, info.verified_insns);
	}
	mdg_info("BPF object loaded in %.1f s; instructions verified:%s", seconds, line);
}

int mdg_bpf_load(struct mdg_bpf *b, const char *pin_dir)
{
	int ret, attempt, abi = mdg_kstate_pinned_abi(pin_dir);
	bool had_pins = abi != -ENOENT;
	long long t0;

	b->pin_dir = pin_dir;
	if (abi == -EPROTO) {
		mdg_err("%s/%s is not mdevguard's: it is left alone; name another pin dir with --pin-dir",
			pin_dir, MDG_PIN_CONFIG);
		return -EEXIST;
	}
	if (had_pins && abi != MDG_ABI_VERSION) {
		mdg_warn("pinned state under %s was made by an incompatible mdevguard (ABI %d, this is %d): replacing it; the holdings it recorded are dropped",
			 pin_dir, abi, MDG_ABI_VERSION);
		mdg_unpin_all(pin_dir);
		had_pins = false;
		ret = mdg_pin_dir_make(pin_dir);
		if (ret)
			return ret;
	}

	for (attempt = 0; attempt < 2; attempt++) {
		b->skel = mdevguard__open();
		if (!b->skel)
			return mdg_err_errno(errno, "cannot open the BPF object");
		/*
		 * For developers: MDG_VERIFIER_LOG=PROG:FILE writes the verifier's full log of one
		 * program to FILE, to see where its walk spends itself.
		 */
		verifier_log_setup(b->skel->obj);
		/* 32-bit ioctls have a hook of their own since 6.8 and 6.1.y: judged there too. */
		bpf_program__set_autoload(b->skel->progs.mdg_file_ioctl_compat,
					  kernel_has("bpf_lsm_file_ioctl_compat"));
		/* A new config map says whose it is from its creation: a start killed before it
		 * configured anything leaves pins the next one recognises. (Reused pins keep theirs.) */
		b->skel->bss->cfg.abi = MDG_ABI_VERSION;
		mdg_bpf_size_holders(b);
		mdg_bpf_map_entries_from_env(b);
		ret = mdg_bpf_pin_paths(b);
		t0 = now_ms();
		if (!ret)
			ret = mdevguard__load(b->skel);
		verifier_log_write();
		if (!ret) {
			say_verified(b, (now_ms() - t0) / 1000.0);
			return 0;
		}
		mdevguard__destroy(b->skel);
		b->skel = NULL;
		if (!had_pins || attempt)
			break;
		/* A layout change under the same ABI number; start over rather than fail. */
		mdg_warn("pinned maps under %s do not match this build: replacing them", pin_dir);
		mdg_unpin_all(pin_dir);
		had_pins = false;
		if (mdg_pin_dir_make(pin_dir))
			break;
	}
	if (ret == -EPERM || ret == -EACCES)
		mdg_err("the kernel refused to load the BPF programs (%s): run as root with CAP_BPF, CAP_SYS_ADMIN and CAP_MAC_ADMIN on a kernel booted with bpf in lsm=",
			strerror(-ret));
	else
		mdg_err("cannot load the BPF programs: %s", strerror(-ret));
	return ret;
}

/* The tag (a hash of the instructions, map references left out) of a pinned link's program. */
static int pinned_tag(const char *path, __u8 tag[BPF_TAG_SIZE])
{
	struct bpf_link_info link = {};
	struct bpf_prog_info prog = {};
	__u32 len = sizeof(link);
	int fd, pfd, ret = 0;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &link, &len))
		ret = -errno;
	close(fd);
	if (ret)
		return ret;
	pfd = bpf_prog_get_fd_by_id(link.prog_id);
	if (pfd < 0)
		return -errno;
	len = sizeof(prog);
	if (bpf_obj_get_info_by_fd(pfd, &prog, &len))
		ret = -errno;
	else
		memcpy(tag, prog.tag, BPF_TAG_SIZE);
	close(pfd);
	return ret;
}

static bool runs_ours(const char *path, struct bpf_program *prog)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	__u8 tag[BPF_TAG_SIZE];

	return !pinned_tag(path, tag) &&
	       !bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) &&
	       !memcmp(tag, info.tag, BPF_TAG_SIZE);
}

/*
 * Attaches prog and pins its link at path. Over an existing pin (a link of an earlier build),
 * the new link is pinned under a temporary name and renamed over the old one: both programs
 * decide for a moment, never neither. LSM and tracing links cannot swap their program in place
 * (bpf_link_update serves other link types).
 */
static int attach_pin(struct bpf_program *prog, const char *path, bool replace)
{
	char tmp[PATH_MAX + 8];
	struct bpf_link *link;
	int ret;

	link = bpf_program__attach(prog);
	if (!link)
		return mdg_err_errno(errno, "cannot attach %s", bpf_program__name(prog));
	snprintf(tmp, sizeof(tmp), "%s" MDG_PIN_NEW_SUFFIX, path);
	unlink(tmp);
	ret = bpf_link__pin(link, replace ? tmp : path);
	if (!ret && replace && rename(tmp, path))
		ret = -errno;
	/* The pin keeps it attached; our reference is not needed. */
	bpf_link__destroy(link);
	if (ret) {
		unlink(tmp);
		return mdg_err_errno(ret, "cannot pin %s", path);
	}
	return 0;
}

/*
 * Links an earlier build pinned for a hook this one no longer uses: removed once their
 * successors are attached, so that releases are followed all along.
 */
static int unpin_retired(const char *dir)
{
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < mdg_nr_pins; i++) {
		if ((mdg_pins[i].kind != MDG_PIN_RETIRED && mdg_pins[i].kind != MDG_PIN_RETIRED_MAP) ||
		    mdg_pin_path(path, sizeof(path), dir, mdg_pins[i].name))
			continue;
		if (!unlink(path))
			mdg_info("removed %s, an earlier build's pin this one replaces", path);
		else if (errno != ENOENT)
			return mdg_err_errno(errno, "cannot remove %s", path);
	}
	return 0;
}

int mdg_bpf_attach(struct mdg_bpf *b, enum mdg_pin_kind phase)
{
	struct bpf_program *prog;
	char path[PATH_MAX];
	bool pinned;
	size_t i;
	int ret;

	for (i = 0; i < mdg_nr_pins; i++) {
		if (mdg_pins[i].kind != phase)
			continue;
		prog = bpf_object__find_program_by_name(b->skel->obj, mdg_pins[i].obj);
		if (!prog) {
			mdg_err("the BPF object has no program %s", mdg_pins[i].obj);
			return -ENOENT;
		}
		if (!bpf_program__autoload(prog))
			continue;
		ret = mdg_pin_path(path, sizeof(path), b->pin_dir, mdg_pins[i].name);
		if (ret)
			return mdg_err_errno(ret, "pin dir %s", b->pin_dir);
		pinned = mdg_pinned(b->pin_dir, mdg_pins[i].name);
		if (pinned && runs_ours(path, prog))
			continue;
		if (pinned)
			mdg_info("%s runs another build's program: replacing it with this one's",
				 path);
		ret = attach_pin(prog, path, pinned);
		if (ret)
			return ret;
	}
	return phase == MDG_PIN_LINK_RELEASE ? unpin_retired(b->pin_dir) : 0;
}

void mdg_bpf_close(struct mdg_bpf *b)
{
	mdevguard__destroy(b->skel);
	b->skel = NULL;
}
