// SPDX-License-Identifier: GPL-2.0
/*
 * rmem-nlfuzz: throw malformed and random generic netlink requests at
 * rmem.ko and check that each one is refused with an error and changes
 * nothing.  Runs inside a test VM with the module loaded.
 *
 *   rmem-nlfuzz [--iterations N] [--seed S] [--donor ADDR:PORT]
 *
 * Fixed cases first (each names the errno it expects), then N random
 * requests built from random commands, attribute types, lengths and
 * payloads.  Before and after, the set of devices is dumped: it must be
 * the same.  Prints TAP-like lines; exits 1 if any case misbehaved.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include <rmem/rmem_netlink.h>

static struct nl_sock *sk;
static int family;
static int failures;
static int ncase;

static int ack_cb(struct nl_msg *msg, void *arg)
{
	(void)msg;
	*(int *)arg = 0;
	return NL_STOP;
}

static int error_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	(void)nla;
	*(int *)arg = e->error;
	return NL_STOP;
}

static int valid_cb(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}

/*
 * Send @msg and return 0 or the kernel's negative errno.  The errno is
 * read from the ack itself: libnl's own error codes would lose it.
 */
static int send_req(struct nl_msg *msg)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int ret = 1, err;

	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, ack_cb, &ret);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, valid_cb, NULL);
	nl_cb_err(cb, NL_CB_CUSTOM, error_cb, &ret);
	err = nl_send_auto(sk, msg);
	nlmsg_free(msg);
	if (err < 0) {
		nl_cb_put(cb);
		return -EIO;
	}
	while (ret == 1) {
		err = nl_recvmsgs(sk, cb);
		if (err < 0 && ret == 1) {
			ret = -EIO;
			break;
		}
	}
	nl_cb_put(cb);
	return ret;
}

static int count_cb(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(*(int *)arg)++;
	return NL_OK;
}

/* Number of devices the kernel reports in a dump; -1 on failure. */
static int count_devices(void)
{
	struct nl_sock *dsk = nl_socket_alloc();
	struct nl_msg *msg;
	int n = 0;

	if (!dsk || genl_connect(dsk) < 0)
		return -1;
	msg = nlmsg_alloc();
	genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, NLM_F_DUMP,
		    RMEM_CMD_DEV_GET, RMEM_GENL_VERSION);
	nl_socket_modify_cb(dsk, NL_CB_VALID, NL_CB_CUSTOM, count_cb, &n);
	if (nl_send_auto(dsk, msg) < 0 || nl_recvmsgs_default(dsk) < 0)
		n = -1;
	nlmsg_free(msg);
	nl_socket_free(dsk);
	return n;
}

static struct nl_msg *new_req(int cmd)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg) {
		perror("nlmsg_alloc");
		exit(2);
	}
	genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, NLM_F_ACK, cmd,
		    RMEM_GENL_VERSION);
	return msg;
}

static void put_donor(struct nl_msg *msg, const char *addr, int port)
{
	struct nlattr *donors = nla_nest_start(msg, RMEM_ATTR_DONORS);
	struct nlattr *d = nla_nest_start(msg, RMEM_ATTR_DONOR);

	if (addr)
		nla_put_string(msg, RMEM_DONOR_ATTR_ADDR, addr);
	if (port >= 0)
		nla_put_u16(msg, RMEM_DONOR_ATTR_PORT, (uint16_t)port);
	nla_nest_end(msg, d);
	nla_nest_end(msg, donors);
}

/* expect(): report one case; @want is 0 for "any error" or a -errno. */
static void expect(const char *name, int got, int want)
{
	bool ok = want ? got == want : got < 0;

	ncase++;
	if (ok) {
		printf("ok %d - %s (%s)\n", ncase, name, strerror(-got));
	} else {
		printf("not ok %d - %s: got %d (%s), want %s\n", ncase, name,
		       got, got ? strerror(-got) : "success",
		       want ? strerror(-want) : "an error");
		failures++;
	}
}

static const char *donor_addr = "10.77.0.1";
static int donor_port = 7470;

/* A REPLICA_REPLACE request; @what leaves out or spoils one part. */
static struct nl_msg *replace_req(const char *dev, const char *what)
{
	struct nl_msg *m = new_req(RMEM_CMD_REPLICA_REPLACE);
	struct nlattr *n;

