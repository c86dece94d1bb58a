# rmem top-level build.  See README.md.
#
#   make            module (newest kernel with headers, or KDIR=...) + all
#                   userspace; the module lands in out/modules/RELEASE/
#   make modules-all  the module for every kernel with headers installed
#   make deps       install every Debian package build/tests/demo/bench need
#   make check      unit tests on the host, kernel tests in VMs; ends with
#                   "N passed, N failed"
#   make demo       remote swap end to end in one VM
#   make bench      benchmarks against the peers (QUICK=1 for a short run)
#   make install    module, binaries, man pages, systemd units
#   make dkms       add/build/install the module through DKMS
#   make deb        Debian packages rmem-dkms and rmem into out/deb/

# The kernel to build against: the newest one with headers installed.
# `uname -r` is not used: on the development machines it is a kernel that
# cannot load modules; tests boot the distro kernel in a VM instead.
KDIRS := $(shell ls -d /lib/modules/*/build 2>/dev/null | sort -V)
KDIR ?= $(lastword $(KDIRS))
KVER ?= $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"$$/\1/p' $(KDIR)/include/generated/utsrelease.h 2>/dev/null)
export KDIR

VERSION := $(shell cat VERSION)
PREFIX ?= /usr/local
DESTDIR ?=

# Userspace components, in build order (server/common is a library the
# daemons link).
USER_DIRS := server/common server/donor server/controller tools/rmemctl bench tests/nlfuzz
UNIT_DIRS := server/common server/donor server/controller tools/rmemctl bench

all: module userspace

# Each kernel builds in its own copy under out/build/ (tools/build-module).
module:
	./tools/build-module $(KDIR)

modules-all:
	@set -e; for k in $(KDIRS); do ./tools/build-module $$k; done

userspace:
	@set -e; for d in $(USER_DIRS); do $(MAKE) -C $$d all; done

deps:
	./tests/deps.sh

unit: userspace
	@set -e; fail=0; for d in $(UNIT_DIRS); do $(MAKE) -s -C $$d unit || fail=1; done; exit $$fail

check:
	./tests/run-all

demo: all
	./tests/vm/run --rxe --mem 4G --timeout 1200 --name demo -- ./tests/demo/demo.sh

bench: all
	./bench/run $(if $(QUICK),--quick)

install: all
	$(MAKE) -C out/build/$(KVER)/drivers/rmem KDIR=$(KDIR) DESTDIR=$(DESTDIR) install
	@set -e; for d in $(USER_DIRS); do $(MAKE) -C $$d install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR); done

# DKMS builds from a copy of the tree under /usr/src/rmem-VERSION.
dkms:
	./tests/dkms-install.sh $(KVER)

# Debian packages (debhelper, dh-dkms), built from a copy of the tree so
# that nothing is written outside it: out/deb/*.deb.
deb:
	./tools/make-deb

clean:
	rm -rf out/build out/modules
	-$(MAKE) -C drivers/rmem clean
	@for d in $(USER_DIRS); do $(MAKE) -C $$d clean; done

.PHONY: all module modules-all userspace deps unit check demo bench install dkms deb clean
