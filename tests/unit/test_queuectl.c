/*
 * test_queuectl.c: unit tests of the queue control payloads
 * (common/queuectl.c): every writer read back by its reader, and every
 * way a reader must refuse a hostile payload: cut short at any byte,
 * a value out of range, control characters, counts that lie. Also the
 * checks that decide what a non-root user may see: queue ids, login
 * names, and whether a sender is a given user's own address.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "queuectl.h"

static struct wire_w	w;

static void
reader(struct wire_r *r, struct ipc_msg *m, const void *p, size_t len)
{
	memset(m, 0, sizeof(*m));
	m->type = CQ_LIST_REPLY;
	m->fd = -1;
	m->len = (uint32_t)len;
	m->data = p;
	wire_r_init(r, m);
}

static void
sample_msg(struct qc_msg *m)
{
	memset(m, 0, sizeof(*m));
	strlcpy(m->qid, "6B0494D039935000", sizeof(m->qid));
	m->flags = QC_F_HELD;
	m->arrival = 1700000000;
	m->size = 1234;
	strlcpy(m->sender, "a@example.org", sizeof(m->sender));
	m->nrcpt = 2;
	m->count = 1;
}

static void
sample_rcpt(struct qc_rcpt *rc)
{
	memset(rc, 0, sizeof(*rc));
	strlcpy(rc->addr, "b@example.test", sizeof(rc->addr));
	rc->state = QC_DEFERRED;
	rc->attempts = 3;
	rc->next_try = 1700000300;
	strlcpy(rc->dsn, "4.2.2", sizeof(rc->dsn));
	strlcpy(rc->text, "mailbox full", sizeof(rc->text));
}

static void
test_msg_and_rcpt_round_trip(void **state)
{
	struct qc_msg	m, m2;
	struct qc_rcpt	rc, rc2;
	struct wire_r	r;
	struct ipc_msg	im;

	sample_msg(&m);
	sample_rcpt(&rc);
	memset(&m2, 0, sizeof(m2));	/* the readers leave the tails alone */
	memset(&rc2, 0, sizeof(rc2));
	wire_w_init(&w);
	qc_msg_write(&w, &m);
	qc_rcpt_write(&w, &rc);
	assert_int_equal(w.err, 0);
	reader(&r, &im, w.buf, w.len);
	assert_int_equal(qc_msg_read(&r, &m2), 0);
	assert_int_equal(qc_rcpt_read(&r, &rc2), 0);
	assert_int_equal(wire_r_end(&r), 0);
	assert_memory_equal(&m, &m2, sizeof(m));
	assert_memory_equal(&rc, &rc2, sizeof(rc));
}

/* A message and its recipient cut at every byte: never read as whole. */
static void
test_truncated_anywhere(void **state)
{
	struct qc_msg	m;
	struct qc_rcpt	rc;
	struct wire_r	r;
	struct ipc_msg	im;
	size_t		n, full;

	sample_msg(&m);
	sample_rcpt(&rc);
	wire_w_init(&w);
	qc_msg_write(&w, &m);
	qc_rcpt_write(&w, &rc);
	full = w.len;
	for (n = 0; n < full; n++) {
		reader(&r, &im, w.buf, n);
		assert_true(qc_msg_read(&r, &m) == -1 ||
		    qc_rcpt_read(&r, &rc) == -1);
	}
	/* one byte too many is left over for wire_r_end to refuse */
	wire_w_u8(&w, 0);
	reader(&r, &im, w.buf, w.len);
	assert_int_equal(qc_msg_read(&r, &m), 0);
	assert_int_equal(qc_rcpt_read(&r, &rc), 0);
	assert_int_equal(wire_r_end(&r), -1);
}

/* Writes m, reads it back: the reader's verdict. */
static int
msg_verdict(const struct qc_msg *m)
{
	struct qc_msg	out;
	struct wire_r	r;
	struct ipc_msg	im;

	wire_w_init(&w);
	qc_msg_write(&w, m);
	reader(&r, &im, w.buf, w.len);
	return qc_msg_read(&r, &out);
}

