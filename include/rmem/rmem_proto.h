/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * rmem wire protocol: what crosses the fabric between a client (rmem.ko)
 * and a donor (rmem-donord).  Shared verbatim by kernel and userspace.
 *
 * Every field is little-endian and fixed-size; structs carry explicit
 * reserved padding so that their layout is the same on every ABI.  The
 * protocol is described as a sequence in docs/protocol.md.
 *
 * Connections (RC queue pairs through rdma_cm):
 *   - one CTRL connection per (client, donor): small SEND/RECV messages
 *     (struct rmem_msg) for slab allocation, release and keep-alive;
 *   - DATA connections, one per hardware queue: only one-sided RDMA READ
 *     and WRITE into slab memory; the donor posts nothing on them.
 * All connections of one client share a session on the donor, identified
 * by the client's random 128-bit id carried in the connect private data.
 * The session owns one protection domain; a slab's memory region is
 * registered in it, so an rkey seen by one client opens nothing for
 * another.
 */
#ifndef _RMEM_PROTO_H
#define _RMEM_PROTO_H

#include <linux/types.h>

#define RMEM_PROTO_MAGIC	0x524d	/* "RM" */
#define RMEM_PROTO_VERSION	1

#define RMEM_DEFAULT_PORT	7470
#define RMEM_CLIENT_ID_LEN	16

/* Connection kinds, in rmem_cm_req.type */
enum rmem_conn_type {
	RMEM_CONN_CTRL = 1,
	RMEM_CONN_DATA = 2,
};

/**
 * struct rmem_cm_req - private data of the client's rdma_connect()
 * @magic:	RMEM_PROTO_MAGIC
 * @version:	RMEM_PROTO_VERSION
 * @type:	enum rmem_conn_type
 * @queue:	hardware queue index of a DATA connection, 0 for CTRL
 * @flags:	reserved, 0
 * @client_id:	random id of the client device; names the session
 *
 * RDMA CM private data is at most 56 bytes on RC connects; keep it short.
 */
struct rmem_cm_req {
	__le16	magic;
	__u8	version;
	__u8	type;
	__le16	queue;
	__le16	flags;
	__u8	client_id[RMEM_CLIENT_ID_LEN];
	__le64	reserved;
};

/* Status codes in rmem_cm_rep.status (accept) and in a reject's data */
enum rmem_cm_status {
	RMEM_CM_OK = 0,
	RMEM_CM_BAD_VERSION = 1,	/* magic or version mismatch */
	RMEM_CM_NO_SESSION = 2,		/* DATA before CTRL for this client */
	RMEM_CM_NO_RESOURCES = 3,	/* donor out of QPs/PDs/memory */
	RMEM_CM_BAD_REQUEST = 4,	/* malformed private data */
};

/**
 * struct rmem_cm_rep - private data of the donor's rdma_accept() or
 *                      rdma_reject()
 * @magic:	RMEM_PROTO_MAGIC
 * @version:	RMEM_PROTO_VERSION
 * @status:	enum rmem_cm_status
 * @instance_id: random id of this donor run; a new value after a restart
 *		tells the client that every slab it held there is gone
 * @slab_size:	bytes per slab
 * @total_slabs: slabs the donor lends in all
 * @free_slabs:	slabs not assigned to any client right now
 */
struct rmem_cm_rep {
	__le16	magic;
	__u8	version;
	__u8	status;
	__le32	reserved;
	__le64	instance_id;
	__le64	slab_size;
	__le32	total_slabs;
	__le32	free_slabs;
};

/* Control message types (struct rmem_msg_hdr.type) */
enum rmem_msg_type {
	RMEM_MSG_SLAB_ALLOC = 1,	/* client -> donor: give me a slab */
	RMEM_MSG_SLAB_ATTACH = 2,	/* client -> donor: re-open a slab I hold */
	RMEM_MSG_SLAB_FREE = 3,		/* client -> donor: I release this slab */
	RMEM_MSG_KEEPALIVE = 4,		/* client -> donor: are you there? */
	RMEM_MSG_REPLY = 0x80,		/* OR-ed into the type of a reply */
};

/* Size of every control message buffer, both ways */
#define RMEM_MSG_SIZE		256
/* Receive buffers each side keeps posted on a CTRL connection */
#define RMEM_CTRL_DEPTH		16

/**
 * struct rmem_msg_hdr - header of every control message
 * @magic:	RMEM_PROTO_MAGIC
 * @version:	RMEM_PROTO_VERSION
 * @type:	enum rmem_msg_type; replies have RMEM_MSG_REPLY set
 * @seq:	request id chosen by the client, echoed in the reply
 * @status:	replies only: 0 or a positive errno (ENOSPC, ENOENT, ESTALE,
 *		EPERM, EINVAL, EPROTO)
 */
struct rmem_msg_hdr {
	__le16	magic;
	__u8	version;
	__u8	type;
	__le32	seq;
	__le32	status;
	__le32	reserved;
};

/**
 * struct rmem_slab_desc - where a slab lives on the donor
 * @slab_id:	index of the slab on the donor
 * @generation:	bumped every time the slab is handed to a client; a client
 *		names (slab_id, generation) to re-open or free it
 * @addr:	remote virtual address for RDMA READ/WRITE
 * @length:	bytes (the donor's slab size)
 * @rkey:	remote key, valid only on this client's connections
 */
struct rmem_slab_desc {
	__le32	slab_id;
	__le32	generation;
	__le64	addr;
	__le64	length;
	__le32	rkey;
	__le32	reserved;
};

/* Grant presented with an allocation (zeros when no controller is used) */
#define RMEM_GRANT_LEN		32

/**
 * struct rmem_msg - one control message, request or reply
 *
 * Requests:
 *   SLAB_ALLOC:  @slab.slab_id = RMEM_SLAB_ANY or a slab the controller
 *                granted, with @grant; reply carries @slab.
 *   SLAB_ATTACH: @slab.slab_id + @slab.generation of a slab this client
 *                was given before (after a reconnect); reply carries @slab
 *                with a fresh rkey, or status ESTALE/ENOENT.
 *   SLAB_FREE:   @slab.slab_id + @slab.generation; reply has status only.
 *   KEEPALIVE:   nothing; reply carries @free_slabs.
 */
struct rmem_msg {
	struct rmem_msg_hdr	hdr;
	struct rmem_slab_desc	slab;
	__le32			free_slabs;
	__le32			total_slabs;
	__u8			grant[RMEM_GRANT_LEN];
};

#define RMEM_SLAB_ANY		0xffffffffu

#ifdef __KERNEL__
#include <linux/build_bug.h>
static_assert(sizeof(struct rmem_cm_req) == 32);
static_assert(sizeof(struct rmem_cm_rep) == 32);
static_assert(sizeof(struct rmem_msg) <= RMEM_MSG_SIZE);
#else
_Static_assert(sizeof(struct rmem_cm_req) == 32, "cm_req layout");
_Static_assert(sizeof(struct rmem_cm_rep) == 32, "cm_rep layout");
_Static_assert(sizeof(struct rmem_msg) <= RMEM_MSG_SIZE, "msg size");
#endif

#endif /* _RMEM_PROTO_H */
