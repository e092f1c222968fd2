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
 * The reply each of issue 13's variants refines: a config that overrides
 * the general reply (a translation) but not the variant gets the general
 * one, so it never answers in two languages (tpl_pick).
 */
static const int tpl_general[TPL__MAX] = {
	[TPL_ACCEPTED_REVIEW] = TPL_ACCEPTED + 1,
	[TPL_CORRECTED] = TPL_ACCEPTED + 1,
	[TPL_PROMPT_SINGLE] = TPL_PROMPT + 1,
	[TPL_MISSING] = TPL_PROMPT + 1,
	[TPL_BAD_FORMAT_SINGLE] = TPL_BAD_FORMAT_DIALOG + 1,
	[TPL_TOO_MANY_VALUES_DIALOG] = TPL_TOO_MANY_VALUES + 1,
	[TPL_TOO_MANY_VALUES_SINGLE] = TPL_TOO_MANY_VALUES + 1,
	[TPL_TOO_MANY_DIGITS_SINGLE] = TPL_TOO_MANY_DIGITS + 1,
	[TPL_LOWER_THAN_LAST_SINGLE] = TPL_LOWER_THAN_LAST + 1,
	[TPL_NO_DIALOG_UNKNOWN] = TPL_NO_DIALOG + 1,
	[TPL_NOTHING_TO_CONFIRM] = TPL_HELP + 1,
}; /* + 1: 0 is "none" */

/*
 * Each default fits one UCS-2 SMS (70 characters) with a 9-digit contract,
 * "полупик" and 6-digit values (test_templates checks), except help, which
 * says enough to be useful and takes two.
 */