static void
test_msg_refusals(void **state)
{
	struct qc_msg	m;

	sample_msg(&m);
	assert_int_equal(msg_verdict(&m), 0);
	m.count = m.nrcpt + 1;			/* more shown than there are */
	assert_int_equal(msg_verdict(&m), -1);
	sample_msg(&m);
	m.flags = 0x4;				/* unknown flag */
	assert_int_equal(msg_verdict(&m), -1);
	sample_msg(&m);
	m.arrival = -1;
	assert_int_equal(msg_verdict(&m), -1);
	sample_msg(&m);
	strlcpy(m.qid, "6b0494d039935000", sizeof(m.qid));	/* lower case */
	assert_int_equal(msg_verdict(&m), -1);
	sample_msg(&m);
	m.qid[0] = '\0';
	assert_int_equal(msg_verdict(&m), -1);
	sample_msg(&m);
	strlcpy(m.sender, "a\033[2J@example.org", sizeof(m.sender));
	assert_int_equal(msg_verdict(&m), -1);
	sample_msg(&m);
	m.sender[0] = '\0';			/* the null sender is fine */
	assert_int_equal(msg_verdict(&m), 0);
}

static int
rcpt_verdict(const struct qc_rcpt *rc)
{
	struct qc_rcpt	out;
	struct wire_r	r;
	struct ipc_msg	im;

	wire_w_init(&w);
	qc_rcpt_write(&w, rc);
	reader(&r, &im, w.buf, w.len);
	return qc_rcpt_read(&r, &out);
}

static void
test_rcpt_refusals(void **state)
{
	struct qc_rcpt	rc;

	sample_rcpt(&rc);
	rc.state = QC_STATE_MAX + 1;
	assert_int_equal(rcpt_verdict(&rc), -1);
	sample_rcpt(&rc);
	rc.addr[0] = '\0';
	assert_int_equal(rcpt_verdict(&rc), -1);
	sample_rcpt(&rc);
	rc.next_try = -5;
	assert_int_equal(rcpt_verdict(&rc), -1);
	sample_rcpt(&rc);
	strlcpy(rc.text, "line\nbreak", sizeof(rc.text));
	assert_int_equal(rcpt_verdict(&rc), -1);
	sample_rcpt(&rc);
	strlcpy(rc.dsn, "4.2.2\x7f", sizeof(rc.dsn));
	assert_int_equal(rcpt_verdict(&rc), -1);
}

/* A string longer than the reader's field is refused, not cut. */
static void
test_overlong_fields(void **state)
{
	struct qc_rcpt	rc;
	struct wire_r	r;
	struct ipc_msg	im;
	char		long_addr[QC_TEXT_MAX + 2];

	memset(long_addr, 'a', sizeof(long_addr) - 1);
	long_addr[sizeof(long_addr) - 1] = '\0';
	wire_w_init(&w);
	wire_w_str(&w, long_addr);
	wire_w_u32(&w, QC_PENDING);
	wire_w_u32(&w, 0);
	wire_w_u64(&w, 0);
	wire_w_str(&w, "");
	wire_w_str(&w, "");
	reader(&r, &im, w.buf, w.len);
	assert_int_equal(qc_rcpt_read(&r, &rc), -1);

	/* a length prefix that promises more than the frame holds */
	wire_w_init(&w);
	wire_w_u32(&w, 0xffffffffU);
	reader(&r, &im, w.buf, w.len);
	assert_int_equal(qc_rcpt_read(&r, &rc), -1);
}

static void
test_details(void **state)
{
	struct qc_details	d, d2;
	struct wire_r		r;
	struct ipc_msg		im;

	memset(&d, 0, sizeof(d));
	memset(&d2, 0, sizeof(d2));
	strlcpy(d.client_addr, "192.0.2.7", sizeof(d.client_addr));
	strlcpy(d.helo, "client.example.org", sizeof(d.helo));
	d.body = QM_BODY_8BITMIME;
	d.ret = QM_RET_HDRS;
	d.smtputf8 = 1;
	wire_w_init(&w);
	qc_details_write(&w, &d);
	reader(&r, &im, w.buf, w.len);
	assert_int_equal(qc_details_read(&r, &d2), 0);
	assert_memory_equal(&d, &d2, sizeof(d));

	d.body = QM_BODY_BINARYMIME + 1;
	wire_w_init(&w);
	qc_details_write(&w, &d);
	reader(&r, &im, w.buf, w.len);
	assert_int_equal(qc_details_read(&r, &d2), -1);
	d.body = 0;
	d.smtputf8 = 2;
	wire_w_init(&w);
	qc_details_write(&w, &d);
	reader(&r, &im, w.buf, w.len);
	assert_int_equal(qc_details_read(&r, &d2), -1);
	d.smtputf8 = 0;
	d.ret = QM_RET_HDRS + 1;
	wire_w_init(&w);
	qc_details_write(&w, &d);
	reader(&r, &im, w.buf, w.len);
	assert_int_equal(qc_details_read(&r, &d2), -1);
}

