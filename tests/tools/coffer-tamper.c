/*
 * coffer-tamper.c - damages an audit log the way an attacker with write
 * access to the disk would, for the end-to-end tamper tests: flip a bit in
 * a record, delete a record, swap two, cut the log short, or re-sign the
 * checkpoint with another key.  It edits files in place; run it on copies.
 *
 * usage: coffer-tamper flip|delete|swap|cut SEGMENT K
 *        coffer-tamper resign CHECKPOINT
 * K counts record frames in SEGMENT from 0.  Exit 0 done, 1 failed, 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "coffer/err.h"
#include "coffer/secfile.h"
#include "audit_int.h"

#define FRAMES_MAX 65536

struct image {
	char *buf;
	size_t len;
	size_t start[FRAMES_MAX], end[FRAMES_MAX]; /* record frames */
	size_t n;
};

static int
load(const char *path, struct image *im)
{
	struct seg_header h;
	const unsigned char *payload;
	size_t pos, plen;
	int type;

	if (file_read_all(path, 1u << 30, &im->buf, &im->len) != COFFER_OK)
		return -1;
	if (seg_header_parse((unsigned char *)im->buf, im->len, &h, &pos) !=
	    COFFER_OK)
		return -1;
	im->n = 0;
	for (;;) {
		size_t at = pos;

		if (frame_next((unsigned char *)im->buf, im->len, &pos, &type,
		    &payload, &plen) != FR_OK)
			break;
		if (type == FRAME_RECORD && im->n < FRAMES_MAX) {
			im->start[im->n] = at;
			im->end[im->n++] = pos;
		}
	}
	return 0;
}

static int
save(const char *path, const char *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (f == NULL)
		return -1;
	ok = fwrite(buf, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* The image without bytes [a, b). */
static int
save_without(const char *path, const struct image *im, size_t a, size_t b)
{
	char *out = malloc(im->len);
	int rc;

	if (out == NULL)
		return -1;
	memcpy(out, im->buf, a);
	memcpy(out + a, im->buf + b, im->len - b);
	rc = save(path, out, im->len - (b - a));
	free(out);
	return rc;
}

static int
swap_frames(const char *path, struct image *im, size_t k)
{
	size_t a0 = im->start[k], a1 = im->end[k], b1 = im->end[k + 1];
	size_t la = a1 - a0, lb = b1 - a1;
	char *tmp = malloc(la + lb);
	int rc;

	if (tmp == NULL)
		return -1;
	memcpy(tmp, im->buf + a1, lb);
	memcpy(tmp + lb, im->buf + a0, la);
	memcpy(im->buf + a0, tmp, la + lb);
	free(tmp);
	rc = save(path, im->buf, im->len);
	return rc;
}

/* Re-sign the checkpoint's body with a fresh key under the same name. */
static int
resign(const char *path)
{
	unsigned char pk[32], sk[64];
	char *text = NULL, out[CKPT_MAX + 1];
	size_t len, outlen;
	struct ckpt c;
	int rc = -1;

	if (file_read_all(path, CKPT_MAX, &text, &len) != COFFER_OK)
		return -1;
	if (ckpt_peek(text, len, &c) != COFFER_OK)
		goto out;
	crypto_sign_keypair(pk, sk);
	if (ckpt_sign(&c, sk, pk, out, sizeof(out), &outlen) != COFFER_OK)
		goto out;
	rc = save(path, out, outlen);
out:
	sodium_memzero(sk, sizeof(sk));
	free(text);
	return rc;
}

int
main(int argc, char **argv)
{
	static struct image im;
	unsigned long k;
	char *end;
	int rc;

	if (sodium_init() < 0)
		return 1;
	if (argc == 3 && strcmp(argv[1], "resign") == 0)
		return resign(argv[2]) == 0 ? 0 : 1;
	if (argc != 4) {
		fprintf(stderr, "usage: coffer-tamper flip|delete|swap|cut "
		    "SEGMENT K | resign CHECKPOINT\n");
		return 2;
	}
	k = strtoul(argv[3], &end, 10);
	if (*end != '\0' || load(argv[2], &im) != 0) {
		fprintf(stderr, "coffer-tamper: cannot read %s\n", argv[2]);
		return 2;
	}
	if (k + 1 >= im.n) {
		fprintf(stderr, "coffer-tamper: %s has %zu records\n", argv[2],
		    im.n);
		return 1;
	}
	if (strcmp(argv[1], "flip") == 0) {
		im.buf[(im.start[k] + im.end[k]) / 2] ^= 0x04;
		rc = save(argv[2], im.buf, im.len);
	} else if (strcmp(argv[1], "delete") == 0)
		rc = save_without(argv[2], &im, im.start[k], im.end[k]);
	else if (strcmp(argv[1], "swap") == 0)
		rc = swap_frames(argv[2], &im, k);
	else if (strcmp(argv[1], "cut") == 0)
		rc = save(argv[2], im.buf, im.start[k]);
	else
		return 2;
	free(im.buf);
	return rc == 0 ? 0 : 1;
}
