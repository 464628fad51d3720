/*
 * privsep.c: chroot, setgroups, setresgid, setresuid, no_new_privs, and
 * a check afterwards that none of the real, effective or saved ids is 0
 * and that setuid(0) fails.
 */
#include <sys/prctl.h>
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "log.h"
#include "privsep.h"

void
privsep_user(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd	*pw;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL)
		fatalx("privsep: no such user %s (run scripts/setup.sh)", user);
	if (pw->pw_uid == 0)
		fatalx("privsep: user %s has uid 0", user);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
}

static void
privsep_check(uid_t uid, gid_t gid)
{
	uid_t	ru, eu, su;
	gid_t	rg, eg, sg;

	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1)
		fatal("privsep: getresuid");
	if (ru != uid || eu != uid || su != uid ||
	    rg != gid || eg != gid || sg != gid)
		fatalx("privsep: ids did not change as asked");
	if (setuid(0) != -1 || seteuid(0) != -1)
		fatalx("privsep: root could be regained");
}

void
privsep_drop(const char *user, const char *root, const char *group)
{
	struct group	*gr;
	uid_t		 uid;
	gid_t		 gid, groups[2];

	privsep_user(user, &uid, &gid);
	groups[0] = gid;
	if (group != NULL) {
		if ((gr = getgrnam(group)) == NULL)
			fatalx("privsep: no group %s", group);
		groups[1] = gr->gr_gid;
	}
	if (root != NULL) {
		if (chroot(root) == -1)
			fatal("privsep: chroot %s", root);
		if (chdir("/") == -1)
			fatal("privsep: chdir / in %s", root);
	}
	if (setgroups(group != NULL ? 2 : 1, groups) == -1)
		fatal("privsep: setgroups");
	if (setresgid(gid, gid, gid) == -1)
		fatal("privsep: setresgid");
	if (setresuid(uid, uid, uid) == -1)
		fatal("privsep: setresuid");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("privsep: no_new_privs");
	privsep_check(uid, gid);
}
