/*
 * audit.c - the audit log object: resume a log after checking its tail,
 * append records with group commit (the first waiting caller, or the
 * committer thread for records whose callers do not wait, becomes the
 * leader, writes everything queued and fdatasyncs once for all of them),
 * sign checkpoints, rotate segments, and fail closed - refuse every append
 * while the log cannot be written, then resume without a sequence gap.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "coffer/err.h"
#include "coffer/secfile.h"
#include "audit_int.h"

#define SEG_MAX_DEFAULT (64u * 1024 * 1024)
#define SEG_MAX_MIN 1024
#define CP_EVERY_N_DEFAULT 4096
#define CP_EVERY_MS_DEFAULT 1000
/* Preallocated past the data so "audit unavailable" fits on a full disk. */
#define RESERVE_BYTES 4096
#define PREALLOC_CHUNK (1024 * 1024)
#define KEYS_LEN (64 + 32)  /* signing key, then hash key */
#define KEYS_GEN_LIMIT 65536 /* earlier keys accepted at open */

struct wbuf {
	unsigned char *p;
	size_t len, cap;
};

/* Callbacks of queued audit_append_async records, in queue order. */
struct done_list {
	struct audit_done { audit_done_fn fn; void *arg; } *v;
	size_t n, cap;
};

struct audit_log {
	pthread_mutex_t mu;
	pthread_cond_t cv;       /* a batch finished or the fault changed */
	pthread_cond_t tick_cv;  /* wakes the committer thread */
	pthread_t ticker;
	int ticker_started, stopping;
	int ticker_idle;         /* the committer sleeps: signal tick_cv */
	size_t last_batch;       /* answers waiting on the last batch */
	struct timespec gather_end; /* sync the pending answers by then */

	char dir[PATH_MAX];
	char origin[CKPT_NAME_MAX + 1];
	size_t seg_max;
	unsigned cp_every_n, cp_every_ms;
	unsigned char *keys;     /* sodium_malloc'd, KEYS_LEN */
	unsigned char pk[32];
	unsigned char (*cand)[32]; /* every key of this log, oldest first */
	size_t ncand;

	/* The open segment; only the leader (syncing set) touches these. */
	int fd;
	char seg_path[PATH_MAX];
	dev_t dev;
	ino_t ino;
	off_t off;               /* end of durable data */
	off_t alloc_end;         /* zero-filled up to here (zero_fill) */

	struct av_state tip;     /* after every record queued */
	struct av_state durable; /* after the last synced batch */
	struct wbuf pend, spare;
	struct done_list pend_done, spare_done; /* async records in pend */
	int syncing;             /* a leader is writing, mutex dropped */
	uint64_t epoch;          /* bumped when queued records are dropped */

	uint64_t cp_size;
	uint64_t cp_mono_ms;
	char cp_text[CKPT_MAX + 1];

	int faulted;
	char fault[128];
	uint64_t fault_since_us;
	uint64_t refused_in_fault;
	uint64_t syncs, refused;

	unsigned fail_writes;    /* test injection, see audit.h */
	uint64_t fail_after;
	unsigned fail_times;
	int fail_armed;
};

static int write_vkey(struct audit_log *l);

/* ---- small helpers ----------------------------------------------------- */

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * Group commit for answers that wait on their record (audit_append_async):
 * while the last batch had more than one, the committer lets the next one
 * fill until GATHER_US after the last sync ended, or until GATHER_FULL are
 * pending.  A sync costs this VM about as much CPU as ten audited reads
 * (the block layer's kick is a VM exit); at 64 clients this took batches
 * from 7 to about 30 records and daemon CPU per read down 10-20%.  A
 * session alone never waits (docs/performance.md §6).
 */
#define GATHER_US   500
#define GATHER_FULL 64

static void
gather_deadline(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_nsec += GATHER_US * 1000L;
	ts->tv_sec += ts->tv_nsec / 1000000000L;
	ts->tv_nsec %= 1000000000L;
}

static int
gathering(const struct audit_log *l)
{
	struct timespec now;

	if (l->last_batch < 2 || l->pend_done.n >= GATHER_FULL || l->stopping)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec < l->gather_end.tv_sec ||
	    (now.tv_sec == l->gather_end.tv_sec &&
	    now.tv_nsec < l->gather_end.tv_nsec);
}

static const unsigned char *
sign_sk(const struct audit_log *l)
{
	return l->keys;
}

static const unsigned char *
hash_key(const struct audit_log *l)
{
	return l->keys + 64;
}

/* snprintf for messages that may be cut (why buffers are small). */
__attribute__((format(printf, 3, 4)))
static void
say(char *buf, size_t sz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sz, fmt, ap);
	va_end(ap);
}

static int
wbuf_reserve(struct wbuf *b, size_t n)
{
	unsigned char *np;
	size_t cap;

	if (b->len + n <= b->cap)
		return COFFER_OK;
	cap = b->cap ? b->cap : 16384;
	while (cap < b->len + n)
		cap *= 2;
	if ((np = realloc(b->p, cap)) == NULL)
		return COFFER_ERR_NOMEM;
	b->p = np;
	b->cap = cap;
	return COFFER_OK;
}

