/*
 * Inside the store: shared by store.c (queue, transactions, failures),
 * store_batch.c (what one batch decides and writes) and store_sql.c (the
 * statements and the containers the batch builds them with).
 */
#ifndef METERLINE_STORE_INT_H
#define METERLINE_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meterline/config.h"
#include "meterline/db.h"
#include "meterline/dialog.h"
#include "meterline/hash.h"
#include "meterline/intake.h"
#include "meterline/model.h"
#include "meterline/parse.h"
#include "meterline/sql_array.h"
#include "meterline/store.h"

#define STORE_NONE SIZE_MAX /* "no string" in a text buffer offset */

/* Append s and a NUL; returns its offset. NULL gives STORE_NONE. */
size_t sbuf_str(struct sql_buf *, const char *s);

/*
 * The key of a sender's advisory lock. Unseeded: every process on the
 * database (daemons, replay) must lock the same key for the same sender.
 * Only held during a transaction, never stored.
 */
uint64_t store_sender_key(const char *channel, const char *sender);

/*
 * The redelivery key of a message, stored in messages.dedupe_key and
 * looked up by later batches: its values must never change (store_sql.c).
 */
uint64_t store_dedupe_key(const char *channel, const char *sender,
    const char *recipient, const char *text);

/* The prepared statements, by number (store_sql.c). */
enum store_stmt {
	ST_LOCK, /* advisory locks on the senders, sorted */
	ST_IDS, /* message ids for the batch */
	ST_EXT, /* messages already logged under the same external ids */
	ST_PRIOR, /* recently applied messages with the same dedupe keys */
	ST_DIALOGS, /* the senders' dialogs */
	ST_CONTRACTS, /* contracts named by texts or dialogs, registers locked */
	ST_MSGS, /* message log rows, and external ids of new messages */
	ST_DLG_PUT, /* dialogs created or changed */
	ST_DLG_DEL, /* dialogs ended */
	ST_SUBMIT, /* submissions and their readings */
	ST_SUPERSEDE, /* earlier submissions a correction replaces */
	ST_REGS, /* registers' new last and previous values */
	ST_OUTBOX, /* replies to send */
	ST_PARTS, /* stored parts of the batch's concatenated messages */
	ST_PART_PUT, /* parts to keep */
	ST_PART_DONE, /* parts joined into a message */
	ST_BINDINGS, /* the senders' bound contracts and reminder opt-outs */
	ST_BIND_SET, /* binds, unbinds and reminder switches (store_bind.c) */
	ST_CHALLENGES, /* the senders' challenge rows (store_challenge.c) */
	ST_CHAL_SET, /* challenge rows changed or ended */
	ST__MAX
};

/*
 * The result columns of the statements whose rows the batch reads
 * (DB_COLS_SQL in db.h): store_sql.c writes each SELECT list with its
 * list, store_batch.c reads the rows with its enum.
 */
#define ST_EXT_COLS(COL1, COL) \
	COL1(EXT_CHANNEL, "i.channel") \
	COL(EXT_EXTERNAL_ID, "i.external_id") \
	COL(EXT_ID, "m.id") \
	COL(EXT_OUTCOME, "m.outcome") \
	COL(EXT_REASON, "m.reason") \
	COL(EXT_REPLY, "m.reply")
enum st_ext_col { DB_COLS_ENUM(ST_EXT_COLS) EXT__NCOLS };

#define ST_PRIOR_COLS(COL1, COL) \
	COL1(PRIOR_DEDUPE_KEY, "m.dedupe_key") \
	COL(PRIOR_ID, "m.id") \
	COL(PRIOR_OUTCOME, "m.outcome") \
	COL(PRIOR_REASON, "m.reason") \
	COL(PRIOR_REPLY, "m.reply") \
	COL(PRIOR_CHANNEL, "m.channel") \
	COL(PRIOR_SENDER, "m.sender") \
	COL(PRIOR_RECIPIENT, "m.recipient") \
	COL(PRIOR_TEXT, "m.text") \
	COL(PRIOR_RECEIVED_US, \
	    "(extract(epoch FROM m.received_at) * 1000000)::bigint") \
	COL(PRIOR_CONN, "m.conn") \
	COL(PRIOR_REPLY_QUEUED, "m.reply_queued")
