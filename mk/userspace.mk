# Common settings for every userspace component.  Include with
#   TOP := $(abspath ../..)   (path to the tree root)
#   include $(TOP)/mk/userspace.mk
CC       ?= cc
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -I$(TOP)/include
PREFIX   ?= /usr/local
SBINDIR  ?= $(PREFIX)/sbin
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
UNITDIR  ?= /lib/systemd/system
PKG_CONFIG ?= pkg-config