	if (dev)
		nla_put_string(m, RMEM_ATTR_DEV_NAME, dev);
	nla_put_u32(m, RMEM_ATTR_SLAB_INDEX, 0);
	nla_put_u32(m, RMEM_ATTR_REPLICA_INDEX,
		    strcmp(what, "slot") ? 0 : RMEM_MAX_REPLICAS);
	if (strcmp(what, "old")) {
		n = nla_nest_start(m, RMEM_ATTR_REPLICA_OLD);
		nla_put_u32(m, RMEM_REPLICA_ATTR_DONOR, 0);
		nla_put_u32(m, RMEM_REPLICA_ATTR_SLAB_ID, 0);
		nla_put_u32(m, RMEM_REPLICA_ATTR_GENERATION, 1);
		nla_nest_end(m, n);
	}
	n = nla_nest_start(m, RMEM_ATTR_REPLICA_NEW);
	if (strcmp(what, "no-donor"))
		nla_put_u32(m, RMEM_REPLICA_ATTR_DONOR, 1);
	if (!strcmp(what, "both"))
		nla_put_string(m, RMEM_REPLICA_ATTR_ADDR, donor_addr);
	nla_nest_end(m, n);
	return m;
}

/* REPLICA_REPLACE: every malformed request is refused before anything. */
static void replace_cases(void)
{
	expect("replace without a device name",
	       send_req(replace_req(NULL, "")), -EINVAL);
	expect("replace on an unknown device",
	       send_req(replace_req("rmem-nosuch", "")), -ENODEV);
	expect("replace of slot 3",
	       send_req(replace_req("rmem-nosuch", "slot")), -ERANGE);
	expect("replace without REPLICA_OLD",
	       send_req(replace_req("rmem-nosuch", "old")), -EINVAL);
	expect("replace with REPLICA_NEW naming no donor",
	       send_req(replace_req("rmem-nosuch", "no-donor")), -EINVAL);
	expect("replace with REPLICA_NEW naming a donor twice",
	       send_req(replace_req("rmem-nosuch", "both")), -EINVAL);
}

