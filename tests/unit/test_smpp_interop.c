/*
 * Interoperability: the ESME link against an independent SMPP
 * implementation, Perl's Net::SMPP (Debian libnet-smpp-perl), acting as the
 * SMSC over TCP on 127.0.0.1. Proves that what we send and read is SMPP
 * 3.4 as someone else wrote it, not only as our simulator understands it:
 * bind_transceiver, a UCS-2 deliver_sm, a two-part UDH message delivered
 * in reverse order, enquire_link both ways, submit_sm replies, unbind.
 * Skipped when Net::SMPP is not installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "meterline/log.h"
#include "meterline/smpp_link.h"

static const char perl_smsc[] =
    "use strict; use warnings; use Net::SMPP; use Encode qw(encode);\n"
    "my $srv = Net::SMPP->new_listen('127.0.0.1', port => 0, smpp_version => 0x34,\n"
    "    timeout => 10) or die \"listen: $!\";\n"
    "$| = 1; printf \"listening %d\\n\", $srv->sockport;\n"
    "my $c = $srv->accept or die 'accept';\n"
    "my $b = $c->read_pdu() or die 'no bind';\n"
    "printf \"bind %s %s %s\\n\", $b->explain_cmd, $b->{system_id}, $b->{password};\n"
    "$c->bind_transceiver_resp(seq => $b->{seq}, status => 0, system_id => 'perlsmsc');\n"
    "$c->deliver_sm(async => 1, source_addr_ton => 1, source_addr_npi => 1,\n"
    "    source_addr => '79001234567', dest_addr_ton => 0, dest_addr_npi => 1,\n"
    "    destination_addr => '7377', data_coding => 8,\n"
    "    short_message => encode('UTF-16BE', \"\\x{041f}\\x{0421} 123456 42,5\"));\n"
    "for my $p ([2, 'world'], [1, 'hello ']) {\n"
    "  $c->deliver_sm(async => 1, source_addr => '79005556677',\n"
    "      destination_addr => '7377', esm_class => 0x40, data_coding => 0,\n"
    "      short_message => pack('C6', 5, 0, 3, 0x42, 2, $p->[0]) . $p->[1]);\n"
    "}\n"
    "$c->enquire_link(async => 1);\n"
    "my %seen; my $n = 0;\n"
    "while (my $r = $c->read_pdu()) {\n"
    "  my $cmd = $r->explain_cmd; $seen{$cmd}++;\n"
    "  if ($cmd eq 'submit_sm') {\n"
    "    $n++; printf \"submit_sm %s %s %d %d\\n\", $r->{source_addr},\n"
    "        $r->{destination_addr}, $r->{data_coding}, length($r->{short_message});\n"
    "    $c->submit_sm_resp(seq => $r->{seq}, status => 0,\n"
    "        message_id => sprintf('perl%03d', $n));\n"
    "  } elsif ($cmd eq 'enquire_link') {\n"
    "    $c->enquire_link_resp(seq => $r->{seq}); print \"enquire_link\\n\";\n"
    "  } else { printf \"%s %d\\n\", $cmd, $r->{status}; }\n"
    "  last if $n >= 2 && ($seen{deliver_sm_resp} // 0) >= 3\n"
    "      && $seen{enquire_link_resp} && $seen{enquire_link};\n"
    "}\n"
    "$c->unbind(async => 1);\n"
    "my $u = $c->read_pdu(); printf \"%s\\n\", $u ? $u->explain_cmd : 'none';\n"
    "print \"END\\n\";\n";

struct interop {
	struct event_base *base;
	struct smpp_link *link;
	char texts[4][128];
	unsigned n;
	unsigned reports;
	char ids[4][16];
};

static void
interop_submit(
    void *ctx, const struct inbound_msg *m, intake_done_cb done, void *arg)
{
	struct interop *t = ctx;
	struct intake_result r = { INTAKE_APPLIED, "accepted", NULL, NULL, 1 };
	char reply[160], err[128];
	struct smpp_mt mt;

	snprintf(t->texts[t->n % 4], sizeof(t->texts[0]), "%.*s",
	    (int)m->text_len, m->text);
	t->n++;
	snprintf(reply, sizeof(reply), "echo: %.*s", (int)m->text_len, m->text);
	mt = (struct smpp_mt){ m->recipient, m->sender, reply, strlen(reply),
		t->n };
	assert_int_equal(smpp_link_send(t->link, &mt, err, sizeof(err)), 0);
	done(&r, arg);
}

static void
interop_report(void *ctx, const struct smpp_mt_report *r)
{
	struct interop *t = ctx;

	if (r->state == SMPP_MT_ACCEPTED && t->reports < 4)
		snprintf(
		    t->ids[t->reports], sizeof(t->ids[0]), "%s", r->message_id);
	t->reports++;
}

static int
have_net_smpp(void)
{
	return system("perl -MNet::SMPP -e 1 >/dev/null 2>&1") == 0;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Start perl on script with its stdout on a pipe; the pid, *fd the pipe. */
