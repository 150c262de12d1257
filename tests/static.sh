#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Static analysis of the user-space code (user/, include/): clang-tidy with the repository's
# .clang-tidy over user/*.c (and through them the headers of user/ and include/), and cppcheck
# over user/ and include/. Prints one summary line per tool; exits non-zero if either reports
# anything. Suppress a false positive inline, with the reason: /* NOLINT(check): why */ or
# /* cppcheck-suppress id */ on the line before.
# Usage: tests/static.sh BUILD_DIR     (configured with cmake: compile_commands.json is used)
set -uo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(mkdir -p "$1" && cd "$1" && pwd)
jobs=$(nproc 2>/dev/null || echo 2)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# compile_commands.json comes with configuring; user/bpfobj.c includes the generated skeleton.
if [ ! -f "$build/compile_commands.json" ]; then
	cmake -S "$src" -B "$build" >"$out/configure.log" 2>&1 ||
		{ cat "$out/configure.log"; echo "[static] cmake configure failed"; exit 1; }
fi
cmake --build "$build" --target mdevguard_skel >"$out/skel.log" 2>&1 ||
	{ cat "$out/skel.log"; echo "[static] generating the BPF skeleton failed"; exit 1; }

cd "$src" || exit 1
sources=(user/*.c)

# clang-tidy. A diagnostic located in bpftool's generated skeletons (BUILD_DIR/gen) is dropped
# here, since no filter of clang-tidy's can: its path notes in user/ make it "user code". Those
# are not ours to fix, e.g. the analyzer's leak on mdevguard__create_skeleton()'s error path,
# where bpf_object__destroy_skeleton(), which the analyzer cannot see, frees the memory.
diag='^[^ ].*:[0-9]+:[0-9]+: (warning|error):'
printf '%s\n' "${sources[@]}" |
	xargs -P "$jobs" -I{} sh -c 'log=$3/tidy.$(basename "$2")
		clang-tidy --quiet -p "$1" "$2" >"$log.log" 2>&1; echo $? >"$log.rc"' \
		sh "$build" {} "$out"
tidy_log=$build/clang-tidy.log
tidy_crashed=0
: >"$tidy_log"
for f in "${sources[@]}"; do
	log=$out/tidy.$(basename "$f").log
	# A non-zero exit with no diagnostic at all is a failure of clang-tidy itself.
	if [ "$(cat "$out/tidy.$(basename "$f").rc")" != 0 ] && ! grep -qE "$diag" "$log"; then
		echo "[static] clang-tidy failed on $f:"
		cat "$log"
		tidy_crashed=$((tidy_crashed + 1))
	fi
	# Each diagnostic with its notes, less those in BUILD_DIR/gen and the "N warnings
	# generated." chatter.
	awk -v diag="$diag" -v gen="$build/gen/" '
		$0 ~ diag { keep = index($0, gen) != 1; if (!keep) ignored++ }
		/^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$/ { next }
		keep { print }
		END { if (ignored) printf "%d\n", ignored > "/dev/stderr" }
	' keep=1 "$log" >>"$tidy_log" 2>>"$out/tidy.ignored"
done
cat "$tidy_log"
tidy_n=$(grep -cE "$diag" "$tidy_log")
tidy_files=$(grep -E "$diag" "$tidy_log" | cut -d: -f1 | sort -u | wc -l)
tidy_gen=$(awk '{ n += $1 } END { print n + 0 }' "$out/tidy.ignored" 2>/dev/null || echo 0)
echo "[static] clang-tidy: $tidy_n finding(s) in $tidy_files file(s); ${#sources[@]} sources" \
	"checked, $tidy_gen finding(s) in $build/gen ignored, $tidy_crashed failure(s) of" \
	"clang-tidy (log: $tidy_log)"

# cppcheck. Suppressed globally: missingIncludeSystem (it is not given the system headers),
# variableScope (kernel style declares a function's locals at its top), and anything in the
# generated skeletons it reads through -I BUILD_DIR/gen.
cppcheck_log=$build/cppcheck.log
cppcheck --enable=warning,style,performance,portability --error-exitcode=1 --inline-suppr \
	--std=c11 -I include -I user -I "$build/gen" --suppress=missingIncludeSystem \
	--suppress=variableScope --suppress="*:$build/gen/*" --quiet -j "$jobs" \
	--template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
	user/ include/ >"$cppcheck_log" 2>&1
cppcheck_rc=$?
cat "$cppcheck_log"
cppcheck_n=$(grep -cE '^[^ ].*:[0-9]+:[0-9]+: [a-z]+: ' "$cppcheck_log")
echo "[static] cppcheck: $cppcheck_n finding(s), exit $cppcheck_rc (log: $cppcheck_log)"

[ "$tidy_n" -eq 0 ] && [ "$tidy_crashed" -eq 0 ] && [ "$cppcheck_n" -eq 0 ] &&
	[ "$cppcheck_rc" -eq 0 ]
