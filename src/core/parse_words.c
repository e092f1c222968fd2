/*
 * The grammar's fixed vocabulary (docs/grammar.md lists the same words):
 * phrases that greet, thank, ask for help, cancel or confirm, ask for the
 * last readings, unbind or switch reminders; units after
 * a value; the keyword; register labels. And the character classes the
 * scanner reads the normalised text with (lower case, single spaces).
 */
#include "parse_int.h"

/* ---- phrases ------------------------------------------------------------ */

/*
 * A phrase in a fixed array, zero-padded: compared 8 bytes at a time
 * (phrase_is) without reading past its end.
 */
#define PHRASE_BYTES 48

struct phrase {
	char text[PHRASE_BYTES];
	unsigned char len;
	unsigned char cls;
};

#define P(t, c) \
	{ \
		t, sizeof(t) - 1, c \
	}

/*
 * Sorted by bytes (parse_words_check verifies it at parser_new), so the
 * phrases starting with one letter are one run, which phrase_index_init
 * records.
 */
static const struct phrase phrases[] = {
	P("hello", PH_GREET),
	P("help", PH_HELP),
	P("hi", PH_GREET),
	P("info", PH_INFO),
	P("ok", PH_CONFIRM),
	P("please", PH_POLITE),
	P("thank you", PH_THANKS),
	P("thanks", PH_THANKS),
	P("thx", PH_THANKS),
	P("yes", PH_CONFIRM),
	P("ага", PH_CONFIRM),
	P("бал", PH_INFO),
	P("благодарим", PH_THANKS),
	P("благодарю", PH_THANKS),
	P("большое спасибо", PH_THANKS),
	P("верно", PH_CONFIRM),
	P("включить напоминания", PH_REMIND_ON),
	P("все верно", PH_CONFIRM),
	P("всего доброго", PH_POLITE),
	P("всё верно", PH_CONFIRM),
	P("выключить напоминания", PH_REMIND_OFF),
	P("да", PH_CONFIRM),
	P("до свидания", PH_POLITE),
	P("доброго времени суток", PH_GREET),
	P("доброго дня", PH_GREET),
	P("доброе утро", PH_GREET),
	P("добрый вечер", PH_GREET),
	P("добрый день", PH_GREET),
	P("заранее спасибо", PH_THANKS),
	P("здравствуй", PH_GREET),
	P("здравствуйте", PH_GREET),
	P("здраствуйте", PH_GREET),
	P("инструкция", PH_HELP),
	P("инфо", PH_INFO),
	P("информация", PH_INFO),
	P("как ввести показания", PH_HELP),
	P("как внести показания", PH_HELP),
	P("как отправить", PH_HELP),
	P("как отправить показания", PH_HELP),
	P("как отправлять показания", PH_HELP),
	P("как передавать показания", PH_HELP),
	P("как передать", PH_HELP),
	P("как передать показания", PH_HELP),
	P("как подать показания", PH_HELP),
	P("как сдать показания", PH_HELP),
	P("напоминайте", PH_REMIND_ON),
	P("напоминать", PH_REMIND_ON),
	P("не напоминайте", PH_REMIND_OFF),
	P("не напоминать", PH_REMIND_OFF),
	P("не понимаю", PH_HELP),
	P("не понял", PH_HELP),
	P("не поняла", PH_HELP),
	P("огромное спасибо", PH_THANKS),
	P("ок", PH_CONFIRM),
	P("отвяжите", PH_UNBIND),
	P("отвязать", PH_UNBIND),
	P("отключить напоминания", PH_REMIND_OFF),
	P("отмена", PH_CANCEL),
	P("отправляю", PH_FILLER),
	P("пасиб", PH_THANKS),
	P("пасибо", PH_THANKS),
	P("передаю", PH_FILLER),
	P("пжл", PH_POLITE),
	P("плз", PH_POLITE),
	P("подтверждаю", PH_CONFIRM),
	P("пожалуйста", PH_POLITE),
	P("пожалуйсто", PH_POLITE),
	P("показание", PH_FILLER),
	P("показания", PH_FILLER),
	P("помоги", PH_HELP),
	P("помогите", PH_HELP),
	P("помощь", PH_HELP),
	P("понятно", PH_POLITE),
	P("последние показания", PH_INFO),
	P("правильно", PH_CONFIRM),
	P("предыдущие показания", PH_INFO),
	P("прежние показания", PH_INFO),
	P("привет", PH_GREET),
	P("приветствую", PH_GREET),
	P("с уважением", PH_SIGN),
	P("сообщаю", PH_FILLER),
	P("спасибки", PH_THANKS),
	P("спасибо", PH_THANKS),
	P("спасибо большое", PH_THANKS),
	P("спасибо вам", PH_THANKS),
	P("спасибо заранее", PH_THANKS),
	P("спасибочки", PH_THANKS),
	P("справка", PH_HELP),
	P("спс", PH_THANKS),
	P("стоп", PH_CANCEL),
	P("счетчик", PH_FILLER),
	P("счетчика", PH_FILLER),
	P("счётчик", PH_FILLER),
	P("счётчика", PH_FILLER),
	P("угу", PH_CONFIRM),
	P("хорошего дня", PH_POLITE),
	P("хорошо", PH_POLITE),
	P("что писать", PH_HELP),
	P("ясно", PH_POLITE),
};