static void
test_requests(void **state)
{
	struct wire_r	r;
	struct ipc_msg	im;
	char		after[QM_QID_MAX + 1], match[QC_MATCH_MAX + 1];
	char		login[QC_LOGIN_MAX + 1], big[QC_MATCH_MAX + 2];

	wire_w_init(&w);
	qc_list_req_write(&w, "6B0494D039935000", "example");
	reader(&r, &im, w.buf, w.len);
	assert_int_equal(qc_list_req_read(&r, after, match), 0);
	assert_int_equal(wire_r_end(&r), 0);
	assert_string_equal(after, "6B0494D039935000");
	assert_string_equal(match, "example");

	wire_w_init(&w);
	qc_list_req_write(&w, "", "");		/* from the start, all */
	reader(&r, &im, w.buf, w.len);
	assert_int_equal(qc_list_req_read(&r, after, match), 0);

	wire_w_init(&w);
	qc_list_req_write(&w, "../etc", "");	/* not a queue id */
	reader(&r, &im, w.buf, w.len);
	assert_int_equal(qc_list_req_read(&r, after, match), -1);

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	wire_w_init(&w);
	qc_list_req_write(&w, "", big);
	reader(&r, &im, w.buf, w.len);
	assert_int_equal(qc_list_req_read(&r, after, match), -1);

	wire_w_init(&w);
	qc_str_write(&w, "bob\r");
	reader(&r, &im, w.buf, w.len);
	assert_int_equal(qc_str_read(&r, login, sizeof(login)), -1);

	/* an empty payload where a string belongs */
	reader(&r, &im, w.buf, 0);
	assert_int_equal(qc_str_read(&r, login, sizeof(login)), -1);
	/* a string with a NUL inside */
	wire_w_init(&w);
	wire_w_u32(&w, 3);
	wire_w_bytes(&w, "a\0b", 3);
	reader(&r, &im, w.buf, w.len);
	assert_int_equal(qc_str_read(&r, login, sizeof(login)), -1);
}

static void
test_answers(void **state)
{
	struct wire_r	r;
	struct ipc_msg	im;
	char		text[QC_TEXT_MAX + 1], next[QM_QID_MAX + 1];
	char		name[QC_NAME_MAX + 1];
	uint32_t	code, flags, count, n;
	uint64_t	v;

	wire_w_init(&w);
	qc_error_write(&w, QCE_DENIED, "permission denied");
	reader(&r, &im, w.buf, w.len);
	assert_int_equal(qc_error_read(&r, &code, text, sizeof(text)), 0);
	assert_int_equal(code, QCE_DENIED);
	assert_string_equal(text, "permission denied");
	wire_w_init(&w);
	qc_error_write(&w, 0, "zero");
	reader(&r, &im, w.buf, w.len);
	assert_int_equal(qc_error_read(&r, &code, text, sizeof(text)), -1);
	wire_w_init(&w);
	qc_error_write(&w, QCE_MAX + 1, "beyond");
	reader(&r, &im, w.buf, w.len);
	assert_int_equal(qc_error_read(&r, &code, text, sizeof(text)), -1);

	wire_w_init(&w);
	qc_list_head_write(&w, QC_LIST_MORE, "6B0494D039935000", 7);
	reader(&r, &im, w.buf, w.len);
	assert_int_equal(qc_list_head_read(&r, &flags, next, &count), 0);
	assert_int_equal(count, 7);
	/* "more" with nowhere to go on from would loop for ever */
	wire_w_init(&w);
	qc_list_head_write(&w, QC_LIST_MORE, "", 0);
	reader(&r, &im, w.buf, w.len);
	assert_int_equal(qc_list_head_read(&r, &flags, next, &count), -1);
	wire_w_init(&w);
	qc_list_head_write(&w, 0x2, "", 0);
	reader(&r, &im, w.buf, w.len);
	assert_int_equal(qc_list_head_read(&r, &flags, next, &count), -1);

	wire_w_init(&w);
	wire_w_u32(&w, 1);
	qc_counter_write(&w, "received", 42);
	reader(&r, &im, w.buf, w.len);
	assert_int_equal(qc_count_read(&r, QC_COUNTERS_MAX, &n), 0);
	assert_int_equal(qc_counter_read(&r, name, &v), 0);
	assert_string_equal(name, "received");
	assert_int_equal(v, 42);
	assert_int_equal(wire_r_end(&r), 0);
	wire_w_init(&w);
	wire_w_u32(&w, QC_COUNTERS_MAX + 1);
	reader(&r, &im, w.buf, w.len);
	assert_int_equal(qc_count_read(&r, QC_COUNTERS_MAX, &n), -1);
	wire_w_init(&w);
	qc_counter_write(&w, "", 1);
	reader(&r, &im, w.buf, w.len);
	assert_int_equal(qc_counter_read(&r, name, &v), -1);
}

