// SPDX-License-Identifier: MIT
/*
 * SQLite implementation of storage.h.  WAL journal with synchronous=FULL:
 * a commit is fsynced before sqlite3_step("COMMIT") returns, so what the
 * controller acknowledged survives SIGKILL and power loss.  A partial
 * unique index on live replicas makes the database itself refuse to give
 * one donor slab twice, whatever the code above it does.
 */
#include "storage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

/* 2: re-protection (replica generations and times, history, counters) */
#define SCHEMA_VERSION	2

struct storage_sqlite {
	struct storage	base;
	sqlite3		*db;
	int		lock_fd;	/* flock()ed: one controller per DB */
	char		err[512];
};

static struct storage_sqlite *to_sq(struct storage *st)
{
	return (struct storage_sqlite *)st;
}

static int sq_fail(struct storage_sqlite *s, const char *what)
{
	snprintf(s->err, sizeof(s->err), "%s: %s", what, sqlite3_errmsg(s->db));
	return -1;
}

static int exec(struct storage_sqlite *s, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(s->err, sizeof(s->err), "%s", msg ? msg : "sqlite error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static sqlite3_stmt *prepare(struct storage_sqlite *s, const char *sql)
{
	sqlite3_stmt *stmt = NULL;

	if (sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		sq_fail(s, "prepare");
		return NULL;
	}
	return stmt;
}

/* Steps a statement that returns no row, then finalizes it. */
static int run(struct storage_sqlite *s, sqlite3_stmt *stmt, const char *what)
{
	int rc = sqlite3_step(stmt);

	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return sq_fail(s, what);
	return 0;
}

static int sq_begin(struct storage *st)
{
	/* IMMEDIATE: take the write lock now, not at the first write. */
	return exec(to_sq(st), "BEGIN IMMEDIATE");
}

static int sq_commit(struct storage *st)
{
	return exec(to_sq(st), "COMMIT");
}

static void sq_rollback(struct storage *st)
{
	struct storage_sqlite *s = to_sq(st);

	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static void bind_donor(sqlite3_stmt *stmt, const struct storage_donor *d)
{
	sqlite3_bind_text(stmt, 1, d->addr, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)d->instance_id);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)d->slab_size);
	sqlite3_bind_int64(stmt, 4, d->total_slabs);
	sqlite3_bind_text(stmt, 5, d->zone, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(stmt, 6, d->state);
	sqlite3_bind_int64(stmt, 7, d->registered);
	sqlite3_bind_int64(stmt, 8, d->down_since_ms);
}

static int sq_donor_insert(struct storage *st, struct storage_donor *d)
{
	struct storage_sqlite *s = to_sq(st);
	sqlite3_stmt *stmt = prepare(s,
		"INSERT INTO donors(addr, instance_id, slab_size, total_slabs,"
		" zone, state, registered, down_since)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");

	if (!stmt)
		return -1;
	bind_donor(stmt, d);
	if (run(s, stmt, "insert donor"))
		return -1;
	d->id = (uint32_t)sqlite3_last_insert_rowid(s->db);
	return 0;
}

static int sq_donor_update(struct storage *st, const struct storage_donor *d)
{
	struct storage_sqlite *s = to_sq(st);
	sqlite3_stmt *stmt = prepare(s,
		"UPDATE donors SET addr = ?1, instance_id = ?2, slab_size = ?3,"
		" total_slabs = ?4, zone = ?5, state = ?6, registered = ?7,"
		" down_since = ?8 WHERE id = ?9");

	if (!stmt)
		return -1;
	bind_donor(stmt, d);
	sqlite3_bind_int64(stmt, 9, d->id);
	if (run(s, stmt, "update donor"))
		return -1;
	if (sqlite3_changes(s->db) != 1) {
		snprintf(s->err, sizeof(s->err), "update donor: no donor %u", d->id);
		return -1;
	}
	return 0;
}

static int sq_donor_delete(struct storage *st, uint32_t id)
{
	struct storage_sqlite *s = to_sq(st);
	sqlite3_stmt *stmt = prepare(s, "DELETE FROM donors WHERE id = ?1");

	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	return run(s, stmt, "delete donor");
}

static int sq_donor_lose_replicas(struct storage *st, uint32_t donor_id,
				  int64_t when_ms, uint32_t *n)
{
	struct storage_sqlite *s = to_sq(st);
	/* Same rule as cluster.c's mirror of it in memory (lose_meta). */
	sqlite3_stmt *stmt = prepare(s,
		"UPDATE replicas SET lost = 1, lost_at = CASE"
		" WHEN lost_at <> 0 AND replaced_at <> 0 AND resynced_at = 0"
		" THEN lost_at ELSE ?2 END"
		" WHERE donor_id = ?1 AND lost = 0");

	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, donor_id);
	sqlite3_bind_int64(stmt, 2, when_ms);
	if (run(s, stmt, "mark replicas lost"))
		return -1;
	if (n)
		*n = (uint32_t)sqlite3_changes(s->db);
	return 0;
}

