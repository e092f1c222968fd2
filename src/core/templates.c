/*
 * Reply templates: the built-in Russian texts, which placeholders each may
 * use, checking an override, and rendering into a caller buffer.
 */
#include <stdio.h>
#include <string.h>

#include "meterline/templates.h"

#define V(x) (1u << TPL_VAR_##x)

struct tpl_def {
	const char *name;
	const char *text;
	unsigned vars;
	bool two_part; /* the default may take two SMS (docs/replies.md) */
};

/*
 * Each default fits one UCS-2 SMS (70 characters) with a 9-digit contract,
 * "полупик" and 6-digit values (test_templates checks), except help, which
 * says enough to be useful and takes two.
 */
static const struct tpl_def tpl_defs[TPL__MAX] = {
	[TPL_ACCEPTED] = { "accepted", "Показания приняты. Спасибо.",
	    V(CONTRACT) | V(REGISTERS), false },
	[TPL_PROMPT] = { "prompt",
	    "Договор {contract}. Введите показания: {register}",
	    V(CONTRACT) | V(REGISTER) | V(REGISTERS) | V(EXPECTED) |
	        V(EXAMPLE) | V(MINUTES),
	    false },
	[TPL_HELP] = { "help",
	    "ПС <договор> <показания>, например ПС 102057522 11638. "
	    "Двух- и трёхтарифный счётчик: ПС <договор>, далее по запросу. "
	    "Отмена: СТОП",
	    V(DAYS) | V(FROM) | V(TO) | V(MINUTES), true },
	[TPL_CANCELLED] = { "cancelled",
	    "Ввод показаний по договору {contract} отменён.", V(CONTRACT),
	    false },
	[TPL_NOTHING_TO_CANCEL] = { "nothing_to_cancel",
	    "Нечего отменять: ввод показаний не начат.", 0, false },
	[TPL_BAD_FORMAT] = { "bad_format",
	    "Не понял. Пример: ПС 102057522 11638. Справка: ПОМОЩЬ", 0, false },
	[TPL_BAD_FORMAT_DIALOG] = { "bad_format_dialog",
	    "Не понял. Договор {contract}, показания: {register}. "
	    "Пример: {example}",
	    V(CONTRACT) | V(REGISTER) | V(REGISTERS) | V(EXPECTED) | V(EXAMPLE),
	    false },
	[TPL_UNKNOWN_CONTRACT] = { "unknown_contract",
	    "Нет договора {contract}. Проверьте номер. Пример: ПС 102057522 11638",
	    V(CONTRACT), false },
	[TPL_CLOSED_CONTRACT] = { "closed_contract",
	    "Договор {contract} закрыт, показания не принимаются.", V(CONTRACT),
	    false },
	[TPL_TOO_MANY_VALUES] = { "too_many_values",
	    "Лишние показания, нужно {expected}. Пример: {example}",
	    V(CONTRACT) | V(EXPECTED) | V(GOT) | V(REGISTERS) | V(EXAMPLE),
	    false },
	[TPL_TOO_MANY_DIGITS] = { "too_many_digits",
	    "В показании {value} больше {digits} цифр. "
	    "Введите показания: {register}",
	    V(CONTRACT) | V(REGISTER) | V(VALUE) | V(DIGITS) | V(EXAMPLE),
	    false },
	[TPL_LOWER_THAN_LAST] = { "lower_than_last",
	    "Показание {value} меньше прежнего {last}. "
	    "Введите показания: {register}",
	    V(CONTRACT) | V(REGISTER) | V(VALUE) | V(LAST) | V(EXAMPLE),
	    false },
	[TPL_OUTSIDE_WINDOW] = { "outside_window",
	    "Показания принимаются с {from} по {to} число месяца.",
	    V(CONTRACT) | V(DAYS) | V(FROM) | V(TO), false },
	[TPL_NO_DIALOG] = { "no_dialog",
	    "Сначала укажите договор. Пример: ПС 102057522 11638", 0, false },
	[TPL_EXPIRED] = { "expired",
	    "Время ввода истекло. Начните заново: ПС {contract}",
	    V(CONTRACT) | V(MINUTES), false },
};

static const char *const tpl_var_names[TPL_VAR__MAX] = {
	[TPL_VAR_CONTRACT] = "contract",
	[TPL_VAR_REGISTER] = "register",
	[TPL_VAR_VALUE] = "value",
	[TPL_VAR_LAST] = "last",
	[TPL_VAR_DIGITS] = "digits",
	[TPL_VAR_EXPECTED] = "expected",
	[TPL_VAR_GOT] = "got",
	[TPL_VAR_REGISTERS] = "registers",
	[TPL_VAR_EXAMPLE] = "example",
	[TPL_VAR_DAYS] = "days",
	[TPL_VAR_FROM] = "from",
	[TPL_VAR_TO] = "to",
	[TPL_VAR_MINUTES] = "minutes",
};

const char *
tpl_name(enum tpl_id id)
{
	return (unsigned)id < TPL__MAX ? tpl_defs[id].name : NULL;
}