static int
path_join(char *out, size_t sz, const char *dir, const char *name)
{
	int n = snprintf(out, sz, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= sz ? COFFER_ERR_INVALID : COFFER_OK;
}

static int
pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	const unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = pwrite(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return errno ? errno : EIO;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int
fsync_dir(const char *dir)
{
	int fd, r;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return errno;
	r = fsync(fd) == 0 ? 0 : errno;
	close(fd);
	return r;
}

/* ---- records and checkpoints into a buffer (mutex held) ---------------- */

/* Queue one prepared record at the tip; its seq goes to *seq. */
static int
queue_record(struct wbuf *b, struct av_state *st,
    const struct arec_pre *pre, uint64_t *seq)
{
	uint64_t ts = now_us();
	unsigned char leaf[32], *rec;
	size_t rlen;
	int rc;

	if (ts < st->last_ts)	/* a clock step back must not show as one */
		ts = st->last_ts;
	rlen = arec_size(pre, st->size, ts);
	if ((rc = wbuf_reserve(b, FRAME_HDR + rlen)) != COFFER_OK)
		return rc;
	frame_header(b->p + b->len, FRAME_RECORD, rlen);
	rec = b->p + b->len + FRAME_HDR;
	arec_assemble(pre, st->size, ts, st->last, rec);
	merkle_leaf(rec, rlen, leaf);
	merkle_cr_push(&st->cr, leaf);
	memcpy(st->last, leaf, 32);
	st->last_ts = ts;
	*seq = st->size++;
	b->len += FRAME_HDR + rlen;
	return COFFER_OK;
}

/* Sign a checkpoint of st and append it as a frame; text gets the note. */
static int
queue_checkpoint(struct audit_log *l, struct wbuf *b,
    const struct av_state *st, char *text, size_t *tlen)
{
	struct ckpt c;
	int rc;

	memcpy(c.origin, l->origin, sizeof(c.origin));
	c.size = st->size;
	merkle_cr_root(&st->cr, c.root);
	if ((rc = ckpt_sign(&c, sign_sk(l), l->pk, text, CKPT_MAX + 1,
	    tlen)) != COFFER_OK ||
	    (rc = wbuf_reserve(b, FRAME_HDR + *tlen)) != COFFER_OK)
		return rc;
	frame_header(b->p + b->len, FRAME_CHECKPOINT, *tlen);
	memcpy(b->p + b->len + FRAME_HDR, text, *tlen);
	b->len += FRAME_HDR + *tlen;
	return COFFER_OK;
}

static void
save_checkpoint_file(struct audit_log *l, const char *text, size_t len)
{
	char path[PATH_MAX];

	/* A convenience copy: the frames in the segments are authoritative. */
	if (path_join(path, sizeof(path), l->dir, AUDIT_CHECKPOINT_FILE) ==
	    COFFER_OK)
		(void)file_write_atomic(path, text, len, 0644);
}

/* ---- the segment file (leader only) ------------------------------------ */

/* Which file a path or descriptor names, and whether it is still linked. */
struct file_id {
	dev_t dev;
	ino_t ino;
	nlink_t nlink;
};

/*
 * Only the identity is asked for, never the times: on Linux 6.13 and later
 * a query of a file's times makes its next write stamp a fine-grained
 * time, so every fdatasync would also write the inode block (a third
 * device round trip per batch, docs/performance.md §6 "Session 6").  A
 * sandbox that refuses statx (EPERM) or a kernel without it gets stat.
 */
static int
identity_of(int dirfd, const char *path, int flags, struct file_id *id)
{
	struct statx sx;
	struct stat sb;

	if (statx(dirfd, path, flags, STATX_INO | STATX_NLINK, &sx) == 0) {
		id->dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
		id->ino = (ino_t)sx.stx_ino;
		id->nlink = (nlink_t)sx.stx_nlink;
		return 0;
	}
	if (errno != ENOSYS && errno != EPERM)
		return -1;
	if (fstatat(dirfd, path, &sb, flags) != 0)
		return -1;
	id->dev = sb.st_dev;
	id->ino = sb.st_ino;
	id->nlink = sb.st_nlink;
	return 0;
}

/* Is seg_path still the file we hold open?  0 or an errno-like code. */
static int
check_identity(struct audit_log *l, char *why, size_t whysz)
{
	struct file_id a, b;

	if (l->fd < 0) {
		say(why, whysz, "no open segment");
		return EBADF;
	}
	if (identity_of(l->fd, "", AT_EMPTY_PATH, &a) != 0 ||
	    identity_of(AT_FDCWD, l->seg_path, 0, &b) != 0 || a.nlink == 0) {
		say(why, whysz, "%s was deleted", l->seg_path);
		return ENOENT;
	}
	if (a.dev != b.dev || a.ino != b.ino) {
		say(why, whysz, "%s was replaced by another file",
		    l->seg_path);
		return ESTALE;
	}
	return 0;
}

/*
 * Past the data, the open segment holds zero bytes written ahead of the
 * appends (PREALLOC_CHUNK at a time): a sync then writes data into blocks
 * the file already has, without changing its size or extents, so an
 * fdatasync writes no inode update unless the modification time moved to
 * a new clock tick (2.4x faster here, measured in docs/performance.md).  Readers stop at the zeros (FR_PAD).  RESERVE_BYTES
 * of them always remain, so "audit.unavailable" fits on a full disk.
 */
static int
zero_fill(struct audit_log *l, off_t end)
{
	static const unsigned char zeros[64 * 1024];
	size_t n;
	int e;

	while (l->alloc_end < end) {
		n = end - l->alloc_end > (off_t)sizeof(zeros) ? sizeof(zeros) :
		    (size_t)(end - l->alloc_end);
		if ((e = pwrite_all(l->fd, zeros, n, l->alloc_end)) != 0)
			return e;
		l->alloc_end += (off_t)n;
	}
	return 0;
}

static int
ensure_space(struct audit_log *l, size_t need)
{
	off_t want = l->off + (off_t)need + RESERVE_BYTES;

	if (want <= l->alloc_end)
		return 0;
	if (zero_fill(l, want + PREALLOC_CHUNK) == 0)
		return 0;
	/* Less may still fit: give back what went past it first. */
	if (l->alloc_end > want && ftruncate(l->fd, want) == 0)
		l->alloc_end = want;
	return zero_fill(l, want);
}

/*
 * Write and fdatasync at the end of the durable data.  use_reserve: the
 * "audit unavailable" record, which may use the preallocated reserve and
 * ignores injected faults.  0 or an errno value, why says what failed.
 */
/*
 * A failed batch may have left part of its bytes: zero them again (blocks
 * the file already has, so this works on a full disk too) and cut what
 * went past the zeros.  If even that fails, cut the file at the data;
 * recovery retries the cut.
 */
static void
undo_write(struct audit_log *l, size_t len)
{
	static const unsigned char zeros[4096];
	off_t at = l->off, end = l->off + (off_t)len;
	size_t n;

	if (end > l->alloc_end)
		end = l->alloc_end;
	if (ftruncate(l->fd, l->alloc_end) != 0)
		goto cut;
	for (; at < end; at += (off_t)n) {
		n = end - at > (off_t)sizeof(zeros) ? sizeof(zeros) :
		    (size_t)(end - at);
		if (pwrite_all(l->fd, zeros, n, at) != 0)
			goto cut;
	}
	return;
cut:
	if (ftruncate(l->fd, l->off) == 0)
		l->alloc_end = l->off;
}

static int
write_durable(struct audit_log *l, const struct wbuf *b, int use_reserve,
    int inject, char *why, size_t whysz)
{
	const char *name = strrchr(l->seg_path, '/');
	int e;

	name = name != NULL ? name + 1 : l->seg_path;
	if ((e = check_identity(l, why, whysz)) != 0)
		return e;
	if (inject) {
		say(why, whysz, "write to %s: %s (injected)", name,
		    strerror(ENOSPC));
		return ENOSPC;
	}
	if (!use_reserve && (e = ensure_space(l, b->len)) != 0) {
		say(why, whysz, "no space for %s: %s", name, strerror(e));
		return e;
	}
	if ((e = pwrite_all(l->fd, b->p, b->len, l->off)) != 0 ||
	    (fdatasync(l->fd) != 0 && (e = errno) != 0)) {
		say(why, whysz, "write to %s: %s", name, strerror(e));
		undo_write(l, b->len);
		return e;
	}
	l->off += (off_t)b->len;
	return 0;
}

static void
adopt_fd(struct audit_log *l, int fd, const char *path, off_t off)
{
	struct stat sb;

	if (l->fd >= 0)
		close(l->fd);
	l->fd = fd;
	if (path != l->seg_path)
		snprintf(l->seg_path, sizeof(l->seg_path), "%s", path);
	if (fstat(fd, &sb) == 0) {
		l->dev = sb.st_dev;
		l->ino = sb.st_ino;
	}
	l->off = off;
	l->alloc_end = off;
}

/* Start a segment whose first record is st->size; written then renamed. */
static int
segment_create(struct audit_log *l, const struct av_state *st, char *why,
    size_t whysz)
{
	unsigned char hdr[SEG_HDR_MAX];
	struct seg_header h;
	char name[SEG_NAME_LEN], path[PATH_MAX], tmp[PATH_MAX];
	size_t hlen;
	int fd = -1, e = 0;

	seg_name(name, st->size);
	if (path_join(path, sizeof(path), l->dir, name) != COFFER_OK ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.new", l->dir, name) >=
	    (int)sizeof(tmp)) {
		say(why, whysz, "audit directory path too long");
		return ENAMETOOLONG;
	}
	h.first = st->size;
	h.last_ts = st->last_ts;
	memcpy(h.prev, st->last, 32);
	h.cr = st->cr;
	hlen = seg_header_encode(&h, hdr);
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0640);
	if (fd < 0 || (e = pwrite_all(fd, hdr, hlen, 0)) != 0 ||
	    fdatasync(fd) != 0 ||
	    renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) != 0 ||
	    (e = fsync_dir(l->dir)) != 0) {
		e = e ? e : errno;
		say(why, whysz, "cannot create %s: %s", name, strerror(e));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return e ? e : EIO;
	}
	adopt_fd(l, fd, path, (off_t)hlen);
	return 0;
}

