#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# matrix.sh: what a kernel test robot would build. Every arch whose code
# the series touches, stock and patched, with tuxmake (PyPI, --runtime
# null: the host's Debian cross compilers, so the same build definitions
# run unchanged on a build farm), then every prefix of the series (patch
# 1, 1-2, ..., 1-N) on the configs in PREFIX_CONFIGS.
#
# A build passes when tuxmake's config and kernel targets pass and every
# option the config asks for survived olddefconfig. A warning is new when
# the patched build (or a prefix build) prints it and the stock build of
# the same config does not; warnings are compared without line numbers and
# tree paths. Any failed build or new warning fails `make matrix`.
#
# Full builds start from an empty build directory, so every warning is
# printed (ccache replays a cached compile's warnings); prefix builds are
# incremental, so a prefix prints the warnings of what it rebuilt, which
# is what it changed. Results are cached, keyed by the tree and the build
# definition (tree, arch, options, tuxmake version): an unchanged build
# is not redone.
#
# Writes out/matrix/summary.json (one row per build: arch, config, flavor,
# status, warnings, new warnings, seconds) and out/matrix/kcidb.json (the
# same in the KCIDB I/O schema, validated by kcidb-io), and prints a table.
#
# MATRIX_CONFIGS="name ..." limits the configs, PREFIX_CONFIGS="name ..."
# the prefix sweep ("" skips it).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# What makes the mm code the series edits compile: the VMA lock users
# (userfaultfd, KSM, /proc/PID/maps, BPF stack maps), DEBUG_VM's checks and
# the KUnit suite of patch 5.
MM="PROC_FS USERFAULTFD KSM BPF_SYSCALL DEBUG_KERNEL DEBUG_VM KUNIT VMA_LOCK_KUNIT_TEST"
# TCP zerocopy receive and the C binder allocator.
NET="NET INET ANDROID_BINDER_IPC ANDROID_BINDERFS"

# name tuxmake-arch cross-prefix kconfig options... ("-": tuxmake's default
# cross compiler for the arch). Options are CONFIG_ names without the
# prefix, NAME (=y) or NAME=n, or config fragments: a path with a '/' or
# a name ending in .config.
CONFIGS=(
	"x86_64-up     x86_64  -                     tinyconfig 64BIT $MM $NET"
	"x86_64-smp    x86_64  -                     tinyconfig 64BIT SMP $MM $NET PER_VMA_LOCK_STATS"
	"x86_64-defconfig x86_64 -                   defconfig  $MM $NET"
	"i386-up       i386    -                     tinyconfig 64BIT=n $MM $NET"
	"i386-smp      i386    -                     tinyconfig 64BIT=n SMP $MM $NET"
	"arm64         arm64   -                     tinyconfig $MM $NET"
	"arm-mmu       arm     -                     tinyconfig ARCH_MULTIPLATFORM ARCH_MULTI_V7 ARCH_VIRT MMU SMP $MM $NET"
	"arm-nommu     arm     -                     tinyconfig MMU=n PROC_FS"
	"riscv64       riscv   -                     tinyconfig 64BIT MMU SMP $MM"
	"riscv64-nommu riscv   -                     tinyconfig 64BIT NONPORTABLE MMU=n PROC_FS"
	"ppc32         powerpc powerpc-linux-gnu-    tinyconfig PPC64=n $MM"
	"ppc64le       powerpc -                     tinyconfig PPC64 CPU_LITTLE_ENDIAN PPC_PSERIES SMP $MM"
	"s390          s390    -                     tinyconfig $MM"
)
# riscv: PORTABLE (the default unless NONPORTABLE) selects MMU.
# The guest kernel of make check (Rust, Rust Binder) for the prefix sweep.
MAIN_FRAGS="configs/base.config tools/testing/selftests/vmalock/config configs/main.config"
PREFIX_DEFAULT="i386-up x86_64-main"

"$VMALOCK_TOP/scripts/install-deps.sh" cross >/dev/null
. "$CACHE/env.sh"
# shellcheck disable=SC2086
py=$("$VMALOCK_TOP/scripts/venv.sh" matrix $MATRIX_VENV_PKGS)
tuxmake=$(dirname "$py")/tuxmake

