/*
 * test_audit_verify.c - the tamper suite: a log written through the audit
 * module, copied and damaged in each way an attacker might try, and the
 * real coffer-verify binary run on every copy.  Each damage must be found
 * with its own exit code; the untouched log must verify.  The binary is
 * COFFER_BIN/coffer-verify (default build/bin, build-san/bin under ASan).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "coffer/audit.h"
#include "coffer/err.h"
#include "coffer/keys.h"
#include "coffer/secfile.h"
#include "../../src/audit/audit_int.h"

#define ORIGIN "coffer.test/tamper"

#if defined(__SANITIZE_ADDRESS__)
#define DEFAULT_BIN "build-san/bin"
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DEFAULT_BIN "build-san/bin"
#endif
#endif
#ifndef DEFAULT_BIN
#define DEFAULT_BIN "build/bin"
#endif

static char base[64], logdir[PATH_MAX], olddir[PATH_MAX], work[PATH_MAX];
static char bin[PATH_MAX], vkey[AUDIT_VKEY_TEXT], saved_ckpt[PATH_MAX];
static unsigned char pk[32], sk[64], hkey[32];

/* snprintf for paths and commands, cut if ever too long. */
__attribute__((format(printf, 3, 4)))
static void
fmt(char *buf, size_t sz, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	vsnprintf(buf, sz, f, ap);
	va_end(ap);
}

/* ---- a log in memory, to damage and write back ------------------------ */

struct frame {
	int type;
	unsigned char *p;
	size_t len;
};
struct seg {
	uint64_t first;
	struct seg_header h;
	struct frame f[512];
	size_t n;
};
struct img {
	struct seg s[64];
	size_t n;
};

static void
img_load(const char *dir, struct img *m)
{
	uint64_t *firsts = NULL;
	const unsigned char *p, *pl;
	char path[PATH_MAX], name[SEG_NAME_LEN];
	size_t n = 0, len, pos, plen, i;
	int type;

	memset(m, 0, sizeof(*m));
	assert_int_equal(seg_list(dir, &firsts, &n), COFFER_OK);
	assert_true(n <= 64);
	for (i = 0; i < n; i++) {
		struct seg *s = &m->s[m->n++];

		s->first = firsts[i];
		seg_name(name, firsts[i]);
		fmt(path, sizeof(path), "%s/%s", dir, name);
		assert_int_equal(av_map(path, &p, &len), COFFER_OK);
		assert_int_equal(seg_header_parse(p, len, &s->h, &pos),
		    COFFER_OK);
		while (frame_next(p, len, &pos, &type, &pl, &plen) == FR_OK) {
			assert_true(s->n < 512);
			s->f[s->n].type = type;
			s->f[s->n].p = malloc(plen);
			memcpy(s->f[s->n].p, pl, plen);
			s->f[s->n++].len = plen;
		}
		av_unmap(p, len);
	}
	free(firsts);
}

static void
img_save(const char *dir, struct img *m)
{
	unsigned char hdr[SEG_HDR_MAX], fh[FRAME_HDR];
	char path[PATH_MAX], name[SEG_NAME_LEN];
	size_t i, j, hl;
	int fd;

	for (i = 0; i < m->n; i++) {
		struct seg *s = &m->s[i];

		seg_name(name, s->first);
		fmt(path, sizeof(path), "%s/%s", dir, name);
		unlink(path);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0640);
		assert_true(fd >= 0);
		hl = seg_header_encode(&s->h, hdr);
		assert_int_equal(write(fd, hdr, hl), (ssize_t)hl);
		for (j = 0; j < s->n; j++) {
			frame_header(fh, s->f[j].type, s->f[j].len);
			assert_int_equal(write(fd, fh, FRAME_HDR), FRAME_HDR);
			assert_int_equal(write(fd, s->f[j].p, s->f[j].len),
			    (ssize_t)s->f[j].len);
		}
		close(fd);
	}
}

