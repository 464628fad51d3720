/*
 * once.c: the name of one delivery, the same on every try: queue id
 * and queue file, recipient and destination. The Maildir writer files the message under
 * it, so that a try whose outcome was lost (the agent, qmgr or master
 * killed between the mailbox write and the queue's record of it) leaves
 * a copy the retry finds instead of writing a second one.
 */
#include <sys/stat.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "local.h"

/* FNV-1a, 128 bits: no collision to fear among the destinations of one
 * message, and no library to link for it. */
#define ONCE_FNV_PRIME	(((unsigned __int128)1 << 88) | 0x13b)
#define ONCE_FNV_BASIS	(((unsigned __int128)0x6c62272e07bb0142ULL << 64) | \
			    0x62b821756295c58dULL)

static void
once_hash(unsigned __int128 *h, const void *p, size_t len)
{
	const unsigned char	*c = p;

	while (len-- > 0)
		*h = (*h ^ *c++) * ONCE_FNV_PRIME;
}

int
once_key(const struct local_dest *t, char *buf, size_t len)
{
	int	n;

	n = snprintf(buf, len, "%d %d %u %zu:%s %zu:%s %zu:%s", (int)t->kind,
	    t->noforward, (unsigned)t->user.uid, strlen(t->user.name),
	    t->user.name, strlen(t->detail), t->detail, strlen(t->arg),
	    t->arg);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* A queue id of qmgr's: 16 upper-case hex digits, the first 8 of them
 * its arrival time (bulwark-queue(5)). */
static int
once_qid_time(const char *qid, unsigned long *secs)
{
	size_t	i;
	char	hex[9];

	if (strlen(qid) != 16 || strspn(qid, "0123456789ABCDEF") != 16)
		return -1;
	for (i = 0; i < 8; i++)
		hex[i] = qid[i];
	hex[8] = '\0';
	return sscanf(hex, "%8lx", secs) == 1 ? 0 : -1;
}

int
once_name(const char *qid, const struct stat *msg, const char *rcpt,
    const struct local_dest *t, char *out, size_t outlen)
{
	unsigned __int128	h = ONCE_FNV_BASIS;
	unsigned long		secs;
	uint64_t		file[4];
	char			key[ONCE_KEY_MAX];
	int			n;

	if (once_qid_time(qid, &secs) == -1 ||
	    once_key(t, key, sizeof(key)) == -1)
		return -1;
	/* the queue file itself: a queue id used again once its message is
	 * gone (a clock set back) names another file */
	file[0] = (uint64_t)msg->st_ino;
	file[1] = (uint64_t)msg->st_size;
	file[2] = (uint64_t)msg->st_mtim.tv_sec;
	file[3] = (uint64_t)msg->st_mtim.tv_nsec;
	once_hash(&h, file, sizeof(file));
	once_hash(&h, rcpt, strlen(rcpt) + 1);	/* with its NUL: a border */
	once_hash(&h, key, strlen(key));
	/* the time first, as Maildir readers expect; no '.', ':' or ','
	 * inside the unique part */
	n = snprintf(out, outlen, "%lu.B%sR%016llx%016llx", secs, qid,
	    (unsigned long long)(h >> 64), (unsigned long long)h);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
