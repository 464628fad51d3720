/*
 * pipe.c: delivery to a command, in the child that already is the user:
 * /bin/sh -c runs the command as the administrator wrote it, the message
 * on its stdin, in its own session, with a clean environment (envelope
 * text only in variables, never in the command), a time limit and
 * bounded output. The exit status decides (pipe_result).
 */
#include <sys/mman.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mailbox.h"

#define PIPE_EX_TEMPFAIL	75	/* sysexits.h */
#define PIPE_POLL_MS		100
#define PIPE_ENV_MAX		8

struct pipe_out {
	char	buf[LOCAL_PIPE_OUTPUT_MAX + 1];
	size_t	len;
};

/* The message as the command reads it, in a memfd at offset 0. */
static int
pipe_message(const struct local_env *env, struct local_result *res)
{
	static struct stream	s;
	int			fd, read_err;

	if ((fd = memfd_create("bulwark-message", MFD_CLOEXEC)) == -1) {
		mailbox_errno_result(res, errno, "memfd for", "command");
		return -1;
	}
	stream_init(&s, STREAM_CRLF, mailbox_write_fd, &fd);
	if (mailbox_copy(&s, env, &read_err) == -1) {
		mailbox_errno_result(res, errno, read_err ? "read message for" :
		    "copy message for", "command");
		close(fd);
		return -1;
	}
	if (lseek(fd, 0, SEEK_SET) == -1) {
		mailbox_errno_result(res, errno, "rewind message for",
		    "command");
		close(fd);
		return -1;
	}
	return fd;
}

/* "NAME=value" into buf; NULL if it does not fit. */
static char *
pipe_var(char *buf, size_t len, const char *name, const char *value)
{
	int	n = snprintf(buf, len, "%s=%s", name, value);

	return n < 0 || (size_t)n >= len ? NULL : buf;
}

/* The grandchild: the command's process. Never returns. */
static void __attribute__((noreturn))
pipe_exec(const char *command, const struct local_user *u, const char *rcpt,
    const struct local_env *env, int in, int out)
{
	static char	 vars[PIPE_ENV_MAX][PATH_MAX + 16];
	char		*envp[PIPE_ENV_MAX + 1], *argv[4];
	sigset_t	 none;
	int		 sig;

	for (sig = 1; sig < NSIG; sig++)	/* ignored ones survive exec */
		(void)signal(sig, SIG_DFL);
	sigemptyset(&none);
	/* above 2 first, so that no dup2 below is a no-op keeping O_CLOEXEC */
	if ((in = fcntl(in, F_DUPFD, 3)) == -1 ||
	    (out = fcntl(out, F_DUPFD, 3)) == -1)
		_exit(PIPE_EX_TEMPFAIL);
	if (setsid() == -1 || dup2(in, 0) == -1 || dup2(out, 1) == -1 ||
	    dup2(out, 2) == -1 ||
	    sigprocmask(SIG_SETMASK, &none, NULL) == -1)
		_exit(PIPE_EX_TEMPFAIL);
	(void)close_range(3, ~0U, 0);
	if (chdir(u->home) == -1 && chdir("/") == -1)
		_exit(PIPE_EX_TEMPFAIL);
	envp[0] = pipe_var(vars[0], sizeof(vars[0]), "PATH", LOCAL_PIPE_PATH);
	envp[1] = pipe_var(vars[1], sizeof(vars[1]), "HOME", u->home);
	envp[2] = pipe_var(vars[2], sizeof(vars[2]), "USER", u->name);
	envp[3] = pipe_var(vars[3], sizeof(vars[3]), "LOGNAME", u->name);
	envp[4] = pipe_var(vars[4], sizeof(vars[4]), "SHELL", "/bin/sh");
	envp[5] = pipe_var(vars[5], sizeof(vars[5]), "SENDER", env->sender);
	envp[6] = pipe_var(vars[6], sizeof(vars[6]), "RECIPIENT", rcpt);
	envp[7] = NULL;
	for (sig = 0; sig < 7; sig++)
		if (envp[sig] == NULL)
			_exit(PIPE_EX_TEMPFAIL);
	argv[0] = "sh";
	argv[1] = "-c";
	argv[2] = (char *)(uintptr_t)command;
	argv[3] = NULL;
	execve("/bin/sh", argv, envp);
	_exit(PIPE_EX_TEMPFAIL);
}

