/*
 * helper_fs.c - temporary directories for the unit tests, made and removed
 * the same way in every test program.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper.h"

int
test_tmpdir(char *buf, size_t bufsz, const char *tag)
{
	int n = snprintf(buf, bufsz, "/tmp/coffer-%s-XXXXXX", tag);

	if (n < 0 || (size_t)n >= bufsz)
		return -1;
	return mkdtemp(buf) != NULL ? 0 : -1;
}

void
test_rm_tree(const char *path)
{
	struct stat sb;
	struct dirent *e;
	char p[PATH_MAX];
	DIR *d;

	if (lstat(path, &sb) != 0)
		return;
	if (!S_ISDIR(sb.st_mode)) {
		unlink(path);
		return;
	}
	chmod(path, 0700);
	if ((d = opendir(path)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
			test_rm_tree(p);
		}
		closedir(d);
	}
	rmdir(path);
}