enum st_prior_col { DB_COLS_ENUM(ST_PRIOR_COLS) PRIOR__NCOLS };

#define ST_DIALOGS_COLS(COL1, COL) \
	COL1(DLG_CHANNEL, "d.channel") \
	COL(DLG_SENDER, "d.sender") \
	COL(DLG_CONTRACT, "d.contract") \
	COL(DLG_NREGISTERS, "d.nregisters") \
	COL(DLG_NEXT, "d.next") \
	COL(DLG_VALS, "d.vals") \
	COL(DLG_STARTED_US, "d.started_us") \
	COL(DLG_LAST_US, "d.last_us") \
	COL(DLG_PENDING, "d.pending")
enum st_dialogs_col { DB_COLS_ENUM(ST_DIALOGS_COLS) DLG__NCOLS };

#define ST_PARTS_COLS(COL1, COL) \
	COL1(PART_SENDER, "p.sender") \
	COL(PART_RECIPIENT, "p.recipient") \
	COL(PART_REF, "p.ref") \
	COL(PART_TOTAL, "p.total") \
	COL(PART_SEQ, "p.seq") \
	COL(PART_DCS, "p.dcs") \
	COL(PART_DATA, "encode(p.data, 'hex')") \
	COL(PART_DROPPED, "p.dropped") \
	COL(PART_DONE, "p.message_id IS NOT NULL")
enum st_parts_col { DB_COLS_ENUM(ST_PARTS_COLS) PART__NCOLS };

/* The outbox insert's RETURNING: what the outbox needs to send. */
#define ST_OUTBOX_COLS(COL1, COL) \
	COL1(OBX_ID, "id") \
	COL(OBX_CREATED, "created_at") \
	COL(OBX_CREATED_US, "(extract(epoch FROM created_at) * 1e6)::int8") \
	COL(OBX_CHANNEL, "channel") \
	COL(OBX_SENDER, "sender") \
	COL(OBX_RECIPIENT, "recipient") \
	COL(OBX_TEXT, "text") \
	COL(OBX_ATTEMPTS, "attempts") \
	COL(OBX_DIALOG, "attempts > 0 AND " STORE_SQL_DIALOG_OPEN("outbox"))
enum st_outbox_col { DB_COLS_ENUM(ST_OUTBOX_COLS) OBX__NCOLS };
/* One row per bound contract (NULL: an opt-out only), by sender. */
#define ST_BINDINGS_COLS(COL1, COL) \
	COL1(BIND_CHANNEL, "q.channel") \
	COL(BIND_SENDER, "q.sender") \
	COL(BIND_CONTRACT, "b.contract") \
	COL(BIND_REMIND_OFF, "o.sender IS NOT NULL")
enum st_bindings_col { DB_COLS_ENUM(ST_BINDINGS_COLS) BIND__NCOLS };
/* A row per challenge row of a sender, and per sender with no phone a
   binding could be stored under (contract NULL). */
#define ST_CHALLENGES_COLS(COL1, COL) \
	COL1(CHAL_CHANNEL, "q.channel") \
	COL(CHAL_SENDER, "q.sender") \
	COL(CHAL_CONTRACT, "x.contract") \
	COL(CHAL_ATTEMPTS, "x.attempts") \
	COL(CHAL_LOCKED_US, "x.locked_until_us") \
	COL(CHAL_ASKED_US, "x.asked_us") \
	COL(CHAL_HELD, "x.held") \
	COL(CHAL_PHONE, "q.phone")
enum st_challenges_col { DB_COLS_ENUM(ST_CHALLENGES_COLS) CHAL__NCOLS };