static const struct tpl_def tpl_defs[TPL__MAX] = {
	[TPL_ACCEPTED] = { "accepted", "Показания приняты. Спасибо.",
	    V(CONTRACT) | V(REGISTERS) | V(VALUES) | V(CONSUMPTION), false },
	[TPL_PROMPT] = { "prompt",
	    "Договор {contract}. Введите показания: {register}",
	    V(CONTRACT) | V(REGISTER) | V(REGISTERS) | V(EXPECTED) |
	        V(EXAMPLE) | V(MINUTES),
	    false },
	[TPL_HELP] = { "help",
	    "Пришлите: ПС 102057522 11638 (договор и показание). Два тарифа: "
	    "ПС 123861 день 12000 ночь 5800. Приём с {from} по {to} число. "
	    "Отмена: СТОП",
	    V(DAYS) | V(FROM) | V(TO) | V(MINUTES), true },
	[TPL_CANCELLED] = { "cancelled",
	    "Ввод показаний по договору {contract} отменён.", V(CONTRACT),
	    false },
	[TPL_NOTHING_TO_CANCEL] = { "nothing_to_cancel",
	    "Нечего отменять: ввод показаний не начат.", 0, false },
	[TPL_BAD_FORMAT] = { "bad_format",
	    "Не понял{unknown}. Пример: ПС 102057522 11638. Справка: ПОМОЩЬ",
	    V(UNKNOWN), false },
	[TPL_BAD_FORMAT_DIALOG] = { "bad_format_dialog",
	    "Не понял{unknown}. Договор {contract}: {registers}. "
	    "Пример: {example}",
	    V(CONTRACT) | V(REGISTER) | V(REGISTERS) | V(EXPECTED) |
	        V(EXAMPLE) | V(UNKNOWN),
	    true },
	[TPL_UNKNOWN_CONTRACT] = { "unknown_contract",
	    "Нет договора {contract}. Проверьте номер. Пример: ПС 102057522 11638",
	    V(CONTRACT), false },
	[TPL_CLOSED_CONTRACT] = { "closed_contract",
	    "Договор {contract} закрыт, показания не принимаются.", V(CONTRACT),
	    false },
	[TPL_TOO_MANY_VALUES] = { "too_many_values",
	    "Лишние показания: договор {contract} — {expected} "
	    "{expected|шкала|шкалы|шкал} ({registers}), прислано {got}",
	    V(CONTRACT) | V(EXPECTED) | V(GOT) | V(REGISTERS) | V(EXAMPLE),
	    true },
	[TPL_TOO_MANY_DIGITS] = { "too_many_digits",
	    "В показании {value} больше {digits} цифр. "
	    "Введите показания: {register}",
	    V(CONTRACT) | V(REGISTER) | V(VALUE) | V(DIGITS) | V(EXAMPLE),
	    false },
	[TPL_LOWER_THAN_LAST] = { "lower_than_last",
	    "Показание {value} меньше прежнего {last}. Пришлите верное "
	    "({register}). Если неверно прежнее, обратитесь в поддержку",
	    V(CONTRACT) | V(REGISTER) | V(VALUE) | V(LAST) | V(EXAMPLE), true },
	[TPL_OUTSIDE_WINDOW] = { "outside_window",
	    "Показания не приняты: приём с {from} по {to} число. "
	    "Следующий — с {next}",
	    V(CONTRACT) | V(DAYS) | V(FROM) | V(TO) | V(NEXT), false },
	[TPL_NO_DIALOG] = { "no_dialog",
	    "Сначала укажите договор. Пример: ПС 102057522 11638", 0, false },
	[TPL_EXPIRED] = { "expired",
	    "Время ввода истекло. Начните заново: ПС {contract}",
	    V(CONTRACT) | V(MINUTES), false },
	[TPL_ACCEPTED_REVIEW] = { "accepted_review",
	    "Показания приняты. Расход выше обычного, их проверит специалист.",
	    V(CONTRACT) | V(REGISTERS) | V(VALUES) | V(CONSUMPTION), false },
	[TPL_CORRECTED] = { "corrected", "Показания исправлены: {registers}.",
	    V(CONTRACT) | V(REGISTERS) | V(VALUES) | V(CONSUMPTION), false },
	[TPL_PROMPT_SINGLE] = { "prompt_single",
	    "Договор {contract}. Введите показание счётчика, например {example}",
	    V(CONTRACT) | V(EXAMPLE) | V(MINUTES), false },
	[TPL_MISSING] = { "missing",
	    "Не хватает {expected|показания|показаний|показаний}: {registers}. "
	    "Пример: {example}",
	    V(CONTRACT) | V(REGISTER) | V(REGISTERS) | V(EXPECTED) |
	        V(EXAMPLE) | V(MINUTES),
	    false },
	[TPL_BAD_FORMAT_SINGLE] = { "bad_format_single",
	    "Не понял{unknown}. Договор {contract}, пример: {example}",
	    V(CONTRACT) | V(EXAMPLE) | V(UNKNOWN), false },
	[TPL_TOO_MANY_VALUES_DIALOG] = { "too_many_values_dialog",
	    "Лишние показания: нужно ещё {expected} ({registers}), прислано {got}",
	    V(CONTRACT) | V(EXPECTED) | V(GOT) | V(REGISTERS) | V(EXAMPLE),
	    false },
	[TPL_TOO_MANY_VALUES_SINGLE] = { "too_many_values_single",
	    "Лишние показания: по договору {contract} одно показание, "
	    "прислано {got}",
	    V(CONTRACT) | V(GOT) | V(EXAMPLE), false },
	[TPL_TOO_MANY_DIGITS_SINGLE] = { "too_many_digits_single",
	    "В показании {value} больше {digits} цифр. "
	    "Пришлите верное показание",
	    V(CONTRACT) | V(VALUE) | V(DIGITS) | V(EXAMPLE), false },
	[TPL_LOWER_THAN_LAST_SINGLE] = { "lower_than_last_single",
	    "Показание {value} меньше прежнего {last}. Пришлите верное. "
	    "Если неверно прежнее, обратитесь в поддержку",
	    V(CONTRACT) | V(VALUE) | V(LAST) | V(EXAMPLE), true },
	[TPL_NO_DIALOG_UNKNOWN] = { "no_dialog_unknown",
	    "Сначала укажите договор ({contract} не найден): ПС 102057522 11638",
	    V(CONTRACT), false },
	[TPL_THANKS] = { "thanks",
	    "Пожалуйста! Показания принимаются с {from} по {to} число месяца.",
	    V(DAYS) | V(FROM) | V(TO), false },
	[TPL_NOTHING_TO_CONFIRM] = { "nothing_to_confirm",
	    "Подтверждать нечего. Пример: ПС 102057522 11638. Справка: ПОМОЩЬ",
	    V(DAYS) | V(FROM) | V(TO), false },
	[TPL_AMBIGUOUS_COMMA] = { "ambiguous_comma",
	    "Вы имели в виду {values}? Ответьте ДА или пришлите показание "
	    "без запятой",
	    V(CONTRACT) | V(VALUES) | V(REGISTERS), false },
	[TPL_AMBIGUOUS_DOT] = { "ambiguous_dot",
	    "Вы имели в виду {values}? Ответьте ДА или пришлите показание "
	    "без точки",
	    V(CONTRACT) | V(VALUES) | V(REGISTERS), false },
	[TPL_AMBIGUOUS_SPACE] = { "ambiguous_space",
	    "Вы имели в виду {values}? Ответьте ДА или пришлите показание "
	    "без пробела",
	    V(CONTRACT) | V(VALUES) | V(REGISTERS), false },
	[TPL_UNKNOWN_LABEL] = { "unknown_label",
	    "Не понял «{label}». Шкалы договора {contract}: {registers}",
	    V(CONTRACT) | V(LABEL) | V(REGISTERS) | V(EXAMPLE), false },
	[TPL_INFO] = { "info",
	    "Договор {contract}: {readings}. За этот месяц приняты",
	    V(CONTRACT) | V(READINGS) | V(DAYS) | V(FROM) | V(TO) | V(NEXT),
	    true },
	[TPL_INFO_DUE] = { "info_due",
	    "Договор {contract}: {readings}. За этот месяц не переданы, "
	    "приём {days} числа",
	    V(CONTRACT) | V(READINGS) | V(DAYS) | V(FROM) | V(TO) | V(NEXT),
	    true },
	[TPL_NOT_BOUND] = { "not_bound",
	    "Номер не привязан к договору. Привязать его можно в абонентском "
	    "отделе",
	    V(CONTRACT), false },
	[TPL_WHICH_CONTRACT] = { "which_contract",
	    "Укажите договор: {contracts}. Пример: ПС 102057522 11638",
	    V(CONTRACTS), false },
	[TPL_UNBOUND] = { "unbound", "Номер отвязан от договора {contract}.",
	    V(CONTRACT), false },
	[TPL_REMIND_OFF] = { "remind_off",
	    "Напоминания отключены. Включить: НАПОМИНАТЬ", 0, false },
	[TPL_REMIND_ON] = { "remind_on",
	    "Напоминания включены. Отключить: НЕ НАПОМИНАТЬ", 0, false },
	[TPL_CHALLENGE] = { "challenge",
	    "Договор {contract}: пришлите 4 последние цифры номера счётчика",
	    V(CONTRACT) | V(ATTEMPTS), false },
	[TPL_CHALLENGE_WRONG] = { "challenge_wrong",
	    "Неверно. Осталось попыток: {attempts}. Нужны 4 последние цифры "
	    "номера счётчика",
	    V(CONTRACT) | V(ATTEMPTS), false },
	[TPL_CHALLENGE_LOCKED] = { "challenge_locked",
	    "Слишком много неверных ответов. Повторите после {until}",
	    V(CONTRACT) | V(UNTIL), false },
	[TPL_CHALLENGE_PASSED] = { "challenge_passed",
	    "Номер привязан к договору {contract}.", V(CONTRACT), false },
	[TPL_CANNOT_VERIFY] = { "cannot_verify",
	    "Подтвердить договор {contract} здесь нельзя. Привяжите номер в "
	    "абонентском отделе",
	    V(CONTRACT), true },
	[TPL_CANNOT_VERIFY_PHONE] = { "cannot_verify_phone",
	    "Поделитесь контактом (номером телефона), затем пришлите ПС "
	    "{contract}",
	    V(CONTRACT), false },
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
	[TPL_VAR_VALUES] = "values",
	[TPL_VAR_CONSUMPTION] = "consumption",
	[TPL_VAR_UNKNOWN] = "unknown",
	[TPL_VAR_LABEL] = "label",
	[TPL_VAR_NEXT] = "next",
	[TPL_VAR_READINGS] = "readings",
	[TPL_VAR_CONTRACTS] = "contracts",
	[TPL_VAR_ATTEMPTS] = "attempts",
	[TPL_VAR_UNTIL] = "until",
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

enum tpl_id
tpl_pick(const char (*templates)[TPL_MAX + 1], enum tpl_id id)
{
	int general = (unsigned)id < TPL__MAX ? tpl_general[id] - 1 : -1;

	if (general >= 0 && strcmp(templates[id], tpl_defs[id].text) == 0 &&
	    strcmp(templates[general], tpl_defs[general].text) != 0)
		return (enum tpl_id)general;
	return id;
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

size_t
tpl_utf8_char(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t n;
	unsigned cp;

	if (len == 0)
		return 0;
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
	if (n > len)
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

/* Length of the name in the placeholder s..end ("expected|a|b|c"). */
static size_t
tpl_name_len(const char *s, const char *end)
{
	const char *bar = memchr(s, '|', (size_t)(end - s));

	return (size_t)((bar != NULL ? bar : end) - s);
}

/* A plural {name|one|few|many} has exactly three forms and no '{'. */
static int
tpl_check_plural(const char *s, const char *end)
{
	unsigned bars = 0;

	for (const char *q = s; q < end; q++) {
		if (*q == '{')
			return -1;
		bars += *q == '|';
	}
	return bars == 0 || bars == 3 ? 0 : -1;
}

/*
 * The form of a plural for the number in val, by the Russian rule (also
 * Ukrainian and Belarusian): one 1, 21, 31...; few 2-4, 22-24...; many
 * 0, 5-20, 25-30... A value that is not a number takes many.
 */
static void
tpl_plural_form(const char *forms, const char *end, const char *val,
    const char **form, size_t *len)
{
	unsigned long n = 0;
	size_t digits = val != NULL ? strspn(val, "0123456789") : 0;
	unsigned pick = 2;
	const char *f = forms, *bar;

	for (size_t i = 0; i < digits; i++)
		n = (n * 10 + (unsigned long)(val[i] - '0')) % 1000;
	if (digits > 0 && val[digits] == '\0') {
		if (n % 10 == 1 && n % 100 != 11)
			pick = 0;
		else if (n % 10 >= 2 && n % 10 <= 4 &&
		    (n % 100 < 12 || n % 100 > 14))
			pick = 1;
	}
	for (unsigned i = 0; i < pick; i++)
		f = (const char *)memchr(f, '|', (size_t)(end - f)) + 1;
	bar = memchr(f, '|', (size_t)(end - f));
	*form = f;
	*len = (size_t)((bar != NULL ? bar : end) - f);
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
		size_t n = tpl_utf8_char(p, strnlen(p, 4));
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
		if (tpl_check_plural(p + 1, end) != 0)
			return tpl_fail(err, errlen,
			    "a plural needs three forms, {name|one|few|many}",
			    (size_t)(end - p - 1), p + 1);
		var = tpl_var_lookup(p + 1, tpl_name_len(p + 1, end));
		if (var < 0)
			return tpl_fail(err, errlen, "unknown placeholder",
			    tpl_name_len(p + 1, end), p + 1);
		if (!(tpl_vars_allowed(id) & (1u << var)))
			return tpl_fail(err, errlen,
			    "placeholder not available in this reply",
			    tpl_name_len(p + 1, end), p + 1);
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

/* Append the value of the placeholder s..end (a plural: its form). */
static bool
tpl_put_var(char *out, size_t cap, size_t *pos, const char *s, const char *end,
    const struct tpl_vars *vars)
{
	size_t name = tpl_name_len(s, end), len;
	int var = tpl_var_lookup(s, name);
	const char *val = var >= 0 ? vars->v[var] : NULL, *form;

	if (s + name < end && tpl_check_plural(s, end) == 0) {
		tpl_plural_form(s + name + 1, end, val, &form, &len);
		return tpl_put(out, cap, pos, form, len);
	}
	return val != NULL ? tpl_put(out, cap, pos, val, strlen(val)) : true;
}

size_t
tpl_render(const char *tpl, const struct tpl_vars *vars, char *out, size_t cap)
{
	size_t pos = 0;
	bool fits = true;

	if (cap == 0)
		return 0;
	for (const char *p = tpl; *p != '\0' && fits;) {
		const char *end;
		size_t n;

		if ((p[0] == '{' || p[0] == '}') && p[1] == p[0]) {
			fits = tpl_put(out, cap, &pos, p, 1);
			p += 2;
		} else if (p[0] == '{' && (end = strchr(p, '}')) != NULL) {
			fits = tpl_put_var(out, cap, &pos, p + 1, end, vars);
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
