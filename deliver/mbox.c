/*
 * mbox.c: delivery into an mbox file (RFC 4155, mboxrd quoting), run as
 * the recipient. The mailbox is dot-locked when its directory lets us,
 * always fcntl-locked, checked to be the user's own plain file, and cut
 * back to its former size when any write fails: it never keeps half a
 * message. Root's only part is mbox_create_as_root(), see there.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mailbox.h"

#define MBOX_LOCK_POLL_NSEC	(100 * 1000 * 1000)	/* 100 ms */
#define MBOX_OPEN_TRIES		3	/* the file replaced under us */

int
mbox_expand_path(char *out, size_t outlen, const char *fmt, const char *user)
{
	size_t	o = 0, n;

	for (; *fmt != '\0'; fmt++) {
		if (fmt[0] == '%' && (fmt[1] == 'u' || fmt[1] == '%')) {
			fmt++;
			n = *fmt == 'u' ? strlen(user) : 1;
			if (o + n >= outlen)
				return -1;
			memcpy(out + o, *fmt == 'u' ? user : "%", n);
			o += n;
		} else {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = *fmt;
		}
	}
	if (outlen == 0)
		return -1;
	out[o] = '\0';
	return 0;
}

int
mbox_from_line(char *out, size_t outlen, const char *sender, time_t t)
{
	struct tm	tm;
	char		date[64];
	size_t		i, n;
	int		len;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm) == 0)
		return -1;
	len = snprintf(out, outlen, "From %s %s\n",
	    *sender == '\0' ? "MAILER-DAEMON" : sender, date);
	if (len < 0 || (size_t)len >= outlen)
		return -1;
	/* the sender is one word: a space would end it early */
	n = *sender == '\0' ? 0 : strlen(sender);
	for (i = 5; i < 5 + n; i++)
		if ((unsigned char)out[i] <= ' ' || out[i] == 0x7f)
			out[i] = '_';
	return len;
}

/* Root, or no one else, can change it: owned by root and not writable by
 * others unless sticky. A group-writable directory is trusted as far as
 * its group (Debian's /var/mail: root:mail 2775). */
static int
mbox_dir_trusted(int fd, struct stat *st)
{
	return fstat(fd, st) == 0 && S_ISDIR(st->st_mode) && st->st_uid == 0 &&
	    (!(st->st_mode & S_IWOTH) || (st->st_mode & S_ISVTX));
}

