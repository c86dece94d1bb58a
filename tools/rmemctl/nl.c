// SPDX-License-Identifier: GPL-2.0
/*
 * libnl plumbing for the "rmem" generic netlink family (the nbd-client
 * idioms: genl_connect, genl_ctrl_resolve, one request and its acks).
 * Extended acks are switched on so that the driver's explanation of a
 * refusal ("donor 10.0.0.2:7470: connection refused") reaches the user.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <rmem/rmem_netlink.h>

#include "nl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* The error of a libnl call, as an errno for callers to switch on */
static int nlerr_to_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_NOMEM:		return ENOMEM;
	case NLE_PERM:		return EPERM;
	case NLE_NOACCESS:	return EACCES;
	case NLE_AGAIN:		return EAGAIN;
	case NLE_INTR:		return EINTR;
	case NLE_DUMP_INTR:	return EAGAIN;
	case NLE_OBJ_NOTFOUND:	return ENOENT;
	case NLE_PROTO_MISMATCH:
	case NLE_MSG_TRUNC:
	case NLE_MSG_OVERFLOW:	return EPROTO;
	default:		return EIO;
	}
}

int rmem_nl_open(struct rmem_nl *nl)
{
	int one = 1;
	int ret;

	nl->family = -1;
	nl->sk = nl_socket_alloc();
	if (!nl->sk) {
		fprintf(stderr, "rmemctl: cannot allocate a netlink socket: out of memory\n");
		return -1;
	}
	ret = genl_connect(nl->sk);
	if (ret) {
		fprintf(stderr, "rmemctl: cannot open a generic netlink socket: %s\n",
			nl_geterror(ret));
		goto out_free;
	}
	/*
	 * Extended acks carry the driver's text for every refusal; capped
	 * acks keep our request out of the error message.  Both are best
	 * effort: an old kernel still gives the errno.
	 */
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));

	nl->family = genl_ctrl_resolve(nl->sk, RMEM_GENL_NAME);
	if (nl->family < 0) {
		if (nl->family == -NLE_OBJ_NOTFOUND)
			fprintf(stderr, "rmemctl: rmem kernel module is not loaded (try: modprobe rmem)\n");
		else
			fprintf(stderr, "rmemctl: cannot resolve the generic netlink family '%s': %s\n",
				RMEM_GENL_NAME, nl_geterror(nl->family));
		goto out_free;
	}
	return 0;

out_free:
	nl_socket_free(nl->sk);
	nl->sk = NULL;
	return -1;
}

void rmem_nl_close(struct rmem_nl *nl)
{
	nl_socket_free(nl->sk);
	nl->sk = NULL;
}

struct nl_msg *rmem_nl_msg(struct rmem_nl *nl, uint8_t cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0, flags,
			 cmd, RMEM_GENL_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

struct request {
	rmem_nl_reply_fn fn;
	void *arg;
	struct rmem_nl_error *e;
	bool done;
	int ret;		/* negative errno once something failed */
};

/* NLMSGERR_ATTR_MSG out of the TLVs at @tlv (extended ack) */
static void take_extack(struct rmem_nl_error *e, void *tlv, int len)
{
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];

	if (len <= 0 || nla_parse(tb, NLMSGERR_ATTR_MAX, tlv, len, NULL))
		return;
	if (tb[NLMSGERR_ATTR_MSG] && nla_len(tb[NLMSGERR_ATTR_MSG]) > 0)
		nla_strlcpy(e->extack, tb[NLMSGERR_ATTR_MSG],
			    sizeof(e->extack));
	/* strict validation reports a missing attribute by number only */
	else if (tb[NLMSGERR_ATTR_MISS_TYPE] &&
		 nla_len(tb[NLMSGERR_ATTR_MISS_TYPE]) >= 4)
		snprintf(e->extack, sizeof(e->extack),
			 "required attribute %u is missing",
			 nla_get_u32(tb[NLMSGERR_ATTR_MISS_TYPE]));
}

static void kernel_error(struct request *rq, int err)
{
	rq->e->err = -err;
	rq->e->from_kernel = true;
	rq->ret = err;
	rq->done = true;
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg)
{
	/* libnl hands us the payload; the header sits right before it */
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)err - NLMSG_HDRLEN);
	struct request *rq = arg;
	size_t off = sizeof(*err);

	(void)nla;
	kernel_error(rq, err->error);
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		/* the TLVs follow the echoed request unless it was capped */
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED) &&
		    err->msg.nlmsg_len > NLMSG_HDRLEN)
			off += NLMSG_ALIGN(err->msg.nlmsg_len - NLMSG_HDRLEN);
		if (NLMSG_HDRLEN + off < nlh->nlmsg_len)
			take_extack(rq->e, (char *)err + off,
				    (int)(nlh->nlmsg_len - NLMSG_HDRLEN - off));
	}
	return NL_STOP;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	struct request *rq = arg;

	(void)msg;
	rq->done = true;
	return NL_STOP;
}

