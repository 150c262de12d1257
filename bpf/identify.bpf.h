/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A VFIO device's identity and policy flag: an mdev, or a vGPU function by the loader's entry,
 * its type writes and its selectors (mdg_identify), and the flag from the policy maps. Part of
 * mdevguard.bpf.c.
 */
#ifndef MDG_IDENTIFY_BPF_H
#define MDG_IDENTIFY_BPF_H

#include "vfio.bpf.h"
#include "records.bpf.h"

/*
 * The restricted flag of a device, from the loader's policy maps: a device override first, then
 * the type's flag. A type the loader has not scanned yet fails closed and asks for a rescan.
 */
static __always_inline void restricted_of(struct mdg_req *req)
{
	/* Keys from the stack: 6.1 takes no other memory as a key. */
	struct mdg_dev_id id = req->id;
	__u64 type_hash = req->type_hash;
	struct mdg_override *o = bpf_map_lookup_elem(&mdg_overrides, &id);
	struct mdg_type *t = bpf_map_lookup_elem(&mdg_types, &type_hash);

	/* the class is the type's, whatever overrides the flag */
	req->compat = t ? t->compat : 0;
	if (o) {
		req->restricted = o->restricted;
		req->reason = o->reason;
		return;
	}
	if (t) {
		req->restricted = t->restricted;
		req->reason = t->reason;
		return;
	}
	req->restricted = 1;
	req->reason = MDG_REASON_UNKNOWN_TYPE;
	ask_loader(&rescan_asked, MDG_EV_UNKNOWN_TYPE);
}

/*
 * The decisions below are global functions: the verifier checks each once, on its own, rather
 * than once for every path that leads to it through the hooks (which multiplied past its limit).
 * They return 1 for a denial and 0 otherwise; the hooks turn that into an errno the verifier can
 * see is in range.
 */

/*
 * Whether one of the loader's selectors names the function. Global: checked once, on its own,
 * with each iteration's compares ending in a return or in the same state as the next one's.
 */
__noinline int mdg_selected(struct mdg_fnmatch *m)
{
	__u32 i;

	if (!m)
		return 0;
	for (i = 0; i < MDG_MAX_SELECTORS; i++) {
		const struct mdg_selector *sel = &cfg.selectors[i];
		const __u64 *d = (const __u64 *)sel->driver;

		if (sel->kind == MDG_SEL_ID && sel->vendor == m->vendor &&
		    (sel->device == 0xffff || sel->device == m->device))
			return 1;
		if (sel->kind == MDG_SEL_ADDR && sel->addr.hi == m->id.hi &&
		    sel->addr.lo == m->id.lo)
			return 1;
		if (sel->kind == MDG_SEL_DRIVER && m->driver[0] && d[0] == m->driver[0] &&
		    d[1] == m->driver[1] && d[2] == m->driver[2] && d[3] == m->driver[3])
			return 1;
	}
	return 0;
}

/* The function's numbers and driver, for mdg_selected(). */
static __always_inline int selected(struct pci_dev *pdev, struct mdg_fnmatch *m)
{
	const char *s;

	m->vendor = BPF_CORE_READ(pdev, vendor);
	m->device = BPF_CORE_READ(pdev, device);
	__builtin_memset(m->driver, 0, sizeof(m->driver));
	s = BPF_CORE_READ(pdev, dev.driver, name);
	/* a name the table cannot hold matches none of its entries (the loader keeps none) */
	if (s && bpf_probe_read_kernel_str(m->driver, sizeof(m->driver), s) <= 0)
		m->driver[0] = 0;
	return mdg_selected(m);
}

/*
 * A PCI function's vGPU type, from the loader's entry while it is current: no type write has
 * begun since the loader read it, and none is under way. Otherwise a function the loader knows,
 * one whose type was written, or one a selector names is a vGPU of a type not known yet: it is
 * restricted (restricted_of finds no such type) until the rescan this asks for. 0 when the
 * function is under the rule, -1 when it is physical.
 */
static __always_inline int function_identify(struct mdg_req *req)
{
	struct mdg_fnmatch m;
	struct mdg_function *f;
	struct mdg_fn_writes *w;
	struct pci_dev *pdev;
	__u64 started = 0, ended = 0;
	__u32 known;

	pdev = pci_function_of((struct vfio_device___mdg *)req->vdev, &m);
	if (!pdev)
		return -1;
	req->id = m.id;
	f = bpf_map_lookup_elem(&mdg_functions, &m.id);
	w = bpf_map_lookup_elem(&mdg_fn_writes, &m.id);
	if (w) {
		/*
		 * ended first: a write seen ended is seen started, whatever came between (loads
		 * are not reordered with each other on the JITs' x86; the barrier keeps clang's
		 * order, which has no acquire load for BPF)
		 */
		ended = *(volatile __u64 *)&w->ended;
		asm volatile("" ::: "memory");
		started = *(volatile __u64 *)&w->started;
	}
	if (f && !fn_writes_lost && f->seq == started && started == ended) {
		if (!f->type_hash)
			return -1;
		req->type_hash = f->type_hash;
		__builtin_memcpy(req->type, f->type, sizeof(req->type));
		req->type[sizeof(req->type) - 1] = '\0';
		return 0;
	}
	/*
	 * A scalar set apart in each branch: clang would otherwise test (f | w), and the verifier
	 * refuses arithmetic on pointers.
	 */
	known = 0;
	if (f)
		known = 1;
	barrier_var(known);
	if (w)
		known = 1;
	barrier_var(known);
	if (!known && !selected(pdev, &m))
		return -1;
	req->type[0] = '\0';
	req->type_hash = mdg_type_hash(req->type);
	ask_loader(&rescan_asked, MDG_EV_UNKNOWN_TYPE);
	return 0;
}

/*
 * The identity and policy flag of a VFIO device, if it is an mdev or a vGPU function: 0, or -1
 * for any other.
 */
__noinline int mdg_identify(struct mdg_req *req)
{
	struct vfio_device___mdg *vdev;

	if (!req || !req->vdev)
		return -1;
	vdev = (struct vfio_device___mdg *)req->vdev;
	if (mdev_identify(vdev, req) && function_identify(req))
		return -1;
	restricted_of(req);
	uuid_format(&req->id, req->uuid);
	return 0;
}

/* The device behind a VFIO file, if it is an mdev: identity, node and flag filled in req. */
static __always_inline int vfio_req(const struct mdg_vfile *vf, struct mdg_req *req)
{
	struct vfio_device___mdg *vdev = vfio_device_of(vf);

	req->vdev = (__u64)vdev;
	if (mdg_identify(req))
		return -1;
	req->kind = vf->kind;
	req->rdev = vfio_rdev(vf, vdev);
	return 0;
}

#endif /* MDG_IDENTIFY_BPF_H */
