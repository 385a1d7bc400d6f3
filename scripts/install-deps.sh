#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything the kernel, module and guest builds need. Idempotent:
# each piece is checked first and only installed when missing.
#
# Prints the environment the other scripts need (LIBCLANG_PATH, PATH) to
# $CACHE/env.sh, which they source.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

mkdir -p "$CACHE"

APT_PKGS=(flex bison bc libelf-dev cpio qemu-system-x86 busybox-static
	  dwarves kmod ccache python3 libssl-dev file rsync xz-utils unzip gcc make perl
	  libnuma-dev liburcu-dev gcc-i686-linux-gnu libc6-dev-i386-cross)
# `install-deps.sh cross`: also the Debian cross compilers the size table and
# the cross-arch builds use (loongarch has none in Debian 12).
if [ "${1:-}" = cross ]; then
	APT_PKGS+=(gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf gcc-riscv64-linux-gnu
		   gcc-powerpc-linux-gnu gcc-powerpc64le-linux-gnu gcc-s390x-linux-gnu)
fi

need=()
for p in "${APT_PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || die "missing packages ${need[*]}: run as root or install them"
	log "apt: installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || die "apt-get update failed"
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
		die "apt-get install ${need[*]} failed"
fi

# The i386 guests' userspace: Debian's static busybox for i386, unpacked
# (not installed) under $CACHE; the i386 architecture is added to dpkg so
# that apt can fetch it. (gcc-multilib would give -m32 too, but it
# conflicts with every Debian cross compiler: the tests use
# gcc-i686-linux-gnu and libc6-dev-i386-cross.)
if [ ! -x "$BUSYBOX_I386" ]; then
	[ "$(id -u)" = 0 ] || die "the i386 busybox is missing: run as root once"
	if ! dpkg --print-foreign-architectures | grep -qx i386; then
		log "dpkg: adding the i386 architecture (for busybox-static:i386)"
		dpkg --add-architecture i386 && apt-get update -qq ||
			die "dpkg --add-architecture i386 failed"
	fi
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get download -qq busybox-static:i386 2>/dev/null) ||
		die "apt-get download busybox-static:i386 failed"
	dpkg-deb -x "$tmp"/busybox-static_*_i386.deb "$tmp/x"
	mkdir -p "$(dirname "$BUSYBOX_I386")"
	install -m 0755 "$tmp/x/bin/busybox" "$BUSYBOX_I386"
	rm -rf "$tmp"
fi

command -v rustup >/dev/null || [ -x "$HOME/.cargo/bin/rustup" ] ||
	die "rustup not found: install a Rust toolchain (rustc >= 1.85) with rustup"
export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
	log "rustup: adding rust-src"
	rustup component add rust-src || die "rustup component add rust-src failed"
fi
for c in rustfmt clippy; do
	rustup component list --installed 2>/dev/null | grep -q "^$c" ||
		rustup component add "$c" || die "rustup component add $c failed"
done

BINDGEN_VERSION=0.72.1
if ! command -v bindgen >/dev/null; then
	log "cargo: installing bindgen-cli $BINDGEN_VERSION (about a minute)"
	cargo install --quiet --locked bindgen-cli --version "$BINDGEN_VERSION" ||
		die "cargo install bindgen-cli failed"
fi

# Debian 12's libclang (16) is older than the kernel's minimum (17.0.1).
# The PyPI wheel libclang ships a self-contained libclang.so.
LIBCLANG_VERSION=18.1.1
LIBCLANG_DIR=$CACHE/libclang-$LIBCLANG_VERSION
if [ ! -f "$LIBCLANG_DIR/libclang.so" ]; then
	log "pip: fetching libclang==$LIBCLANG_VERSION wheel"
	tmp=$(mktemp -d)
	python3 -m pip download -q --no-deps --only-binary=:all: \
		--platform manylinux2010_x86_64 -d "$tmp" "libclang==$LIBCLANG_VERSION" ||
		die "pip download libclang==$LIBCLANG_VERSION failed"
	unzip -q -o "$tmp"/libclang-*.whl -d "$tmp/w"
	mkdir -p "$LIBCLANG_DIR"
	cp "$tmp"/w/clang/native/libclang.so "$LIBCLANG_DIR/" 2>/dev/null ||
		cp "$(find "$tmp/w" -name libclang.so | head -1)" "$LIBCLANG_DIR/" ||
		die "libclang.so not found in the wheel"
	rm -rf "$tmp"
fi

cat > "$CACHE/env.sh" <<EOT
export PATH="$HOME/.cargo/bin:/usr/lib/ccache:\$PATH"
export LIBCLANG_PATH="$LIBCLANG_DIR"
EOT
log "toolchain ready (rustc $(rustc --version | cut -d' ' -f2), bindgen $(bindgen --version | cut -d' ' -f2), libclang $LIBCLANG_VERSION)"
