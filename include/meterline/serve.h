/*
 * The daemon: the store, the SMPP link, the outbox sender, the HTTP intake
 * and the metrics on one libevent loop, until SIGTERM or SIGINT and a
 * graceful stop. `meterline serve` parses its arguments and calls this.
 */
#ifndef METERLINE_SERVE_H
#define METERLINE_SERVE_H

#include <stddef.h>

#include "meterline/config.h"

/*
 * What serve needs beyond the loaded config (config_load has run
 * config_check): something to serve ([smpp] or [http] or both), and HTTP
 * listen hosts that resolve. `serve --check` and serve_run both call it.
 * Blocks on DNS for a listen host that is a name: call it before the loop.
 * Returns 0, or -1 with why in err.
 */
int serve_check(const struct config *, char *err, size_t errlen);

/*
 * Run the gateway on cfg (copied) until a signal stops it. Sets the log
 * level from cfg. Returns 0 after the stop, or -1 with why in err when it
 * could not start (nothing is left running).
 */
int serve_run(const struct config *, char *err, size_t errlen);

#endif