/* Seal the open segment (it ends with a checkpoint) and start the next. */
static int
rotate(struct audit_log *l, char *why, size_t whysz)
{
	struct wbuf b = { NULL, 0, 0 };
	char text[CKPT_MAX + 1];
	size_t tlen = 0;
	int e = 0, signed_now = 0;

	if (l->cp_size != l->durable.size) {
		if (queue_checkpoint(l, &b, &l->durable, text, &tlen) !=
		    COFFER_OK) {
			free(b.p);
			say(why, whysz, "cannot sign a checkpoint");
			return EIO;
		}
		e = write_durable(l, &b, 0, 0, why, whysz);
		free(b.p);
		if (e != 0)
			return e;
		signed_now = 1;
	}
	if (signed_now) {
		pthread_mutex_lock(&l->mu);
		l->cp_size = l->durable.size;
		l->cp_mono_ms = mono_ms();
		memcpy(l->cp_text, text, tlen);
		l->cp_text[tlen] = '\0';
		pthread_mutex_unlock(&l->mu);
		save_checkpoint_file(l, text, tlen);
	}
	/*
	 * Sealed: never written again.  Its zero padding goes, durably, before
	 * a newer segment exists: only the newest segment may end in zeros.
	 */
	if (ftruncate(l->fd, l->off) != 0 || fdatasync(l->fd) != 0) {
		e = errno;
		say(why, whysz, "cannot seal %s: %s", l->seg_path, strerror(e));
		return e ? e : EIO;
	}
	if (fchmod(l->fd, 0440) != 0)
		(void)0;
	close(l->fd);
	l->fd = -1;
	return segment_create(l, &l->durable, why, whysz);
}

/* ---- callbacks of records whose callers do not wait --------------------- */

static int
done_reserve(struct done_list *d)
{
	struct audit_done *v;
	size_t cap;

	if (d->n < d->cap)
		return COFFER_OK;
	cap = d->cap ? d->cap * 2 : 64;
	if ((v = realloc(d->v, cap * sizeof(*v))) == NULL)
		return COFFER_ERR_NOMEM;
	d->v = v;
	d->cap = cap;
	return COFFER_OK;
}

static void
done_run(const struct done_list *d, int status)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		d->v[i].fn(d->v[i].arg, status);
}

/* ---- faults ------------------------------------------------------------ */

static void
set_fault(struct audit_log *l, const char *why)
{
	if (!l->faulted) {
		l->faulted = 1;
		l->fault_since_us = now_us();
		l->refused_in_fault = 0;
	}
	say(l->fault, sizeof(l->fault), "%s", why);
	/* Everything queued was built on the failed batch: drop it. */
	l->epoch++;
	l->tip = l->durable;
	l->pend.len = 0;
	/* Their callers do not wait: tell them here (lock held, see audit.h). */
	done_run(&l->pend_done, COFFER_ERR_AUDIT);
	l->refused += l->pend_done.n;
	l->pend_done.n = 0;
}

/*
 * Record the fault itself, in the reserve, so the log says when it went
 * dark.  Mutex held, syncing set; drops the mutex for the write.
 */
static void
note_unavailable(struct audit_log *l)
{
	struct audit_event e = {
		.op = "audit.unavailable", .decision = AUDIT_ERROR,
		.reason = l->fault, .status = COFFER_ERR_AUDIT
	};
	struct arec_pre pre;
	struct av_state *st = NULL;
	struct wbuf b = { NULL, 0, 0 };
	char why[160];
	uint64_t seq;
	int ok = 0;

	if ((st = malloc(sizeof(*st))) == NULL ||
	    arec_prepare(&e, hash_key(l), NULL, &pre) != COFFER_OK)
		goto out;
	*st = l->tip;
	if (queue_record(&b, st, &pre, &seq) == COFFER_OK) {
		/* into the reserve: the failed batch's bytes are zeros again */
		pthread_mutex_unlock(&l->mu);
		ok = write_durable(l, &b, 1, 0, why, sizeof(why)) == 0;
		pthread_mutex_lock(&l->mu);
	}
	arec_pre_free(&pre);
	if (ok) {
		l->durable = *st;
		l->tip = *st;
		l->syncs++;
	}
out:
	free(b.p);
	free(st);
}

