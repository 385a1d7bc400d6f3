# SPDX-License-Identifier: GPL-2.0
#
# vmalock: per-VMA locks for everyone, exercised from Rust.
# `make help` lists the targets. The kernel build of the module itself is
# driven by ./Kbuild (make -C <kernel build> M=$PWD).

SHELL := /bin/bash
S := scripts

.PHONY: help run check kernel module patches-check lint sizes matrix bench shell clean distclean

help:
	@echo 'vmalock targets:'
	@echo '  make run            build everything, boot the guest, demonstrate the module'
	@echo '  make check          build everything, run every test suite in the guests'
	@echo '                      (PLANT_FAILURE=1: make the planted KUnit case fail)'
	@echo '  make kernel         build the patched guest kernels (VARIANTS="main up-cbinder")'
	@echo '  make module         build the vmalock module against the main kernel'
	@echo '  make patches-check  apply patches/ to the pinned source, checkpatch --strict each'
	@echo '  make lint           rustfmt, CLIPPY=1 and rustdoc of the patched tree and the module,'
	@echo '                      no warning allowed (part of make check)'
	@echo '  make sizes          vm_area_struct/mm_struct sizes, stock vs patched, on small'
	@echo '                      configs of x86, arm64, arm, ppc32, riscv64 (pahole; cover letter table)'
	@echo '  make matrix         build stock and patched for x86_64, i386, arm64, arm, riscv64,'
	@echo '                      ppc32, ppc64le, s390 (tuxmake), every patch prefix; KCIDB JSON'
	@echo '                      (MATRIX_CONFIGS="name ...", PREFIX_CONFIGS="name ..." limit it)'
	@echo '  make bench          benchmark: patched vs stock 7.3.4, ratios in out/bench/'
	@echo '                      (BENCH_CONFIG=main: on the debug kernels instead of configs/bench.config)'
	@echo '  make shell          boot the guest with the module loaded, interactive shell'
	@echo '  make clean          remove out/ (the kernel build cache under ~/.cache/vmalock stays)'
	@echo '  make distclean      also remove the build cache'

run:
	@$(S)/run.sh

check:
	@$(S)/check.sh

kernel:
	@$(S)/install-deps.sh
	@for v in $${VARIANTS:-main up-cbinder}; do $(S)/build-kernel.sh $$v || exit 1; done

module:
	@$(S)/install-deps.sh
	@kb=$$($(S)/build-kernel.sh main) && $(S)/build-module.sh "$$kb" out/module/main

patches-check:
	@$(S)/install-deps.sh
	@$(S)/patches-check.sh

lint:
	@$(S)/install-deps.sh
	@$(S)/lint.sh

sizes:
	@$(S)/struct-sizes.sh

matrix:
	@$(S)/matrix.sh

bench:
	@$(S)/bench.sh

shell:
	@$(S)/run.sh shell

clean:
	rm -rf out

distclean: clean
	rm -rf $${XDG_CACHE_HOME:-$$HOME/.cache}/vmalock
