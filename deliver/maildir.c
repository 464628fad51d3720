/*
 * maildir.c: delivery into a Maildir, run as the recipient. The message
 * goes to tmp/ under a name no other delivery can have, is fsync'd, then
 * linked into new/ (whose directory is fsync'd) and removed from tmp/: a
 * reader sees the whole message or nothing. In new/ it takes the name of
 * the delivery (once.c) when there is one, so that a retry of a try
 * whose outcome was lost finds that copy instead of making a second.
 */
#include <sys/stat.h>
#include <sys/time.h>

#include <dirent.h>
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

/* tmp/tmpname becomes new/name, durably. 0: done; 1: new/ held name
 * already (an earlier try of the same delivery, when once is set) and
 * tmp/tmpname is gone; -1 with errno. */
static int
maildir_commit(int tmp, int new, const char *tmpname, const char *name,
    int once)
{
	int	earlier = 0;

	if (linkat(tmp, tmpname, new, name, 0) == 0)
		(void)unlinkat(tmp, tmpname, 0);
	else if (errno == EEXIST && once) {
		(void)unlinkat(tmp, tmpname, 0);
		earlier = 1;
	} else if (errno != EPERM && errno != ENOTSUP)
		return -1;
	else if (renameat2(tmp, tmpname, new, name, RENAME_NOREPLACE) == -1) {
		/* a file system without hard links */
		if (errno == EEXIST && once) {
			(void)unlinkat(tmp, tmpname, 0);
			earlier = 1;
		} else if (errno != EINVAL ||
		    renameat(tmp, tmpname, new, name) == -1)
			return -1;
	}
	/* the earlier copy's own sync may have been cut short */
	if (fsync(new) == -1) {
		if (!earlier)
			(void)unlinkat(new, name, 0);	/* not known safe */
		return -1;
	}
	return earlier;
}

/* 1 if cur/ holds name as a reader leaves it there ("name:2,FLAGS"),
 * 0 if not, -1 if cur/ cannot be read. Only a retry looks: it reads
 * the whole directory. */
static int
maildir_in_cur(int md, const char *name)
{
	struct dirent	*e;
	DIR		*dp;
	size_t		 len = strlen(name);
	int		 fd, found = 0;

	if ((fd = openat(md, "cur", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if ((dp = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while (!found && (errno = 0, e = readdir(dp)) != NULL)
		found = strncmp(e->d_name, name, len) == 0 &&
		    strchr(":;!,", e->d_name[len]) != NULL;	/* NUL too */
	if (!found && errno != 0)
		found = -1;
	closedir(dp);
	return found;
}

/* A retry's copy goes again when a reader has taken the earlier one to
 * cur/, or when cur/ cannot be read to know. 0: ours stays; 2: it went,
 * the earlier is in cur/; -1 with errno: it went, try again later. */
static int
maildir_undo_if_read(int md, int new, const char *name)
{
	int	rc, err;

	if ((rc = maildir_in_cur(md, name)) == 0)
		return 0;
	err = errno;
	if (unlinkat(new, name, 0) == -1 || fsync(new) == -1)
		return -1;
	errno = err;
	return rc == 1 ? 2 : -1;
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

/* The file's name in new/: the delivery's own when it has one. */
static int
maildir_final_name(const struct local_env *env, const char *tmpname,
    char *name, size_t namelen)
{
	char	host[MAILDIR_NAME_MAX], ehost[MAILDIR_NAME_MAX];
	int	n;

	if (env->once == NULL)
		return strlcpy(name, tmpname, namelen) < namelen ? 0 : -1;
	if (gethostname(host, sizeof(host)) == -1)
		strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	if (maildir_encode_host(host, ehost, sizeof(ehost)) == -1)
		return -1;
	n = snprintf(name, namelen, "%s.%s", env->once, ehost);
	return n < 0 || (size_t)n >= namelen ? -1 : 0;
}

/* Written to tmp/tmpname: into new/ as name. 0: this try's copy is
 * there; 1: an earlier try's is in new/, 2: in cur/; -1 with res. */
static int
maildir_place(int md, int tmp, int new, const char *tmpname,
    const char *name, const struct local_env *env,
    struct local_result *res)
{
	int	rc;

	rc = maildir_commit(tmp, new, tmpname, name, env->once != NULL);
	if (rc == -1) {
		mailbox_errno_result(res, errno, "move to new/ in",
		    res->mailbox);
		(void)unlinkat(tmp, tmpname, 0);
	} else if (rc == 0 && env->retry &&
	    (rc = maildir_undo_if_read(md, new, name)) == -1)
		mailbox_errno_result(res, errno, "look for an earlier copy in",
		    res->mailbox);
	return rc;
}

int
maildir_deliver(const char *home, const char *maildir,
    const struct local_env *env, struct local_result *res)
{
	static const char *const	where[] = { "new", "new", "cur" };
	char				tmpname[MAILDIR_NAME_MAX];
	char				name[MAILDIR_NAME_MAX];
	int				md, tmp = -1, new = -1, fd, rc = -1;

	mailbox_name(res, "%s/%s", home, maildir);
	if ((md = maildir_open(home, maildir, res)) == -1)
		return -1;
	if (maildir_subdirs(md, &tmp, &new) == -1)
		mailbox_errno_result(res, errno, "maildir", res->mailbox);
	else if ((fd = maildir_create(tmp, env, tmpname, sizeof(tmpname),
	    res)) != -1) {
		if (maildir_final_name(env, tmpname, name, sizeof(name)) == -1) {
			mailbox_result(res, DL_TEMPFAIL, "4.3.5", "Maildir file "
			    "name too long");
			close(fd);
			(void)unlinkat(tmp, tmpname, 0);
		} else if (maildir_write(fd, env, res) == -1)
			(void)unlinkat(tmp, tmpname, 0);
		else
			rc = maildir_place(md, tmp, new, tmpname, name, env,
			    res);
	}
	if (rc >= 0) {
		mailbox_name(res, "%s/%s/%s/%s", home, maildir, where[rc], name);
		mailbox_result(res, DL_OK, "2.0.0", "delivered to maildir");
		if (rc > 0)
			mailbox_note(res, "an earlier try delivered it; no "
			    "second copy");
		rc = 0;
	}
	if (tmp != -1)
		close(tmp);
	if (new != -1)
		close(new);
	close(md);
	return rc;
}