/* Columns ?1..?11 of a replica row, in bind_replica()'s order. */
#define REPLICA_COLUMNS	"slab_index, replica, donor_id, slab_id, instance_id," \
			" lost, generation, lost_at, replaced_at, resynced_at," \
			" resync_bytes"

static void bind_replica(sqlite3_stmt *stmt, const struct storage_replica *r)
{
	sqlite3_bind_int64(stmt, 1, r->slab_index);
	sqlite3_bind_int64(stmt, 2, r->replica);
	sqlite3_bind_int64(stmt, 3, r->donor_id);
	sqlite3_bind_int64(stmt, 4, r->slab_id);
	sqlite3_bind_int64(stmt, 5, (sqlite3_int64)r->instance_id);
	sqlite3_bind_int(stmt, 6, r->lost);
	sqlite3_bind_int64(stmt, 7, r->generation);
	sqlite3_bind_int64(stmt, 8, r->lost_at_ms);
	sqlite3_bind_int64(stmt, 9, r->replaced_at_ms);
	sqlite3_bind_int64(stmt, 10, r->resynced_at_ms);
	sqlite3_bind_int64(stmt, 11, (sqlite3_int64)r->resync_bytes);
}

/* The inverse of bind_replica(), from columns 0..10 of a SELECT. */
static void column_replica(sqlite3_stmt *stmt, struct storage_replica *r)
{
	r->slab_index = (uint32_t)sqlite3_column_int64(stmt, 0);
	r->replica = (uint32_t)sqlite3_column_int64(stmt, 1);
	r->donor_id = (uint32_t)sqlite3_column_int64(stmt, 2);
	r->slab_id = (uint32_t)sqlite3_column_int64(stmt, 3);
	r->instance_id = (uint64_t)sqlite3_column_int64(stmt, 4);
	r->lost = sqlite3_column_int(stmt, 5) != 0;
	r->generation = (uint32_t)sqlite3_column_int64(stmt, 6);
	r->lost_at_ms = sqlite3_column_int64(stmt, 7);
	r->replaced_at_ms = sqlite3_column_int64(stmt, 8);
	r->resynced_at_ms = sqlite3_column_int64(stmt, 9);
	r->resync_bytes = (uint64_t)sqlite3_column_int64(stmt, 10);
}

static int sq_alloc_insert(struct storage *st, struct storage_alloc *a)
{
	struct storage_sqlite *s = to_sq(st);
	uint64_t n = (uint64_t)a->nslabs * a->replicas;
	sqlite3_stmt *stmt = prepare(s,
		"INSERT INTO allocations(client_id, bytes, nslabs, replicas,"
		" created) VALUES(?1, ?2, ?3, ?4, ?5)");

	if (!stmt)
		return -1;
	sqlite3_bind_blob(stmt, 1, a->client_id, 16, SQLITE_TRANSIENT);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)a->bytes);
	sqlite3_bind_int64(stmt, 3, a->nslabs);
	sqlite3_bind_int64(stmt, 4, a->replicas);
	sqlite3_bind_int64(stmt, 5, a->created);
	if (run(s, stmt, "insert allocation"))
		return -1;
	a->id = (uint64_t)sqlite3_last_insert_rowid(s->db);

	stmt = prepare(s, "INSERT INTO replicas(" REPLICA_COLUMNS ", alloc_id)"
			  " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
	if (!stmt)
		return -1;
	for (uint64_t k = 0; k < n; k++) {
		sqlite3_reset(stmt);
		bind_replica(stmt, &a->reps[k]);
		sqlite3_bind_int64(stmt, 12, (sqlite3_int64)a->id);
		if (sqlite3_step(stmt) != SQLITE_DONE) {
			sq_fail(s, "insert replica");
			sqlite3_finalize(stmt);
			return -1;
		}
	}
	sqlite3_finalize(stmt);
	return 0;
}