/* Keeps what fits of the command's output; 1 at its end. */
static int
pipe_read(int fd, struct pipe_out *o)
{
	char	buf[4096];
	ssize_t	n;
	size_t	take;

	n = read(fd, buf, sizeof(buf));
	if (n == -1)
		return errno == EINTR || errno == EAGAIN ? 0 : 1;
	if (n == 0)
		return 1;
	take = LOCAL_PIPE_OUTPUT_MAX - o->len;
	if ((size_t)n < take)
		take = (size_t)n;
	memcpy(o->buf + o->len, buf, take);
	o->len += take;
	return 0;
}

/* Waits for the command, reading its output; kills its whole session
 * at the time limit or when we are told to stop. 1 if it was killed. */
static int
pipe_wait(pid_t pid, int fd, struct pipe_out *o, int *status)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	struct timespec	nap = { 0, PIPE_POLL_MS * 1000 * 1000 };
	time_t		deadline = time(NULL) + LOCAL_PIPE_TIMEOUT;
	int		eof = 0;

	for (;;) {
		if (waitpid(pid, status, WNOHANG) == pid)
			break;
		if (mailbox_cancelled || time(NULL) >= deadline) {
			(void)kill(-pid, SIGKILL);
			(void)kill(pid, SIGKILL);
			while (waitpid(pid, status, 0) == -1 && errno == EINTR)
				;
			return 1;
		}
		if (eof)
			(void)nanosleep(&nap, NULL);
		else if (poll(&pfd, 1, PIPE_POLL_MS) > 0)
			eof = pipe_read(fd, o);
	}
	while (!eof && poll(&pfd, 1, 0) > 0)	/* what is left */
		eof = pipe_read(fd, o);
	return 0;
}

/* The first line of the output, printable, for the result's text. */
static const char *
pipe_output(struct pipe_out *o)
{
	size_t	i;

	o->buf[o->len] = '\0';
	for (i = 0; i < o->len; i++) {
		if (o->buf[i] == '\n') {
			o->buf[i] = '\0';
			break;
		}
		if ((unsigned char)o->buf[i] < ' ' || o->buf[i] == 0x7f)
			o->buf[i] = ' ';
	}
	return o->len > 0 ? o->buf : "no output";
}

/* Exit 0: delivered; 75 (EX_TEMPFAIL): deferred; another: bounced; a
 * signal or the time limit: deferred. */
static void
pipe_result(int status, int killed, struct pipe_out *o,
    struct local_result *res)
{
	if (killed)
		mailbox_result(res, DL_TEMPFAIL, "4.3.0", "command %s",
		    mailbox_cancelled ? "stopped" : "timed out");
	else if (WIFSIGNALED(status))
		mailbox_result(res, DL_TEMPFAIL, "4.3.0", "command killed by "
		    "signal %d", WTERMSIG(status));
	else if (WEXITSTATUS(status) == 0)
		mailbox_result(res, DL_OK, "2.0.0", "delivered to command");
	else if (WEXITSTATUS(status) == PIPE_EX_TEMPFAIL)
		mailbox_result(res, DL_TEMPFAIL, "4.3.0", "command deferred "
		    "(exit %d): %s", PIPE_EX_TEMPFAIL, pipe_output(o));
	else
		mailbox_result(res, DL_PERMFAIL, "5.3.0", "command failed "
		    "(exit %d): %s", WEXITSTATUS(status), pipe_output(o));
}

int
pipe_deliver(const char *command, const struct local_user *u,
    const char *rcpt, const struct local_env *env, struct local_result *res)
{
	static struct pipe_out	o;
	int			in, out[2], status = 0, killed;
	pid_t			pid;

	if ((in = pipe_message(env, res)) == -1)
		return -1;
	if (pipe2(out, O_CLOEXEC) == -1) {
		mailbox_errno_result(res, errno, "pipe for", "command");
		close(in);
		return -1;
	}
	if ((pid = fork()) == -1) {
		mailbox_errno_result(res, errno, "fork for", "command");
		close(in);
		close(out[0]);
		close(out[1]);
		return -1;
	}
	if (pid == 0)
		pipe_exec(command, u, rcpt, env, in, out[1]);
	close(in);
	close(out[1]);
	o.len = 0;
	killed = pipe_wait(pid, out[0], &o, &status);
	close(out[0]);
	pipe_result(status, killed, &o, res);
	return res->status == DL_OK ? 0 : -1;
}