static void
img_free(struct img *m)
{
	size_t i, j;

	for (i = 0; i < m->n; i++)
		for (j = 0; j < m->s[i].n; j++)
			free(m->s[i].f[j].p);
}

static void
drop_frame(struct seg *s, size_t j)
{
	free(s->f[j].p);
	memmove(&s->f[j], &s->f[j + 1], (s->n - j - 1) * sizeof(s->f[0]));
	s->n--;
}

/* Index of the k-th frame of a type in a segment. */
static size_t
nth(const struct seg *s, int type, size_t k)
{
	size_t j;

	for (j = 0; j < s->n; j++)
		if (s->f[j].type == type && k-- == 0)
			return j;
	fail_msg("segment %llu has too few frames",
	    (unsigned long long)s->first);
	return 0;
}

/*
 * What an insider holding a signing key would do after editing records:
 * recompute every link, header and checkpoint and sign them again.
 */
static void
relink_resign(const char *dir, struct img *m, const unsigned char *ssk,
    const unsigned char *spk)
{
	struct av_state st;
	struct arec_view v;
	char text[CKPT_MAX + 1], path[PATH_MAX];
	struct ckpt c;
	size_t i, j, len = 0;

	memset(&st, 0, sizeof(st));
	merkle_cr_init(&st.cr);
	for (i = 0; i < m->n; i++) {
		struct seg *s = &m->s[i];

		s->h.first = st.size;
		s->h.last_ts = st.last_ts;
		memcpy(s->h.prev, st.last, 32);
		s->h.cr = st.cr;
		for (j = 0; j < s->n; j++) {
			struct frame *f = &s->f[j];

			if (f->type == FRAME_RECORD) {
				assert_int_equal(arec_parse(f->p, f->len, &v),
				    COFFER_OK);
				memcpy(f->p + (v.prev - f->p), st.last, 32);
				merkle_leaf(f->p, f->len, st.last);
				merkle_cr_push(&st.cr, st.last);
				st.last_ts = v.ts;
				st.size++;
				continue;
			}
			strcpy(c.origin, ORIGIN);
			c.size = st.size;
			merkle_cr_root(&st.cr, c.root);
			assert_int_equal(ckpt_sign(&c, ssk, spk, text,
			    sizeof(text), &len), COFFER_OK);
			free(f->p);
			f->p = (unsigned char *)strndup(text, len);
			f->len = len;
		}
	}
	img_save(dir, m);
	fmt(path, sizeof(path), "%s/%s", dir, AUDIT_CHECKPOINT_FILE);
	assert_int_equal(file_write_atomic(path, text, len, 0644), COFFER_OK);
}

/* ---- running the verifier ----------------------------------------------- */

