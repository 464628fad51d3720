/*
 * fileio.h: reading a small regular file whole, the one way every
 * daemon and tool does it (configuration, tables, :include: and
 * .forward files, envelopes, maildrop files).
 */
#ifndef BULWARK_FILEIO_H
#define BULWARK_FILEIO_H

#include <sys/types.h>

#include <stddef.h>

/* Up to max bytes from the start of the file (whatever the descriptor's
 * offset), retrying EINTR: how many, fewer only at its end, or -1 with
 * errno. */
ssize_t	file_read_start(int fd, void *buf, size_t max);
/* The whole file, which fstat said holds size bytes: a malloc'd copy
 * with a NUL after it and its length in *len (less if it shrank), or
 * NULL with errno (EFBIG if it has grown). */
char	*file_slurp(int fd, size_t size, size_t *len);

#endif