static int sq_alloc_delete(struct storage *st, uint64_t id)
{
	struct storage_sqlite *s = to_sq(st);
	sqlite3_stmt *stmt = prepare(s, "DELETE FROM allocations WHERE id = ?1");

	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)id);
	if (run(s, stmt, "delete allocation"))
		return -1;
	if (sqlite3_changes(s->db) != 1) {
		snprintf(s->err, sizeof(s->err),
			 "delete allocation: no allocation %llu",
			 (unsigned long long)id);
		return -1;
	}
	/* replicas go with it: ON DELETE CASCADE */
	return 0;
}

static int sq_replica_update(struct storage *st, uint64_t id,
			     const struct storage_replica *r)
{
	struct storage_sqlite *s = to_sq(st);
	sqlite3_stmt *stmt = prepare(s,
		"UPDATE replicas SET donor_id = ?3, slab_id = ?4,"
		" instance_id = ?5, lost = ?6, generation = ?7, lost_at = ?8,"
		" replaced_at = ?9, resynced_at = ?10, resync_bytes = ?11"
		" WHERE slab_index = ?1 AND replica = ?2 AND alloc_id = ?12");

	if (!stmt)
		return -1;
	bind_replica(stmt, r);
	sqlite3_bind_int64(stmt, 12, (sqlite3_int64)id);
	if (run(s, stmt, "update replica"))
		return -1;
	if (sqlite3_changes(s->db) != 1) {
		snprintf(s->err, sizeof(s->err),
			 "update replica: allocation %llu has no slot %u/%u",
			 (unsigned long long)id, r->slab_index, r->replica);
		return -1;
	}
	return 0;
}

static int sq_replica_retire(struct storage *st, uint64_t id,
			     const struct storage_replica *r, int64_t at_ms,
			     const char *why)
{
	struct storage_sqlite *s = to_sq(st);
	sqlite3_stmt *stmt = prepare(s,
		"INSERT INTO replica_history(" REPLICA_COLUMNS ", alloc_id,"
		" retired_at, why) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
		" ?10, ?11, ?12, ?13, ?14)");

	if (!stmt)
		return -1;
	bind_replica(stmt, r);
	sqlite3_bind_int64(stmt, 12, (sqlite3_int64)id);
	sqlite3_bind_int64(stmt, 13, at_ms);
	sqlite3_bind_text(stmt, 14, why, -1, SQLITE_TRANSIENT);
	return run(s, stmt, "retire replica");
}

static int sq_counter_add(struct storage *st, const char *name, uint64_t delta)
{
	struct storage_sqlite *s = to_sq(st);
	sqlite3_stmt *stmt = prepare(s,
		"INSERT INTO counters(name, value) VALUES(?1, ?2)"
		" ON CONFLICT(name) DO UPDATE SET value = value + ?2");

	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)delta);
	return run(s, stmt, "update counter");
}

static int sq_load_counters(struct storage *st,
			    int (*cb)(void *arg, const char *name,
				      uint64_t value),
			    void *arg)
{
	struct storage_sqlite *s = to_sq(st);
	sqlite3_stmt *stmt = prepare(s, "SELECT name, value FROM counters");
	int rc, ret = 0;

	if (!stmt)
		return -1;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const unsigned char *name = sqlite3_column_text(stmt, 0);

		ret = cb(arg, name ? (const char *)name : "",
			 (uint64_t)sqlite3_column_int64(stmt, 1));
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = sq_fail(s, "load counters");
	sqlite3_finalize(stmt);
	return ret;
}

