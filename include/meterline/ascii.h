/* Locale-free ASCII classification the parsers share. */
#ifndef METERLINE_ASCII_H
#define METERLINE_ASCII_H

/* The value of a hex digit, or -1. */
static inline int
ascii_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
