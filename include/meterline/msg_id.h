/*
 * Message ids made from a message itself.
 *
 * A message the channel gave no id (SMS, a replay line without one) gets
 * one from its time, channel, sender, recipient and text. The store records
 * it like a channel's id, replay gives a line without an id the same one,
 * and export-log writes it for messages logged without an id: so a message
 * replayed from an export, or a log line replayed twice, is recognised as
 * the message it is and never applied twice.
 */
#ifndef METERLINE_MSG_ID_H
#define METERLINE_MSG_ID_H

#include <stddef.h>
#include <stdint.h>

/*
 * "stable:" + 16 hex digits of the time (sorting as the time does) + 16 of
 * a SHA-256 of the message.
 */
#define MSG_ID_STABLE_PREFIX "stable:"
#define MSG_ID_STABLE_LEN (sizeof(MSG_ID_STABLE_PREFIX) - 1 + 16 + 16)

/*
 * Write the stable id of the message to out (MSG_ID_STABLE_LEN + 1 bytes).
 * The same message always gets the same id; ids of later messages sort
 * after those of earlier ones.
 */
void msg_id_stable(int64_t time_us, const char *channel, const char *from,
    const char *to, const char *text, size_t text_len, char *out);

#endif