static int sq_event_add(struct storage *st, uint32_t donor_id,
			const char *kind, const char *message)
{
	struct storage_sqlite *s = to_sq(st);
	sqlite3_stmt *stmt = prepare(s,
		"INSERT INTO events(time, donor_id, kind, message)"
		" VALUES(?1, ?2, ?3, ?4)");

	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)time(NULL));
	sqlite3_bind_int64(stmt, 2, donor_id);
	sqlite3_bind_text(stmt, 3, kind, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 4, message, -1, SQLITE_TRANSIENT);
	return run(s, stmt, "insert event");
}

static void copy_text(char *dst, size_t size, const unsigned char *src)
{
	snprintf(dst, size, "%s", src ? (const char *)src : "");
}

static int sq_load_donors(struct storage *st,
			  int (*cb)(void *arg, const struct storage_donor *d),
			  void *arg)
{
	struct storage_sqlite *s = to_sq(st);
	sqlite3_stmt *stmt = prepare(s,
		"SELECT id, addr, instance_id, slab_size, total_slabs, zone,"
		" state, registered, down_since FROM donors ORDER BY id");
	int rc, ret = 0;

	if (!stmt)
		return -1;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct storage_donor d = { 0 };

		d.id = (uint32_t)sqlite3_column_int64(stmt, 0);
		copy_text(d.addr, sizeof(d.addr), sqlite3_column_text(stmt, 1));
		d.instance_id = (uint64_t)sqlite3_column_int64(stmt, 2);
		d.slab_size = (uint64_t)sqlite3_column_int64(stmt, 3);
		d.total_slabs = (uint32_t)sqlite3_column_int64(stmt, 4);
		copy_text(d.zone, sizeof(d.zone), sqlite3_column_text(stmt, 5));
		d.state = sqlite3_column_int(stmt, 6);
		d.registered = sqlite3_column_int64(stmt, 7);
		d.down_since_ms = sqlite3_column_int64(stmt, 8);
		ret = cb(arg, &d);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = sq_fail(s, "load donors");
	sqlite3_finalize(stmt);
	return ret;
}

static int sq_load_allocs(struct storage *st,
			  int (*cb)(void *arg, const struct storage_alloc *a),
			  void *arg)
{
	struct storage_sqlite *s = to_sq(st);
	sqlite3_stmt *stmt, *rstmt;
	struct storage_alloc a = { 0 };
	int rc, ret = 0;

	stmt = prepare(s, "SELECT id, client_id, bytes, nslabs, replicas,"
			  " created FROM allocations ORDER BY id");
	rstmt = prepare(s, "SELECT " REPLICA_COLUMNS
			   " FROM replicas WHERE alloc_id = ?1");
	if (!stmt || !rstmt) {
		sqlite3_finalize(stmt);
		sqlite3_finalize(rstmt);
		return -1;
	}
	while (!ret && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const void *blob = sqlite3_column_blob(stmt, 1);
		uint64_t n, got = 0;

		a.id = (uint64_t)sqlite3_column_int64(stmt, 0);
		if (!blob || sqlite3_column_bytes(stmt, 1) != 16) {
			snprintf(s->err, sizeof(s->err),
				 "allocation %llu: bad client id",
				 (unsigned long long)a.id);
			ret = -1;
			break;
		}
		memcpy(a.client_id, blob, 16);
		a.bytes = (uint64_t)sqlite3_column_int64(stmt, 2);
		a.nslabs = (uint32_t)sqlite3_column_int64(stmt, 3);
		a.replicas = (uint32_t)sqlite3_column_int64(stmt, 4);
		a.created = sqlite3_column_int64(stmt, 5);
		n = (uint64_t)a.nslabs * a.replicas;
		a.reps = calloc(n ? n : 1, sizeof(*a.reps));
		if (!a.reps) {
			snprintf(s->err, sizeof(s->err), "out of memory");
			ret = -1;
			break;
		}
		sqlite3_reset(rstmt);
		sqlite3_bind_int64(rstmt, 1, (sqlite3_int64)a.id);
		while ((rc = sqlite3_step(rstmt)) == SQLITE_ROW) {
			struct storage_replica r;
			uint64_t k;

			column_replica(rstmt, &r);
			k = (uint64_t)r.slab_index * a.replicas + r.replica;
			if (r.slab_index >= a.nslabs || r.replica >= a.replicas) {
				got = n + 1;	/* out of range: reported below */
				break;
			}
			a.reps[k] = r;
			got++;
		}
		if (got != n) {
			snprintf(s->err, sizeof(s->err),
				 "allocation %llu: %llu replicas stored, %llu expected",
				 (unsigned long long)a.id,
				 (unsigned long long)got, (unsigned long long)n);
			ret = -1;
		} else {
			ret = cb(arg, &a);
		}
		free(a.reps);
		a.reps = NULL;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = sq_fail(s, "load allocations");
	sqlite3_finalize(stmt);
	sqlite3_finalize(rstmt);
	return ret;
}

static int sq_list_events(struct storage *st, unsigned int limit,
			  int (*cb)(void *arg, const struct storage_event *e),
			  void *arg)
{
	struct storage_sqlite *s = to_sq(st);
	sqlite3_stmt *stmt = prepare(s,
		"SELECT id, time, donor_id, kind, message FROM"
		" (SELECT * FROM events ORDER BY id DESC LIMIT ?1) ORDER BY id");
	int rc, ret = 0;

	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, limit);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct storage_event e = { 0 };

		e.id = (uint64_t)sqlite3_column_int64(stmt, 0);
		e.time = sqlite3_column_int64(stmt, 1);
		e.donor_id = (uint32_t)sqlite3_column_int64(stmt, 2);
		copy_text(e.kind, sizeof(e.kind), sqlite3_column_text(stmt, 3));
		copy_text(e.message, sizeof(e.message),
			  sqlite3_column_text(stmt, 4));
		ret = cb(arg, &e);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = sq_fail(s, "list events");
	sqlite3_finalize(stmt);
	return ret;
}

