/*
 * auth.c: lookup's answers about logins. LK_AUTH: is this the login's
 * password (crypt(3) hashes in credentials-table, yescrypt or
 * sha512-crypt)? LK_SENDER: may this login use this envelope sender?
 * LK_UID: which user is behind the sendmail socket's peer uid?
 * smtpd never sees a hash; only this process reads them.
 */
#include <crypt.h>
#include <stdint.h>
#include <stdio.h>
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <shadow.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "daemon.h"
#include "link.h"
#include "log.h"
#include "lookup.h"
#include "throttle.h"
#include "wire.h"

#define AUTH_LOGIN_MAX		255
#define AUTH_PASSWORD_MAX	1024
#define AUTH_CLIENT_MAX		63	/* smtpd's text of an address */
/* hashed when the login is unknown, so that the time taken does not
 * tell which logins exist */
#define AUTH_DUMMY_SETTING	"$6$rounds=5000$bulwarkbulwark$"

struct table	*lookup_credentials_table;
struct table	*lookup_sender_login_table;

static void
auth_reply(struct link *l, uint16_t type, uint32_t id, uint32_t status,
    const char *name)
{
	struct wire_w	w;

	wire_w_init(&w);
	wire_w_u32(&w, id);
	wire_w_u32(&w, status);
	if (name != NULL)
		wire_w_str(&w, name);
	ipc_send(l->chan, type, w.buf, w.len, -1);
}

/* 1 if password matches hash, 0 if not. */
static int
auth_crypt_match(const char *password, const char *hash)
{
	static struct crypt_data	cd;
	const char			*out;
	size_t				 i, len;
	unsigned char			 diff = 0;

	memset(&cd, 0, sizeof(cd));
	out = crypt_r(password, hash, &cd);
	if (out == NULL || out[0] == '*' || (len = strlen(out)) !=
	    strlen(hash)) {
		explicit_bzero(&cd, sizeof(cd));
		return 0;
	}
	for (i = 0; i < len; i++)
		diff |= (unsigned char)(out[i] ^ hash[i]);
	explicit_bzero(&cd, sizeof(cd));
	return diff == 0;
}

/* A system user's hash from /etc/shadow (auth-system-users): never
 * root's. TABLE_FOUND, TABLE_NOTFOUND or TABLE_ERROR. */
static int
auth_shadow(const char *login, char *val, size_t len)
{
	struct passwd	*pw;
	struct spwd	*sp;

	errno = 0;
	if ((pw = getpwnam(login)) == NULL)
		return errno == 0 || errno == ENOENT ? TABLE_NOTFOUND :
		    TABLE_ERROR;
	if (pw->pw_uid == 0)
		return TABLE_NOTFOUND;
	errno = 0;
	if ((sp = getspnam(login)) == NULL) {
		if (errno == EACCES)
			log_warnx("auth: /etc/shadow is not readable: "
			    "restart lookup after turning auth-system-users "
			    "on");
		return errno == 0 || errno == ENOENT ? TABLE_NOTFOUND :
		    TABLE_ERROR;
	}
	if (strlcpy(val, sp->sp_pwdp, len) >= len)
		return TABLE_NOTFOUND;
	return TABLE_FOUND;
}

/* LK_OK, LK_AUTH_FAILED or LK_TEMPFAIL for the table's verdict. */
static uint32_t
auth_verify(const char *login, const char *password)
{
	static char	val[TABLE_VALUE_MAX];
	char		*hash, *end;
	int		 rc = TABLE_NOTFOUND;

	if (lookup_credentials_table != NULL)
		rc = lookup_table_get(lookup_credentials_table, login, val,
		    sizeof(val));
	if (rc == TABLE_NOTFOUND && daemon_cfg->auth_system_users &&
	    strchr(login, '@') == NULL)
		rc = auth_shadow(login, val, sizeof(val));
	if (rc == TABLE_ERROR)
		return LK_TEMPFAIL;
	if (rc == TABLE_NOTFOUND) {
		(void)auth_crypt_match(password, AUTH_DUMMY_SETTING);
		return LK_AUTH_FAILED;
	}
	hash = val + strspn(val, " \t");
	if ((end = strpbrk(hash, " \t")) != NULL)
		*end = '\0';
	/* "!" or "*" locks a login, as in /etc/shadow */
	if (hash[0] != '$')
		return LK_AUTH_FAILED;
	return auth_crypt_match(password, hash) ? LK_OK : LK_AUTH_FAILED;
}