/* Copy the first len bytes of fd into a new file at path (deleted seg). */
static int
restore_segment(struct audit_log *l, char *why, size_t whysz)
{
	char tmp[PATH_MAX];
	unsigned char buf[65536];
	off_t at = 0;
	ssize_t n;
	int fd = -1, e = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.restore", l->seg_path) >=
	    (int)sizeof(tmp))
		return ENAMETOOLONG;
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0640);
	if (fd < 0)
		e = errno;
	while (e == 0 && at < l->off) {
		n = pread(l->fd, buf, (size_t)(l->off - at) < sizeof(buf) ?
		    (size_t)(l->off - at) : sizeof(buf), at);
		if (n <= 0) {
			e = n < 0 ? errno : EIO;
			break;
		}
		e = pwrite_all(fd, buf, (size_t)n, at);
		at += n;
	}
	if (e == 0 && (fdatasync(fd) != 0 || renameat2(AT_FDCWD, tmp,
	    AT_FDCWD, l->seg_path, RENAME_NOREPLACE) != 0))
		e = errno;
	if (e == 0)
		e = fsync_dir(l->dir);
	if (e != 0) {
		say(why, whysz, "cannot restore %s: %s", l->seg_path,
		    strerror(e));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return e;
	}
	adopt_fd(l, fd, l->seg_path, at);
	return 0;
}

/*
 * A replacement is accepted only if it starts with exactly our durable
 * bytes (the file was put back from a copy); anything else stays a fault.
 */
static int
adopt_replacement(struct audit_log *l, char *why, size_t whysz)
{
	unsigned char a[16384], b[16384];
	struct stat sb;
	off_t at = 0;
	size_t n;
	int fd;

	fd = open(l->seg_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size < l->off)
		goto bad;
	while (at < l->off) {
		n = (size_t)(l->off - at) < sizeof(a) ?
		    (size_t)(l->off - at) : sizeof(a);
		if (pread(fd, a, n, at) != (ssize_t)n ||
		    pread(l->fd, b, n, at) != (ssize_t)n ||
		    memcmp(a, b, n) != 0)
			goto bad;
		at += (off_t)n;
	}
	adopt_fd(l, fd, l->seg_path, at);
	return 0;
bad:
	if (fd >= 0)
		close(fd);
	say(why, whysz, "%s was replaced by a file that is not this "
	    "log", l->seg_path);
	return ESTALE;
}

/* Can the log be written again?  Leader only; 0 or an errno value. */
static int
recover_io(struct audit_log *l, int inject, char *why, size_t whysz)
{
	int e;

	if (inject) {
		say(why, whysz, "write: %s (injected)", strerror(ENOSPC));
		return ENOSPC;
	}
	if (l->fd < 0)
		return segment_create(l, &l->durable, why, whysz);
	e = check_identity(l, why, whysz);
	if (e == ENOENT && access(l->seg_path, F_OK) != 0)
		e = restore_segment(l, why, whysz);
	else if (e != 0)
		e = adopt_replacement(l, why, whysz);
	if (e != 0)
		return e;
	if (ftruncate(l->fd, l->off) != 0) {
		e = errno;
		say(why, whysz, "cannot cut %s: %s", l->seg_path,
		    strerror(e));
		return e;
	}
	l->alloc_end = l->off;
	if ((e = ensure_space(l, 0)) != 0)
		say(why, whysz, "still no space for the audit log: %s",
		    strerror(e));
	return e;
}

/* Mutex held.  Is an injected failure due for this write? */
static int
take_injection(struct audit_log *l)
{
	if (l->fail_armed && l->durable.size >= l->fail_after) {
		l->fail_writes = l->fail_times;
		l->fail_armed = 0;
	}
	if (l->fail_writes == 0)
		return 0;
	l->fail_writes--;
	return 1;
}

/*
 * Faulted, mutex held: try to clear the fault (one thread at a time) and
 * queue the "audit.recovered" record that states the outage.
 */
static void
try_recover(struct audit_log *l)
{
	struct audit_event e = {
		.op = "audit.recovered", .decision = AUDIT_ALLOWED
	};
	struct arec_pre pre;
	char why[160], was[sizeof(l->fault)];
	uint64_t down[2], seq;
	int inject, err;

	while (l->syncing)
		pthread_cond_wait(&l->cv, &l->mu);
	if (!l->faulted)
		return;
	inject = take_injection(l);
	l->syncing = 1;
	pthread_mutex_unlock(&l->mu);
	err = recover_io(l, inject, why, sizeof(why));
	pthread_mutex_lock(&l->mu);
	l->syncing = 0;
	pthread_cond_broadcast(&l->cv);
	if (err != 0) {
		say(l->fault, sizeof(l->fault), "%s", why);
		return;
	}
	memcpy(was, l->fault, sizeof(was));
	down[0] = l->fault_since_us;
	down[1] = now_us();
	e.reason = was;
	e.count = l->refused_in_fault;
	if (arec_prepare(&e, hash_key(l), down, &pre) != COFFER_OK)
		return;	/* stays faulted; the next append tries again */
	if (queue_record(&l->pend, &l->tip, &pre, &seq) == COFFER_OK) {
		l->faulted = 0;
		l->fault[0] = '\0';
	}
	arec_pre_free(&pre);
}

/* ---- group commit ------------------------------------------------------ */

static int
checkpoint_due(const struct audit_log *l, const struct av_state *bs,
    int force)
{
	if (bs->size <= l->cp_size)
		return 0;
	return force || bs->size - l->cp_size >= l->cp_every_n ||
	    mono_ms() - l->cp_mono_ms >= l->cp_every_ms;
}

/*
 * Mutex held, no leader: become the leader, write everything queued (and
 * a checkpoint when one is due) with one fdatasync, publish the result.
 * Returns with the mutex held.
 */