/* One step down: a directory, or a symbolic link that root made. */
static int
mbox_trusted_step(int fd, const char *comp)
{
	struct stat	lst;
	int		nfd;

	nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (nfd == -1 && (errno == ELOOP || errno == ENOTDIR) &&
	    fstatat(fd, comp, &lst, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(lst.st_mode) && lst.st_uid == 0)
		nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return nfd;
}

/* dir, opened only if it and every directory on the way are trusted. */
static int
mbox_trusted_dir(const char *dir, struct stat *st)
{
	char	buf[PATH_MAX], *comp, *next;
	int	fd, nfd;

	if (strlcpy(buf, dir, sizeof(buf)) >= sizeof(buf) ||
	    (fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if (!mbox_dir_trusted(fd, st))
		goto untrusted;
	for (comp = buf; comp != NULL; comp = next) {
		if ((next = strchr(comp, '/')) != NULL)
			*next++ = '\0';
		if (*comp == '\0' || strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0)
			goto untrusted;
		nfd = mbox_trusted_step(fd, comp);
		close(fd);
		if ((fd = nfd) == -1)
			return -1;
		if (!mbox_dir_trusted(fd, st))
			goto untrusted;
	}
	return fd;
untrusted:
	close(fd);
	return -1;
}

/*
 * The one thing root does in a mail spool. Debian's /var/mail is
 * root:mail 2775, where a user cannot create a mailbox: if the mailbox
 * is missing and its directory is trusted (see above), root creates it
 * empty with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, and gives it to the
 * user (group: the directory's if set-group-id, else the user's). Root
 * never opens an existing mailbox and never creates one in a directory
 * a user could change; there the child creates it as the user.
 */
void
mbox_create_as_root(const char *path, uid_t uid, gid_t gid)
{
	char		dir[PATH_MAX], *base;
	struct stat	st;
	int		dfd, fd;

	if (strlcpy(dir, path, sizeof(dir)) >= sizeof(dir) || dir[0] != '/')
		return;
	base = strrchr(dir, '/');
	*base++ = '\0';
	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return;
	if ((dfd = mbox_trusted_dir(dir, &st)) == -1)
		return;
	fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0600);
	if (fd != -1) {
		if (fchown(fd, uid, (st.st_mode & S_ISGID) ? (gid_t)-1 :
		    gid) == -1)
			(void)unlinkat(dfd, base, 0);
		close(fd);
	}
	close(dfd);
}

/* Sleeps a little; -1 once the deadline has passed or we were told to
 * stop. */
static int
mbox_wait(time_t deadline)
{
	struct timespec	ts = { 0, MBOX_LOCK_POLL_NSEC };

	if (mailbox_cancelled || time(NULL) >= deadline)
		return -1;
	(void)nanosleep(&ts, NULL);
	return 0;
}

/* 1: held; 0: skipped, the directory does not let the user create it
 * (fcntl alone then guards the mailbox); -1: failed, with res. */
static int
mbox_dotlock(const char *lock, time_t deadline, struct local_result *res)
{
	struct stat	st;
	int		fd;

	for (;;) {
		fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd != -1) {
			close(fd);
			return 1;
		}
		if (errno == EACCES || errno == EPERM || errno == EROFS)
			return 0;
		if (errno != EEXIST) {
			mailbox_errno_result(res, errno, "dotlock", lock);
			return -1;
		}
		if (lstat(lock, &st) == 0 &&
		    time(NULL) - st.st_mtime > MBOX_DOTLOCK_STALE &&
		    unlink(lock) == 0)
			continue;	/* stale: its holder is long gone */
		if (mbox_wait(deadline) == -1)
			break;
	}
	mailbox_result(res, DL_TEMPFAIL, "4.2.0", "mailbox %s is locked (%s)",
	    res->mailbox, lock);
	return -1;
}

static int
mbox_fcntl_lock(int fd, time_t deadline, struct local_result *res)
{
	struct flock	fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	while (fcntl(fd, F_SETLK, &fl) == -1) {
		if (errno != EACCES && errno != EAGAIN && errno != EINTR) {
			mailbox_errno_result(res, errno, "lock", res->mailbox);
			return -1;
		}
		if (mbox_wait(deadline) == -1) {
			mailbox_result(res, DL_TEMPFAIL, "4.2.0",
			    "mailbox %s is locked", res->mailbox);
			return -1;
		}
	}
	return 0;
}

/* The user's own plain file with one name; else a permanent refusal. */
static int
mbox_check(int fd, uid_t uid, struct stat *st, struct local_result *res)
{
	const char	*why = NULL;

	if (fstat(fd, st) == -1) {
		mailbox_errno_result(res, errno, "stat", res->mailbox);
		return -1;
	}
	if (!S_ISREG(st->st_mode))
		why = "is not a regular file";
	else if (st->st_nlink != 1)
		why = "has more than one link";
	else if (st->st_uid != uid)
		why = "is not owned by the recipient";
	if (why == NULL)
		return 0;
	mailbox_result(res, DL_PERMFAIL, "5.2.0", "mailbox %s %s",
	    res->mailbox, why);
	return -1;
}

static int
mbox_open(const char *path, struct local_result *res)
{
	int	fd = -1, i, fl;

	for (i = 0; i < 2 && fd == -1; i++) {
		fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW |
		    O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd == -1 && errno == ENOENT)
			fd = open(path, O_WRONLY | O_APPEND | O_CREAT |
			    O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
			    O_CLOEXEC, 0600);
		if (fd == -1 && errno != EEXIST)
			break;
	}
	if (fd == -1 && (errno == ELOOP || errno == EISDIR || errno == ENXIO))
		mailbox_result(res, DL_PERMFAIL, "5.2.0", "mailbox %s is %s",
		    path, errno == ELOOP ? "a symbolic link" :
		    "not a regular file");	/* ENXIO: a FIFO, a device */
	else if (fd == -1)
		mailbox_errno_result(res, errno, "open", path);
	else if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1) {
		mailbox_errno_result(res, errno, "open", path);
		close(fd);
		fd = -1;
	}
	return fd;
}

