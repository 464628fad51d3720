/*
 * sm_priv.c: sendmail is installed set-group-id _bulwarkdrop so that it
 * may write into the maildrop, and for nothing else. The group is put
 * aside at once and taken up only around the few system calls that
 * create or rename a maildrop file; sm_priv_forget() gives it up for
 * good (another configuration file, or any mode but plain sending).
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>

#include "sendmail.h"

static gid_t	drop_gid;	/* the set-group-id group, or the real */
static int	have;

void
sm_priv_init(void)
{
	drop_gid = getegid();
	have = drop_gid != getgid();
	/* the saved set-group-id keeps drop_gid for sm_priv_raise() */
	if (have && setegid(getgid()) == -1) {
		perror("sendmail: setegid");
		exit(EX_OSERR);
	}
}

void
sm_priv_forget(void)
{
	gid_t	gid = getgid();

	if (!have)
		return;
	if (setresgid(gid, gid, gid) == -1) {
		perror("sendmail: setresgid");
		exit(EX_OSERR);
	}
	have = 0;
}

int
sm_priv_raise(void)
{
	return have ? setegid(drop_gid) : 0;
}

void
sm_priv_lower(void)
{
	if (have && setegid(getgid()) == -1) {
		perror("sendmail: setegid");
		exit(EX_OSERR);
	}
}

int
sm_priv_have(void)
{
	return have;
}