static void
lead(struct audit_log *l, int force_cp)
{
	struct wbuf w = l->pend;
	struct done_list batch = l->pend_done;
	struct av_state *bs = NULL;
	char text[CKPT_MAX + 1], why[160];
	size_t tlen = 0;
	int cp, inject, e = 0;

	if ((bs = malloc(sizeof(*bs))) == NULL) {
		set_fault(l, "out of memory");
		pthread_cond_broadcast(&l->cv);
		return;
	}
	*bs = l->tip;
	l->pend = l->spare;
	l->pend.len = 0;
	l->spare = (struct wbuf){ NULL, 0, 0 };
	l->pend_done = l->spare_done;
	l->pend_done.n = 0;
	l->spare_done = (struct done_list){ NULL, 0, 0 };
	cp = checkpoint_due(l, bs, force_cp);
	inject = w.len > 0 && take_injection(l);
	l->syncing = 1;
	pthread_mutex_unlock(&l->mu);

	if (w.len > 0 && l->off >= (off_t)l->seg_max)
		e = rotate(l, why, sizeof(why));
	if (e == 0 && cp && queue_checkpoint(l, &w, bs, text, &tlen) !=
	    COFFER_OK) {
		snprintf(why, sizeof(why), "cannot sign a checkpoint");
		e = EIO;
	}
	if (e == 0 && w.len > 0)
		e = write_durable(l, &w, 0, inject, why, sizeof(why));
	if (e == 0 && cp)
		save_checkpoint_file(l, text, tlen);

	pthread_mutex_lock(&l->mu);
	if (e == 0) {
		l->durable = *bs;
		l->syncs += w.len > 0;
		if (cp) {
			l->cp_size = bs->size;
			l->cp_mono_ms = mono_ms();
			memcpy(l->cp_text, text, tlen);
			l->cp_text[tlen] = '\0';
		}
	} else {
		set_fault(l, why);
		note_unavailable(l);
	}
	w.len = 0;
	if (l->spare.p == NULL)
		l->spare = w;
	else
		free(w.p);
	free(bs);
	l->syncing = 0;
	pthread_cond_broadcast(&l->cv);
	/*
	 * The batch's callers that do not wait learn its fate here, outside
	 * the lock, so the next batch can start meanwhile.
	 */
	l->last_batch = batch.n;
	if (batch.n > 0) {
		if (e != 0)
			l->refused += batch.n;
		pthread_mutex_unlock(&l->mu);
		done_run(&batch, e == 0 ? COFFER_OK : COFFER_ERR_AUDIT);
		pthread_mutex_lock(&l->mu);
	}
	batch.n = 0;
	if (l->spare_done.v == NULL)
		l->spare_done = batch;
	else
		free(batch.v);
}

/*
 * Mutex held: may a record be queued now?  While the log is faulted the
 * caller first tries to clear the fault; a refusal is counted.
 */
static int
admit(struct audit_log *l)
{
	if (l->faulted)
		try_recover(l);
	if (!l->faulted)
		return COFFER_OK;
	l->refused++;
	l->refused_in_fault++;
	return COFFER_ERR_AUDIT;
}

int
audit_append(struct audit_log *l, const struct audit_event *e, uint64_t *seq)
{
	struct arec_pre pre;
	uint64_t my, epoch;
	int rc;

	if ((rc = arec_prepare(e, hash_key(l), NULL, &pre)) != COFFER_OK)
		return rc;
	pthread_mutex_lock(&l->mu);
	if ((rc = admit(l)) != COFFER_OK ||
	    (rc = queue_record(&l->pend, &l->tip, &pre, &my)) != COFFER_OK)
		goto out;
	epoch = l->epoch;
	for (;;) {
		if (l->epoch != epoch) {
			rc = COFFER_ERR_AUDIT;
			goto refused;
		}
		if (l->durable.size > my)
			break;
		if (!l->syncing)
			lead(l, 0);
		else
			pthread_cond_wait(&l->cv, &l->mu);
	}
	if (seq != NULL)
		*seq = my;
	goto out;
refused:
	l->refused++;
	l->refused_in_fault++;
out:
	pthread_mutex_unlock(&l->mu);
	arec_pre_free(&pre);
	return rc;
}

int
audit_append_async(struct audit_log *l, const struct audit_event *e,
    audit_done_fn done, void *arg)
{
	struct arec_pre pre;
	uint64_t my;
	int rc;

	if (done == NULL)
		return COFFER_ERR_USAGE;
	if ((rc = arec_prepare(e, hash_key(l), NULL, &pre)) != COFFER_OK)
		return rc;
	pthread_mutex_lock(&l->mu);
	if ((rc = admit(l)) != COFFER_OK ||
	    (rc = done_reserve(&l->pend_done)) != COFFER_OK ||
	    (rc = queue_record(&l->pend, &l->tip, &pre, &my)) != COFFER_OK)
		goto out;
	l->pend_done.v[l->pend_done.n++] = (struct audit_done){ done, arg };
	/* A busy committer finds the record when its batch is done; one
	 * gathering a batch is woken only once the batch is full. */
	if (l->ticker_idle &&
	    (l->pend_done.n == 1 || l->pend_done.n == GATHER_FULL))
		pthread_cond_signal(&l->tick_cv);
out:
	pthread_mutex_unlock(&l->mu);
	arec_pre_free(&pre);
	return rc;
}

int
audit_checkpoint_now(struct audit_log *l)
{
	int rc = COFFER_OK;

	pthread_mutex_lock(&l->mu);
	while (l->syncing)
		pthread_cond_wait(&l->cv, &l->mu);
	if (!l->faulted && (l->pend.len > 0 || l->durable.size > l->cp_size))
		lead(l, 1);
	if (l->faulted)
		rc = COFFER_ERR_AUDIT;
	pthread_mutex_unlock(&l->mu);
	return rc;
}

/* Mutex held, no leader: make everything queued durable, checkpointed. */
static int
flush_signed(struct audit_log *l, uint64_t my)
{
	uint64_t epoch = l->epoch;

	while (!l->faulted && l->epoch == epoch && l->durable.size <= my) {
		if (!l->syncing)
			lead(l, 1);
		else
			pthread_cond_wait(&l->cv, &l->mu);
	}
	while (l->syncing)
		pthread_cond_wait(&l->cv, &l->mu);
	if (!l->faulted && l->durable.size > l->cp_size)
		lead(l, 1);
	return l->faulted || l->epoch != epoch ? COFFER_ERR_AUDIT : COFFER_OK;
}