static pid_t
perl_start(const char *script, int *fd)
{
	int p[2];
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execlp("perl", "perl", script, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	*fd = p[0];
	return pid;
}

/* Append what the pipe holds; 1 at end of file. */
static int
pipe_drain(int fd, char *out, size_t cap)
{
	for (;;) {
		size_t have = strlen(out);
		ssize_t n;

		if (have + 1 >= cap)
			return 1;
		n = read(fd, out + have, cap - have - 1);
		if (n > 0) {
			out[have + (size_t)n] = '\0';
			continue;
		}
		if (n == 0)
			return 1;
		return errno == EAGAIN || errno == EINTR ? 0 : 1;
	}
}

static void
test_net_smpp_smsc(void **state)
{
	char dir[] = "/tmp/mline-interop-XXXXXX", script[256];
	char out[8192] = "";
	struct smpp_link_hooks hooks = { interop_submit, NULL, interop_report,
		NULL, NULL };
	struct config *conf;
	struct smpp_link_tuning tune;
	struct interop t;
	unsigned port = 0;
	int fd, status, eof = 0;
	pid_t pid;
	FILE *f;
	int64_t end;
	char err[128], *nl;

	(void)state;
	if (!have_net_smpp()) {
		fprintf(stderr,
		    "Net::SMPP missing (apt-get install libnet-smpp-perl): "
		    "skipped\n");
		skip();
	}
	log_set_level(getenv("SMPP_TEST_DEBUG") ? LOG_DEBUG : LOG_ERROR);
	assert_non_null(mkdtemp(dir));
	snprintf(script, sizeof(script), "%s/smsc.pl", dir);
	f = fopen(script, "w");
	fputs(perl_smsc, f);
	fclose(f);
	pid = perl_start(script, &fd);
	/* The first line gives the port; wait for it (bounded). */
	fcntl(fd, F_SETFL, O_NONBLOCK);
	end = mono_ms() + 5000;
	while ((nl = strchr(out, '\n')) == NULL && !eof && mono_ms() < end) {
		eof = pipe_drain(fd, out, sizeof(out));
		usleep(10000);
	}
	if (nl == NULL || sscanf(out, "listening %u", &port) != 1) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		fail_msg("Net::SMPP SMSC did not start: %s", out);
	}

	memset(&t, 0, sizeof(t));
	t.base = event_base_new();
	conf = malloc(sizeof(*conf));
	assert_non_null(conf);
	config_defaults(conf); /* the [smpp] defaults of the key table */
	strcpy(conf->smpp.host, "127.0.0.1");
	conf->smpp.port = (uint16_t)port;
	strcpy(conf->smpp.system_id, "meter01");
	strcpy(conf->smpp.password, "secret");
	conf->smpp.enquire_link_ms = 200;
	conf->smpp.reconnect_max_ms = 5000;
	smpp_link_tuning_defaults(&tune);
	tune.name = "interop";
	tune.reconnect_min_ms = 5000; /* after the unbind: no second round */
	hooks.ctx = &t;
	t.link =
	    smpp_link_new(t.base, &conf->smpp, &tune, &hooks, err, sizeof(err));
	free(conf);
	assert_non_null(t.link);
	smpp_link_start(t.link);
	/* Run until the SMSC script ends (it unbinds), at most 10 s. */
	end = mono_ms() + 10000;
	while (!eof && mono_ms() < end) {
		event_base_loop(t.base, EVLOOP_ONCE);
		eof = pipe_drain(fd, out, sizeof(out));
	}
	if (!eof)
		kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	close(fd);
	unlink(script);
	rmdir(dir);

	fprintf(stderr, "%s", out);
	assert_true(eof);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_non_null(strstr(out, "bind bind_transceiver meter01 secret"));
	assert_non_null(strstr(out, "deliver_sm_resp 0"));
	assert_non_null(strstr(out, "enquire_link\n"));
	assert_non_null(strstr(out, "enquire_link_resp 0"));
	/* "echo: ПС 123456 42,5" in UCS-2: 20 characters, 40 octets. */
	assert_non_null(strstr(out, "submit_sm 7377 79001234567 8 40\n"));
	assert_non_null(strstr(out, "submit_sm 7377 79005556677 0 17\n"));
	assert_non_null(strstr(out, "unbind_resp"));
	assert_non_null(strstr(out, "END"));
	assert_int_equal(t.n, 2);
	assert_string_equal(t.texts[0], "ПС 123456 42,5");
	assert_string_equal(t.texts[1], "hello world");
	assert_string_equal(t.ids[0], "perl001");
	assert_int_equal(smpp_link_stats(t.link)->mo_ok, 2);
	smpp_link_free(t.link);
	event_base_free(t.base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_net_smpp_smsc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
