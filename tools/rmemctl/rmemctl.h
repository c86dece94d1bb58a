/* SPDX-License-Identifier: GPL-2.0 */
/* What main.c shares with the command files. */
#ifndef RMEMCTL_H
#define RMEMCTL_H

#include <stdbool.h>

/* Exit statuses: scripts tell a refused operation from a typo */
#define EXIT_OK		0
#define EXIT_FAIL	1	/* the operation failed */
#define EXIT_USAGE	2	/* bad command line; nothing was sent */

/* Global options, set by main.c before a command runs */
struct rmemctl_opts {
	bool json;
	bool pretty;
	bool verbose;
	const char *config;	/* --config FILE, or NULL */
};
extern struct rmemctl_opts opts;

/*
 * One entry per command.  @func gets argv from the command's own name
 * on (argv[0] == "attach"), parses its options with getopt_long, and
 * returns an exit status.  New commands are new entries in main.c.
 */
struct rmemctl_cmd {
	const char *name;
	int (*func)(int argc, char **argv);
	const char *summary;	/* one line for `rmemctl --help` */
};

int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_donors(int argc, char **argv);
int cmd_slabs(int argc, char **argv);
int cmd_donate(int argc, char **argv);
int cmd_undonate(int argc, char **argv);
int cmd_replace(int argc, char **argv);
int cmd_agent(int argc, char **argv);

/* cluster.c: the cluster section of `status` when a controller is configured */
void status_cluster_print(void);

/* "rmemctl: CMD: MSG" and "Try 'rmemctl CMD --help'." on stderr */
int usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Options every command accepts besides its own (-j, -p, -v, -h), so
 * `rmemctl status -j` works as well as `rmemctl -j status`.  Returns 1
 * if @c was one of them (handled), 0 if not.  For -h, prints @help and
 * sets *@exit_now.
 */
#define COMMON_SHORTOPTS	"jpvh"
#define COMMON_LONGOPTS \
	{ "json", no_argument, NULL, 'j' }, \
	{ "pretty", no_argument, NULL, 'p' }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "help", no_argument, NULL, 'h' }
int common_opt(int c, const char *help, bool *exit_now);

#endif /* RMEMCTL_H */