stock=$("$VMALOCK_TOP/scripts/prepare-tree.sh" stock)
patched=$("$VMALOCK_TOP/scripts/prepare-tree.sh" patched)
series_hash=$(cat "$patched/.vmalock-series")
# Build keys: what the series changes, not its messages (lib.sh).
src_hash=$(cat "$patched/.vmalock-src")
out=$OUT/matrix
mkdir -p "$out" "$CACHE/ccache" "$CACHE/matrix"
export CCACHE_DIR=$CACHE/ccache CCACHE_MAXSIZE=5G CCACHE_BASEDIR=$CACHE
rows=$out/rows.jsonl
: > "$rows"
want=${MATRIX_CONFIGS:-}
want_prefix=${PREFIX_CONFIGS-$PREFIX_DEFAULT}

# is_frag OPT: OPT is a config fragment (a path), not a CONFIG_ name.
is_frag() {
	case $1 in */* | *.config) return 0 ;; esac
	return 1
}

# tuxmake_args KCONFIG OPTS...: the -k/-K arguments of a config.
tuxmake_args() {
	local k=$1 o
	shift
	echo "-k $k"
	for o in "$@"; do
		if is_frag "$o"; then
			echo "-K $VMALOCK_TOP/$o"
			continue
		fi
		case $o in
		*=n) echo "-K # CONFIG_${o%=n} is not set" ;;
		*) echo "-K CONFIG_$o=y" ;;
		esac
	done
}

# check_config CONFIG OPTS...: print the options the config dropped.
check_config() {
	local c=$1 o
	shift
	for o in "$@"; do
		is_frag "$o" && continue
		case $o in
		*=n) ! grep -q "^CONFIG_${o%=n}=" "$c" || echo "CONFIG_${o%=n}" ;;
		*) grep -qx "CONFIG_$o=y" "$c" || echo "CONFIG_$o" ;;
		esac
	done
}

# probe_sizes TREE RES: the struct sizes of a full build (the size table of
# the cover letter): kernel/fork.o is rebuilt with debug info by the make
# command tuxmake ran (from its build.log), then scripts/probe-sizes.sh
# reads it. Writes RES/sizes ("VMA MM L1 BITS"), or nothing if the build
# failed.
probe_sizes() {
	local tree=$1 res=$2 cmd cross
	cmd=$(grep -m1 '^make .* olddefconfig$' "$res/build.log") || return 0
	[ -f "$BUILD_DIR/vmlinux" ] || return 0
	cmd=${cmd% olddefconfig}
	cross=$(sed -n 's/.* CROSS_COMPILE=\([^ ]*\) .*/\1/p' <<<"$cmd")
	(cd "$tree" && eval "$cmd KCFLAGS=-g kernel/fork.o") > "$res/sizes.log" 2>&1 &&
		"$VMALOCK_TOP/scripts/probe-sizes.sh" "$BUILD_DIR" "$cross" > "$res/sizes" 2>>"$res/sizes.log" ||
		{ rm -f "$res/sizes"; log "matrix: no struct sizes for $res (see $res/sizes.log)"; }
}

