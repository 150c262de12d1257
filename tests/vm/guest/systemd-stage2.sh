#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Second stage under systemd (run by mdg-suite.service): systemd mounted what a service host
# has; the scenarios run, then the kernel log, then the guest powers off.
set -uo pipefail

echo "MDG-VM stage2: $(uname -r), lsm=$(cat /sys/kernel/security/lsm), init=$(ps -p 1 -o comm=)"
dmesg -n 1
dmesg_start=$(dmesg | wc -l)
rc=0
bash "$MDG_SRC_DIR/tests/vm/guest/run-scenarios.sh" || rc=$?
echo "MDG-DMESG-BEGIN (kernel messages since stage2 started)"
dmesg | tail -n +"$((dmesg_start + 1))" | sed 's/^/MDG-DMESG /'
echo "MDG-DMESG-END"
echo "MDG-VM stage2 exited with $rc"
sync
systemctl poweroff -f
