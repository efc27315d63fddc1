#include "core/json.h"
/* Structured params: YAML (and so JSON) values read with libyaml, and
 * written back as compact JSON, their canonical form. */

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct mp_jdoc {
	yaml_document_t doc;
};

struct mp_jnode {
	yaml_node_t n;
};

/* ---- loading YAML, the one rule for every reader ---------------------- */

typedef struct ycheck {
	yaml_document_t *doc;
	const char *name;
	int check_dups;
	size_t visits, cap;
	mp_err *err;
	int rc;
} ycheck;

static int ybad(ycheck *c, const yaml_node_t *n, const char *fmt, const char *a)
{
	char msg[256];

	snprintf(msg, sizeof(msg), fmt, a);
	c->rc = mp_error(c->err, MP_EINVAL, "%s:%d:%d: %s", c->name, (int)n->start_mark.line + 1,
			 (int)n->start_mark.column + 1, msg);
	return c->rc;
}

/* Walks the tree as a reader would, aliases expanded: each node visited
 * counts, so an alias bomb stops at the cap instead of taking the memory
 * and time of its expansion. */
static int ywalk(ycheck *c, yaml_node_t *n, int depth)
{
	if (!n || c->rc)
		return c->rc;
	if (++c->visits > c->cap)
		return ybad(c, n, "%s: its aliases expand it past the limit of nodes a reader takes",
			    "the YAML document");
	if (depth > MP_YAML_MAX_DEPTH)
		return ybad(c, n, "%s nested too deeply", "the value is");
	if (n->type == YAML_SEQUENCE_NODE) {
		yaml_node_item_t *it;

		for (it = n->data.sequence.items.start; it < n->data.sequence.items.top && !c->rc; it++)
			ywalk(c, yaml_document_get_node(c->doc, *it), depth + 1);
	} else if (n->type == YAML_MAPPING_NODE) {
		yaml_node_pair_t *a, *b;

		for (a = n->data.mapping.pairs.start; a < n->data.mapping.pairs.top && !c->rc; a++) {
			yaml_node_t *k = yaml_document_get_node(c->doc, a->key);

			if (c->check_dups && k && k->type == YAML_SCALAR_NODE)
				for (b = n->data.mapping.pairs.start; b < a; b++) {
					yaml_node_t *bk = yaml_document_get_node(c->doc, b->key);

					if (bk && bk->type == YAML_SCALAR_NODE &&
					    !strcmp((const char *)bk->data.scalar.value, (const char *)k->data.scalar.value))
						return ybad(c, k, "duplicate key '%s'", (const char *)k->data.scalar.value);
				}
			ywalk(c, k, depth + 1);
			ywalk(c, yaml_document_get_node(c->doc, a->value), depth + 1);
		}
	}
	return c->rc;
}