# build NAME FLAVOR TREE ARCH CROSS KCONFIG OPTS... with BUILD_DIR, KEEP
# (1: incremental in BUILD_DIR) and ROWEXTRA (JSON members) from the
# caller; appends a row to $rows.
build() {
	local name=$1 flavor=$2 tree=$3 arch=$4 cross=$5 kconfig=$6
	shift 6
	local res=$out/$flavor-$name args=() a key extra='{}' wrap
	[ -z "${ROWEXTRA:-}" ] || extra=$ROWEXTRA
	while IFS= read -r a; do args+=("${a%% *}" "${a#* }"); done < <(tuxmake_args "$kconfig" "$@")
	[ "$cross" = - ] || args+=("CROSS_COMPILE=$cross")
	# tuxmake's ccache wrapper makes HOSTCC "ccache gcc", which the kernel
	# hands to rustc as -Clinker= for its Rust host programs: rustc then
	# takes "gcc" for a second input file, and tuxmake refuses a HOSTCC of
	# ours. A Rust config builds without the wrapper.
	wrap=ccache
	for a in "$@"; do
		! is_frag "$a" || ! grep -qx 'CONFIG_RUST=y' "$VMALOCK_TOP/$a" || wrap=none
	done
	key=$( { echo "$KSRC_VERSION $(cat "$tree/.vmalock-src" 2>/dev/null || echo stock) $arch $*";
		 echo "$MATRIX_VENV_PKGS sizes-probe-1"; for a in "$@"; do ! is_frag "$a" || cat "$VMALOCK_TOP/$a"; done; } |
		sha256sum | cut -c1-16)
	if [ "${KEEP:-0}" = 0 ] && [ "$(cat "$res/.vmalock-key" 2>/dev/null)" = "$key" ]; then
		log "matrix: $flavor $name is up to date"
	else
		rm -rf "$res"
		[ "${KEEP:-0}" = 1 ] || rm -rf "$BUILD_DIR"
		mkdir -p "$BUILD_DIR"
		log "matrix: building $flavor $name ($arch, $kconfig) ..."
		"$tuxmake" -q -r null -t gcc -w "$wrap" -j "$JOBS" -a "$arch" -C "$tree" \
			-b "$BUILD_DIR" -o "$res" -e "LIBCLANG_PATH=$LIBCLANG_PATH" \
			"${args[@]}" config kernel >/dev/null 2>"$res.stderr" || true
		[ -f "$res/metadata.json" ] || { cat "$res.stderr" >&2; die "tuxmake wrote no metadata for $flavor $name"; }
		[ "${KEEP:-0}" = 1 ] || probe_sizes "$tree" "$res"
		check_config "$res/config" "$@" > "$res/dropped" 2>/dev/null ||
			echo "(no config)" > "$res/dropped"
		# Only a passing build is kept: a failure may be the machine's (a
		# missing cross compiler), and is retried on the next run.
		"$py" -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["results"]["status"] != "PASS")' \
			"$res/metadata.json" && echo "$key" > "$res/.vmalock-key"
		[ "${KEEP:-0}" = 1 ] || rm -rf "$BUILD_DIR"
	fi
	"$py" "$VMALOCK_TOP/scripts/matrix-report.py" row --name "$name" --flavor "$flavor" \
		--arch "$arch" --kconfig "$kconfig" --options "$*" --dir "$res" \
		--tree "$tree" --extra "$extra" >> "$rows"
}

# selected NAME LIST: NAME is a word of LIST (whole names: "riscv64" is not
# selected by "riscv64-nommu"), or LIST is empty.
selected() {
	[ -z "$2" ] || [[ " $2 " == *" $1 "* ]]
}

# 1. Every config, stock and patched, from a clean build directory.
for c in "${CONFIGS[@]}"; do
	read -r name arch cross kconfig opts <<<"$c"
	selected "$name" "$want" || continue
	for flavor in stock patched; do
		tree=$stock
		[ $flavor = patched ] && tree=$patched
		# shellcheck disable=SC2086
		BUILD_DIR=$CACHE/build/matrix/$flavor-$name KEEP=0 \
			build "$name" "$flavor" "$tree" "$arch" "$cross" "$kconfig" $opts
	done
done

