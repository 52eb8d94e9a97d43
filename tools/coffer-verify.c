/*
 * coffer-verify - check an audit log offline, with nothing but the log
 * directory and the audit public key: every record re-hashed, sequence,
 * links, time, every checkpoint's root and signature, and consistency with
 * checkpoints saved elsewhere.  Exit codes and format: docs/audit-format.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "coffer/audit.h"
#include "coffer/err.h"
#include "coffer/keys.h"
#include "coffer/secfile.h"
#include "../src/audit/audit_int.h"

struct opts {
	const char *key_file, *key_text, *ckpt_file, *dir;
	int json, quiet, prove;
	uint64_t prove_seq;
};

struct key {
	unsigned char pk[32];
	char name[CKPT_NAME_MAX + 1];
	int named;
	char from[PATH_MAX + 64];
	int independent;
};

/* snprintf for messages that may be cut to fit. */
__attribute__((format(printf, 3, 4)))
static void
say(char *buf, size_t sz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sz, fmt, ap);
	va_end(ap);
}

static const char help_text[] =
"usage: coffer-verify [--key FILE | --key-text NAME+KEYID+BASE64]\n"
"                     [--checkpoint FILE] [--prove SEQ] [--json] [-q] LOGDIR\n"
"\n"
"Check a Coffer audit log offline: no daemon, no database, no network.\n"
"Every record is re-hashed from its stored bytes; sequence numbers, the\n"
"chain of previous-record hashes, time order, and every signed checkpoint\n"
"(root and Ed25519 signature) are checked across all segment files.\n"
"\n"
"  --key FILE        the audit public key: a C2SP verifier key\n"
"                    (NAME+KEYID+BASE64) or the vault's audit.pub line.\n"
"                    Without it LOGDIR/audit.vkey is used, which proves\n"
"                    integrity but not origin: keep the key elsewhere.\n"
"  --key-text TEXT   the verifier key given on the command line\n"
"  --checkpoint FILE a checkpoint saved earlier (coffer audit checkpoint):\n"
"                    prove the log is an extension of it, which catches\n"
"                    truncation and rollback\n"
"  --prove SEQ       also print an inclusion proof for record SEQ\n"
"  --json            one JSON object instead of the summary\n"
"  -q                print nothing; the exit status says it all\n"
"  -h, --help        this text\n"
"\n"
"exit status: 0 the log verifies; 1 usage; 2 a record was modified;\n"
"3 a record or segment is missing; 4 records are reordered; 5 the log was\n"
"truncated; 6 a bad signature; 7 a checkpoint is inconsistent with the\n"
"log or with the given one; 8 time goes backwards; 9 I/O error or\n"
"unreadable file.  docs/audit-format.md specifies the format.\n";

static void
usage(void)
{
	fputs("usage: coffer-verify [--key FILE | --key-text "
	    "NAME+KEYID+BASE64]\n"
	    "                     [--checkpoint FILE] [--prove SEQ] [--json] "
	    "[-q] LOGDIR\nTry 'coffer-verify --help'.\n", stderr);
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
	char *end;
	int i;

	memset(o, 0, sizeof(*o));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		int more = i + 1 < argc;

		if (strcmp(a, "--key") == 0 && more)
			o->key_file = argv[++i];
		else if (strcmp(a, "--key-text") == 0 && more)
			o->key_text = argv[++i];
		else if (strcmp(a, "--checkpoint") == 0 && more)
			o->ckpt_file = argv[++i];
		else if (strcmp(a, "--prove") == 0 && more) {
			errno = 0;
			o->prove_seq = strtoull(argv[++i], &end, 10);
			if (errno != 0 || *end != '\0' || argv[i][0] == '-')
				return -1;
			o->prove = 1;
		} else if (strcmp(a, "--json") == 0)
			o->json = 1;
		else if (strcmp(a, "-q") == 0)
			o->quiet = 1;
		else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
			return 1;
		else if (a[0] != '-' && o->dir == NULL)
			o->dir = a;
		else
			return -1;
	}
	if (o->dir == NULL || (o->key_file != NULL && o->key_text != NULL))
		return -1;
	return 0;
}

