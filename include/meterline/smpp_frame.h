/*
 * SMPP framing over a libevent bufferevent, shared by the ESME link and
 * the SMSC simulator: PDUs are cut by command_length (16..SMPP_PDU_MAX)
 * with read watermarks, so the read callback only wakes when a whole PDU
 * can be there.
 */
#ifndef METERLINE_SMPP_FRAME_H
#define METERLINE_SMPP_FRAME_H

#include <stddef.h>
#include <stdint.h>

struct bufferevent;
struct event_base;

/*
 * Called for each complete PDU: len octets with pdu[len] == 0 (a guard for
 * string scans), borrowed for the call. Return 0 to go on reading, -1 to
 * stop (the connection is being closed: the bufferevent may be gone; or
 * reading is paused: the PDUs left stay buffered for the next call).
 */
typedef int (*smpp_frame_cb)(void *arg, const uint8_t *pdu, size_t len);

enum smpp_frame_rc {
	SMPP_FRAME_MORE, /* everything complete was handled */
	SMPP_FRAME_STOPPED, /* the callback returned -1 */
	SMPP_FRAME_BAD, /* command_length out of range: a generic_nack
				   ESME_RINVCMDLEN is queued; drop the link */
};

/* Set the initial read watermark of a new bufferevent. */
void smpp_frame_setup(struct bufferevent *);

/* Read every complete PDU from the input, then re-arm the watermark. */
enum smpp_frame_rc
smpp_frame_read(struct bufferevent *, smpp_frame_cb, void *arg);

/* Queue len octets for writing; 0 or -1. Traced at debug level. */
int smpp_frame_write(struct bufferevent *, const uint8_t *pdu, size_t len);

/*
 * Close bev once its output is written, or after timeout_ms at the
 * latest. Takes ownership of bev: its callbacks are replaced.
 */
void smpp_frame_close_after_flush(
    struct bufferevent *, struct event_base *, int timeout_ms);

/*
 * Log a PDU as one line at debug level: command, sequence, status, length
 * and, decoded, the masked addresses, the escaped system_id or message_id.
 * Never the password, the text or raw octets (which would carry both).
 */
void
smpp_frame_trace(const char *who, char dir, const uint8_t *pdu, size_t len);

/*
 * An address (untrusted: any octets) for a log line: masked by
 * log_mask_phone, then escaped so it cannot break the line. buf should
 * hold SMPP_LOG_ADDR_MAX.
 */
#define SMPP_LOG_ADDR_MAX 48
const char *smpp_log_addr(const char *addr, char *buf, size_t buflen);

#endif
