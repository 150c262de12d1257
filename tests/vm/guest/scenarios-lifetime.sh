# SPDX-License-Identifier: GPL-2.0
# Scenarios of SPEC §3 "Across processes" and SPEC §4 (the service's lifetime). Sourced by
# run-scenarios.sh.

SCENARIOS+=(
)
