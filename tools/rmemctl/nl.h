/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The generic netlink connection to rmem.ko: open the socket, resolve
 * the "rmem" family, send one request and collect its replies, with the
 * kernel's extended-ack message kept for the error report.
 */
#ifndef RMEMCTL_NL_H
#define RMEMCTL_NL_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/netlink.h>
#include <netlink/msg.h>

struct nl_sock;
struct nl_cb;

struct rmem_nl {
	struct nl_sock *sk;
	int family;
};

/* Why a request failed */
struct rmem_nl_error {
	int err;		/* positive errno */
	bool from_kernel;	/* the driver said so (vs. a local failure) */
	char extack[256];	/* kernel's NLMSGERR_ATTR_MSG, or "" */
	char local[128];	/* what went wrong locally, or "" */
};

/*
 * rmem_nl_open - connect and resolve the family.  On failure prints the
 * reason (notably "rmem kernel module is not loaded") and returns -1.
 */
int rmem_nl_open(struct rmem_nl *nl);
void rmem_nl_close(struct rmem_nl *nl);

/* A request message for @cmd; @flags e.g. NLM_F_DUMP.  NULL on ENOMEM. */
struct nl_msg *rmem_nl_msg(struct rmem_nl *nl, uint8_t cmd, int flags);

/*
 * Called for every reply message (each device of a dump).  Return 0 to
 * go on, or a negative errno to stop; that errno becomes the result with
 * @e->local as the explanation.
 */
typedef int (*rmem_nl_reply_fn)(struct nlmsghdr *nlh, void *arg,
				struct rmem_nl_error *e);

/*
 * rmem_nl_request - send @msg (consumed) and receive until the ack, the
 * end of the dump, or an error.  Returns 0 or a negative errno with @e
 * filled in.
 */
int rmem_nl_request(struct rmem_nl *nl, struct nl_msg *msg,
		    rmem_nl_reply_fn fn, void *arg, struct rmem_nl_error *e);

/*
 * rmem_nl_transact - the same for callers that keep their buffers (the
 * agent): @msg is not consumed and @cb, from nl_cb_alloc(), is reused;
 * neither is allocated here.
 */
int rmem_nl_transact(struct rmem_nl *nl, struct nl_msg *msg, struct nl_cb *cb,
		     rmem_nl_reply_fn fn, void *arg, struct rmem_nl_error *e);

/*
 * rmem_nl_msg_reset - empty @msg and start it over as a request for @cmd,
 * in the buffer it already has.  0, or -1 if the header does not fit.
 */
int rmem_nl_msg_reset(struct rmem_nl *nl, struct nl_msg *msg, uint8_t cmd,
		      int flags);

/*
 * rmem_nl_join - join multicast @group of generic netlink @family (the
 * rmem events, or nlctrl's "notify" to see the module unloaded).  0, or
 * -1 after printing why, naming command @cmd.
 */
int rmem_nl_join(struct rmem_nl *nl, const char *cmd, const char *family,
		 const char *group);

/*
 * rmem_nl_print_error - "rmemctl: @what: @meaning", followed by the
 * kernel's own explanation when it gave one.  @meaning NULL means
 * strerror() of the error.
 */
void rmem_nl_print_error(const char *what, const char *meaning,
			 const struct rmem_nl_error *e);

#endif /* RMEMCTL_NL_H */
