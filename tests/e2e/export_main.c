/* A program built against a model exported with `mlpipe export --format c
 * -o DIR/model`: it reads a CSV file (a header row, no quoted fields),
 * finds the model's features by name, and prints what `mlpipe predict`
 * prints.  Compiled by the end-to-end test with nothing but cc and -lm:
 *
 *   cc -std=c99 -I DIR export_main.c DIR/model.c -lm
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

#define MAXCOLS 1024
#define MAXLINE (1 << 16)

static int is_na(const char *s)
{
	return !*s || !strcmp(s, "NA") || !strcmp(s, "N/A") || !strcmp(s, "#N/A") || !strcmp(s, "NULL") ||
	       !strcmp(s, "null");
}

/* Splits line at commas in place; returns the number of fields. */
static int split(char *line, char **f)
{
	int n = 0;

	line[strcspn(line, "\r\n")] = '\0';
	f[n++] = line;
	for (; *line && n < MAXCOLS; line++)
		if (*line == ',') {
			*line = '\0';
			f[n++] = line + 1;
		}
	return n;
}

static int column(char **header, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(header[i], name))
			return i;
	fprintf(stderr, "no column %s\n", name);
	exit(1);
}

int main(int argc, char **argv)
{
	static char head[MAXLINE], line[MAXLINE];
	char *hf[MAXCOLS], *f[MAXCOLS];
	int ncol, num[MODEL_NUM_NUMBERS > 0 ? MODEL_NUM_NUMBERS : 1], str[MODEL_NUM_STRINGS > 0 ? MODEL_NUM_STRINGS : 1];
	float x[MODEL_NUM_NUMBERS > 0 ? MODEL_NUM_NUMBERS : 1], out[MODEL_NUM_OUTPUTS];
	const char *s[MODEL_NUM_STRINGS > 0 ? MODEL_NUM_STRINGS : 1];
	FILE *fp;
	int i, k;

	if (argc != 2 || !(fp = fopen(argv[1], "r")) || !fgets(head, sizeof(head), fp))
		return 1;
	ncol = split(head, hf);
	for (i = 0; i < MODEL_NUM_NUMBERS; i++)
		num[i] = column(hf, ncol, model_number_names[i]);
	for (i = 0; i < MODEL_NUM_STRINGS; i++)
		str[i] = column(hf, ncol, model_string_names[i]);
	if (MODEL_NUM_CLASSES) {
		printf("class");
		for (k = 0; k < MODEL_NUM_CLASSES; k++)
			printf(",p_%s", model_class_names[k]);
		printf("\n");
	} else {
		printf("value\n");
	}
	while (fgets(line, sizeof(line), fp)) {
		int c;

		if (split(line, f) != ncol)
			return 1;
		for (i = 0; i < MODEL_NUM_NUMBERS; i++)
			x[i] = is_na(f[num[i]]) ? NAN : strtof(f[num[i]], NULL);
		for (i = 0; i < MODEL_NUM_STRINGS; i++)
			s[i] = is_na(f[str[i]]) ? NULL : f[str[i]];
		c = model_predict(x, s, out);
		if (MODEL_NUM_CLASSES)
			printf("%s", model_class_names[c]);
		for (k = 0; k < MODEL_NUM_OUTPUTS; k++)
			printf("%s%.9g", k || MODEL_NUM_CLASSES ? "," : "", (double)out[k]);
		printf("\n");
	}
	fclose(fp);
	return 0;
}