static int
phrase_cmp(const struct phrase *a, const struct phrase *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->text, b->text, n);

	return c ? c : (a->len > b->len) - (a->len < b->len);
}

bool
parse_words_check(void)
{
	for (size_t k = 1; k < sizeof(phrases) / sizeof(phrases[0]); k++)
		if (phrase_cmp(&phrases[k - 1], &phrases[k]) >= 0)
			return false;
	return true;
}

/*
 * Whether the phrase p is the text at s (which has at least p->len bytes
 * and PARSE_PAD more after the text), 8 bytes at a time: a word-sized
 * compare costs less than a byte loop or a call of memcmp.
 */
static bool
phrase_is(const struct phrase *p, const char *s)
{
	size_t k;

	for (k = 0; k + 8 <= p->len; k += 8)
		if (parse_load8(p->text + k) != parse_load8(s + k))
			return false;
	if (k == p->len)
		return true;
	if (!PARSE_SWAR)
		return memcmp(p->text + k, s + k, p->len - k) == 0;
	/* the last 1-7 bytes: the low bytes of a little-endian load */
	return ((parse_load8(p->text + k) ^ parse_load8(s + k)) &
	           (~0ULL >> (8 * (8 - (p->len - k))))) == 0;
}

/*
 * The index of a phrase's first letter: a-z, then the Cyrillic letters of
 * the D0/D1 range (every phrase starts with one); -1 for anything else.
 */
static int
phrase_key(const char *s)
{
	unsigned char b = (unsigned char)s[0], b1 = (unsigned char)s[1];

	if (b >= 'a' && b <= 'z')
		return b - 'a';
	if ((b & 0xFE) == 0xD0 && (b1 & 0xC0) == 0x80)
		return 26 + ((b & 1) << 6 | (b1 & 0x3F));
	return -1;
}

/* The first 8 bytes at s as a big-endian number: ordered as memcmp. */
static uint64_t
head8(const char *s)
{
	return __builtin_bswap64(parse_load8(s));
}

bool
phrase_index_init(struct phrase_index *ix)
{
	size_t n = sizeof(phrases) / sizeof(phrases[0]);
	int key;

	memset(ix, 0, sizeof(*ix));
	if (n > PHRASES_MAX)
		return false;
	for (size_t k = 0; k < n; k++) {
		if ((key = phrase_key(phrases[k].text)) < 0)
			return false;
		if (ix->to[key] == 0)
			ix->from[key] = (uint8_t)k;
		else if (ix->to[key] != k)
			return false; /* not one run: the list is not sorted */
		ix->to[key] = (uint8_t)(k + 1);
		ix->head[k] = head8(phrases[k].text);
		ix->hmask[k] = phrases[k].len >= 8
		    ? ~0ULL
		    : ~(~0ULL >> (8 * phrases[k].len));
	}
	return true;
}

/*
 * The phrases of the first letter in sorted order: those that are a
 * prefix of the text come in order of length, and once a phrase is
 * greater than the text in its first bytes, no later one can be a
 * prefix of it, so the search stops there.
 */
