/* --concat-flood of meterline-smsc-sim (cflood.c); private to main.c. */
#ifndef METERLINE_SMSC_SIM_CFLOOD_H
#define METERLINE_SMSC_SIM_CFLOOD_H

#include <stdio.h>

struct event_base;
struct smsc_sim;
struct cflood;

/* "G,P,N" into v; 0, or -1 when out of range (P 2..255, N 1..3900). */
int cflood_parse(const char *arg, unsigned v[3]);
/* Start: parts go out once an ESME is bound; done(arg) when all answered. */
struct cflood *cflood_new(struct event_base *, struct smsc_sim *,
    const unsigned v[3], void (*done)(void *), void *arg);
/* Stop sending (its timer would keep the loop running). NULL-safe. */
void cflood_stop(struct cflood *);
void cflood_report(const struct cflood *, FILE *);
void cflood_free(struct cflood *); /* NULL-safe */

#endif