static const char *sq_errmsg(struct storage *st)
{
	return to_sq(st)->err;
}

static void sq_close(struct storage *st)
{
	struct storage_sqlite *s = to_sq(st);

	if (!s)
		return;
	sqlite3_close(s->db);
	/* Only now: closing any fd of the DB file drops SQLite's locks. */
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s);
}

static const struct storage_ops sqlite_ops = {
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.donor_insert = sq_donor_insert,
	.donor_update = sq_donor_update,
	.donor_delete = sq_donor_delete,
	.donor_lose_replicas = sq_donor_lose_replicas,
	.alloc_insert = sq_alloc_insert,
	.alloc_delete = sq_alloc_delete,
	.replica_update = sq_replica_update,
	.replica_retire = sq_replica_retire,
	.counter_add = sq_counter_add,
	.event_add = sq_event_add,
	.load_donors = sq_load_donors,
	.load_allocs = sq_load_allocs,
	.load_counters = sq_load_counters,
	.list_events = sq_list_events,
	.errmsg = sq_errmsg,
	.close = sq_close,
};

/* Columns schema version 2 added to replicas (see storage_replica). */
#define REPLICA_V2_COLUMNS \
	"  generation INTEGER NOT NULL DEFAULT 1," \
	"  lost_at INTEGER NOT NULL DEFAULT 0," \
	"  replaced_at INTEGER NOT NULL DEFAULT 0," \
	"  resynced_at INTEGER NOT NULL DEFAULT 0," \
	"  resync_bytes INTEGER NOT NULL DEFAULT 0,"

/*
 * Version 1 to 2, before SCHEMA runs (it creates only missing tables).
 * A replica lost under version 1 has no loss time: 0, "unknown".
 */
static const char MIGRATE_1_2[] =
	"ALTER TABLE donors ADD COLUMN down_since INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE replicas ADD COLUMN generation INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE replicas ADD COLUMN lost_at INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE replicas ADD COLUMN replaced_at INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE replicas ADD COLUMN resynced_at INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE replicas ADD COLUMN resync_bytes INTEGER NOT NULL DEFAULT 0;"
	"PRAGMA user_version = 2;";

