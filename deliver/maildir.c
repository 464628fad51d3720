/*
 * maildir.c: delivery into a Maildir, run as the recipient. The message
 * goes to tmp/ under a name no other delivery can have, is fsync'd, then
 * linked into new/ (whose directory is fsync'd) and removed from tmp/: a
 * reader sees the whole message or nothing.
 */
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mailbox.h"

#define MAILDIR_CREATE_TRIES	3
#define MAILDIR_RETRY_USEC	2000	/* for the clock to move on */

int
maildir_encode_host(const char *host, char *out, size_t outlen)
{
	const char	*rep;
	size_t		 o = 0, n;

	for (; *host != '\0'; host++) {
		if (*host == '/')
			rep = "\\057";
		else if (*host == ':')
			rep = "\\072";
		else
			rep = NULL;
		n = rep != NULL ? strlen(rep) : 1;
		if (o + n >= outlen)
			return -1;
		if (rep != NULL)
			memcpy(out + o, rep, n);
		else
			out[o] = *host;
		o += n;
	}
	if (outlen == 0)
		return -1;
	out[o] = '\0';
	return 0;
}

int
maildir_unique(char *out, size_t outlen, const struct timeval *tv, pid_t pid,
    uint32_t counter, const char *host)
{
	char	ehost[MAILDIR_NAME_MAX];
	int	n;

	if (maildir_encode_host(host, ehost, sizeof(ehost)) == -1)
		return -1;
	n = snprintf(out, outlen, "%lld.M%06ldP%ldQ%lu.%s",
	    (long long)tv->tv_sec, (long)tv->tv_usec, (long)pid,
	    (unsigned long)counter, ehost);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static int
maildir_mkdir_open(int dfd, const char *name)
{
	if (mkdirat(dfd, name, 0700) == -1 && errno != EEXIST)
		return -1;
	return openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* home/maildir, every missing directory made with mode 0700. */
static int
maildir_open(const char *home, const char *maildir, struct local_result *res)
{
	char	 path[PATH_MAX], *comp, *next;
	int	 fd, nfd;

	if (strlcpy(path, maildir, sizeof(path)) >= sizeof(path) ||
	    strcmp(path, "..") == 0 || strncmp(path, "../", 3) == 0 ||
	    strstr(path, "/../") != NULL) {
		mailbox_result(res, DL_TEMPFAIL, "4.3.5", "bad maildir %s",
		    maildir);
		return -1;
	}
	if ((fd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		mailbox_errno_result(res, errno, "home directory", home);
		return -1;
	}
	for (comp = path; comp != NULL; comp = next) {
		if ((next = strchr(comp, '/')) != NULL)
			*next++ = '\0';
		if (*comp == '\0' || strcmp(comp, ".") == 0)
			continue;
		nfd = maildir_mkdir_open(fd, comp);
		close(fd);
		if ((fd = nfd) == -1) {
			mailbox_errno_result(res, errno, "maildir",
			    res->mailbox);
			return -1;
		}
	}
	return fd;
}

/* A new file in tmp/; its name is left in name. */
static int
maildir_create(int tmp, const struct local_env *env, char *name,
    size_t namelen, struct local_result *res)
{
	struct timeval	tv;
	char		host[MAILDIR_NAME_MAX];
	int		fd = -1, i;

	if (gethostname(host, sizeof(host)) == -1)
		strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	for (i = 0; i < MAILDIR_CREATE_TRIES; i++) {
		if (i > 0)
			usleep(MAILDIR_RETRY_USEC);
		(void)gettimeofday(&tv, NULL);
		if (maildir_unique(name, namelen, &tv, getpid(), env->seq,
		    host) == -1) {
			errno = ENAMETOOLONG;
			break;
		}
		fd = openat(tmp, name, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd != -1 || errno != EEXIST)
			break;
	}
	if (fd == -1)
		mailbox_errno_result(res, errno, "create in", res->mailbox);
	return fd;
}

/* The message into fd, then fsync; fd is closed. */
static int
maildir_write(int fd, const struct local_env *env, struct local_result *res)
{
	static struct stream	s;
	int			read_err, rc = -1;

	stream_init(&s, STREAM_CRLF, mailbox_write_fd, &fd);
	if (mailbox_copy(&s, env, &read_err) == -1)
		mailbox_errno_result(res, errno, read_err ? "read message for" :
		    "write to", res->mailbox);
	else if (fsync(fd) == -1)
		mailbox_errno_result(res, errno, "fsync in", res->mailbox);
	else
		rc = 0;
	if (close(fd) == -1 && rc == 0) {
		mailbox_errno_result(res, errno, "close in", res->mailbox);
		rc = -1;
	}
	return rc;
}

/* tmp/name becomes new/name, durably. */
static int
maildir_commit(int tmp, int new, const char *name)
{
	if (linkat(tmp, name, new, name, 0) == 0)
		(void)unlinkat(tmp, name, 0);
	else if (errno != EPERM && errno != ENOTSUP)
		return -1;
	else if (renameat2(tmp, name, new, name, RENAME_NOREPLACE) == -1 &&
	    (errno != EINVAL || renameat(tmp, name, new, name) == -1))
		return -1;	/* a file system without hard links */
	if (fsync(new) == -1) {
		(void)unlinkat(new, name, 0);	/* not known to be safe */
		return -1;
	}
	return 0;
}

static int
maildir_subdirs(int md, int *tmp, int *new)
{
	int	cur;

	if ((*tmp = maildir_mkdir_open(md, "tmp")) == -1)
		return -1;
	if ((*new = maildir_mkdir_open(md, "new")) == -1)
		return -1;
	if ((cur = maildir_mkdir_open(md, "cur")) == -1)
		return -1;
	close(cur);
	return 0;
}

int
maildir_deliver(const char *home, const char *maildir,
    const struct local_env *env, struct local_result *res)
{
	char	name[MAILDIR_NAME_MAX];
	int	md, tmp = -1, new = -1, fd, rc = -1;

	mailbox_name(res, "%s/%s", home, maildir);
	if ((md = maildir_open(home, maildir, res)) == -1)
		return -1;
	if (maildir_subdirs(md, &tmp, &new) == -1)
		mailbox_errno_result(res, errno, "maildir", res->mailbox);
	else if ((fd = maildir_create(tmp, env, name, sizeof(name),
	    res)) != -1) {
		if (maildir_write(fd, env, res) == -1)
			(void)unlinkat(tmp, name, 0);
		else if (maildir_commit(tmp, new, name) == -1) {
			mailbox_errno_result(res, errno, "move to new/ in",
			    res->mailbox);
			(void)unlinkat(tmp, name, 0);
		} else
			rc = 0;
	}
	if (rc == 0) {
		mailbox_name(res, "%s/%s/new/%s", home, maildir, name);
		mailbox_result(res, DL_OK, "2.0.0", "delivered to maildir");
	}
	if (tmp != -1)
		close(tmp);
	if (new != -1)
		close(new);
	close(md);
	return rc;
}