enum phrase_class
phrase_at(const struct phrase_index *ix, const char *s, size_t i, size_t n,
    size_t *len)
{
	size_t best = 0;
	enum phrase_class cls = PH_NONE;
	int key = i < n ? phrase_key(s + i) : -1;
	uint64_t text, h;

	*len = 0;
	if (key < 0)
		return PH_NONE;
	text = head8(s + i);
	for (size_t k = ix->from[key]; k < ix->to[key]; k++) {
		const struct phrase *p = &phrases[k];

		h = text & ix->hmask[k];
		if (ix->head[k] > h)
			break;
		if (ix->head[k] == h && p->len > best && p->len <= n - i &&
		    (p->len <= 8 || phrase_is(p, s + i)) &&
		    !pch_wordy(s, i + p->len, n)) {
			best = p->len;
			cls = (enum phrase_class)p->cls;
		}
	}
	*len = best;
	return cls;
}

/* ---- units -------------------------------------------------------------- */

/* Energy and volume, as people write them after a value (any case). */
static const struct phrase units[] = {
	P("квт", 0),
	P("квтч", 0),
	P("квт*ч", 0),
	P("квт.ч", 0),
	P("квт/ч", 0),
	P("квт-ч", 0),
	P("kwh", 0),
	P("kw", 0),
	P("м3", 0),
	P("m3", 0),
	P("м³", 0),
	P("куб", 0),
	P("куба", 0),
	P("кубов", 0),
	P("куб.м", 0),
	P("кубометр", 0),
	P("кубометра", 0),
	P("кубометров", 0),
};

size_t
unit_at(const char *s, size_t i, size_t n)
{
	size_t best = 0;

	for (size_t k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
		const struct phrase *u = &units[k];

		if (u->len > best && u->len <= n - i && phrase_is(u, s + i) &&
		    !pch_wordy(s, i + u->len, n))
			best = u->len;
	}
	return best;
}

/* ---- keyword and labels ------------------------------------------------- */

/*
 * П (D0 BF), Р (D1 80) or Latin p; then С (D1 81), Latin c or s: the
 * keyword's length in bytes at u, 0 when there is none.
 */
size_t
keyword_len(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t a;

	if (u[0] == 'p')
		a = 1;
	else if ((u[0] == 0xD0 && u[1] == 0xBF) ||
	    (u[0] == 0xD1 && u[1] == 0x80))
		a = 2;
	else
		return 0;
	if (u[a] == 'c' || u[a] == 's')
		return a + 1;
	return u[a] == 0xD1 && u[a + 1] == 0x81 ? a + 2 : 0;
}

bool
keyword_is(const char *s, size_t i, size_t len)
{
	return len > 0 && keyword_len(s + i) == len;
}

/* Latin letters that look like Cyrillic ones, a-z; NULL for the others. */
static const char *const lookalike[26] = {
	['a' - 'a'] = "а",
	['b' - 'a'] = "в",
	['c' - 'a'] = "с",
	['e' - 'a'] = "е",
	['h' - 'a'] = "н",
	['k' - 'a'] = "к",
	['m' - 'a'] = "м",
	['o' - 'a'] = "о",
	['p' - 'a'] = "р",
	['t' - 'a'] = "т",
	['x' - 'a'] = "х",
	['y' - 'a'] = "у",
};

/* Whether the Latin letters of the label are to become Cyrillic. */
static bool
label_maps(const char *s, size_t i, size_t len)
{
	bool cyr = false, other_latin = false;

	for (size_t k = i; k < i + len; k++) {
		unsigned char b = (unsigned char)s[k];

		if (b >= 0x80)
			cyr = true;
		else if (b >= 'a' && b <= 'z' && lookalike[b - 'a'] == NULL)
			other_latin = true;
	}
	return cyr || !other_latin;
}

bool
label_copy(const char *s, size_t i, size_t len, char *out)
{
	bool map = label_maps(s, i, len);
	size_t o = 0, add;
	const char *from;

	for (size_t k = i; k < i + len; k++) {
		unsigned char b = (unsigned char)s[k];

		from = s + k;
		add = 1;
		if (map && b >= 'a' && b <= 'z' && lookalike[b - 'a'] != NULL) {
			from = lookalike[b - 'a'];
			add = 2;
		}
		if (o + add > PARSE_LABEL_MAX)
			return false;
		memcpy(out + o, from, add);
		o += add;
	}
	out[o] = '\0';
	return true;
}
