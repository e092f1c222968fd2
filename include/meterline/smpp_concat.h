/*
 * Reassembly of concatenated short messages (UDH 8/16-bit references and
 * sar_* TLVs). Parts are keyed by (sender, recipient, reference, total),
 * may arrive in any order and more than once; a group that does not
 * complete in time is handed back with the parts that arrived. Memory is
 * bounded before every part is stored, not only when a group is created:
 * past max_groups or max_bytes the oldest other groups are marked evicted
 * and handed back early by the next smpp_reasm_expire (so what is held
 * never passes max_bytes by more than one part). A group is also bounded
 * on its own (smpp_reasm_set_group_max): a part that would take it past
 * that is counted as arrived but its octets are dropped, and the message
 * comes back flagged truncated. Pure bookkeeping: time is passed in,
 * nothing here does I/O.
 *
 * Each part carries an opaque token (the SMPP link keeps the PDU it must
 * still answer in it); a message comes back with the tokens of all its
 * parts, duplicates included, so every PDU gets exactly one response.
 */
#ifndef METERLINE_SMPP_CONCAT_H
#define METERLINE_SMPP_CONCAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct smpp_concat;
struct smpp_reasm;

/* A message handed back by the reassembler; owned by the caller. */
struct smpp_reasm_msg {
	char src[66], dst[66];
	uint16_t ref; /* the message's reference */
	uint8_t dcs; /* data_coding of the first part that arrived */
	uint8_t total, got; /* parts announced and parts present */
	bool complete; /* got == total */
	bool evicted; /* handed back early by the memory bounds */
	bool truncated; /* parts dropped by the group bound */
	unsigned odd_parts; /* UCS-2 parts of odd length, each end -> U+FFFD */
	uint8_t *data; /* user data of the parts, in order, UDH removed */
	size_t len;
	uint64_t *tokens; /* one per PDU received for this message */
	size_t ntokens;
};

enum smpp_reasm_rc {
	SMPP_REASM_HELD, /* stored, waiting for more parts */
	SMPP_REASM_DUPLICATE, /* a part seen before: token kept, data dropped */
	SMPP_REASM_COMPLETE, /* *out holds the whole message */
	SMPP_REASM_DROPPED, /* over the group bound: token kept, data dropped */
};

/* What the bounds did since smpp_reasm_new. */
struct smpp_reasm_counts {
	uint64_t groups_evicted; /* handed back early by max_groups/bytes */
	uint64_t parts_dropped; /* octets dropped by the group bound */
};

struct smpp_reasm *
smpp_reasm_new(unsigned max_groups, size_t max_bytes, int64_t timeout_us);
/* Frees everything still held (tokens included). NULL-safe. */
void smpp_reasm_free(struct smpp_reasm *);

/*
 * Bound each message to bytes octets of user data as handed back, the
 * U+FFFD of odd UCS-2 parts included (0, the default: only max_bytes
 * bounds it).
 */
void smpp_reasm_set_group_max(struct smpp_reasm *, size_t bytes);

/* Add one part of a concatenated message (c->src != SMPP_CONCAT_NONE). */
enum smpp_reasm_rc
smpp_reasm_add(struct smpp_reasm *, const char *src, const char *dst,
    const struct smpp_concat *c, uint8_t dcs, const uint8_t *data, size_t len,
    uint64_t token, int64_t now_us, struct smpp_reasm_msg **out);

/* Whether a part of the message c belongs to is held. */
bool smpp_reasm_has(struct smpp_reasm *, const char *src, const char *dst,
    const struct smpp_concat *c);

/* Drop the message c belongs to when it holds only that part. */
void smpp_reasm_forget(struct smpp_reasm *, const char *src, const char *dst,
    const struct smpp_concat *c);

/*
 * Hand back one group whose time is up (or that was pushed out by the
 * memory bounds), or NULL. Call until NULL.
 */
struct smpp_reasm_msg *smpp_reasm_expire(struct smpp_reasm *, int64_t now_us);

/* Hand back any group, whatever its time (for a stop); NULL when empty. */
struct smpp_reasm_msg *smpp_reasm_pop(struct smpp_reasm *);

/* The earliest deadline held, or -1 when nothing is held. */
int64_t smpp_reasm_next_deadline(const struct smpp_reasm *);

/* Groups and bytes held now. */
size_t smpp_reasm_groups(const struct smpp_reasm *);
size_t smpp_reasm_bytes(const struct smpp_reasm *);

const struct smpp_reasm_counts *smpp_reasm_counts(const struct smpp_reasm *);

void smpp_reasm_msg_free(struct smpp_reasm_msg *);

#endif