static void fixed_cases(void)
{
	struct nl_msg *m;
	struct nlattr *n;
	char longname[RMEM_NAME_MAX + 8];
	int i;

	m = new_req(RMEM_CMD_DEV_ADD);
	put_donor(m, donor_addr, donor_port);
	expect("add without SIZE", send_req(m), -EINVAL);

	m = new_req(RMEM_CMD_DEV_ADD);
	nla_put_u64(m, RMEM_ATTR_SIZE, 1 << 26);
	expect("add without DONORS", send_req(m), -EINVAL);

	m = new_req(RMEM_CMD_DEV_ADD);
	nla_put_u64(m, RMEM_ATTR_SIZE, 0);
	put_donor(m, donor_addr, donor_port);
	expect("add with SIZE 0", send_req(m), -EINVAL);

	m = new_req(RMEM_CMD_DEV_ADD);
	nla_put_u64(m, RMEM_ATTR_SIZE, (1 << 26) + 512);
	put_donor(m, donor_addr, donor_port);
	expect("add with SIZE not a multiple of 4096", send_req(m), -EINVAL);

	m = new_req(RMEM_CMD_DEV_ADD);
	nla_put_u64(m, RMEM_ATTR_SIZE, UINT64_MAX & ~4095ULL);
	put_donor(m, donor_addr, donor_port);
	expect("add with SIZE 2^64-4096", send_req(m), 0);

	m = new_req(RMEM_CMD_DEV_ADD);
	nla_put_u32(m, RMEM_ATTR_SIZE, 1 << 26);
	put_donor(m, donor_addr, donor_port);
	expect("add with SIZE of the wrong width", send_req(m), -EINVAL);

	m = new_req(RMEM_CMD_DEV_ADD);
	nla_put_u64(m, RMEM_ATTR_SIZE, 1 << 26);
	put_donor(m, donor_addr, donor_port);
	nla_put_u32(m, 200, 1);
	expect("add with an unknown attribute", send_req(m), -EINVAL);

	m = new_req(RMEM_CMD_DEV_ADD);
	nla_put_u64(m, RMEM_ATTR_SIZE, 1 << 26);
	n = nla_nest_start(m, RMEM_ATTR_DONORS);
	nla_nest_end(m, n);
	expect("add with an empty donor list", send_req(m), -EINVAL);

	m = new_req(RMEM_CMD_DEV_ADD);
	nla_put_u64(m, RMEM_ATTR_SIZE, 1 << 26);
	put_donor(m, "300.1.2.3", donor_port);
	expect("add with a malformed donor address", send_req(m), -EINVAL);

	m = new_req(RMEM_CMD_DEV_ADD);
	nla_put_u64(m, RMEM_ATTR_SIZE, 1 << 26);
	put_donor(m, NULL, donor_port);
	expect("add with a donor without address", send_req(m), -EINVAL);

	m = new_req(RMEM_CMD_DEV_ADD);
	nla_put_u64(m, RMEM_ATTR_SIZE, 1 << 26);
	put_donor(m, donor_addr, 0);
	/* Range checks in the policy answer ERANGE. */
	expect("add with donor port 0", send_req(m), -ERANGE);

	m = new_req(RMEM_CMD_DEV_ADD);
	nla_put_u64(m, RMEM_ATTR_SIZE, 1 << 26);
	n = nla_nest_start(m, RMEM_ATTR_DONORS);
	for (i = 0; i < RMEM_MAX_DONORS + 1; i++) {
		struct nlattr *d = nla_nest_start(m, RMEM_ATTR_DONOR);

		nla_put_string(m, RMEM_DONOR_ATTR_ADDR, donor_addr);
		nla_put_u16(m, RMEM_DONOR_ATTR_PORT, donor_port);
		nla_nest_end(m, d);
	}
	nla_nest_end(m, n);
	expect("add with too many donors", send_req(m), -E2BIG);

	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	m = new_req(RMEM_CMD_DEV_ADD);
	nla_put_u64(m, RMEM_ATTR_SIZE, 1 << 26);
	put_donor(m, donor_addr, donor_port);
	nla_put_string(m, RMEM_ATTR_DEV_NAME, longname);
	expect("add with a name too long", send_req(m), 0);

	m = new_req(RMEM_CMD_DEV_ADD);
	nla_put_u64(m, RMEM_ATTR_SIZE, 1 << 26);
	put_donor(m, donor_addr, donor_port);
	nla_put(m, RMEM_ATTR_CLIENT_ID, 3, "abc");
	expect("add with a short client id", send_req(m), -ERANGE);

	m = new_req(RMEM_CMD_DEV_ADD);
	nla_put_u64(m, RMEM_ATTR_SIZE, 1 << 26);
	put_donor(m, donor_addr, donor_port);
	nla_put_u32(m, RMEM_ATTR_REPLICAS, 0);
	expect("add with REPLICAS 0", send_req(m), -ERANGE);

	m = new_req(RMEM_CMD_DEV_ADD);
	nla_put_u64(m, RMEM_ATTR_SIZE, 1 << 26);
	put_donor(m, donor_addr, donor_port);
	nla_put_u32(m, RMEM_ATTR_REPLICAS, RMEM_MAX_REPLICAS + 1);
	expect("add with REPLICAS above the most", send_req(m), -ERANGE);

	m = new_req(RMEM_CMD_DEV_ADD);
	nla_put_u64(m, RMEM_ATTR_SIZE, 1 << 26);
	put_donor(m, donor_addr, donor_port);
	nla_put_u32(m, RMEM_ATTR_REPLICAS, 2);
	expect("add with more replicas than donors", send_req(m), -EINVAL);

	replace_cases();

	m = new_req(RMEM_CMD_DEV_DEL);
	nla_put_string(m, RMEM_ATTR_DEV_NAME, "rmem-nosuch");
	expect("remove of an unknown device", send_req(m), -ENODEV);

	m = new_req(RMEM_CMD_DEV_DEL);
	expect("remove without a name", send_req(m), -EINVAL);

	m = new_req(RMEM_CMD_DEV_GET);
	nla_put_string(m, RMEM_ATTR_DEV_NAME, "rmem-nosuch");
	expect("get of an unknown device", send_req(m), -ENODEV);

	m = new_req(RMEM_CMD_EVENT);
	expect("EVENT is not a request", send_req(m), 0);

	m = new_req(77);
	expect("unknown command", send_req(m), 0);
}

