/*
 * fileio.c: a small regular file read whole (see fileio.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "fileio.h"

ssize_t
file_read_start(int fd, void *buf, size_t max)
{
	char	*p = buf;
	size_t	 got = 0;
	ssize_t	 n;

	while (got < max) {
		n = pread(fd, p + got, max - got, (off_t)got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

char *
file_slurp(int fd, size_t size, size_t *len)
{
	char	*text;
	ssize_t	 n;
	int	 saved;

	if (size == SIZE_MAX || (text = malloc(size + 1)) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	/* one byte more than fstat said: a file that grew is refused */
	if ((n = file_read_start(fd, text, size + 1)) == -1 ||
	    (size_t)n > size) {
		saved = n == -1 ? errno : EFBIG;
		free(text);
		errno = saved;
		return NULL;
	}
	text[n] = '\0';
	*len = (size_t)n;
	return text;
}
