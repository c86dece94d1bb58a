// SPDX-License-Identifier: MIT
#include "token.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int rmem_token_load(const char *path, uint8_t *buf, size_t cap, size_t *len,
		    int *loose)
{
	struct stat st;
	size_t got = 0;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto out_close;
	}
	*loose = (st.st_mode & (S_IRWXG | S_IRWXO)) != 0;

	for (;;) {
		ssize_t n;

		if (got == cap) {
			char extra;

			/* Full buffer: only fine if the file ends here. */
			n = read(fd, &extra, 1);
			if (n > 0)
				err = -EFBIG;
			else if (n < 0)
				err = -errno;
			break;
		}
		n = read(fd, buf + got, cap - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (err)
		goto out_close;

	while (got && isspace(buf[got - 1]))
		got--;
	if (!got)
		err = -ENODATA;
	*len = got;
out_close:
	close(fd);
	return err;
}
