# SPDX-License-Identifier: GPL-2.0
# Scenarios of what operators see (SPEC §4 logging, §5 tools). Sourced by run-scenarios.sh.

SCENARIOS+=(
)
