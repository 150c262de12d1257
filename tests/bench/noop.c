// SPDX-License-Identifier: GPL-2.0
/*
 * mdg-bench-noop: what mdg-bench's exec workload runs. Static, so that an exec costs the exec
 * and its hooks, not the dynamic loader's opens and mappings.
 */
int main(void)
{
	return 0;
}
