/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tc_msg(): build a control request exactly as a well-behaved client
 * sends it.  Header-only so that both the RDMA test tools and the donor's
 * host unit tests (which link no verbs library) use the same builder.
 */
#ifndef RMEM_TC_MSG_H
#define RMEM_TC_MSG_H

#include <endian.h>
#include <stdint.h>
#include <string.h>

#include <rmem/rmem_proto.h>

static inline struct rmem_msg tc_msg(uint8_t type, uint32_t seq,
				     uint32_t slab_id, uint32_t generation)
{
	struct rmem_msg m;

	memset(&m, 0, sizeof(m));
	m.hdr.magic = htole16(RMEM_PROTO_MAGIC);
	m.hdr.version = RMEM_PROTO_VERSION;
	m.hdr.type = type;
	m.hdr.seq = htole32(seq);
	m.slab.slab_id = htole32(slab_id);
	m.slab.generation = htole32(generation);
	return m;
}

#endif /* RMEM_TC_MSG_H */