/* One row per register, ordered by contract and position. */
#define ST_CONTRACTS_COLS(COL1, COL) \
	COL1(CON_CONTRACT, "c.contract") \
	COL(CON_RESOURCE, "c.resource") \
	COL(CON_STATUS, "c.status") \
	COL(CON_POSITION, "r.position") \
	COL(CON_NAME, "r.name") \
	COL(CON_DIGITS, "r.digits") \
	COL(CON_LAST_VALUE, "r.last_value") \
	COL(CON_LAST_DATE, "r.last_date - DATE '1970-01-01'") \
	COL(CON_PREV_VALUE, "r.prev_value") \
	COL(CON_PREV_DATE, "r.prev_date - DATE '1970-01-01'") \
	COL(CON_SERIAL, "r.serial")
enum st_contracts_col { DB_COLS_ENUM(ST_CONTRACTS_COLS) CON__NCOLS };

/*
 * The array parameters of the widest writes, each P(n, index, type, name):
 * $n, a type[] unnested AS name (store_sql.c), is the batch's arr[index]
 * (store_batch.c), index = n - 1 whatever the order of the lines.
 */
#define ST_PARAM_ENUM(n, id, type, name) id = n - 1,
#define ST_PARAM_COUNT(n, id, type, name) +1

#define ST_MSGS_PARAMS(P1, P) \
	P1(1, MSG_P_ID, bigint, id) \
	P(2, MSG_P_US, bigint, us) \
	P(3, MSG_P_CHANNEL, text, channel) \
	P(4, MSG_P_SENDER, text, sender) \
	P(5, MSG_P_RECIPIENT, text, recipient) \
	P(6, MSG_P_TEXT, text, text) \
	P(7, MSG_P_DCS, smallint, dcs) \
	P(8, MSG_P_TEXT_FLAGS, integer, text_flags) \
	P(9, MSG_P_EXTERNAL_ID, text, external_id) \
	P(10, MSG_P_CONTRACT, text, contract) \
	P(11, MSG_P_OUTCOME, text, outcome) \
	P(12, MSG_P_REASON, text, reason) \
	P(13, MSG_P_FLAGS, integer, flags) \
	P(14, MSG_P_REPLY, text, reply) \
	P(15, MSG_P_DEDUPE_KEY, bigint, dedupe_key) \
	P(16, MSG_P_ADVANCED, boolean, advanced) \
	P(17, MSG_P_DUPLICATE_OF, bigint, duplicate_of) \
	P(18, MSG_P_CONN, bigint, conn) \
	P(19, MSG_P_REPLY_QUEUED, boolean, reply_queued) \
	P(20, MSG_P_MSGID, text, msgid)
enum st_msgs_param { ST_MSGS_PARAMS(ST_PARAM_ENUM, ST_PARAM_ENUM) };
#define MSG__NPARAMS (0 ST_MSGS_PARAMS(ST_PARAM_COUNT, ST_PARAM_COUNT))

#define ST_DLG_PUT_PARAMS(P1, P) \
	P1(1, DLG_P_CHANNEL, text, channel) \
	P(2, DLG_P_SENDER, text, sender) \
	P(3, DLG_P_CONTRACT, text, contract) \
	P(4, DLG_P_NREGISTERS, smallint, nregisters) \
	P(5, DLG_P_NEXT, smallint, next) \
	P(6, DLG_P_VALS, text, vals) \
	P(7, DLG_P_STARTED_US, bigint, started_us) \
	P(8, DLG_P_LAST_US, bigint, last_us) \
	P(9, DLG_P_PENDING, text, pending)
enum st_dlg_put_param { ST_DLG_PUT_PARAMS(ST_PARAM_ENUM, ST_PARAM_ENUM) };
#define DLG__NPARAMS (0 ST_DLG_PUT_PARAMS(ST_PARAM_COUNT, ST_PARAM_COUNT))