static int
sh(const char *fmt, ...)
{
	char cmd[4 * PATH_MAX];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A fresh copy of the log to damage. */
static void
fresh_copy(const char *from)
{
	assert_int_equal(sh("rm -rf '%s' && cp -a '%s' '%s'", work, from,
	    work), 0);
}

static int
verify(const char *dir, const char *extra)
{
	return sh("'%s/coffer-verify' -q --key-text '%s' %s '%s'", bin, vkey,
	    extra, dir);
}

static void
t_untouched(void **state)
{
	char keyfile[PATH_MAX], line[USERKEY_PUBLIC_TEXT + 2];

	(void)state;
	assert_int_equal(verify(logdir, ""), 0);
	/* the key as the vault's audit.pub line works the same */
	userkey_format_public(pk, "coffer-audit", line, sizeof(line) - 1);
	strcat(line, "\n");
	fmt(keyfile, sizeof(keyfile), "%s/audit.pub", base);
	assert_int_equal(file_write_atomic(keyfile, line, strlen(line), 0644),
	    COFFER_OK);
	assert_int_equal(sh("'%s/coffer-verify' -q --key '%s' '%s'", bin,
	    keyfile, logdir), 0);
	/* the log directory's own key file, and a saved checkpoint */
	assert_int_equal(sh("'%s/coffer-verify' -q '%s'", bin, logdir), 0);
	assert_int_equal(sh("'%s/coffer-verify' -q --checkpoint 2>/dev/null", bin),
	    1);
	fmt(keyfile, sizeof(keyfile), "--checkpoint '%s'", saved_ckpt);
	assert_int_equal(verify(logdir, keyfile), 0);
}

static void
t_outputs(void **state)
{
	char out[PATH_MAX], *text = NULL;
	size_t len;

	(void)state;
	fmt(out, sizeof(out), "%s/out.txt", base);
	assert_int_equal(sh("'%s/coffer-verify' --key-text '%s' '%s' >'%s'",
	    bin, vkey, logdir, out), 0);
	assert_int_equal(file_read_all(out, 1 << 20, &text, &len), COFFER_OK);
	assert_non_null(strstr(text, "result      OK"));
	assert_non_null(strstr(text, "records/s"));
	free(text);
	assert_int_equal(sh("'%s/coffer-verify' --json --key-text '%s' '%s' "
	    ">'%s'", bin, vkey, logdir, out), 0);
	assert_int_equal(file_read_all(out, 1 << 20, &text, &len), COFFER_OK);
	assert_non_null(strstr(text, "\"ok\":true"));
	assert_non_null(strstr(text, "\"records\":60"));
	free(text);
	assert_int_equal(sh("'%s/coffer-verify' --prove 17 --key-text '%s' "
	    "'%s' >'%s'", bin, vkey, logdir, out), 0);
	assert_int_equal(file_read_all(out, 1 << 20, &text, &len), COFFER_OK);
	assert_non_null(strstr(text, "inclusion proof"));
	assert_non_null(strstr(text, "\"seq\":17"));
	free(text);
	assert_int_equal(sh("'%s/coffer-verify' -q --key-text '%s' '%s' >'%s'",
	    bin, vkey, logdir, out), 0);
	assert_int_equal(file_read_all(out, 1 << 20, &text, &len), COFFER_OK);
	assert_int_equal(len, 0);
	free(text);
	assert_int_equal(verify(logdir, "--prove 60"), 1);
	assert_int_equal(sh("'%s/coffer-verify' -q --bogus '%s' 2>/dev/null",
	    bin, logdir), 1);
	assert_int_equal(sh("'%s/coffer-verify' -q --key-text nonsense '%s' "
	    "2>/dev/null", bin, logdir), 1);
}

static void
t_flip_bit(void **state)
{
	struct img m;
	size_t j;

	(void)state;
	fresh_copy(logdir);
	img_load(work, &m);
	j = nth(&m.s[1], FRAME_RECORD, 3);
	m.s[1].f[j].p[m.s[1].f[j].len / 2] ^= 0x04;
	img_save(work, &m);
	img_free(&m);
	assert_int_equal(verify(work, ""), AV_MODIFIED);
}

static void
t_delete_record(void **state)
{
	struct img m;

	(void)state;
	fresh_copy(logdir);
	img_load(work, &m);
	drop_frame(&m.s[1], nth(&m.s[1], FRAME_RECORD, 3));
	img_save(work, &m);
	img_free(&m);
	assert_int_equal(verify(work, ""), AV_MISSING);
}

static void
t_swap_records(void **state)
{
	struct frame t;
	struct img m;
	size_t a, b;

	(void)state;
	fresh_copy(logdir);
	img_load(work, &m);
	a = nth(&m.s[1], FRAME_RECORD, 2);
	b = nth(&m.s[1], FRAME_RECORD, 3);
	t = m.s[1].f[a];
	m.s[1].f[a] = m.s[1].f[b];
	m.s[1].f[b] = t;
	img_save(work, &m);
	img_free(&m);
	assert_int_equal(verify(work, ""), AV_REORDERED);
}

static void
t_truncate_tail(void **state)
{
	struct img m;
	struct seg *last;
	char path[PATH_MAX];

	(void)state;
	/* whole frames off the end, its last checkpoint included */
	fresh_copy(logdir);
	img_load(work, &m);
	last = &m.s[m.n - 1];
	while (last->n > 2)
		drop_frame(last, last->n - 1);
	img_save(work, &m);
	img_free(&m);
	assert_int_equal(verify(work, ""), AV_TRUNCATED);
	/* and in the middle of a frame */
	fresh_copy(logdir);
	img_load(work, &m);
	seg_name(path, m.s[m.n - 1].first);
	img_free(&m);
	assert_int_equal(sh("cd '%s' && truncate -s -300 %s", work, path), 0);
	assert_int_equal(verify(work, ""), AV_TRUNCATED);
}

static void
t_drop_segment(void **state)
{
	char name[SEG_NAME_LEN], path[PATH_MAX];
	struct img m;

	(void)state;
	fresh_copy(logdir);
	img_load(work, &m);
	if (m.n < 4)
		fail_msg("only %zu segments", m.n);
	seg_name(name, m.s[2].first);
	img_free(&m);
	fmt(path, sizeof(path), "%s/%s", work, name);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(verify(work, ""), AV_MISSING);
	/* the first one */
	fresh_copy(logdir);
	seg_name(name, 0);
	fmt(path, sizeof(path), "%s/%s", work, name);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(verify(work, ""), AV_MISSING);
}

static void
t_replace_checkpoint(void **state)
{
	struct img m;
	size_t a, b;

	(void)state;
	fresh_copy(logdir);
	img_load(work, &m);
	a = nth(&m.s[0], FRAME_CHECKPOINT, 1);
	b = nth(&m.s[2], FRAME_CHECKPOINT, 0);
	free(m.s[2].f[b].p);
	m.s[2].f[b].p = malloc(m.s[0].f[a].len);
	memcpy(m.s[2].f[b].p, m.s[0].f[a].p, m.s[0].f[a].len);
	m.s[2].f[b].len = m.s[0].f[a].len;
	img_save(work, &m);
	img_free(&m);
	assert_int_equal(verify(work, ""), AV_INCONSISTENT);
}

static void
t_resign_other_key(void **state)
{
	unsigned char opk[32], osk[64];
	struct img m;

	(void)state;
	crypto_sign_keypair(opk, osk);
	fresh_copy(logdir);
	img_load(work, &m);
	relink_resign(work, &m, osk, opk);
	img_free(&m);
	assert_int_equal(verify(work, ""), AV_BADSIG);
}

static void
t_clock_rollback(void **state)
{
	struct arec_view v, w;
	struct img m;
	struct frame *a, *b;
	uint64_t ts;
	int i;

	(void)state;
	fresh_copy(logdir);
	img_load(work, &m);
	a = &m.s[1].f[nth(&m.s[1], FRAME_RECORD, 1)];
	b = &m.s[1].f[nth(&m.s[1], FRAME_RECORD, 2)];
	assert_int_equal(arec_parse(a->p, a->len, &v), COFFER_OK);
	assert_int_equal(arec_parse(b->p, b->len, &w), COFFER_OK);
	/* b dated one second before a; ts is always a 9-byte head */
	ts = v.ts - 1000000;
	assert_int_equal(w.val[AK_TS][0], 0x1b);
	for (i = 0; i < 8; i++)
		b->p[(w.val[AK_TS] - b->p) + 1 + i] =
		    (unsigned char)(ts >> (56 - 8 * i));
	relink_resign(work, &m, sk, pk);
	img_free(&m);
	assert_int_equal(verify(work, ""), AV_TIME);
}

/* An insider rewrites history and re-signs it: only a saved checkpoint
 * tells; and an old copy of the whole log is caught the same way. */
static void
t_fork_and_rollback(void **state)
{
	char arg[PATH_MAX + 32];
	struct img m;
	struct frame *f;
	unsigned char *at;

	(void)state;
	fmt(arg, sizeof(arg), "--checkpoint '%s'", saved_ckpt);
	fresh_copy(logdir);
	img_load(work, &m);
	f = &m.s[0].f[nth(&m.s[0], FRAME_RECORD, 5)];
	at = memmem(f->p, f->len, "carol", 5);
	assert_non_null(at);
	at[3] = 'O';
	relink_resign(work, &m, sk, pk);
	img_free(&m);
	assert_int_equal(verify(work, ""), AV_OK);
	assert_int_equal(verify(work, arg), AV_INCONSISTENT);
	/* the whole directory replaced by the copy taken at 30 records */
	assert_int_equal(verify(olddir, ""), AV_OK);
	assert_int_equal(verify(olddir, arg), AV_TRUNCATED);
}

/*
 * The scan hashes records and the Merkle nodes among them in batches: the
 * log's records put in one segment with checkpoints at sizes around the
 * batch boundaries, each signed over the root merkle_cr_push gives, must
 * verify, and the scan must end with the same compact range.
 */
static void
check_batches(const uint64_t *at, size_t nat)
{
	struct img m, one;
	struct av_ctx *c = calloc(1, sizeof(*c));
	struct merkle_cr cr;
	struct arec_view v;
	unsigned char leaf[32];
	uint64_t size = 0;
	size_t i, j, k = 0;

	assert_non_null(c);
	img_load(logdir, &m);
	memset(&one, 0, sizeof(one));
	one.n = 1;
	merkle_cr_init(&cr);
	for (i = 0; i < m.n; i++) {
		for (j = 0; j < m.s[i].n; j++) {
			struct frame *f = &m.s[i].f[j];

			if (f->type != FRAME_RECORD)
				continue;
			one.s[0].f[one.s[0].n++] = *f;
			f->p = NULL;
			size++;
			if (k < nat && at[k] == size) {	/* re-signed below */
				one.s[0].f[one.s[0].n].type = FRAME_CHECKPOINT;
				one.s[0].f[one.s[0].n++].p = calloc(1, 1);
				k++;
			}
		}
	}
	assert_int_equal(k, nat);
	assert_int_equal(sh("rm -rf '%s' && mkdir '%s'", work, work), 0);
	relink_resign(work, &one, sk, pk);
	assert_int_equal(verify(work, ""), AV_OK);
	/* in process: the scan's state against a push per leaf */
	for (j = 0; j < one.s[0].n; j++) {
		if (one.s[0].f[j].type != FRAME_RECORD)
			continue;
		assert_int_equal(arec_parse(one.s[0].f[j].p, one.s[0].f[j].len,
		    &v), COFFER_OK);
		merkle_leaf(one.s[0].f[j].p, one.s[0].f[j].len, leaf);
		merkle_cr_push(&cr, leaf);
	}
	av_init(c, work, pk, ORIGIN);
	assert_int_equal(av_segment(c, 0, 0, 1), AV_OK);
	assert_int_equal(av_finish(c), AV_OK);
	assert_int_equal(c->checkpoints, nat);
	assert_int_equal(c->st.size, size);
	assert_int_equal(c->st.cr.size, cr.size);
	assert_int_equal(c->st.cr.n, cr.n);
	assert_memory_equal(c->st.cr.h, cr.h, 32 * (size_t)cr.n);
	/* and a changed record (the 20th) is still found */
	for (j = 0, k = 0; k < 20; j++)
		k += one.s[0].f[j].type == FRAME_RECORD;
	one.s[0].f[j - 1].p[one.s[0].f[j - 1].len - 1] ^= 1;
	img_save(work, &one);
	assert_int_equal(verify(work, ""), AV_MODIFIED);
	img_free(&one);
	img_free(&m);
	free(c);
}

static void
t_batches(void **state)
{
	static const uint64_t around[] = { 1, 5, 15, 16, 17, 31, 32, 33, 47, 60 };
	static const uint64_t end_only[] = { 60 };
	static const uint64_t odd[] = { 3, 23, 41, 59 };

	(void)state;
	check_batches(around, sizeof(around) / sizeof(*around));
	check_batches(end_only, 1);
	check_batches(odd, sizeof(odd) / sizeof(*odd));
}

/* ---- the log under test ------------------------------------------------- */

static void
write_records(struct audit_log *l, int n)
{
	static const char *ret[] = { "name" };
	struct audit_event e = {
		.op = "record.get", .actor_id = 3, .actor = "carol",
		.role = "agent", .peer = "uid=1000 pid=1", .kind = "customer",
		.fields_returned = ret, .nreturned = 1,
		.decision = AUDIT_ALLOWED, .count = 1
	};
	int i;

	for (i = 0; i < n; i++) {
		e.target_id = 500 + i;
		assert_int_equal(audit_append(l, &e, NULL), COFFER_OK);
	}
}

static int
setup(void **state)
{
	struct audit_options o = {
		.origin = ORIGIN, .create = 1, .segment_max_bytes = 2048,
		.checkpoint_every_records = 7
	};
	struct coffer_errdetail d;
	struct audit_log *l = NULL;
	unsigned char seed[32];
	const char *env = getenv("COFFER_BIN");
	char path[PATH_MAX];

	(void)state;
	if (sodium_init() < 0)
		return -1;
	fmt(bin, sizeof(bin), "%s", env != NULL ? env : DEFAULT_BIN);
	fmt(path, sizeof(path), "%s/coffer-verify", bin);
	if (access(path, X_OK) != 0) {
		fprintf(stderr, "%s not built (make all first)\n", path);
		return -1;
	}
	memset(seed, 9, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	memset(hkey, 0x42, sizeof(hkey));
	if (audit_vkey_format(ORIGIN, pk, vkey, sizeof(vkey)) != COFFER_OK)
		return -1;
	fmt(base, sizeof(base), "/tmp/coffer-tamper-XXXXXX");
	if (mkdtemp(base) == NULL)
		return -1;
	fmt(logdir, sizeof(logdir), "%s/log", base);
	fmt(olddir, sizeof(olddir), "%s/old", base);
	fmt(work, sizeof(work), "%s/work", base);
	fmt(saved_ckpt, sizeof(saved_ckpt), "%s/saved.ckpt", base);
	o.dir = logdir;
	memset(&d, 0, sizeof(d));
	if (audit_open(&o, sk, hkey, &d, &l) != COFFER_OK)
		return -1;
	write_records(l, 30);
	audit_close(l);
	if (sh("cp -a '%s' '%s'", logdir, olddir) != 0)
		return -1;
	o.create = 0;
	if (audit_open(&o, sk, hkey, &d, &l) != COFFER_OK)
		return -1;
	write_records(l, 30);
	audit_close(l);
	/* what an officer would have saved: the final checkpoint */
	return sh("cp '%s/%s' '%s'", logdir, AUDIT_CHECKPOINT_FILE,
	    saved_ckpt);
}

static int
teardown(void **state)
{
	(void)state;
	if (base[0] != '\0')
		sh("rm -rf '%s'", base);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_untouched),
		cmocka_unit_test(t_outputs),
		cmocka_unit_test(t_flip_bit),
		cmocka_unit_test(t_delete_record),
		cmocka_unit_test(t_swap_records),
		cmocka_unit_test(t_truncate_tail),
		cmocka_unit_test(t_drop_segment),
		cmocka_unit_test(t_replace_checkpoint),
		cmocka_unit_test(t_resign_other_key),
		cmocka_unit_test(t_clock_rollback),
		cmocka_unit_test(t_fork_and_rollback),
		cmocka_unit_test(t_batches),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
