# rmem top-level build.  See README.md.
#
#   make            module + all userspace
#   make deps       install every Debian package build/tests/demo/bench need
#   make check      unit tests on the host, kernel tests in VMs; ends with
#                   "N passed, N failed"
#   make demo       remote swap end to end in one VM
#   make bench      benchmarks against the peers (QUICK=1 for a short run)
#   make install    module, binaries, man pages, systemd units
#   make dkms       add/build/install the module through DKMS

# The kernel to build against: the newest one with headers installed.
# `uname -r` is not used: on the development machines it is a kernel that
# cannot load modules; tests boot the distro kernel in a VM instead.
KDIR ?= $(lastword $(sort $(wildcard /lib/modules/*/build)))
KVER ?= $(notdir $(patsubst %/build,%,$(KDIR)))
export KDIR

VERSION := $(shell cat VERSION)
PREFIX ?= /usr/local
DESTDIR ?=

# Userspace components, in build order (server/common is a library the
# daemons link).
USER_DIRS := server/common server/donor server/controller tools/rmemctl bench tests/nlfuzz
UNIT_DIRS := server/common server/donor server/controller tools/rmemctl bench

all: module userspace

module:
	$(MAKE) -C drivers/rmem KDIR=$(KDIR)

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
	$(MAKE) -C drivers/rmem KDIR=$(KDIR) DESTDIR=$(DESTDIR) install
	@set -e; for d in $(USER_DIRS); do $(MAKE) -C $$d install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR); done

# DKMS builds from a copy of the tree under /usr/src/rmem-VERSION.
dkms:
	./tests/dkms-install.sh $(KVER)

clean:
	$(MAKE) -C drivers/rmem clean
	@for d in $(USER_DIRS); do $(MAKE) -C $$d clean; done

.PHONY: all module userspace deps unit check demo bench install dkms clean