/* The new key joins the list the log accepts as its own. */
static int
cand_add(struct audit_log *l, const unsigned char pk[32])
{
	unsigned char (*nc)[32];

	if ((nc = realloc(l->cand, (l->ncand + 1) * sizeof(*nc))) == NULL)
		return COFFER_ERR_NOMEM;
	memcpy(nc[l->ncand], pk, 32);
	l->cand = nc;
	l->ncand++;
	return COFFER_OK;
}

/*
 * The announcement is signed for the exact position it will take (seq and
 * the previous record's hash are fixed while the mutex is held and no
 * leader runs), and the key is switched before anything is written, so
 * no checkpoint that covers the announcement is signed by the old key.
 */
int
audit_rotate_key(struct audit_log *l, const struct audit_event *e,
    const unsigned char new_sk[64], uint64_t *seq)
{
	unsigned char msg[AUDIT_ROTATE_MSG_MAX], sig[64], npk[32];
	struct audit_event ev;
	struct arec_pre pre;
	uint64_t my = 0;
	size_t mlen;
	int rc;

	if (l == NULL || e == NULL || new_sk == NULL)
		return COFFER_ERR_INVALID;
	memset(&pre, 0, sizeof(pre));
	crypto_sign_ed25519_sk_to_pk(npk, new_sk);
	pthread_mutex_lock(&l->mu);
	while (l->syncing)
		pthread_cond_wait(&l->cv, &l->mu);
	if (l->faulted)
		try_recover(l);
	rc = COFFER_ERR_AUDIT;
	if (l->faulted || (rc = cand_add(l, npk)) != COFFER_OK)
		goto out;
	mlen = audit_rotate_msg(l->origin, l->tip.size, l->tip.last, npk, msg);
	crypto_sign_detached(sig, NULL, msg, mlen, sign_sk(l));
	ev = *e;
	ev.new_key = npk;
	ev.new_key_sig = sig;
	if ((rc = arec_prepare(&ev, hash_key(l), NULL, &pre)) != COFFER_OK ||
	    (rc = queue_record(&l->pend, &l->tip, &pre, &my)) != COFFER_OK)
		goto out;
	memcpy(l->keys, new_sk, 64);	/* the old secret is gone from here */
	memcpy(l->pk, npk, 32);
	rc = flush_signed(l, my);
	if (rc == COFFER_OK && seq != NULL)
		*seq = my;
out:
	pthread_mutex_unlock(&l->mu);
	arec_pre_free(&pre);
	if (rc == COFFER_OK && write_vkey(l) != COFFER_OK)
		rc = COFFER_ERR_IO;
	return rc;
}

/*
 * The committer: leads a batch whenever records of callers that do not
 * wait are queued and nobody else is syncing, and signs a checkpoint once
 * records have waited checkpoint_every_ms.  At stop it leaves nothing
 * queued behind.
 */
