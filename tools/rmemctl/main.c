// SPDX-License-Identifier: GPL-2.0
/*
 * rmemctl: operator CLI for rmem.ko.  Global options, then a command
 * looked up in one table (the iproute2 layout): adding a command is
 * adding an entry here and a file that implements it.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rmem/rmem_netlink.h>

#include "print.h"
#include "rmemctl.h"

#ifndef RMEMCTL_VERSION
#define RMEMCTL_VERSION "0.1"
#endif

struct rmemctl_opts opts;

static const struct rmemctl_cmd commands[] = {
	{ "attach",  cmd_attach,  "create a device backed by donors' memory" },
	{ "detach",  cmd_detach,  "remove a device" },
	{ "status",  cmd_status,  "show devices, donors, slabs and counters" },
	{ "monitor", cmd_monitor, "print driver events as they happen" },
	{ "replace", cmd_replace, "put one replica of a slab on another donor" },
	{ "agent",   cmd_agent,   "re-protect lost replicas by itself (rmem-agent.service)" },
	{ "donors",  cmd_donors,  "list the cluster's donors (controller)" },
	{ "slabs",   cmd_slabs,   "list which client holds which slabs where (controller)" },
	{ "donate",  cmd_donate,  "lend SIZE more of this host's RAM (starts rmem-donord)" },
	{ "undonate", cmd_undonate, "give lent RAM that no client holds back to this host" },
};

static void print_usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: rmemctl [OPTIONS] COMMAND [ARGS]\n"
		"\n"
		"Options:\n"
		"  -j, --json     JSON output\n"
		"  -p, --pretty   indented JSON (with -j)\n"
		"  -v, --verbose  more detail (status: every slab)\n"
		"  -c, --config FILE  cluster config (default $RMEM_CONFIG, else\n"
		"                 /etc/rmem/rmem.conf)\n"
		"  -h, --help     this help; COMMAND --help for a command's\n"
		"  -V, --version  print the version\n"
		"\n"
		"Commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nSee rmemctl(8).\n");
}

int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "rmemctl: ");
	if (cmd)
		fprintf(stderr, "%s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, "\nTry 'rmemctl %s --help'.\n", cmd);
	else
		fprintf(stderr, "\nTry 'rmemctl --help'.\n");
	return EXIT_USAGE;
}

int common_opt(int c, const char *help, bool *exit_now)
{
	switch (c) {
	case 'j':
		opts.json = true;
		return 1;
	case 'p':
		opts.pretty = true;
		return 1;
	case 'v':
		opts.verbose = true;
		return 1;
	case 'h':
		fputs(help, stdout);
		*exit_now = true;
		return 1;
	default:
		return 0;
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name;
	size_t i;
	int c, ret;

	/* "+": stop at the command, its options are its own */
	while ((c = getopt_long(argc, argv, "+jpvhVc:", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opts.json = true;
			break;
		case 'p':
			opts.pretty = true;
			break;
		case 'v':
			opts.verbose = true;
			break;
		case 'c':
			opts.config = optarg;
			break;
		case 'h':
			print_usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("rmemctl %s (netlink family %s version %d)\n",
			       RMEMCTL_VERSION, RMEM_GENL_NAME,
			       RMEM_GENL_VERSION);
			return EXIT_OK;
		case '?':
			if (optopt == 'c')
				return usage_error(NULL, "--config needs a FILE");
			/* fall through */
		default:
			return usage_error(NULL, "unknown option '%s'",
					   argv[optind - 1]);
		}
	}
	if (optind == argc)
		return usage_error(NULL, "missing command");

	name = argv[optind];
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(name, commands[i].name) == 0)
			break;
	}
	if (i == sizeof(commands) / sizeof(commands[0]))
		return usage_error(NULL, "unknown command '%s'", name);

	/* commands re-run getopt on their own argv, from their own name */
	ret = commands[i].func(argc - optind, argv + optind);
	return ret;
}