/* ST_SUBMIT: a row per submission, then a row per reading. */
#define ST_SUBMIT_PARAMS(P1, P) \
	P1(1, SUB_P_MESSAGE_ID, bigint, message_id) \
	P(2, SUB_P_CONTRACT, text, contract) \
	P(3, SUB_P_RESOURCE, text, resource) \
	P(4, SUB_P_CHANNEL, text, channel) \
	P(5, SUB_P_SENDER, text, sender) \
	P(6, SUB_P_SUBMITTED_US, bigint, submitted_us) \
	P(7, SUB_P_STARTED_US, bigint, started_us) \
	P(8, SUB_P_LOCAL_DATE, integer, local_date) \
	P(9, SUB_P_FLAGS, integer, flags) \
	P(10, SUB_P_DAILY_MILLI, bigint, daily_milli) \
	P(11, SUB_P_STATUS, text, status)
#define ST_READING_PARAMS(P1, P) \
	P1(12, RDG_P_MESSAGE_ID, bigint, message_id) \
	P(13, RDG_P_POSITION, smallint, position) \
	P(14, RDG_P_VALUE, integer, value) \
	P(15, RDG_P_PREVIOUS, integer, previous) \
	P(16, RDG_P_CONSUMPTION, integer, consumption) \
	P(17, RDG_P_FLAGS, integer, flags)
enum st_submit_param {
	ST_SUBMIT_PARAMS(ST_PARAM_ENUM, ST_PARAM_ENUM)
	    ST_READING_PARAMS(ST_PARAM_ENUM, ST_PARAM_ENUM)
};
#define SUB__NPARAMS \
	(0 ST_SUBMIT_PARAMS(ST_PARAM_COUNT, ST_PARAM_COUNT) \
	        ST_READING_PARAMS(ST_PARAM_COUNT, ST_PARAM_COUNT))

/* ST_REGS: a row per register whose values moved (prev_*: NULL = none). */
#define ST_REGS_PARAMS(P1, P) \
	P1(1, REG_P_CONTRACT, text, contract) \
	P(2, REG_P_POSITION, smallint, position) \
	P(3, REG_P_VALUE, integer, value) \
	P(4, REG_P_DAY, integer, day) \
	P(5, REG_P_PREV, integer, prev) \
	P(6, REG_P_PREV_DAY, integer, prev_day)
enum st_regs_param { ST_REGS_PARAMS(ST_PARAM_ENUM, ST_PARAM_ENUM) };
#define REG__NPARAMS (0 ST_REGS_PARAMS(ST_PARAM_COUNT, ST_PARAM_COUNT))

extern const struct db_stmt store_stmts[ST__MAX];
#define STORE_MAX_PARAMS 20
extern const char store_session_sql[];

enum store_dup {
	STORE_DUP_NONE,
	STORE_DUP_ID, /* its external id is in the log already */
	STORE_DUP_REDELIVERY, /* same text again within the window */
};

/* One message from submit to done. Strings point into copy. */
struct store_msg {
	struct inbound_msg in;
	char *copy; /* owned: all the strings of in */
	intake_done_cb done;
	void *done_arg;
	uint64_t sender_key; /* hash of (channel, sender) */
	uint64_t dedupe_key; /* hash of (channel, sender, recipient, text) */
	/* INTAKE_F_PART/WHOLE: in.part points here, part.data into copy */
	struct intake_part part;
	/* the channel's acknowledgement facts (conn 0: none); closed lies
	   in copy; in.acks is NULL */
	struct intake_acks acks;
	bool id_derived; /* in.external_id is its stable id (msg_id.h) */
	int64_t queued_us; /* when it was submitted (clock_mono_us) */
	/* set while its batch runs */
	struct parse_result cmd;
	int sender; /* index into the batch's senders */
	int64_t id; /* its message log row */
	enum intake_status status;
	size_t outcome, reason, reply; /* offsets in batch text */
	unsigned flags; /* DIALOG_F_* */
	bool advanced; /* changed a dialog or stored readings */
	bool outbox; /* its reply goes to the outbox */
	enum store_dup dup;
	int64_t original; /* a duplicate's original message, else 0 */
	int sub; /* index into the batch's subs, or -1 */
	/* a part (store_parts.c): kept, and the stored parts it returns */
	bool part_put, part_done;
	size_t ret_first, ret_n; /* in the batch's ret */
	char contract[MODEL_CONTRACT_MAX + 1];
	bool unbind; /* its decision unbound contract (store_bind.c) */
	bool bind; /* its decision bound contract: a challenge passed */
};