static void
test_qid_and_login(void **state)
{
	char	s[QM_QID_MAX + 2];

	assert_true(qc_qid_ok("6B0494D039935000"));
	assert_true(qc_qid_ok("A"));
	assert_false(qc_qid_ok(""));
	assert_false(qc_qid_ok("6B0494D03993500G"));
	assert_false(qc_qid_ok("6b0494d039935000"));
	assert_false(qc_qid_ok("6B0494D0/9935000"));
	memset(s, 'A', QM_QID_MAX);
	s[QM_QID_MAX] = '\0';
	assert_true(qc_qid_ok(s));
	s[QM_QID_MAX] = 'A';
	s[QM_QID_MAX + 1] = '\0';
	assert_false(qc_qid_ok(s));

	assert_true(qc_login_ok("bob"));
	assert_true(qc_login_ok("b.o_b-1"));
	assert_false(qc_login_ok(""));
	assert_false(qc_login_ok("-bob"));
	assert_false(qc_login_ok("bob smith"));
	assert_false(qc_login_ok("bob+x"));
	assert_false(qc_login_ok("bob@example.org"));
	assert_false(qc_login_ok("b\xc3\xb6" "b"));
}

static void
test_sender_is_user(void **state)
{
	static const char text[] =
	    "hostname mail.example.test\n"
	    "local-domains example.test other.test\n";
	struct config	*cf;
	char		 err[CONFIG_ERR_MAX];

	cf = config_parse(text, sizeof(text) - 1, "test", err, sizeof(err));
	assert_non_null(cf);
	assert_true(qc_sender_is_user(cf, "bob@example.test", "bob"));
	assert_true(qc_sender_is_user(cf, "BOB@Example.TEST", "bob"));
	assert_true(qc_sender_is_user(cf, "bob@other.test", "bob"));
	assert_true(qc_sender_is_user(cf, "bob@mail.example.test", "bob"));
	assert_true(qc_sender_is_user(cf, "bob", "bob"));
	assert_true(qc_sender_is_user(cf, "bob+lists@example.test", "bob"));
	assert_false(qc_sender_is_user(cf, "bob@example.org", "bob"));
	assert_false(qc_sender_is_user(cf, "bobby@example.test", "bob"));
	assert_false(qc_sender_is_user(cf, "bo@example.test", "bob"));
	assert_false(qc_sender_is_user(cf, "+bob@example.test", "bob"));
	assert_false(qc_sender_is_user(cf, "alice+bob@example.test", "bob"));
	assert_false(qc_sender_is_user(cf, "bob@", "bob"));
	assert_false(qc_sender_is_user(cf, "", "bob"));
	assert_false(qc_sender_is_user(cf, "bob@example.test", ""));
	/* the last @ decides: a quoted local part with one does not fool */
	assert_false(qc_sender_is_user(cf, "\"bob@example.test\"@example.org",
	    "bob"));
	config_free(cf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msg_and_rcpt_round_trip),
		cmocka_unit_test(test_truncated_anywhere),
		cmocka_unit_test(test_msg_refusals),
		cmocka_unit_test(test_rcpt_refusals),
		cmocka_unit_test(test_overlong_fields),
		cmocka_unit_test(test_details),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_qid_and_login),
		cmocka_unit_test(test_sender_is_user),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
