/*
 * The one path every inbound message takes, whatever its channel: the
 * contract between channel adapters (SMPP, HTTP, replay) and the store.
 *
 * A channel hands a message to intake_submit(); the store batches it, logs
 * it, runs the dialog engine and commits. Only after COMMIT does the done
 * callback run, so a channel acknowledges nothing that is not durable.
 */
#ifndef METERLINE_INTAKE_H
#define METERLINE_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * What a channel knows about the fate of its acknowledgements, for the
 * redelivery check (docs/store.md). A peer that sends a message again when
 * our acknowledgement did not reach it (an SMSC) makes a repeated text
 * ambiguous: a redelivery, or a person writing the same thing again. The
 * store takes a repeat for a redelivery only when the earlier copy's
 * acknowledgement may have been lost, which only the channel can say.
 *
 * conn names a connection: the channel instance (a random number per
 * process and link) in the high 32 bits, the connection's number in the low
 * 32. The messages of a connection still open were answered on it; those
 * of a connection that closed were at risk when they came at or after its
 * at_risk_from_us (answered shortly before the close, or never). A
 * connection of this instance numbered below known_from closed with its
 * facts forgotten (at risk); one of another instance is unknown (at risk).
 */
struct intake_conn_closed {
	uint64_t conn;
	int64_t at_risk_from_us; /* message time; INT64_MAX: none at risk */
};

struct intake_acks {
	uint64_t conn; /* the connection this message came on, never 0 */
	uint32_t known_from;
	const struct intake_conn_closed *closed; /* oldest first */
	size_t nclosed;
};

/*
 * A part of a concatenated SMS (docs/store.md, "Concatenated SMS"). With
 * INTAKE_F_PART the message is that one part: the store writes it (so it
 * survives a restart) and answers; text is empty. With INTAKE_F_WHOLE the
 * message is the whole text the channel joined from the parts of the
 * group (ref, total); the store processes it and marks the group's
 * stored parts as done, in the same transaction.
 */
struct intake_part {
	uint16_t ref;
	uint8_t total, seq; /* seq 1..total (INTAKE_F_PART only) */
	uint8_t dcs;
	bool dropped; /* its octets were over the message's bound */
	/* the channel holds no other part of the group: return the stored */
	bool want_stored;
	const uint8_t *data; /* user data, UDH removed */
	size_t len;
};

#define INTAKE_CONN_INSTANCE(conn) ((uint32_t)((conn) >> 32))
#define INTAKE_CONN_NUMBER(conn) ((uint32_t)(conn))

struct inbound_msg {
	/* "sms", "viber", "whatsapp", "telegram", "replay"... */
	const char *channel;
	const char *sender; /* customer's address (MSISDN or messenger id) */
	const char *recipient; /* the number the customer wrote to */
	const char *text; /* UTF-8, already decoded by the channel */
	size_t text_len;
	int64_t time_us; /* the message's own time, Unix microseconds */
	/* the channel's id, NULL when it has none (SMS) */
	const char *external_id;
	uint8_t dcs; /* raw encoding facts, for the log */
	unsigned text_flags; /* TEXT_F_* from the decoder */
	unsigned flags; /* INTAKE_F_* */
	/*
	 * NULL: the channel cannot lose an acknowledgement (HTTP answers
	 * in the response, the bridge retries with the same id; replay),
	 * so a repeated text is a new message. Read during submit only.
	 */
	const struct intake_acks *acks;
	/* with INTAKE_F_PART or INTAKE_F_WHOLE, else NULL */
	const struct intake_part *part;
};

/*
 * Replies are queued in the outbox (and sent by the SMPP link) for channel
 * "sms" and for messages with INTAKE_F_OUTBOX; other channels take the
 * reply from the result. This flag keeps an "sms" reply out of the outbox
 * too (replay without sending).
 */
#define INTAKE_F_NO_OUTBOX 0x01
/*
 * A duplicate of this message (by external id or redelivery) is answered
 * as usual but not written to the message log: replaying a file again
 * then changes no table at all.
 */
#define INTAKE_F_NO_DUP_LOG 0x02
/* part is one part of a concatenated message, to keep (intake_part) */
#define INTAKE_F_PART 0x04
/* the message was joined from the parts of part's group (intake_part) */
#define INTAKE_F_WHOLE 0x08
/*
 * The reply goes to the outbox although the channel is not "sms": a
 * messenger channel (Telegram, MAX) sends it from there, durable, with
 * retries, instead of in its webhook's response (channel.h).
 */