/* A C2SP verifier key, or the vault's "coffer-ed25519 BASE64" line. */
static int
load_key(const struct opts *o, struct key *k, char *err, size_t errsz)
{
	char path[PATH_MAX], *text = NULL;
	size_t len;
	int rc = COFFER_OK;

	memset(k, 0, sizeof(*k));
	k->independent = 1;
	if (o->key_text != NULL) {
		snprintf(k->from, sizeof(k->from), "the command line");
		text = strdup(o->key_text);
	} else {
		if (o->key_file != NULL) {
			snprintf(path, sizeof(path), "%s", o->key_file);
		} else {
			snprintf(path, sizeof(path), "%s/%s", o->dir,
			    AUDIT_VKEY_FILE);
			k->independent = 0;
		}
		say(k->from, sizeof(k->from), "%s", path);
		if ((rc = file_read_all(path, 4096, &text, &len)) != COFFER_OK) {
			say(err, errsz, "cannot read key %s: %s", path,
			    strerror(errno));
			return AV_IO;
		}
	}
	if (text == NULL)
		return AV_IO;
	if (audit_vkey_parse(text, k->name, sizeof(k->name), k->pk) ==
	    COFFER_OK)
		k->named = 1;
	else if (userkey_parse_public(text, k->pk) != COFFER_OK)
		rc = COFFER_ERR_INVALID;
	free(text);
	if (rc != COFFER_OK) {
		say(err, errsz, "%s is not an audit public key", k->from);
		return AV_USAGE;
	}
	return AV_OK;
}

/* A reference checkpoint whose signature is checked after the scan. */
struct later_ref {
	char *text;
	size_t len;
};
static struct later_ref later[2];

/* A checkpoint from a file becomes a reference the log must agree with. */
static int
load_ref(struct av_ctx *c, const struct key *k, const char *path,
    const char *what, int must_exist, char *err, size_t errsz)
{
	struct av_ref *r = &c->refs[c->nrefs];
	char *text = NULL;
	size_t len;
	int rc;

	if (file_read_all(path, CKPT_MAX, &text, &len) != COFFER_OK) {
		if (!must_exist && errno == ENOENT)
			return AV_OK;
		say(err, errsz, "cannot read checkpoint %s: %s", path,
		    strerror(errno));
		return AV_IO;
	}
	rc = ckpt_open(text, len, k->named ? k->name : NULL, k->pk, &r->c);
	/* After a key rotation it may be signed by a later key of the chain:
	 * checked once the scan has followed the chain. */
	if (rc == COFFER_ERR_CRYPTO && c->nrefs < 2 &&
	    ckpt_peek(text, len, &r->c) == COFFER_OK) {
		later[c->nrefs].text = text;
		later[c->nrefs].len = len;
		r->what = what;
		c->nrefs++;
		return AV_OK;
	}
	free(text);
	if (rc == COFFER_ERR_CRYPTO) {
		say(err, errsz, "%s has no valid signature by the audit "
		    "key", what);
		return AV_BADSIG;
	}
	if (rc != COFFER_OK) {
		say(err, errsz, "%s is not a signed checkpoint", what);
		/* the officer's file is an input; the log's own is evidence */
		return must_exist ? AV_USAGE : AV_MODIFIED;
	}
	r->what = what;
	c->nrefs++;
	return AV_OK;
}

static void
fmt_time(uint64_t us, char *buf, size_t sz)
{
	time_t t = (time_t)(us / 1000000u);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, sz, "?");
}