# 2. Every prefix of the series, incrementally in one build directory per
# config, after a stock build in that same directory (prefix 0: the
# baseline its warnings are compared with).
series=$(ls "$VMALOCK_TOP"/patches/0*.patch | grep -v '/0000-')
n=$(echo "$series" | wc -w)
ptree=$CACHE/tree/prefix
g=(git -C "$CACHE/tree/patched" -c user.name=vmalock -c user.email=vmalock@localhost)
prefix_tree() {
	local k=$1 idx t c p
	if [ ! -d "$ptree/.git" ] && [ ! -f "$ptree/.git" ]; then
		rm -rf "$ptree"
		"${g[@]}" worktree prune
		"${g[@]}" worktree add -q --detach "$ptree" pristine
	fi
	idx=$CACHE/tree/patched/.git/vmalock-prefix-index
	rm -f "$idx"
	GIT_INDEX_FILE=$idx "${g[@]}" read-tree pristine
	for p in $(echo "$series" | head -n "$k"); do
		GIT_INDEX_FILE=$idx "${g[@]}" apply --cached "$p" ||
			die "$(basename "$p") does not apply after the patches before it"
	done
	t=$(GIT_INDEX_FILE=$idx "${g[@]}" write-tree)
	c=$(echo "prefix $k" | "${g[@]}" commit-tree "$t" -p pristine)
	rm -f "$idx"
	git -C "$ptree" checkout -q -f "$c"
	git -C "$ptree" clean -q -fdx
	echo "prefix-$k-of-$src_hash" > "$ptree/.vmalock-src"
}
for pc in $want_prefix; do
	case $pc in
	x86_64-main) arch=x86_64 cross=- kconfig=tinyconfig opts=$MAIN_FRAGS ;;
	*)	line=$(printf '%s\n' "${CONFIGS[@]}" | awk -v n="$pc" '$1 == n') ||
			true
		[ -n "$line" ] || die "PREFIX_CONFIGS: no config '$pc'"
		read -r _ arch cross kconfig opts <<<"$line" ;;
	esac
	done_key=$( { echo "$src_hash $pc $arch $opts $MATRIX_VENV_PKGS"; cat /dev/null $(for a in $opts; do
		! is_frag "$a" || echo "$VMALOCK_TOP/$a"; done); } | sha256sum | cut -c1-16)
	if [ "$(cat "$CACHE/matrix/prefix-$pc.key" 2>/dev/null)" = "$done_key" ]; then
		log "matrix: prefixes of $pc are up to date"
		cat "$CACHE/matrix/prefix-$pc.rows" >> "$rows"
		continue
	fi
	# A sweep that was stopped (a session's end, ^C) goes on where it was:
	# prefix-$pc.partial holds the key and the rows of the prefixes built
	# so far. The build directory may hold half of the next prefix's
	# objects, whose warnings would never print again: every file that
	# prefix changes against the stock tree is touched, so everything
	# built from them is compiled again (and warns again; ccache, where
	# the config uses it, replays the warnings of a cached compile). A
	# sweep that starts afresh starts from an empty build directory.
	part=$CACHE/matrix/prefix-$pc.partial
	first=0
	if [ "$(head -1 "$part" 2>/dev/null)" = "$done_key" ] &&
		[ -d "$CACHE/build/matrix-prefix/$pc" ]; then
		first=$(($(wc -l < "$part") - 1))
	fi
	if [ "$first" -gt 0 ]; then
		log "matrix: prefixes 0..$((first - 1)) of $pc were built before, going on at $first"
	else
		echo "$done_key" > "$part"
		rm -rf "$CACHE/build/matrix-prefix/$pc"
	fi
	tail -n +2 "$part" >> "$rows"
	for k in $(seq "$first" "$n"); do
		prefix_tree "$k"
		if [ "$k" = "$first" ] && [ "$k" != 0 ]; then
			git -C "$ptree" diff --name-only "HEAD~1" HEAD 2>/dev/null | (cd "$ptree" && xargs -r touch)
		fi
		flavor=prefix-$k
		[ "$k" = 0 ] && flavor=prefix-0-stock
		# shellcheck disable=SC2086
		BUILD_DIR=$CACHE/build/matrix-prefix/$pc KEEP=1 \
			ROWEXTRA="{\"prefix\": $k, \"of\": $n, \"sweep\": \"$pc\"}" \
			build "$pc" "$flavor" "$ptree" "$arch" "$cross" "$kconfig" $opts
		# Stop at the first broken prefix: the ones after it say nothing
		# (and a failed prefix is built again on the next run).
		tail -1 "$rows" | grep -q '"status": "PASS"' || break
		tail -1 "$rows" >> "$part"
	done
	if [ "$(($(wc -l < "$part") - 1))" = $((n + 1)) ]; then
		tail -n +2 "$part" > "$CACHE/matrix/prefix-$pc.rows"
		echo "$done_key" > "$CACHE/matrix/prefix-$pc.key"
	fi
done

"$py" "$VMALOCK_TOP/scripts/matrix-report.py" summary --rows "$rows" --out "$out" \
	--series-hash "$series_hash" --version "$KSRC_VERSION"