int
tpl_lookup(const char *name)
{
	for (int i = 0; i < TPL__MAX; i++) {
		if (strcmp(tpl_defs[i].name, name) == 0)
			return i;
	}
	return -1;
}

const char *
tpl_default(enum tpl_id id)
{
	return (unsigned)id < TPL__MAX ? tpl_defs[id].text : NULL;
}

unsigned
tpl_vars_allowed(enum tpl_id id)
{
	return (unsigned)id < TPL__MAX ? tpl_defs[id].vars : 0;
}

bool
tpl_two_part(enum tpl_id id)
{
	return (unsigned)id < TPL__MAX && tpl_defs[id].two_part;
}

/* The placeholder named by len bytes at s, or -1. */
static int
tpl_var_lookup(const char *s, size_t len)
{
	for (int i = 0; i < TPL_VAR__MAX; i++) {
		if (strlen(tpl_var_names[i]) == len &&
		    memcmp(tpl_var_names[i], s, len) == 0)
			return i;
	}
	return -1;
}

/* Length of the UTF-8 sequence at s, or 0 when it is malformed. */
static size_t
utf8_seq(const unsigned char *s)
{
	size_t n;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

static int
tpl_fail(
    char *err, size_t errlen, const char *why, size_t len, const char *what)
{
	snprintf(err, errlen, "%s%s%.*s%s", why, len ? " {" : "", (int)len,
	    what ? what : "", len ? "}" : "");
	return -1;
}

int
tpl_check(enum tpl_id id, const char *tpl, char *err, size_t errlen)
{
	const char *p = tpl;

	if (tpl[0] == '\0')
		return tpl_fail(err, errlen, "empty reply", 0, NULL);
	if (strlen(tpl) > TPL_MAX)
		return tpl_fail(err, errlen, "longer than 480 bytes", 0, NULL);
	while (*p != '\0') {
		size_t n = utf8_seq((const unsigned char *)p);
		const char *end;
		int var;

		if (n == 0)
			return tpl_fail(
			    err, errlen, "not valid UTF-8", 0, NULL);
		if ((p[0] == '{' && p[1] == '{') ||
		    (p[0] == '}' && p[1] == '}')) {
			p += 2;
			continue;
		}
		if (p[0] == '}')
			return tpl_fail(err, errlen,
			    "unmatched '}' (write }} for a brace)", 0, NULL);
		if (p[0] != '{') {
			p += n;
			continue;
		}
		if ((end = strchr(p, '}')) == NULL)
			return tpl_fail(err, errlen,
			    "unclosed '{' (write {{ for a brace)", 0, NULL);
		var = tpl_var_lookup(p + 1, (size_t)(end - p - 1));
		if (var < 0)
			return tpl_fail(err, errlen, "unknown placeholder",
			    (size_t)(end - p - 1), p + 1);
		if (!(tpl_vars_allowed(id) & (1u << var)))
			return tpl_fail(err, errlen,
			    "placeholder not available in this reply",
			    (size_t)(end - p - 1), p + 1);
		p = end + 1;
	}
	return 0;
}

/*
 * Append len bytes of s to out at *pos. When they do not fit, append what
 * fits up to a character boundary and return false.
 */
static bool
tpl_put(char *out, size_t cap, size_t *pos, const char *s, size_t len)
{
	bool fits = *pos + len < cap;

	if (!fits) {
		len = cap - 1 - *pos;
		/* Back off to the start of a UTF-8 sequence. */
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(out + *pos, s, len);
	*pos += len;
	return fits;
}

size_t
tpl_render(const char *tpl, const struct tpl_vars *vars, char *out, size_t cap)
{
	size_t pos = 0;
	bool fits = true;

	if (cap == 0)
		return 0;
	for (const char *p = tpl; *p != '\0' && fits;) {
		const char *end, *val;
		size_t n;

		if ((p[0] == '{' || p[0] == '}') && p[1] == p[0]) {
			fits = tpl_put(out, cap, &pos, p, 1);
			p += 2;
		} else if (p[0] == '{' && (end = strchr(p, '}')) != NULL) {
			int var = tpl_var_lookup(p + 1, (size_t)(end - p - 1));

			val = var >= 0 ? vars->v[var] : NULL;
			if (val != NULL)
				fits =
				    tpl_put(out, cap, &pos, val, strlen(val));
			p = end + 1;
		} else {
			n = strcspn(p, "{}");
			n = n ? n : 1; /* a lone brace is copied as is */
			fits = tpl_put(out, cap, &pos, p, n);
			p += n;
		}
	}
	out[pos] = '\0';
	return pos;
}

size_t
tpl_ucs2_units(const char *utf8)
{
	size_t units = 0;

	for (const unsigned char *p = (const unsigned char *)utf8; *p; p++) {
		if ((*p & 0xc0) != 0x80)
			units += *p >= 0xf0 ? 2 : 1;
	}
	return units;
}