/* End of a dump; since Linux 4.x it may carry the dump's error */
static int on_finish(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct request *rq = arg;

	rq->done = true;
	if (nlmsg_datalen(nlh) >= (int)sizeof(int)) {
		int err = *(int *)nlmsg_data(nlh);

		if (err < 0) {
			kernel_error(rq, err);
			if (nlh->nlmsg_flags & NLM_F_ACK_TLVS)
				take_extack(rq->e,
					    (char *)nlmsg_data(nlh) + NLMSG_ALIGN(sizeof(int)),
					    nlmsg_datalen(nlh) - (int)NLMSG_ALIGN(sizeof(int)));
		}
	}
	return NL_STOP;
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct request *rq = arg;
	int ret;

	if (!rq->fn)
		return NL_OK;
	ret = rq->fn(nlmsg_hdr(msg), rq->arg, rq->e);
	if (ret < 0) {
		rq->e->err = -ret;
		rq->ret = ret;
		rq->done = true;
		return NL_STOP;
	}
	return NL_OK;
}

int rmem_nl_transact(struct rmem_nl *nl, struct nl_msg *msg, struct nl_cb *cb,
		     rmem_nl_reply_fn fn, void *arg, struct rmem_nl_error *e)
{
	struct request rq = { .fn = fn, .arg = arg, .e = e };
	int ret;

	memset(e, 0, sizeof(*e));
	/* re-pointed every time: @rq lives on this stack frame */
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, &rq);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, &rq);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_finish, &rq);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, &rq);

	ret = nl_send_auto(nl->sk, msg);
	if (ret < 0) {
		snprintf(e->local, sizeof(e->local), "cannot send request: %s",
			 nl_geterror(ret));
		e->err = nlerr_to_errno(ret);
		return -e->err;
	}
	while (!rq.done) {
		ret = nl_recvmsgs(nl->sk, cb);
		if (rq.done)
			break;
		if (ret == -NLE_INTR)
			continue;
		if (ret < 0) {
			if (ret == -NLE_DUMP_INTR)
				snprintf(e->local, sizeof(e->local),
					 "the device list changed while it was read; try again");
			else
				snprintf(e->local, sizeof(e->local),
					 "cannot receive the reply: %s",
					 nl_geterror(ret));
			e->err = nlerr_to_errno(ret);
			rq.ret = -e->err;
			break;
		}
	}
	return rq.ret;
}

int rmem_nl_request(struct rmem_nl *nl, struct nl_msg *msg,
		    rmem_nl_reply_fn fn, void *arg, struct rmem_nl_error *e)
{
	struct nl_cb *cb;
	int ret;

	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		nlmsg_free(msg);
		memset(e, 0, sizeof(*e));
		snprintf(e->local, sizeof(e->local), "out of memory");
		e->err = ENOMEM;
		return -ENOMEM;
	}
	ret = rmem_nl_transact(nl, msg, cb, fn, arg, e);
	nlmsg_free(msg);
	nl_cb_put(cb);
	return ret;
}

int rmem_nl_msg_reset(struct rmem_nl *nl, struct nl_msg *msg, uint8_t cmd,
		      int flags)
{
	/*
	 * Back to an empty message: libnl appends at nlmsg_len, and a fresh
	 * genl header with NL_AUTO_SEQ gets the next sequence number when
	 * sent, so the buffer is reused without reallocation.
	 */
	nlmsg_hdr(msg)->nlmsg_len = NLMSG_HDRLEN;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0, flags,
			 cmd, RMEM_GENL_VERSION))
		return -1;
	return 0;
}

int rmem_nl_join(struct rmem_nl *nl, const char *cmd, const char *family,
		 const char *group)
{
	int grp = genl_ctrl_resolve_grp(nl->sk, family, group);
	int ret;

	if (grp < 0) {
		fprintf(stderr, "rmemctl: %s: the %s family has no '%s' multicast group: %s\n",
			cmd, family, group, nl_geterror(grp));
		return -1;
	}
	ret = nl_socket_add_membership(nl->sk, grp);
	if (ret) {
		if (ret == -NLE_PERM || ret == -NLE_NOACCESS)
			fprintf(stderr, "rmemctl: %s: permission denied: %s needs root (CAP_NET_ADMIN)\n",
				cmd, cmd);
		else
			fprintf(stderr, "rmemctl: %s: cannot join the '%s' group: %s\n",
				cmd, group, nl_geterror(ret));
		return -1;
	}
	return 0;
}

void rmem_nl_print_error(const char *what, const char *meaning,
			 const struct rmem_nl_error *e)
{
	fprintf(stderr, "rmemctl: %s: %s", what,
		meaning ? meaning : e->local[0] ? e->local : strerror(e->err));
	if (e->extack[0])
		fprintf(stderr, " (kernel: %s)", e->extack);
	fputc('\n', stderr);
}