int mp_yaml_load(struct yaml_document_s *doc, const char *text, size_t len, const char *name, int check_dups,
		 mp_err *err)
{
	yaml_parser_t p;
	ycheck c;

	if (!yaml_parser_initialize(&p))
		return mp_error(err, MP_ENOMEM, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	if (!yaml_parser_load(&p, doc)) {
		int rc = p.error == YAML_MEMORY_ERROR ? mp_error(err, MP_ENOMEM, "out of memory reading '%s'", name)
						      : mp_error(err, MP_EINVAL, "%s:%d:%d: yaml: %s%s%s", name,
								 (int)p.problem_mark.line + 1, (int)p.problem_mark.column + 1,
								 p.problem ? p.problem : "syntax error", p.context ? " " : "",
								 p.context ? p.context : "");

		yaml_parser_delete(&p);
		return rc;
	}
	yaml_parser_delete(&p);
	memset(&c, 0, sizeof(c));
	c.doc = doc;
	c.name = name;
	c.check_dups = check_dups;
	c.err = err;
	/* a document without aliases visits each node once */
	c.cap = (size_t)(doc->nodes.top - doc->nodes.start) * MP_YAML_MAX_EXPANSION + 10000;
	if (ywalk(&c, yaml_document_get_root_node(doc), 0) != 0) {
		yaml_document_delete(doc);
		return c.rc;
	}
	return 0;
}

static const mp_jnode *node(const mp_jdoc *d, int idx)
{
	return (const mp_jnode *)yaml_document_get_node((yaml_document_t *)&d->doc, idx);
}

int mp_jdoc_parse(mp_jdoc **out, const char *text, const char *what, mp_err *err)
{
	mp_jdoc *d;
	int rc;

	*out = NULL;
	if (!(d = mp_calloc(1, sizeof(*d))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	if ((rc = mp_yaml_load(&d->doc, text, strlen(text), what, 1, err)) != 0) {
		free(d);
		return rc;
	}
	if (!yaml_document_get_root_node(&d->doc)) {
		yaml_document_delete(&d->doc);
		free(d);
		return mp_error(err, MP_EINVAL, "%s: not a valid value (empty)", what);
	}
	*out = d;
	return 0;
}

void mp_jdoc_free(mp_jdoc *d)
{
	if (!d)
		return;
	yaml_document_delete(&d->doc);
	free(d);
}

const mp_jnode *mp_jdoc_root(const mp_jdoc *d)
{
	return (const mp_jnode *)yaml_document_get_root_node((yaml_document_t *)&d->doc);
}

int mp_jnode_is_map(const mp_jnode *n)
{
	return n && n->n.type == YAML_MAPPING_NODE;
}

int mp_jnode_is_list(const mp_jnode *n)
{
	return n && n->n.type == YAML_SEQUENCE_NODE;
}

const char *mp_jnode_str(const mp_jnode *n)
{
	return n && n->n.type == YAML_SCALAR_NODE ? (const char *)n->n.data.scalar.value : NULL;
}

const mp_jnode *mp_jnode_get(const mp_jdoc *d, const mp_jnode *n, const char *key)
{
	yaml_node_pair_t *pr;

	if (!mp_jnode_is_map(n))
		return NULL;
	for (pr = n->n.data.mapping.pairs.start; pr < n->n.data.mapping.pairs.top; pr++) {
		const char *k = mp_jnode_str(node(d, pr->key));

		if (k && strcmp(k, key) == 0)
			return node(d, pr->value);
	}
	return NULL;
}

size_t mp_jnode_len(const mp_jnode *n)
{
	if (mp_jnode_is_list(n))
		return (size_t)(n->n.data.sequence.items.top - n->n.data.sequence.items.start);
	if (mp_jnode_is_map(n))
		return (size_t)(n->n.data.mapping.pairs.top - n->n.data.mapping.pairs.start);
	return 0;
}

const mp_jnode *mp_jnode_at(const mp_jdoc *d, const mp_jnode *n, size_t i)
{
	if (mp_jnode_is_list(n) && i < mp_jnode_len(n))
		return node(d, n->n.data.sequence.items.start[i]);
	if (mp_jnode_is_map(n) && i < mp_jnode_len(n))
		return node(d, n->n.data.mapping.pairs.start[i].value);
	return NULL;
}

const char *mp_jnode_key(const mp_jdoc *d, const mp_jnode *n, size_t i)
{
	if (mp_jnode_is_map(n) && i < mp_jnode_len(n))
		return mp_jnode_str(node(d, n->n.data.mapping.pairs.start[i].key));
	return NULL;
}

/* A plain scalar that JSON can hold bare: a number, true, false, null. */
static int bare(const yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value, *end;

	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	if (!strcmp(s, "true") || !strcmp(s, "false") || !strcmp(s, "null"))
		return 1;
	if (!*s)
		return 0;
	strtod(s, (char **)&end);
	return *end == '\0' && strspn(s, "0123456789+-.eE") == strlen(s);
}

static void emit(const mp_jdoc *d, const yaml_node_t *n, mp_strbuf *sb)
{
	size_t i;

	switch (n->type) {
	case YAML_SCALAR_NODE:
		if (bare(n)) {
			mp_strbuf_adds(sb, (const char *)n->data.scalar.value);
		} else {
			const unsigned char *c = n->data.scalar.value;

			mp_strbuf_adds(sb, "\"");
			for (i = 0; i < n->data.scalar.length; i++) {
				if (c[i] == '"' || c[i] == '\\')
					mp_strbuf_addf(sb, "\\%c", c[i]);
				else if (c[i] < 0x20)
					mp_strbuf_addf(sb, "\\u%04x", c[i]);
				else
					mp_strbuf_add(sb, (const char *)&c[i], 1);
			}
			mp_strbuf_adds(sb, "\"");
		}
		break;
	case YAML_SEQUENCE_NODE:
		mp_strbuf_adds(sb, "[");
		for (i = 0; i < mp_jnode_len((const mp_jnode *)n); i++) {
			if (i)
				mp_strbuf_adds(sb, ",");
			emit(d, &mp_jnode_at(d, (const mp_jnode *)n, i)->n, sb);
		}
		mp_strbuf_adds(sb, "]");
		break;
	case YAML_MAPPING_NODE:
		mp_strbuf_adds(sb, "{");
		for (i = 0; i < mp_jnode_len((const mp_jnode *)n); i++) {
			const yaml_node_pair_t *pr = &n->data.mapping.pairs.start[i];
			yaml_node_t key = *yaml_document_get_node((yaml_document_t *)&d->doc, pr->key);

			if (i)
				mp_strbuf_adds(sb, ",");
			key.data.scalar.style = YAML_DOUBLE_QUOTED_SCALAR_STYLE; /* keys are always strings */
			if (key.type == YAML_SCALAR_NODE)
				emit(d, &key, sb);
			else
				mp_strbuf_adds(sb, "\"?\"");
			mp_strbuf_adds(sb, ":");
			emit(d, yaml_document_get_node((yaml_document_t *)&d->doc, pr->value), sb);
		}
		mp_strbuf_adds(sb, "}");
		break;
	default:
		mp_strbuf_adds(sb, "null");
	}
}

void mp_jnode_json(const mp_jdoc *d, const mp_jnode *n, mp_strbuf *sb)
{
	emit(d, &n->n, sb);
}

int mp_yaml_to_json(const char *text, char **json, mp_err *err)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	mp_jdoc *d;
	int rc;

	*json = NULL;
	if ((rc = mp_jdoc_parse(&d, text, "value", err)) != 0)
		return rc;
	emit(d, yaml_document_get_root_node(&d->doc), &sb);
	mp_jdoc_free(d);
	if (!(*json = mp_strbuf_detach(&sb)))
		return mp_error(err, MP_ENOMEM, "out of memory");
	return 0;
}