void
answer_auth(struct link *l, struct ipc_msg *m)
{
	struct wire_r	 r;
	char		 client[AUTH_CLIENT_MAX + 1], login[AUTH_LOGIN_MAX + 1];
	char		 password[AUTH_PASSWORD_MAX + 1], ckey[THROTTLE_KEY_MAX];
	char		 lkey[THROTTLE_KEY_MAX];
	const struct config *cf = daemon_cfg;
	time_t		 now = time(NULL);
	uint32_t	 id, st;
	size_t		 i;

	wire_r_init(&r, m);
	id = wire_r_u32(&r);
	wire_r_str(&r, client, sizeof(client));
	wire_r_str(&r, login, sizeof(login));
	wire_r_str(&r, password, sizeof(password));
	explicit_bzero((void *)(uintptr_t)m->data, m->len);
	if (wire_r_end(&r) == -1) {
		explicit_bzero(password, sizeof(password));
		link_drop(l, "malformed authentication query");
		return;
	}
	strlcpy(ckey, "client:", sizeof(ckey));
	strlcat(ckey, client, sizeof(ckey));
	/* the table's keys are lower-case: so are the counts' */
	strlcpy(lkey, "login:", sizeof(lkey));
	strlcat(lkey, login, sizeof(lkey));
	for (i = 0; lkey[i] != '\0'; i++)
		lkey[i] = (char)tolower((unsigned char)lkey[i]);
	if (throttle_over(ckey, cf->auth_failure_limit,
	    cf->auth_failure_window, now) || throttle_over(lkey,
	    cf->auth_failure_limit, cf->auth_failure_window, now))
		st = LK_AUTH_THROTTLED;
	else if ((st = auth_verify(login, password)) == LK_AUTH_FAILED) {
		throttle_fail(ckey, cf->auth_failure_window, now);
		throttle_fail(lkey, cf->auth_failure_window, now);
	} else if (st == LK_OK) {
		throttle_clear(ckey);
		throttle_clear(lkey);
	}
	explicit_bzero(password, sizeof(password));
	auth_reply(l, LK_AUTH_REPLY, id, st, NULL);
}

/* Is login in the list "a, b c" (commas or blanks between)? */
static int
auth_login_listed(char *list, const char *login)
{
	char	*word, *save = NULL;

	for (word = strtok_r(list, ", \t", &save); word != NULL;
	    word = strtok_r(NULL, ", \t", &save))
		if (strcasecmp(word, login) == 0)
			return 1;
	return 0;
}

/* What sender-login-table says of sender: LK_OK, LK_SENDER_DENIED,
 * LK_TEMPFAIL, or LK_NOUSER when it does not know the address (nor its
 * "@domain"). */
static uint32_t
auth_sender_table(const char *login, const char *sender)
{
	static char	 val[TABLE_VALUE_MAX];
	const char	*at = strrchr(sender, '@');
	int		 rc;

	if (lookup_sender_login_table == NULL)
		return LK_NOUSER;
	rc = lookup_table_get(lookup_sender_login_table, sender, val,
	    sizeof(val));
	if (rc == TABLE_NOTFOUND && at != NULL)
		rc = lookup_table_get(lookup_sender_login_table, at, val,
		    sizeof(val));
	if (rc == TABLE_ERROR)
		return LK_TEMPFAIL;
	if (rc == TABLE_NOTFOUND)
		return LK_NOUSER;
	return auth_login_listed(val, login) ? LK_OK : LK_SENDER_DENIED;
}

/* Without the table's word: a login owns itself as an address, and a
 * login without '@' owns login@ each local domain and the host name. */
static int
auth_sender_implicit(const char *login, const char *sender)
{
	const char	*at = strrchr(sender, '@');
	size_t		 llen = strlen(login);

	if (strcasecmp(login, sender) == 0)
		return 1;
	if (strchr(login, '@') != NULL || at == NULL ||
	    (size_t)(at - sender) != llen ||
	    strncasecmp(sender, login, llen) != 0)
		return 0;
	return config_is_local_domain(daemon_cfg, at + 1) ||
	    strcasecmp(at + 1, daemon_cfg->hostname) == 0;
}

void
answer_sender(struct link *l, struct ipc_msg *m)
{
	struct wire_r	 r;
	char		 login[AUTH_LOGIN_MAX + 1], sender[LK_ADDR_MAX + 1];
	uint32_t	 id, st;

	wire_r_init(&r, m);
	id = wire_r_u32(&r);
	wire_r_str(&r, login, sizeof(login));
	wire_r_str(&r, sender, sizeof(sender));
	if (wire_r_end(&r) == -1) {
		link_drop(l, "malformed sender query");
		return;
	}
	if (sender[0] == '\0')
		st = LK_OK;	/* <>: bounces and receipts */
	else if ((st = auth_sender_table(login, sender)) == LK_NOUSER)
		st = auth_sender_implicit(login, sender) ? LK_OK :
		    LK_SENDER_DENIED;
	auth_reply(l, LK_SENDER_REPLY, id, st, NULL);
}

void
answer_uid(struct link *l, struct ipc_msg *m)
{
	struct wire_r	 r;
	struct passwd	*pw;
	uint32_t	 id, uid;

	wire_r_init(&r, m);
	id = wire_r_u32(&r);
	uid = wire_r_u32(&r);
	if (wire_r_end(&r) == -1) {
		link_drop(l, "malformed uid query");
		return;
	}
	errno = 0;
	if ((pw = getpwuid((uid_t)uid)) != NULL &&
	    strlen(pw->pw_name) <= AUTH_LOGIN_MAX)
		auth_reply(l, LK_UID_REPLY, id, LK_OK, pw->pw_name);
	else
		auth_reply(l, LK_UID_REPLY, id, pw == NULL && errno == 0 ?
		    LK_NOUSER : LK_TEMPFAIL, "");
}
