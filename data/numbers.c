/* Decimal numbers, fast: most CSV numbers are short integers or decimals. */
#include "data/csv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double pow10_tab[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
				   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
				   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* strtod on a bounded copy, for the forms the fast path leaves. */
static int slow_parse(const char *s, size_t n, float *out)
{
	char buf[128], *end;
	double d;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	d = strtod(buf, &end);
	if (end != buf + n)
		return -1;
	/* refuse words strtod accepts that are not numbers in a data file:
	 * hex; "nan" and "inf" are accepted */
	if (memchr(buf, 'x', n) || memchr(buf, 'X', n))
		return -1;
	*out = (float)d;
	return 0;
}

int mp_parse_f32(const char *s, size_t n, float *out)
{
	const char *p = s, *end = s + n;
	uint64_t mant = 0;
	int neg = 0, digits = 0, frac = 0, exp = 0;
	double d;

	/* the commonest case: a short unsigned integer */
	if (n && n <= 9) {
		uint32_t v = 0;
		size_t i;

		for (i = 0; i < n; i++) {
			unsigned dgt = (unsigned)(s[i] - '0');

			if (dgt > 9)
				break;
			v = v * 10 + dgt;
		}
		if (i == n) {
			*out = (float)v;
			return 0;
		}
	}
	if (p < end && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	while (p < end && (unsigned)(*p - '0') < 10) {
		if (digits < 19)
			mant = mant * 10 + (uint64_t)(*p - '0');
		else
			return slow_parse(s, n, out);
		if (mant)
			digits++;
		p++;
	}
	if (p < end && *p == '.') {
		p++;
		while (p < end && (unsigned)(*p - '0') < 10) {
			if (digits >= 19)
				return slow_parse(s, n, out);
			mant = mant * 10 + (uint64_t)(*p - '0');
			if (mant)
				digits++;
			frac++;
			p++;
		}
	}
	if (p == s + neg || (p == s + neg + 1 && s[neg] == '.'))
		return slow_parse(s, n, out); /* no digits: "nan", "inf" or not a number */
	if (p < end && (*p == 'e' || *p == 'E')) {
		int eneg = 0, e = 0, ed = 0;

		p++;
		if (p < end && (*p == '-' || *p == '+'))
			eneg = *p++ == '-';
		while (p < end && (unsigned)(*p - '0') < 10 && ed < 5) {
			e = e * 10 + (*p++ - '0');
			ed++;
		}
		if (!ed)
			return -1;
		exp = eneg ? -e : e;
	}
	if (p != end)
		return slow_parse(s, n, out);
	exp -= frac;
	/* Clinger's fast path: exact when the mantissa and the power of ten
	 * are exact doubles */
	if (mant >> 53 || exp < -22 || exp > 22)
		return slow_parse(s, n, out);
	d = (double)mant;
	d = exp < 0 ? d / pow10_tab[-exp] : d * pow10_tab[exp];
	*out = (float)(neg ? -d : d);
	return 0;
}