static void random_cases(unsigned iterations)
{
	static const int cmds[] = { RMEM_CMD_DEV_ADD, RMEM_CMD_DEV_DEL,
				    RMEM_CMD_DEV_GET, RMEM_CMD_EVENT,
				    RMEM_CMD_REPLICA_REPLACE, 0, 99 };
	unsigned bad = 0, it;

	for (it = 0; it < iterations; it++) {
		int cmd = cmds[rand() % (sizeof(cmds) / sizeof(cmds[0]))];
		struct nl_msg *m = new_req(cmd);
		int nattrs = rand() % 6, a, err;
		bool nested_open = false;
		struct nlattr *nest = NULL;

		for (a = 0; a < nattrs; a++) {
			unsigned char buf[80];
			int type = rand() % (RMEM_ATTR_MAX + 3);
			int len = rand() % (int)sizeof(buf);
			int j;

			for (j = 0; j < len; j++)
				buf[j] = (unsigned char)rand();
			if (!nested_open && rand() % 4 == 0) {
				nest = nla_nest_start(m, RMEM_ATTR_DONORS);
				nested_open = true;
				type = rand() % 4;
			}
			/* Random sizes must never be small enough to add. */
			if (type == RMEM_ATTR_SIZE && len == 8)
				buf[7] |= 0x80;
			nla_put(m, type, len, buf);
		}
		if (nested_open)
			nla_nest_end(m, nest);
		err = send_req(m);
		/* A GET of no device may succeed; nothing else may. */
		if (err == 0 && cmd != RMEM_CMD_DEV_GET) {
			printf("# random request %u (cmd %d) was accepted\n",
			       it, cmd);
			bad++;
		}
	}
	ncase++;
	if (bad) {
		printf("not ok %d - %u random requests: %u accepted\n", ncase,
		       iterations, bad);
		failures++;
	} else {
		printf("ok %d - %u random requests all refused\n", ncase,
		       iterations);
	}
}

static int parse_donor(const char *s)
{
	static char host[64];
	const char *colon = strrchr(s, ':');

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, colon - s);
	host[colon - s] = '\0';
	donor_addr = host;
	donor_port = atoi(colon + 1);
	return donor_port > 0 && donor_port < 65536 ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iterations", required_argument, NULL, 'i' },
		{ "seed", required_argument, NULL, 's' },
		{ "donor", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	unsigned iterations = 2000, seed = 1;
	int c, before, after;

	while ((c = getopt_long(argc, argv, "i:s:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			iterations = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 's':
			seed = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'd':
			if (parse_donor(optarg) == 0)
				break;
			fprintf(stderr, "rmem-nlfuzz: bad --donor '%s'\n",
				optarg);
			return 2;
		default:
			fprintf(stderr, "usage: rmem-nlfuzz [--iterations N] "
				"[--seed S] [--donor ADDR:PORT]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	srand(seed);

	sk = nl_socket_alloc();
	if (!sk || genl_connect(sk) < 0) {
		fprintf(stderr, "rmem-nlfuzz: cannot open a netlink socket\n");
		return 2;
	}
	family = genl_ctrl_resolve(sk, RMEM_GENL_NAME);
	if (family < 0) {
		fprintf(stderr, "rmem-nlfuzz: family %s not found (module "
			"loaded?)\n", RMEM_GENL_NAME);
		return 2;
	}
	/* Keep going on error acks: each one is an expected outcome here. */
	nl_socket_disable_auto_ack(sk);

	before = count_devices();
	fixed_cases();
	random_cases(iterations);
	after = count_devices();
	ncase++;
	if (before < 0 || before != after) {
		printf("not ok %d - device count changed: %d before, %d after\n",
		       ncase, before, after);
		failures++;
	} else {
		printf("ok %d - device count unchanged (%d)\n", ncase, after);
	}
	nl_socket_free(sk);
	printf("# %d case(s), %d failure(s)\n", ncase, failures);
	return failures ? 1 : 0;
}