static const char SCHEMA[] =
	"CREATE TABLE IF NOT EXISTS donors("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  addr TEXT NOT NULL UNIQUE,"
	"  instance_id INTEGER NOT NULL,"
	"  slab_size INTEGER NOT NULL CHECK (slab_size > 0),"
	"  total_slabs INTEGER NOT NULL CHECK (total_slabs > 0),"
	"  zone TEXT NOT NULL,"
	"  state INTEGER NOT NULL,"
	"  registered INTEGER NOT NULL,"
	"  down_since INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS allocations("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  client_id BLOB NOT NULL,"
	"  bytes INTEGER NOT NULL,"
	"  nslabs INTEGER NOT NULL CHECK (nslabs > 0),"
	"  replicas INTEGER NOT NULL CHECK (replicas > 0),"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS replicas("
	"  alloc_id INTEGER NOT NULL REFERENCES allocations(id) ON DELETE CASCADE,"
	"  slab_index INTEGER NOT NULL,"
	"  replica INTEGER NOT NULL,"
	"  donor_id INTEGER NOT NULL,"
	"  slab_id INTEGER NOT NULL,"
	"  instance_id INTEGER NOT NULL,"
	"  lost INTEGER NOT NULL DEFAULT 0,"
	REPLICA_V2_COLUMNS
	"  PRIMARY KEY(alloc_id, slab_index, replica));"
	/* The database refuses to give a live slab twice. */
	"CREATE UNIQUE INDEX IF NOT EXISTS replicas_live"
	"  ON replicas(donor_id, slab_id) WHERE lost = 0;"
	"CREATE INDEX IF NOT EXISTS replicas_donor ON replicas(donor_id);"
	/* Slabs a slot used before its replacement: for audits only. */
	"CREATE TABLE IF NOT EXISTS replica_history("
	"  alloc_id INTEGER NOT NULL REFERENCES allocations(id) ON DELETE CASCADE,"
	"  slab_index INTEGER NOT NULL,"
	"  replica INTEGER NOT NULL,"
	"  donor_id INTEGER NOT NULL,"
	"  slab_id INTEGER NOT NULL,"
	"  instance_id INTEGER NOT NULL,"
	"  lost INTEGER NOT NULL,"
	REPLICA_V2_COLUMNS
	"  retired_at INTEGER NOT NULL,"
	"  why TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS counters("
	"  name TEXT PRIMARY KEY,"
	"  value INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS events("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  time INTEGER NOT NULL,"
	"  donor_id INTEGER NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  message TEXT NOT NULL);";

static int check_schema_version(struct storage_sqlite *s)
{
	sqlite3_stmt *stmt = prepare(s, "PRAGMA user_version");
	int v;

	if (!stmt)
		return -1;
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		sqlite3_finalize(stmt);
		return sq_fail(s, "read schema version");
	}
	v = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	if (v == 0)
		return exec(s, "PRAGMA user_version = 2");
	if (v == 1)
		return exec(s, MIGRATE_1_2);
	if (v != SCHEMA_VERSION) {
		snprintf(s->err, sizeof(s->err),
			 "database schema version %d, this controller knows %d",
			 v, SCHEMA_VERSION);
		return -1;
	}
	return 0;
}

struct storage *storage_sqlite_open(const char *path, char *err, size_t errlen)
{
	struct storage_sqlite *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->base.ops = &sqlite_ops;
	s->lock_fd = -1;
	if (sqlite3_open_v2(path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
			 s->db ? sqlite3_errmsg(s->db) : "cannot open");
		goto out_close;
	}
	/*
	 * Two controllers on one database would each think they own every
	 * slab.  flock() is separate from SQLite's fcntl() locks on Linux.
	 */
	s->lock_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->lock_fd < 0 || flock(s->lock_fd, LOCK_EX | LOCK_NB)) {
		snprintf(err, errlen, "%s: %s", path,
			 errno == EWOULDBLOCK ?
			 "in use by another rmem-controllerd" : strerror(errno));
		goto out_close;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if (exec(s, "PRAGMA journal_mode = WAL") ||
	    exec(s, "PRAGMA synchronous = FULL") ||
	    exec(s, "PRAGMA foreign_keys = ON") ||
	    exec(s, "BEGIN IMMEDIATE") ||
	    check_schema_version(s) || exec(s, SCHEMA) ||
	    exec(s, "COMMIT")) {
		snprintf(err, errlen, "%s: %s", path, s->err);
		goto out_close;
	}
	return &s->base;

out_close:
	sq_close(&s->base);
	return NULL;
}
