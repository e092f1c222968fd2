/* The monotonic and wall clocks in microseconds. */
#include <time.h>

#include "meterline/clock.h"

static int64_t
clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
clock_mono_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

int64_t
clock_real_us(void)
{
	return clock_us(CLOCK_REALTIME);
}
