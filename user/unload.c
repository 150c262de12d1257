// SPDX-License-Identifier: GPL-2.0
/* mdevguard unload: enforcement off, every pin of ours gone. */
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "kstate.h"
#include "log.h"

int mdg_cmd_unload(struct mdg_opts *o, int argc, char **argv)
{
	int ret = mdg_pin_dir_check(o->pin_dir);

	if (ret == -ENOENT) {
		mdg_info("nothing pinned under %s", o->pin_dir);
		return 0;
	}
	if (ret)
		return 1;
	/* Only our names go, and only from a pin dir that is ours. */
	if (!mdg_pin_dir_ours(o->pin_dir)) {
		mdg_err("%s holds no mdevguard pins (no %s): not removing anything from it",
			o->pin_dir, MDG_PIN_CONFIG);
		return 1;
	}
	if (mdg_kstate_pinned_abi(o->pin_dir) == -EPROTO) {
		mdg_err("%s/%s is not mdevguard's: not removing anything from %s", o->pin_dir,
			MDG_PIN_CONFIG, o->pin_dir);
		return 1;
	}
	/* Decisions stop now; the links detach in the kernel's own time once unpinned. */
	ret = mdg_kstate_disable(o->pin_dir);
	if (ret && ret != -ENOENT)
		mdg_warn("cannot switch the decisions off before unpinning: %s", strerror(-ret));
	if (mdg_unpin_all(o->pin_dir))
		return 1;
	mdg_info("unloaded: removed %s", o->pin_dir);
	return 0;
}