/* A sender of the batch and its dialog as it evolves message by message. */
struct store_sender {
	int msg; /* one of its messages, for the strings */
	bool had; /* a row was loaded */
	bool has; /* a dialog is open now */
	bool dirty; /* now differs from the row */
	struct dialog_state cur;
	/* its bindings as they evolve (store_bind.c); remind: what to write,
	   DIALOG_ACT_REMIND_OFF/ON or NONE */
	struct model_bindings bind;
	enum dialog_action remind;
	bool no_phone; /* a chat with no phone to bind (store_challenge.c) */
};

/* A challenge row of a sender in the batch, as it evolves. */
struct store_chal {
	int sender; /* index into the batch's senders */
	struct dialog_challenge ch;
	bool dirty; /* to write: upserted, or deleted when gone */
	bool gone;
};

/* A contract loaded for the batch; dirty bit i: register i's last value moved. */
struct store_contract {
	struct model_contract c;
	unsigned dirty;
};

/*
 * A submission decided in the batch, with each register's value before
 * (for a correction, the value it replaces).
 */
struct store_sub {
	int msg;
	struct dialog_submission s;
	bool has_prev[MODEL_MAX_REGISTERS];
	uint32_t prev[MODEL_MAX_REGISTERS];
	bool superseded; /* by a correction later in the same batch */
};

/* A stored part returned with a part's answer; data in the batch's bytes. */
struct store_ret {
	uint8_t seq, dcs;
	bool dropped;
	size_t off, len;
};

/*
 * SMS whose commit is in doubt: their batch's connection was lost after
 * round 2 (with the COMMIT) was sent, so they were answered with a
 * temporary failure and may be committed all the same (a primary that
 * crashed after the commit reached its standby: docs/ha.md). The SMSC
 * sends them again, on a connection that is still open, where a copy
 * counts as answered; a copy named here is at risk, so its redelivery is
 * a duplicate. A ring of the last STORE_DOUBT_MAX (conn, message time).
 */
#define STORE_DOUBT_MAX 4096
struct store_doubt {
	struct store_doubt_msg {
		uint64_t conn;
		int64_t time_us;
	} * v;
	size_t n, next;
};

/* One batch: the messages of one transaction and what they decide. */
struct store_batch {
	struct store_msg *msgs;
	size_t n, cap;
	/* parts of concatenated messages (INTAKE_F_PART): not messages */
	struct store_msg *parts;
	size_t nparts, parts_cap;
	struct store_ret *ret;
	size_t nret, ret_cap;
	struct sql_buf bytes; /* the returned parts' octets */
	struct htab part_map; /* group of a stored part -> its row */
	struct store_sender *senders;
	size_t nsenders, senders_cap;
	struct store_contract *contracts;
	size_t ncontracts, contracts_cap;
	struct store_sub *subs;
	size_t nsubs, subs_cap;
	/* [verify] mode = challenge (store_challenge.c): whether to load
	   the rows, and the rows by (sender, contract) */
	bool challenge;
	struct store_chal *chals;
	size_t nchals, chals_cap;
	struct htab chal_map;
	int r1[ST__MAX]; /* round 1: result index per statement */
	size_t r1_count;
	/* Indexes by hash (hash.h); keys mixed with seed, which an outsider
	   cannot guess, so that crafted texts cannot collide in them. */
	uint64_t seed;
	struct htab sender_map, contract_map, dedupe_map, ext_map;
	struct sql_buf text; /* outcomes, reasons, replies */
	struct sql_arr arr[STORE_MAX_PARAMS];
	const char *params[STORE_MAX_PARAMS];
	struct dialog_decision dec; /* scratch for one decision */
	int attempts; /* retries after transient errors */
	bool no_locks; /* dry run: no advisory locks (see store.c) */
	/* the outbox handoff (store_opts): leases, and whether round 2's
	   last statement is the outbox insert */
	int (*outbox_lease)(void *arg, const char *channel);
	void *outbox_arg;
	const char *outbox_owner;
	bool outbox_sent;
	const struct store_doubt
	    *doubt; /* the store's, for batch_ack_at_risk */
};

