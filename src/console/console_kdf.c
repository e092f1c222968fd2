/*
 * argon2id (libsodium crypto_pwhash) off the event loop. A verification
 * costs tens of milliseconds of CPU and 64 MiB: run on the loop, every
 * login would stall SMS and webhook traffic for that long. One worker
 * thread takes jobs from a bounded queue; finished jobs go back to the
 * loop through a pipe, where their callbacks run. The queue bound, with
 * the login rate limits in front of it, caps what a flood of logins can
 * cost: a job beyond it is refused at once.
 *
 * Lifetimes: a job is owned by the queue until its callback has run on
 * the loop; console_kdf_free stops the thread, then calls every callback
 * not yet run with cancelled set.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "console_int.h"
#include "meterline/xmalloc.h"

struct kdf_job {
	bool verify; /* or hash */
	bool ok;
	char hash[crypto_pwhash_STRBYTES];
	char *password; /* wiped and freed when done */
	kdf_done_cb done;
	void *arg;
	struct kdf_job *next;
};

struct console_kdf {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct kdf_job *todo, *todo_tail; /* for the worker */
	struct kdf_job *done; /* for the loop */
	size_t queued, max_queue;
	bool stop, started;
	int pipe[2];
	struct event *ev;
	/* a valid hash of a random password, for unknown users */
	char dummy[crypto_pwhash_STRBYTES];
};

static void
kdf_run(struct console_kdf *k, struct kdf_job *j)
{
	size_t len = strlen(j->password);

	if (j->verify) {
		const char *h = j->hash[0] ? j->hash : k->dummy;

		j->ok = crypto_pwhash_str_verify(h, j->password, len) == 0 &&
		    j->hash[0] != '\0';
	} else {
		j->ok = crypto_pwhash_str(j->hash, j->password, len,
		            crypto_pwhash_OPSLIMIT_INTERACTIVE,
		            crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0;
	}
	sodium_memzero(j->password, len);
}

static void *
kdf_thread(void *arg)
{
	struct console_kdf *k = arg;
	struct kdf_job *j;
	char one = 1;

	pthread_mutex_lock(&k->mu);
	for (;;) {
		while (k->todo == NULL && !k->stop)
			pthread_cond_wait(&k->cv, &k->mu);
		if (k->stop)
			break;
		j = k->todo;
		k->todo = j->next;
		if (k->todo == NULL)
			k->todo_tail = NULL;
		pthread_mutex_unlock(&k->mu);
		kdf_run(k, j);
		pthread_mutex_lock(&k->mu);
		j->next = k->done;
		k->done = j;
		/* a full pipe already has a wake-up in it */
		if (write(k->pipe[1], &one, 1) < 0 && errno != EAGAIN)
			break;
	}
	pthread_mutex_unlock(&k->mu);
	return NULL;
}

static void
kdf_job_free(struct kdf_job *j)
{
	sodium_memzero(j->hash, sizeof(j->hash));
	free(j->password);
	free(j);
}

/* Run the callbacks of finished jobs, oldest first. */
static void
kdf_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct console_kdf *k = arg;
	struct kdf_job *list, *rev = NULL;
	char buf[64];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&k->mu);
	list = k->done;
	k->done = NULL;
	pthread_mutex_unlock(&k->mu);
	while (list != NULL) {
		struct kdf_job *n = list->next;

		list->next = rev;
		rev = list;
		list = n;
	}
	while (rev != NULL) {
		struct kdf_job *n = rev->next;

		pthread_mutex_lock(&k->mu);
		k->queued--;
		pthread_mutex_unlock(&k->mu);
		rev->done(
		    rev->ok, false, rev->verify ? NULL : rev->hash, rev->arg);
		kdf_job_free(rev);
		rev = n;
	}
}

struct console_kdf *
console_kdf_new(struct event_base *base, size_t max_queue)
{
	struct console_kdf *k = xcalloc(1, sizeof(*k));
	unsigned char pw[16];

	k->max_queue = max_queue;
	pthread_mutex_init(&k->mu, NULL);
	pthread_cond_init(&k->cv, NULL);
	if (pipe(k->pipe) != 0)
		fatalx("console: pipe: %s", strerror(errno));
	fcntl(k->pipe[0], F_SETFL, O_NONBLOCK);
	fcntl(k->pipe[1], F_SETFL, O_NONBLOCK);
	randombytes_buf(pw, sizeof(pw));
	if (crypto_pwhash_str(k->dummy, (const char *)pw, sizeof(pw),
	        crypto_pwhash_OPSLIMIT_INTERACTIVE,
	        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		fatalx("console: crypto_pwhash_str failed (out of memory?)");
	k->ev =
	    event_new(base, k->pipe[0], EV_READ | EV_PERSIST, kdf_wake_cb, k);
	event_add(k->ev, NULL);
	if (pthread_create(&k->thread, NULL, kdf_thread, k) != 0)
		fatalx("console: cannot start the password thread");
	k->started = true;
	return k;
}

static int
kdf_submit(struct console_kdf *k, bool verify, const char *hash,
    const char *password, kdf_done_cb done, void *arg)
{
	struct kdf_job *j;

	pthread_mutex_lock(&k->mu);
	if (k->queued >= k->max_queue) {
		pthread_mutex_unlock(&k->mu);
		return -1;
	}
	k->queued++;
	pthread_mutex_unlock(&k->mu);
	j = xcalloc(1, sizeof(*j));
	j->verify = verify;
	if (hash != NULL && strlen(hash) < sizeof(j->hash))
		strlcpy_s(j->hash, hash, sizeof(j->hash));
	j->password = xstrdup(password);
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&k->mu);
	if (k->todo_tail)
		k->todo_tail->next = j;
	else
		k->todo = j;
	k->todo_tail = j;
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mu);
	return 0;
}

int
console_kdf_verify(struct console_kdf *k, const char *hash,
    const char *password, kdf_done_cb done, void *arg)
{
	return kdf_submit(k, true, hash, password, done, arg);
}

int
console_kdf_hash(
    struct console_kdf *k, const char *password, kdf_done_cb done, void *arg)
{
	return kdf_submit(k, false, NULL, password, done, arg);
}

/* Cancel the jobs of a list: their callbacks, then free. */
static void
kdf_cancel(struct kdf_job *j)
{
	while (j != NULL) {
		struct kdf_job *n = j->next;

		j->done(false, true, NULL, j->arg);
		kdf_job_free(j);
		j = n;
	}
}

void
console_kdf_free(struct console_kdf *k)
{
	if (k == NULL)
		return;
	pthread_mutex_lock(&k->mu);
	k->stop = true;
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mu);
	if (k->started)
		pthread_join(k->thread, NULL);
	kdf_cancel(k->done);
	kdf_cancel(k->todo);
	event_free(k->ev);
	close(k->pipe[0]);
	close(k->pipe[1]);
	pthread_mutex_destroy(&k->mu);
	pthread_cond_destroy(&k->cv);
	free(k);
}