/* 0: locked and still the file at path; 1: replaced meanwhile; -1. */
static int
mbox_lock_check(int fd, const char *path, uid_t uid, time_t deadline,
    struct local_result *res)
{
	struct stat	st, now;

	if (mbox_fcntl_lock(fd, deadline, res) == -1 ||
	    mbox_check(fd, uid, &st, res) == -1)
		return -1;
	if (lstat(path, &now) == -1 || now.st_dev != st.st_dev ||
	    now.st_ino != st.st_ino) {
		mailbox_result(res, DL_TEMPFAIL, "4.2.0",
		    "mailbox %s keeps changing", path);
		return 1;
	}
	return 0;
}

/* Undoes a failed append; says so in the result if it could not. */
static void
mbox_rollback(int fd, off_t size, struct local_result *res)
{
	if (ftruncate(fd, size) == 0 && fsync(fd) == 0)
		return;
	strlcat(res->text, "; could not cut the mailbox back",
	    sizeof(res->text));
}

int
mbox_append(int fd, const struct local_env *env, stream_write_fn *wfn,
    void *warg, struct local_result *res)
{
	static struct stream	s;
	struct stat		st;
	char			from[QM_ADDR_MAX + 64];
	int			n, read_err = 0, err;

	if (fstat(fd, &st) == -1) {
		mailbox_errno_result(res, errno, "stat", res->mailbox);
		return -1;
	}
	if ((n = mbox_from_line(from, sizeof(from), env->sender,
	    time(NULL))) == -1) {
		mailbox_result(res, DL_PERMFAIL, "5.1.7", "bad sender");
		return -1;
	}
	stream_init(&s, STREAM_CRLF | STREAM_QUOTE_FROM,
	    wfn != NULL ? wfn : mailbox_write_fd, wfn != NULL ? warg : &fd);
	if (stream_raw(&s, from, (size_t)n) == 0 &&
	    mailbox_copy(&s, env, &read_err) == 0 &&
	    stream_raw(&s, "\n", 1) == 0 && stream_flush(&s) == 0 &&
	    fsync(fd) == 0)
		return 0;
	err = read_err ? errno : s.err != 0 ? s.err : errno;
	mailbox_errno_result(res, err, read_err ? "read message for" :
	    "write to", res->mailbox);
	mbox_rollback(fd, st.st_size, res);
	return -1;
}

int
mbox_deliver(const char *path, uid_t uid, const struct local_env *env,
    struct local_result *res)
{
	char	lock[PATH_MAX];
	time_t	deadline = time(NULL) + MBOX_LOCK_WAIT;
	int	fd, dot, i, r = -1, rc = -1;

	strlcpy(res->mailbox, path, sizeof(res->mailbox));
	if ((size_t)snprintf(lock, sizeof(lock), "%s.lock", path) >=
	    sizeof(lock)) {
		mailbox_result(res, DL_TEMPFAIL, "4.3.5", "mailbox path too "
		    "long");
		return -1;
	}
	if ((dot = mbox_dotlock(lock, deadline, res)) == -1)
		return -1;
	for (i = 0; i < MBOX_OPEN_TRIES; i++) {
		if ((fd = mbox_open(path, res)) == -1)
			break;
		if ((r = mbox_lock_check(fd, path, uid, deadline, res)) == 0)
			rc = mbox_append(fd, env, NULL, NULL, res);
		close(fd);		/* releases the fcntl lock */
		if (r != 1)
			break;
	}
	if (dot == 1)
		(void)unlink(lock);
	if (rc == 0)
		mailbox_result(res, DL_OK, "2.0.0", "delivered to mailbox");
	return rc;
}
