/*
 * Small helpers the server and the command-line tools share: hashes and
 * random tokens (libsodium), user names, and the GIS ZhKKh tariff of a
 * register.
 */
#include <string.h>

#include <sodium.h>

#include "console_int.h"

void
console_sha256_hex(const char *s, size_t len, char hex[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)s, len);
	sodium_bin2hex(hex, 65, h, sizeof(h));
}

void
console_random_hex(char *hex, size_t n)
{
	unsigned char buf[64];

	if (n > sizeof(buf))
		n = sizeof(buf);
	randombytes_buf(buf, n);
	sodium_bin2hex(hex, 2 * n + 1, buf, n);
	sodium_memzero(buf, sizeof(buf));
}

bool
console_name_ok(const char *s)
{
	static const char first[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	size_t n = strlen(s);

	return n >= 1 && n <= 64 && strchr(first, s[0]) != NULL &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/*
 * The tariff zone of a register in the GIS ZhKKh shape: T1 day or peak
 * (and every single-rate meter, water too), T2 night, T3 half-peak. Named
 * registers are recognised by their Russian names ("полупик" before "пик");
 * others go by position.
 */
const char *
console_tariff(const char *resource, const char *name, int position)
{
	static const char *const by_pos[] = { "T1", "T1", "T2", "T3" };

	if (resource == NULL || strcmp(resource, "electricity") != 0)
		return "T1";
	if (name != NULL) {
		if (strstr(name, "полупик") != NULL)
			return "T3";
		if (strstr(name, "ноч") != NULL)
			return "T2";
		if (strstr(name, "пик") != NULL || strstr(name, "день") != NULL)
			return "T1";
	}
	return position >= 1 && position <= 3 ? by_pos[position] : "T1";
}
