/*
 * privsep.h: the one way a daemon gives up root. Every step is checked
 * and any failure ends the process: a daemon that could not drop its
 * privileges must not serve.
 */
#ifndef BULWARK_PRIVSEP_H
#define BULWARK_PRIVSEP_H

#include <sys/types.h>

#define BULWARK_USER_SMTPD	"_bulwark"
#define BULWARK_USER_QMGR	"_bulwarkq"
#define BULWARK_USER_LOOKUP	"_bulwarkl"
/* sendmail(1) is set-group-id to it, to write the maildrop only */
#define BULWARK_GROUP_DROP	"_bulwarkdrop"

/* Look up a system user's ids; fatal if the user does not exist. */
void	privsep_user(const char *user, uid_t *uid, gid_t *gid);
/* chroot to root (if not NULL) and chdir there, take the user's uid and
 * gid (and no supplementary groups), set no_new_privs, then check that
 * root cannot be regained. */
/* group: one supplementary group to keep (lookup's "shadow" when
 * auth-system-users is on), or NULL */
void	privsep_drop(const char *user, const char *root, const char *group);

#endif