/* store_batch.c: one batch's work, between the database rounds. */

/* store_batch.c: the sender (channel, sender) of the batch, or NULL. */
struct store_sender *batch_sender_find(struct store_batch *,
    const char *channel, const char *sender, uint64_t sender_key);

/*
 * Bindings (store_bind.c, issue 17): put the ST_BINDINGS rows on the
 * senders; apply message i's decided action to its sender; write the
 * unbinds and reminder switches of the batch (round 2).
 */
void bind_load(struct store_batch *, const struct db_rows *);
void bind_apply(struct store_batch *, size_t i);
void bind_write(struct store_batch *, struct db *);

/*
 * Challenges (store_challenge.c, [verify] mode = challenge): round 1's
 * load of the senders' rows (with the sender arrays in params[0..1]);
 * put them on the batch; the row of (sender, contract) for the engine;
 * message i's decided row into the batch's copy; round 2's writes.
 */
void chal_send_load(struct store_batch *, struct db *);
void chal_load(struct store_batch *, const struct db_rows *);
const struct dialog_challenge *
chal_find(struct store_batch *, int sender, const char *contract);
void chal_apply(struct store_batch *, size_t i);
void chal_write(struct store_batch *, struct db *);
void chal_free(struct store_batch *);

/*
 * Parse the texts, find the senders; send round 1 (locks and loads). The
 * caller closes the round. window_s: the redelivery window.
 */
void batch_send_loads(
    struct store_batch *, struct db *, struct parser *, int64_t window_s);
/*
 * With round 1's results: decide every message and send round 2 (the
 * writes; the caller closes it with a sync). Returns 0, or -1 when the
 * results do not have the expected shape.
 */
int batch_decide(struct store_batch *, const struct db_round_result *,
    const struct config *, struct db *, char *err, size_t errlen);
void batch_free(struct store_batch *);
/* The batch's SMS checked for redelivery go into the doubt ring. */
void batch_doubt(const struct store_batch *, struct store_doubt *);
void doubt_free(struct store_doubt *);
/* Round 2's outbox rows (ST_OUTBOX_COLS), or NULL if it had none. */
const struct db_rows *
batch_outbox_rows(const struct store_batch *, const struct db_round_result *);

/* store_parts.c: parts of concatenated SMS (docs/store.md). */

/* The advisory lock keys of the parts' senders, appended to a. */
void parts_lock_keys(const struct store_batch *, struct sql_arr *a);
/* Round 1: the stored parts of the batch's parts' groups. */
void parts_send_load(struct store_batch *, struct db *);
/* With round 1's rows: which parts to keep; round 2: keep them, and mark
   the parts the batch's whole messages were joined from. */
int
parts_decide(struct store_batch *, const struct db_round_result *, struct db *);
/* A part's answer (outcome "part", the stored parts of its group, in buf
   of 255); valid until the batch is reused. */
void parts_result(const struct store_batch *, const struct store_msg *,
    struct intake_part *buf, struct intake_result *);
void parts_free(struct store_batch *);
/* The sweep of parts whose message never completes (store_parts.c). */
int64_t parts_sweep_after_ms(int64_t concat_timeout_ms);
void parts_sweep_send(struct db *, int64_t after_ms);
struct store;
int
parts_sweep_rows(struct store *, const struct config *, const struct db_rows *);
/*
 * The register side of a submission (exposed for test_store_units): move
 * g on to value v of date, last into prev first unless it is a correction
 * (prev stays); never back in time. Returns whether g changed.
 */
bool batch_move_register(
    struct model_register *g, uint32_t v, int32_t date, bool correction);
/* Mark the batch's submissions that correction s replaces (same contract,
   dated from s->supersedes_since to s->date). */
void batch_supersede_in_batch(
    struct store_batch *, const struct dialog_submission *s);

#endif
