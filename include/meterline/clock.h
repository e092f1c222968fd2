/*
 * The one clock of every module. Deadlines, timeouts and durations use the
 * monotonic clock, which never jumps with NTP; message times and log stamps
 * use the wall clock.
 */
#ifndef METERLINE_CLOCK_H
#define METERLINE_CLOCK_H

#include <stdint.h>

/* Microseconds on CLOCK_MONOTONIC (an arbitrary epoch). */
int64_t clock_mono_us(void);

/* Microseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t clock_real_us(void);

#endif