#define INTAKE_F_OUTBOX 0x10
/*
 * This message and the next one submitted belong together: the store does
 * not end a batch between them, so a run of flagged messages and the one
 * after it commit or fail together (a house of the manager's page, issue
 * 18). A split to isolate a bad message (SQLSTATE 22, 23) may still part
 * them.
 */
#define INTAKE_F_GROUP 0x20
/*
 * Entered by a signed-in console user (the manager's page): [verify] does
 * not ask the sender for a binding (dialog_input.staff). Only the console
 * sets it; no adapter takes it from the network.
 */
#define INTAKE_F_STAFF 0x40
/*
 * More messages may follow from this message's source before it waits
 * for this one's answer (an SMPP link whose peer's window is not full):
 * the store may hold a small batch up to [store] gather for them, one
 * transaction instead of several (docs/store.md "Gathering"). Without it
 * (the peer waits for this answer before it sends more) a batch starts at
 * once.
 */
#define INTAKE_F_MAY_WAIT 0x80

enum intake_status {
	INTAKE_APPLIED, /* committed now */
	INTAKE_DUPLICATE, /* seen before: original outcome and reply */
	INTAKE_TEMPFAIL, /* nothing stored; the channel asks for a retry */
};

struct intake_result {
	enum intake_status status;
	const char *outcome; /* "accepted", "prompt", "rejected"... */
	const char *reason; /* "too_many_digits"... or NULL */
	const char *reply; /* UTF-8 reply text, or NULL (TEMPFAIL) */
	int64_t message_id; /* row in the message log, 0 if none */
	/*
	 * INTAKE_F_PART only (outcome "part"): the other parts of its group
	 * already stored and waiting (after a restart the channel has lost
	 * them), and whether it was a redelivery of a part of a message
	 * already processed (never to be joined again).
	 */
	const struct intake_part *parts;
	size_t nparts;
	bool part_done;
	unsigned flags; /* DIALOG_F_* of the decision; 0 for the others */
};

/* Called exactly once per submitted message. The result is borrowed. */
typedef void (*intake_done_cb)(const struct intake_result *, void *arg);

/*
 * Where a channel sends its messages: the store in the service, a fake in
 * channel tests. submit copies what it needs from msg. It returns 0 when
 * the message is queued: done then runs exactly once, later, from the event
 * loop (never from inside submit). It returns -1 when the message is
 * refused at once (queue full, shutting down): done never runs and the
 * channel answers with its temporary failure.
 */
struct intake {
	int (*submit)(void *ctx, const struct inbound_msg *msg,
	    intake_done_cb done, void *arg);
	void *ctx;
};

/*
 * Whether a message's own time is one to apply, for the channels that are
 * told it rather than reading the clock (the bridge, replay): at most
 * max_future_skew ahead of now, at most max_age behind (config.h [intake];
 * 0 turns a bound off). A message dated in the future would open the next
 * period early; one from long ago is a bridge's or a file's mistake.
 * Pure (src/core/intake_time.c): the caller passes its clock.
 */
struct config_intake;

enum intake_time {
	INTAKE_TIME_OK,
	INTAKE_TIME_FUTURE, /* beyond max_future_skew ahead */
	INTAKE_TIME_OLD, /* older than max_age */
};

enum intake_time intake_time_check(
    const struct config_intake *, int64_t now_us, int64_t time_us);

/* The refusal as a stable code: "time_in_future", "time_too_old", NULL. */
const char *intake_time_name(enum intake_time);

/*
 * The refusal for people into buf: "the message time is 104 days ahead
 * of the server's clock (at most 5 minutes allowed)". Returns buf.
 */
const char *intake_time_why(const struct config_intake *, int64_t now_us,
    int64_t time_us, char *buf, size_t len);

/*
 * A source's window as far as it shows (INTAKE_F_MAY_WAIT): a peer sends
 * until as many messages as its window await our answers, then waits.
 * The most awaiting at once over the last one to two seconds is that
 * window; a message that arrives with fewer awaiting may be followed by
 * more before the peer waits. Pure (src/core/intake_window.c): the
 * caller counts what awaits and passes its clock.
 */
struct intake_window {
	unsigned cur, prev; /* the most seen this period, the one before */
	int64_t since_us; /* this period's start */
};

/* awaiting (this message included) at now_us: remember the peak. */
void
intake_window_note(struct intake_window *, unsigned awaiting, int64_t now_us);
/* Whether a message that arrived with awaiting in all may wait for more. */
bool intake_window_open(const struct intake_window *, unsigned awaiting);

static inline int
intake_submit(const struct intake *in, const struct inbound_msg *msg,
    intake_done_cb done, void *arg)
{
	return in->submit(in->ctx, msg, done, arg);
}

#endif