static double
clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
seconds(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/*
 * The process's CPU time: the speed per core, whatever else the machine
 * runs (the wall-clock rate of one thread on a busy machine measures the
 * machine).
 */
static double
cpu_seconds(void)
{
	return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static void
json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

struct result {
	int kind;
	char msg[600];
	double secs, cpu_secs;
	uint64_t nsegs;
};

static void
report_text(const struct opts *o, const struct key *k,
    const struct av_ctx *c, const struct result *r)
{
	char t0[32], t1[32], b64[64], fpr[USERKEY_FPR_TEXT];
	unsigned i;

	printf("audit log   %s\n", o->dir);
	printf("key         %s%s (from %s)\n", k->named ? k->name : "",
	    k->named ? "" : "unnamed Ed25519 key", k->from);
	if (!k->independent)
		printf("            WARNING: the key was taken from the log "
		    "directory itself;\n            this proves the log is "
		    "intact only if that key is the real one.\n");
	printf("segments    %" PRIu64 "\n", r->nsegs);
	if (c->records > 0) {
		fmt_time(c->first_ts, t0, sizeof(t0));
		fmt_time(c->st.last_ts, t1, sizeof(t1));
		printf("records     %" PRIu64 " (seq 0 to %" PRIu64 "), %s to "
		    "%s\n", c->records, c->st.size - 1, t0, t1);
	} else {
		printf("records     0\n");
	}
	if (c->have_ckpt) {
		sodium_bin2base64(b64, sizeof(b64), c->last_ckpt.root, 32,
		    sodium_base64_VARIANT_ORIGINAL);
		printf("checkpoints %" PRIu64 " signed; the newest covers %"
		    PRIu64 " records, root %s\n", c->checkpoints,
		    c->last_ckpt.size, b64);
	}
	if (c->rotations > 0) {
		userkey_fingerprint(c->cur, fpr, sizeof(fpr));
		printf("key chain   %" PRIu64 " audit key rotation%s followed, "
		    "each certified by the key before; the last (record %"
		    PRIu64 ") hands over to %s\n", c->rotations,
		    c->rotations == 1 ? "" : "s", c->key_since, fpr);
	}
	for (i = 0; i < c->nrefs; i++)
		printf("reference   %s (%" PRIu64 " records): %s\n",
		    c->refs[i].what, c->refs[i].c.size,
		    c->refs[i].matched ? "the log extends it" : "not reached");
	if (r->kind == AV_OK && c->have_ckpt && c->st.size > c->last_ckpt.size)
		printf("note        the last %" PRIu64 " records are not yet "
		    "covered by a signed checkpoint\n",
		    c->st.size - c->last_ckpt.size);
	if (c->torn > 0)
		printf("note        %zu bytes of an unfinished write at the end "
		    "(a crash) were ignored\n", c->torn);
	if (r->kind == AV_OK)
		printf("result      OK: every record re-hashed; sequence, links,"
		    " times and every\n            signed checkpoint agree\n");
	else
		printf("result      FAULT (%s): %s\n", av_kind_name(r->kind),
		    r->msg);
	printf("speed       %.0f records/s (%.3f s); %.0f records per CPU "
	    "second (%.3f s)\n",
	    r->secs > 0 ? (double)c->records / r->secs : 0.0, r->secs,
	    r->cpu_secs > 0 ? (double)c->records / r->cpu_secs : 0.0,
	    r->cpu_secs);
}

static void
report_json(const struct av_ctx *c, const struct result *r)
{
	char b64[64], t0[32], t1[32];

	fmt_time(c->first_ts, t0, sizeof(t0));
	fmt_time(c->st.last_ts, t1, sizeof(t1));
	printf("{\"ok\":%s,\"exit\":%d,\"fault\":", r->kind ? "false" : "true",
	    r->kind);
	json_str(r->kind ? av_kind_name(r->kind) : "");
	printf(",\"message\":");
	json_str(r->msg);
	printf(",\"segments\":%" PRIu64 ",\"records\":%" PRIu64
	    ",\"checkpoints\":%" PRIu64 ",\"key_rotations\":%" PRIu64,
	    r->nsegs, c->records, c->checkpoints, c->rotations);
	if (c->have_ckpt) {
		sodium_bin2base64(b64, sizeof(b64), c->last_ckpt.root, 32,
		    sodium_base64_VARIANT_ORIGINAL);
		printf(",\"checkpoint_size\":%" PRIu64 ",\"checkpoint_root\":"
		    "\"%s\"", c->last_ckpt.size, b64);
	}
	if (c->records > 0)
		printf(",\"first_time\":\"%s\",\"last_time\":\"%s\"", t0, t1);
	printf(",\"torn_bytes\":%zu,\"seconds\":%.6f,\"records_per_second\":"
	    "%.0f,\"cpu_seconds\":%.6f,\"records_per_cpu_second\":%.0f}\n",
	    c->torn, r->secs, r->secs > 0 ? (double)c->records / r->secs : 0.0,
	    r->cpu_secs, r->cpu_secs > 0 ?
	    (double)c->records / r->cpu_secs : 0.0);
}

/* ---- inclusion proof: a second pass hashing leaves into the ranges ---- */

struct prover {
	uint64_t seq, n;
	struct merkle_range r[MERKLE_MAXLEV];
	unsigned k;
	struct merkle_cr *acc;  /* one per range */
	unsigned char leaf[32];
	char *json;             /* the record itself */
};

static int
prove_segment(const char *dir, uint64_t first, uint64_t *seq,
    struct prover *p)
{
	char name[SEG_NAME_LEN], path[PATH_MAX];
	const unsigned char *m = NULL, *pl;
	struct seg_header h;
	struct arec_view v;
	unsigned char leaf[32];
	size_t len = 0, pos, plen;
	unsigned i;
	int type;

	seg_name(name, first);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (av_map(path, &m, &len) != COFFER_OK ||
	    seg_header_parse(m, len, &h, &pos) != COFFER_OK) {
		av_unmap(m, len);
		return -1;
	}
	while (*seq < p->n &&
	    frame_next(m, len, &pos, &type, &pl, &plen) == FR_OK) {
		if (type != FRAME_RECORD)
			continue;
		merkle_leaf(pl, plen, leaf);
		if (*seq == p->seq) {
			memcpy(p->leaf, leaf, 32);
			if (arec_parse(pl, plen, &v) == COFFER_OK)
				arec_json(&v, &p->json);
		}
		for (i = 0; i < p->k; i++)
			if (*seq >= p->r[i].a && *seq < p->r[i].b)
				merkle_cr_push(&p->acc[i], leaf);
		(*seq)++;
	}
	av_unmap(m, len);
	return 0;
}

static int
prove(const struct opts *o, const struct av_ctx *c, const uint64_t *firsts,
    size_t nseg)
{
	unsigned char proof[MERKLE_MAXLEV][32];
	char b64[64], hex[65];
	struct prover p;
	uint64_t seq = 0;
	size_t s;
	unsigned i;
	int rc = AV_IO;

	memset(&p, 0, sizeof(p));
	p.seq = o->prove_seq;
	p.n = c->last_ckpt.size;
	if (!c->have_ckpt || p.seq >= p.n) {
		fprintf(stderr, "coffer-verify: record %" PRIu64 " is not "
		    "covered by a signed checkpoint\n", p.seq);
		return AV_USAGE;
	}
	if (merkle_inclusion_ranges(p.seq, p.n, p.r, &p.k) != COFFER_OK ||
	    (p.acc = calloc(MERKLE_MAXLEV, sizeof(*p.acc))) == NULL)
		return AV_IO;
	for (s = 0; s < nseg && seq < p.n; s++)
		if (prove_segment(o->dir, firsts[s], &seq, &p) != 0)
			goto out;
	for (i = 0; i < p.k; i++)
		merkle_cr_root(&p.acc[i], proof[i]);
	if (merkle_inclusion_verify(p.leaf, p.seq, p.n,
	    (const unsigned char (*)[32])proof, p.k, c->last_ckpt.root) !=
	    COFFER_OK) {
		fprintf(stderr, "coffer-verify: internal error: the proof does "
		    "not verify\n");
		goto out;
	}
	sodium_bin2base64(b64, sizeof(b64), c->last_ckpt.root, 32,
	    sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2hex(hex, sizeof(hex), p.leaf, 32);
	if (o->json) {
		printf("{\"seq\":%" PRIu64 ",\"record\":%s,\"leaf_hash\":\"%s\","
		    "\"tree_size\":%" PRIu64 ",\"root\":\"%s\",\"proof\":[",
		    p.seq, p.json ? p.json : "null", hex, p.n, b64);
		for (i = 0; i < p.k; i++) {
			sodium_bin2hex(hex, sizeof(hex), proof[i], 32);
			printf("%s\"%s\"", i ? "," : "", hex);
		}
		printf("],\"checkpoint\":");
		json_str(c->last_ckpt_text);
		printf("}\n");
	} else {
		printf("record      %s\nleaf hash   %s\ntree size   %" PRIu64
		    "\nroot        %s\ninclusion proof (%u hashes, leaf "
		    "level first):\n", p.json ? p.json : "?", hex, p.n, b64,
		    p.k);
		for (i = 0; i < p.k; i++) {
			sodium_bin2hex(hex, sizeof(hex), proof[i], 32);
			printf("  %s\n", hex);
		}
		printf("signed checkpoint:\n%s", c->last_ckpt_text);
	}
	rc = AV_OK;
out:
	free(p.acc);
	free(p.json);
	return rc;
}

/* ---- main -------------------------------------------------------------- */

/* References not signed by the first key: some key of the chain must have
 * signed them (the scan has collected every key that was in force). */
static void
check_later_refs(struct av_ctx *c)
{
	struct ckpt ck;
	unsigned i;

	for (i = 0; i < c->nrefs; i++) {
		if (later[i].text == NULL)
			continue;
		/* a forged reference is reported as such, not as the
		 * disagreement with the log that it also causes */
		if ((c->fault == AV_OK || c->fault == AV_INCONSISTENT ||
		    c->fault == AV_TRUNCATED) && av_chain_open(c,
		    later[i].text, later[i].len, &ck) != COFFER_OK) {
			c->fault = AV_BADSIG;
			say(c->msg, sizeof(c->msg), "%s has no valid signature "
			    "by the audit key or any key the log announced",
			    c->refs[i].what);
		}
		free(later[i].text);
		later[i].text = NULL;
	}
}

static int
verify_all(struct av_ctx *c, const uint64_t *firsts, size_t n,
    struct result *r)
{
	double t0 = seconds(), c0 = cpu_seconds();
	size_t i;

	for (i = 0; i < n && c->fault == AV_OK; i++)
		av_segment(c, firsts[i], 0, i == n - 1);
	av_finish(c);
	check_later_refs(c);
	r->secs = seconds() - t0;
	r->cpu_secs = cpu_seconds() - c0;
	r->nsegs = c->segments;
	r->kind = c->fault;
	say(r->msg, sizeof(r->msg), "%s", c->msg);
	return r->kind;
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct key k;
	struct av_ctx *c = NULL;
	struct result r;
	uint64_t *firsts = NULL;
	char path[PATH_MAX];
	size_t n = 0;
	int rc;

	if ((rc = parse_args(argc, argv, &o)) != 0) {
		if (rc > 0) {
			fputs(help_text, stdout);
			return AV_OK;
		}
		usage();
		return AV_USAGE;
	}
	if (sodium_init() < 0 || (c = calloc(1, sizeof(*c))) == NULL)
		return AV_IO;
	memset(&r, 0, sizeof(r));
	if ((rc = load_key(&o, &k, r.msg, sizeof(r.msg))) != AV_OK)
		goto fail;
	av_init(c, o.dir, k.pk, k.named ? k.name : NULL);
	if (o.ckpt_file != NULL && (rc = load_ref(c, &k, o.ckpt_file,
	    "--checkpoint", 1, r.msg, sizeof(r.msg))) != AV_OK)
		goto fail;
	snprintf(path, sizeof(path), "%s/%s", o.dir, AUDIT_CHECKPOINT_FILE);
	if ((rc = load_ref(c, &k, path, "the checkpoint file", 0, r.msg,
	    sizeof(r.msg))) != AV_OK)
		goto fail;
	if (seg_list(o.dir, &firsts, &n) != COFFER_OK || n == 0) {
		say(r.msg, sizeof(r.msg), "no audit segments in %s",
		    o.dir);
		rc = AV_IO;
		goto fail;
	}
	rc = verify_all(c, firsts, n, &r);
	if (!o.quiet && o.json && !o.prove)
		report_json(c, &r);
	else if (!o.quiet && (!o.prove || rc != AV_OK))
		report_text(&o, &k, c, &r);
	if (rc == AV_OK && o.prove)
		rc = prove(&o, c, firsts, n);
	goto out;
fail:
	if (!o.quiet)
		fprintf(stderr, "coffer-verify: %s\n", r.msg);
out:
	free(firsts);
	free(c);
	return rc;
}