static void *
ticker(void *arg)
{
	struct audit_log *l = arg;
	unsigned period = l->cp_every_ms / 4 ? l->cp_every_ms / 4 : 1;
	struct timespec ts;

	pthread_mutex_lock(&l->mu);
	for (;;) {
		if (!l->faulted && !l->syncing && l->pend_done.n > 0 &&
		    gathering(l)) {
			l->ticker_idle = 1;
			pthread_cond_timedwait(&l->tick_cv, &l->mu,
			    &l->gather_end);
			l->ticker_idle = 0;
			continue;
		}
		if (!l->faulted && !l->syncing && l->pend_done.n > 0) {
			lead(l, 0);
			gather_deadline(&l->gather_end);
			continue;
		}
		if (l->stopping && (l->pend_done.n == 0 || l->faulted))
			break;
		if (!l->faulted && !l->syncing && l->pend.len == 0 &&
		    l->durable.size > l->cp_size &&
		    mono_ms() - l->cp_mono_ms >= l->cp_every_ms) {
			lead(l, 1);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += (long)(period % 1000) * 1000000L;
		ts.tv_sec += period / 1000 + ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		l->ticker_idle = 1;
		if (l->syncing)	/* a waiting caller leads; lead() signals */
			pthread_cond_wait(&l->cv, &l->mu);
		else
			pthread_cond_timedwait(&l->tick_cv, &l->mu, &ts);
		l->ticker_idle = 0;
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

/* ---- open -------------------------------------------------------------- */

/* A brand-new log: segment 0 and a signed checkpoint of the empty tree. */
static int
new_log(struct audit_log *l, struct coffer_errdetail *d)
{
	struct wbuf b = { NULL, 0, 0 };
	char why[160], text[CKPT_MAX + 1];
	size_t tlen;
	int e;

	if (mkdir(l->dir, 0700) != 0 && errno != EEXIST)
		return coffer_detail(d, COFFER_ERR_AUDIT, "audit", "cannot create %s: %s",
		    l->dir, strerror(errno));
	merkle_cr_init(&l->durable.cr);
	if ((e = segment_create(l, &l->durable, why, sizeof(why))) != 0)
		return coffer_detail(d, COFFER_ERR_AUDIT, "audit", "%s", why);
	if (queue_checkpoint(l, &b, &l->durable, text, &tlen) != COFFER_OK) {
		free(b.p);
		return coffer_detail(d, COFFER_ERR_INTERNAL, "audit", "cannot sign "
		    "a checkpoint");
	}
	e = write_durable(l, &b, 0, 0, why, sizeof(why));
	free(b.p);
	if (e != 0)
		return coffer_detail(d, COFFER_ERR_AUDIT, "audit", "%s", why);
	memcpy(l->cp_text, text, tlen);
	l->cp_text[tlen] = '\0';
	save_checkpoint_file(l, text, tlen);
	l->tip = l->durable;
	return COFFER_OK;
}

/* dir/checkpoint, if present, is a reference the log must not fall short of */
static int
load_ref(struct audit_log *l, struct av_ctx *c, uint64_t from,
    struct coffer_errdetail *d)
{
	char path[PATH_MAX], *text = NULL;
	size_t len;
	int rc;

	if (path_join(path, sizeof(path), l->dir, AUDIT_CHECKPOINT_FILE) !=
	    COFFER_OK)
		return COFFER_ERR_INVALID;
	rc = file_read_all(path, CKPT_MAX, &text, &len);
	if (rc != COFFER_OK)
		return access(path, F_OK) != 0 ? COFFER_OK : coffer_detail(d,
		    COFFER_ERR_AUDIT, "audit", "cannot read %s", path);
	rc = COFFER_ERR_CRYPTO;
	/* after a rotation it may still be signed by an earlier key */
	for (size_t i = l->ncand; i > 0 && rc == COFFER_ERR_CRYPTO; i--)
		rc = ckpt_open(text, len, l->origin, l->cand[i - 1],
		    &c->refs[0].c);
	free(text);
	if (rc != COFFER_OK)
		return coffer_detail(d, COFFER_ERR_AUDIT, "audit", "%s is not a checkpoint "
		    "signed by this log's key", path);
	/* Older than the newest segments: covered by an earlier check. */
	if (c->refs[0].c.size >= from) {
		c->refs[0].what = "the checkpoint file";
		c->nrefs = 1;
	}
	return COFFER_OK;
}

/* Open the newest segment for appending after its last good frame. */
static int
open_tail(struct audit_log *l, uint64_t first, const struct av_ctx *c,
    struct coffer_errdetail *d)
{
	char name[SEG_NAME_LEN], path[PATH_MAX];
	int fd;

	seg_name(name, first);
	if (path_join(path, sizeof(path), l->dir, name) != COFFER_OK)
		return COFFER_ERR_INVALID;
	if ((fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return coffer_detail(d, COFFER_ERR_AUDIT, "audit", "cannot open %s: %s",
		    path, strerror(errno));
	adopt_fd(l, fd, path, (off_t)c->valid_end);
	/* A torn last frame was never acknowledged: cut it. */
	if (c->torn > 0 && (ftruncate(fd, l->off) != 0 || fdatasync(fd) != 0))
		return coffer_detail(d, COFFER_ERR_AUDIT, "audit", "cannot cut the torn "
		    "tail of %s: %s", path, strerror(errno));
	/* Zeros already written past the data: appends overwrite them. */
	if (c->torn == 0)
		l->alloc_end = (off_t)(c->valid_end + c->padding);
	return COFFER_OK;
}

static int
resume(struct audit_log *l, const uint64_t *firsts, size_t n,
    struct coffer_errdetail *d)
{
	struct av_ctx *c = NULL;
	size_t k = n - 1, i;
	int rc;

	if ((c = malloc(sizeof(*c))) == NULL)
		return COFFER_ERR_NOMEM;
	/* Back to the newest segment that holds a signed checkpoint. */
	while (k > 0 && av_has_checkpoint(l->dir, firsts[k]) == 0)
		k--;
	av_init(c, l->dir, l->pk, l->origin);
	av_set_candidates(c, (const unsigned char (*)[32])l->cand, l->ncand);
	memcpy(c->origin, l->origin, sizeof(c->origin));
	if ((rc = load_ref(l, c, firsts[k], d)) != COFFER_OK)
		goto out;
	for (i = k; i < n && c->fault == AV_OK; i++)
		av_segment(c, firsts[i], i == k, i == n - 1);
	av_finish(c);
	if (c->fault != AV_OK) {
		rc = coffer_detail(d, COFFER_ERR_AUDIT, "audit", "refusing to "
		    "continue the audit log in %s: %s: %s", l->dir,
		    av_kind_name(c->fault), c->msg);
		goto out;
	}
	if (!c->have_ckpt) {
		rc = coffer_detail(d, COFFER_ERR_AUDIT, "audit", "refusing to continue the "
		    "audit log in %s: no signed checkpoint in its newest "
		    "segments%s", l->dir, "");
		goto out;
	}
	/* A rotation whose key.rotate record is on disk but whose new key
	 * this open was not given: continuing would sign with a retired key. */
	if (!c->cur_known || sodium_memcmp(c->cur, l->pk, 32) != 0) {
		rc = coffer_detail(d, COFFER_ERR_AUDIT, "audit", "refusing to "
		    "continue the audit log in %s: its checkpoints are signed "
		    "by another audit key generation than this vault's (an "
		    "interrupted key rotation? run coffer-admin rotate "
		    "audit-key again)", l->dir);
		goto out;
	}
	l->durable = c->st;
	l->tip = c->st;
	l->cp_size = c->last_ckpt.size;
	memcpy(l->cp_text, c->last_ckpt_text, sizeof(l->cp_text));
	rc = open_tail(l, firsts[n - 1], c, d);
out:
	free(c);
	return rc;
}

static int
write_vkey(struct audit_log *l)
{
	char path[PATH_MAX], line[AUDIT_VKEY_TEXT + 1], *old = NULL;
	size_t len, oldlen;
	int rc;

	if ((rc = audit_vkey_format(l->origin, l->pk, line, sizeof(line) - 1))
	    != COFFER_OK ||
	    (rc = path_join(path, sizeof(path), l->dir, AUDIT_VKEY_FILE)) !=
	    COFFER_OK)
		return rc;
	len = strlen(line);
	line[len++] = '\n';
	if (file_read_all(path, 4096, &old, &oldlen) == COFFER_OK &&
	    oldlen == len && memcmp(old, line, len) == 0) {
		free(old);
		return COFFER_OK;
	}
	free(old);
	return file_write_atomic(path, line, len, 0644);
}

static void
read_test_env(struct audit_log *l)
{
#ifdef COFFER_TEST_HOOKS
	const char *a = getenv("COFFER_AUDIT_FAIL_AFTER");
	const char *t = getenv("COFFER_AUDIT_FAIL_TIMES");

	if (a == NULL || *a == '\0')
		return;
	l->fail_after = strtoull(a, NULL, 10);
	l->fail_times = t != NULL && *t != '\0' ?
	    (unsigned)strtoul(t, NULL, 10) : 3;
	l->fail_armed = 1;
#else
	(void)l;	/* installed builds (make install): no test hooks */
#endif
}

static int
log_alloc(const struct audit_options *o, const unsigned char sk[64],
    const unsigned char hkey[32], struct audit_log **out)
{
	struct audit_log *l;
	pthread_condattr_t ca;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return COFFER_ERR_NOMEM;
	if ((l->keys = sodium_malloc(KEYS_LEN)) == NULL) {
		free(l);
		return COFFER_ERR_NOMEM;
	}
	memcpy(l->keys, sk, 64);
	memcpy(l->keys + 64, hkey, 32);
	crypto_sign_ed25519_sk_to_pk(l->pk, sk);
	if (o->nprev_pks > KEYS_GEN_LIMIT || (o->nprev_pks > 0 &&
	    o->prev_pks == NULL) || (l->cand = malloc((o->nprev_pks + 1) *
	    sizeof(*l->cand))) == NULL) {
		sodium_free(l->keys);
		free(l);
		return COFFER_ERR_NOMEM;
	}
	if (o->nprev_pks > 0)
		memcpy(l->cand, o->prev_pks, o->nprev_pks * sizeof(*l->cand));
	memcpy(l->cand[o->nprev_pks], l->pk, 32);
	l->ncand = o->nprev_pks + 1;
	snprintf(l->dir, sizeof(l->dir), "%s", o->dir);
	snprintf(l->origin, sizeof(l->origin), "%s", o->origin);
	l->seg_max = o->segment_max_bytes ? o->segment_max_bytes :
	    SEG_MAX_DEFAULT;
	if (l->seg_max < SEG_MAX_MIN)
		l->seg_max = SEG_MAX_MIN;
	l->cp_every_n = o->checkpoint_every_records ?
	    o->checkpoint_every_records : CP_EVERY_N_DEFAULT;
	l->cp_every_ms = o->checkpoint_every_ms ? o->checkpoint_every_ms :
	    CP_EVERY_MS_DEFAULT;
	l->fd = -1;
	l->cp_mono_ms = mono_ms();
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->tick_cv, &ca);
	pthread_condattr_destroy(&ca);
	*out = l;
	return COFFER_OK;
}

static void
log_free(struct audit_log *l)
{
	if (l->fd >= 0)
		close(l->fd);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	pthread_cond_destroy(&l->tick_cv);
	sodium_free(l->keys);
	free(l->cand);
	free(l->pend.p);
	free(l->spare.p);
	free(l->pend_done.v);
	free(l->spare_done.v);
	free(l);
}

int
audit_open(const struct audit_options *o, const unsigned char sign_sk[64],
    const unsigned char hash_key[32], struct coffer_errdetail *detail,
    struct audit_log **out)
{
	struct audit_log *l = NULL;
	uint64_t *firsts = NULL;
	char path[PATH_MAX];
	size_t n = 0;
	int rc;

	*out = NULL;
	if (o == NULL || o->dir == NULL || !ckpt_name_ok(o->origin) ||
	    sign_sk == NULL || hash_key == NULL ||
	    strlen(o->dir) + SEG_NAME_LEN + 16 >= PATH_MAX)
		return coffer_detail(detail, COFFER_ERR_INVALID, "audit",
		    "bad audit log options");
	if (sodium_init() < 0)
		return COFFER_ERR_INTERNAL;
	if ((rc = log_alloc(o, sign_sk, hash_key, &l)) != COFFER_OK)
		return rc;
	rc = seg_list(l->dir, &firsts, &n);
	if (rc != COFFER_OK && rc != COFFER_ERR_NOT_FOUND)
		goto out;
	if (n > 0) {
		rc = resume(l, firsts, n, detail);
	} else if (path_join(path, sizeof(path), l->dir,
	    AUDIT_CHECKPOINT_FILE) == COFFER_OK && access(path, F_OK) == 0) {
		rc = coffer_detail(detail, COFFER_ERR_AUDIT, "audit", "refusing to start a "
		    "new audit log in %s: a checkpoint exists but the segments "
		    "are gone", l->dir);
	} else if (!o->create) {
		rc = coffer_detail(detail, COFFER_ERR_NOT_FOUND, "audit", "no audit log in "
		    "%s", l->dir);
	} else {
		rc = new_log(l, detail);
	}
	if (rc == COFFER_OK && (rc = write_vkey(l)) != COFFER_OK)
		coffer_detail(detail, rc, "audit", "cannot write %s/%s",
		    l->dir, AUDIT_VKEY_FILE);
	if (rc != COFFER_OK)
		goto out;
	read_test_env(l);
	/* Sign whatever a crash left unsigned before serving anyone. */
	if (l->durable.size > l->cp_size &&
	    (rc = audit_checkpoint_now(l)) != COFFER_OK) {
		coffer_detail(detail, rc, "audit", "cannot checkpoint: %s",
		    l->fault);
		goto out;
	}
	if (pthread_create(&l->ticker, NULL, ticker, l) != 0) {
		rc = COFFER_ERR_INTERNAL;
		goto out;
	}
	l->ticker_started = 1;
	*out = l;
	l = NULL;	/* transferred */
out:
	free(firsts);
	if (l != NULL)
		log_free(l);
	return rc;
}

/* ---- the rest of the API ----------------------------------------------- */

int
audit_latest_checkpoint(struct audit_log *l, char **text)
{
	pthread_mutex_lock(&l->mu);
	*text = strdup(l->cp_text);
	pthread_mutex_unlock(&l->mu);
	return *text != NULL ? COFFER_OK : COFFER_ERR_NOMEM;
}

void
audit_health(struct audit_log *l, struct audit_health *h)
{
	char since[32];
	time_t t;
	struct tm tm;

	memset(h, 0, sizeof(*h));
	pthread_mutex_lock(&l->mu);
	h->ok = !l->faulted;
	if (l->faulted) {
		t = (time_t)(l->fault_since_us / 1000000u);
		if (gmtime_r(&t, &tm) == NULL ||
		    strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm) ==
		    0)
			since[0] = '\0';
		snprintf(h->fault, sizeof(h->fault), "%.120s (since %s)",
		    l->fault, since);
	}
	h->size = l->durable.size;
	h->last_checkpoint_size = l->cp_size;
	h->syncs = l->syncs;
	h->refused = l->refused;
	pthread_mutex_unlock(&l->mu);
}

void
audit_view_get(struct audit_log *l, struct audit_view *v)
{
	v->dir = l->dir;
	v->origin = l->origin;
	v->pk = l->pk;
	pthread_mutex_lock(&l->mu);
	v->durable = l->durable.size;
	pthread_mutex_unlock(&l->mu);
}

void
audit_test_fail_writes(struct audit_log *l, unsigned n)
{
	pthread_mutex_lock(&l->mu);
	l->fail_writes = n;
	pthread_mutex_unlock(&l->mu);
}

void
audit_close(struct audit_log *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	l->stopping = 1;
	pthread_cond_signal(&l->tick_cv);
	pthread_mutex_unlock(&l->mu);
	if (l->ticker_started)
		pthread_join(l->ticker, NULL);
	(void)audit_checkpoint_now(l);
	/* Give the preallocated space back; the data is already synced. */
	if (l->fd >= 0 && ftruncate(l->fd, l->off) != 0)
		(void)0;
	log_free(l);
}
