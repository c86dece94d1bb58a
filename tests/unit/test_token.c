// SPDX-License-Identifier: MIT
/* rmem_token_load() from server/common/token.c, on temporary files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "token.h"

static char dir[128];	/* $TMPDIR/rmem-test-token.XXXXXX */

static const char *write_file(const char *name, const void *data, size_t len,
			      mode_t mode)
{
	static char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
		perror(path);
		exit(2);
	}
	fchmod(fd, mode);
	close(fd);
	return path;
}

int main(void)
{
	uint8_t buf[RMEM_TOKEN_MAX], big[RMEM_TOKEN_MAX + 1];
	size_t len = 0;
	int loose = -1, rc;
	const char *p, *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/rmem-test-token.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}

	p = write_file("plain", "s3cret\n", 7, 0600);
	rc = rmem_token_load(p, buf, sizeof(buf), &len, &loose);
	ok(rc == 0 && len == 6 && !memcmp(buf, "s3cret", 6) && loose == 0,
	   "trailing newline is stripped, 0600 is not loose");
	unlink(p);

	p = write_file("binary", "\x00\x01 x\r\n\t ", 8, 0644);
	rc = rmem_token_load(p, buf, sizeof(buf), &len, &loose);
	ok(rc == 0 && len == 4 && !memcmp(buf, "\x00\x01 x", 4) && loose == 1,
	   "inner bytes kept (NUL, blank), 0644 reported loose");
	unlink(p);

	p = write_file("empty", "\n \n", 3, 0600);
	rc = rmem_token_load(p, buf, sizeof(buf), &len, &loose);
	ok(rc == -ENODATA, "whitespace-only file is refused (rc %d)", rc);
	unlink(p);

	memset(big, 'a', sizeof(big));
	p = write_file("big", big, sizeof(big), 0600);
	rc = rmem_token_load(p, buf, sizeof(buf), &len, &loose);
	ok(rc == -EFBIG, "file over the cap is refused (rc %d)", rc);
	unlink(p);

	p = write_file("exact", big, RMEM_TOKEN_MAX, 0600);
	rc = rmem_token_load(p, buf, sizeof(buf), &len, &loose);
	ok(rc == 0 && len == RMEM_TOKEN_MAX, "file of exactly the cap is read");
	unlink(p);

	rc = rmem_token_load("/nonexistent/rmem-token", buf, sizeof(buf), &len,
			     &loose);
	ok(rc == -ENOENT, "missing file gives -ENOENT (rc %d)", rc);

	rmdir(dir);
	return tap_done("test_token");
}
