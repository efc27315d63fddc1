/* A booster in XGBoost's JSON model format as flat node arrays, and
 * scoring on them: see trees.h. */
#include "trees/trees.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Sizes a model file may declare; beyond them it is not one mlpipe made. */
#define MAX_TREES (1 << 20)
#define MAX_NODES (1 << 26)

void mp_forest_release(mp_forest *f)
{
	free(f->start);
	free(f->group);
	free(f->feature);
	free(f->left);
	free(f->right);
	free(f->value);
	free(f->dleft);
	free(f->gain);
	memset(f, 0, sizeof(*f));
}

/* obj's member path a.b.c, or NULL */
static json_t *at(json_t *obj, const char *const *path)
{
	for (; *path && obj; path++)
		obj = json_is_object(obj) ? json_object_get(obj, *path) : NULL;
	return obj;
}

/* A number XGBoost writes as a string ("5E-1") or a number. */
static int number_of(json_t *v, double *out)
{
	char *end;

	if (json_is_number(v)) {
		*out = json_number_value(v);
		return isfinite(*out) ? 0 : -1;
	}
	if (!json_is_string(v))
		return -1;
	*out = strtod(json_string_value(v), &end);
	return *end || end == json_string_value(v) || !isfinite(*out) ? -1 : 0;
}

static const struct {
	const char *objective;
	mp_loss loss;
} objectives[] = {
	{"binary:logistic", MP_LOSS_BCE},
	{"multi:softprob", MP_LOSS_SOFTMAX_CE},
	{"reg:squarederror", MP_LOSS_MSE},
};

/* The learner's objective, classes, inputs and starting margin. */
static int read_learner(mp_forest *f, json_t *root, int nfeat, mp_loss loss, const char *where, mp_err *err)
{
	static const char *const p_obj[] = {"learner", "objective", "name", NULL};
	static const char *const p_param[] = {"learner", "learner_model_param", NULL};
	static const char *const p_booster[] = {"learner", "gradient_booster", "name", NULL};
	json_t *param = at(root, p_param);
	const char *obj = json_string_value(at(root, p_obj)), *booster = json_string_value(at(root, p_booster));
	double base, nclass = 0, nf;
	size_t k;

	if (!obj || !param || !booster)
		return mp_error(err, MP_ECORRUPT, "'%s': the booster lacks its objective or parameters", where);
	if (strcmp(booster, "gbtree"))
		return mp_error(err, MP_ECORRUPT, "'%s': booster '%s' is not gbtree", where, booster);
	for (k = 0; k < MP_COUNTOF(objectives) && strcmp(objectives[k].objective, obj); k++)
		;
	if (k == MP_COUNTOF(objectives) || objectives[k].loss != loss)
		return mp_error(err, MP_ECORRUPT, "'%s': objective '%s' is not that of loss %s", where, obj,
				mp_loss_name(loss));
	if (number_of(json_object_get(param, "base_score"), &base) != 0 ||
	    number_of(json_object_get(param, "num_feature"), &nf) != 0 ||
	    (loss == MP_LOSS_SOFTMAX_CE && number_of(json_object_get(param, "num_class"), &nclass) != 0))
		return mp_error(err, MP_ECORRUPT, "'%s': the booster's base_score, num_feature or num_class is not a "
				"number", where);
	if (nf != nfeat)
		return mp_error(err, MP_ECORRUPT, "'%s': the booster reads %g inputs, the model %d", where, nf, nfeat);
	if (loss == MP_LOSS_SOFTMAX_CE && !(nclass >= 2 && nclass <= 100000 && nclass == floor(nclass)))
		return mp_error(err, MP_ECORRUPT, "'%s': num_class %g is not 2 or more", where, nclass);
	if (loss == MP_LOSS_BCE && !(base > 0 && base < 1))
		return mp_error(err, MP_ECORRUPT, "'%s': base_score %g of a logistic model is not in (0, 1)", where,
				base);
	f->nfeat = nfeat;
	f->loss = loss;
	f->ngroup = loss == MP_LOSS_SOFTMAX_CE ? (int)nclass : 1;
	/* XGBoost keeps base_score as an output; its margin starts every sum */
	f->base = loss == MP_LOSS_BCE ? (float)-log(1 / base - 1) : (float)base;
	return 0;
}

/* The i-th item of a tree's array as an integer in [lo, hi]. */
static int int_at(json_t *a, size_t i, double lo, double hi, int32_t *out)
{
	double v;

	if (number_of(json_array_get(a, i), &v) != 0 || v < lo || v > hi || v != floor(v))
		return -1;
	*out = (int32_t)v;
	return 0;
}

/* Tree t (its JSON) into nodes [f->start[t], ...), checked. */
static int read_tree(mp_forest *f, json_t *tree, int t, const char *where, mp_err *err)
{
	json_t *left = json_object_get(tree, "left_children"), *right = json_object_get(tree, "right_children");
	json_t *feat = json_object_get(tree, "split_indices"), *cond = json_object_get(tree, "split_conditions");
	json_t *dl = json_object_get(tree, "default_left"), *gain = json_object_get(tree, "loss_changes");
	json_t *type = json_object_get(tree, "split_type");
	size_t n = json_array_size(left), base = (size_t)f->start[t], i;

	if (!n || json_array_size(right) != n || json_array_size(feat) != n || json_array_size(cond) != n ||
	    json_array_size(dl) != n || json_array_size(gain) != n)
		return mp_error(err, MP_ECORRUPT, "'%s': tree %d's node arrays are missing or of unequal lengths", where,
				t);
	for (i = 0; i < n; i++) {
		size_t o = base + i;
		int32_t kind = 0, d;
		double v, g;

		if (int_at(left, i, -1, (double)n - 1, &f->left[o]) != 0 ||
		    int_at(right, i, -1, (double)n - 1, &f->right[o]) != 0 ||
		    int_at(feat, i, 0, f->nfeat - 1, &f->feature[o]) != 0 || int_at(dl, i, 0, 1, &d) != 0 ||
		    number_of(json_array_get(cond, i), &v) != 0 || number_of(json_array_get(gain, i), &g) != 0 ||
		    (type && int_at(type, i, 0, 0, &kind) != 0))
			return mp_error(err, MP_ECORRUPT, "'%s': tree %d, node %zu: a value is missing or out of range "
					"(features 0 to %d; numerical splits only)", where, t, i, f->nfeat - 1);
		/* children come after their parent, so every walk ends */
		if ((f->left[o] < 0) != (f->right[o] < 0) ||
		    (f->left[o] >= 0 && (f->left[o] <= (int32_t)i || f->right[o] <= (int32_t)i)))
			return mp_error(err, MP_ECORRUPT, "'%s': tree %d, node %zu: its children are not after it", where,
					t, i);
		f->value[o] = (float)v;
		f->dleft[o] = (uint8_t)d;
		if (f->left[o] >= 0)
			f->gain[f->feature[o]] += g;
	}
	f->start[t + 1] = f->start[t] + (int32_t)n;
	return 0;
}

static int read_trees(mp_forest *f, json_t *root, const char *where, mp_err *err)
{
	static const char *const p_trees[] = {"learner", "gradient_booster", "model", "trees", NULL};
	static const char *const p_info[] = {"learner", "gradient_booster", "model", "tree_info", NULL};
	json_t *trees = at(root, p_trees), *info = at(root, p_info), *tree;
	size_t t, total = 0;

	if (!json_is_array(trees) || !json_is_array(info) || json_array_size(trees) != json_array_size(info) ||
	    json_array_size(trees) > MAX_TREES)
		return mp_error(err, MP_ECORRUPT, "'%s': the booster's trees or tree_info are missing or disagree", where);
	json_array_foreach(trees, t, tree) {
		size_t n = json_array_size(json_object_get(tree, "left_children"));

		if (n > MAX_NODES - total)
			return mp_error(err, MP_ECORRUPT, "'%s': more than %d nodes", where, MAX_NODES);
		total += n;
	}
	f->ntrees = (int)json_array_size(trees);
	f->nnodes = total;
	if (!(f->start = mp_calloc((size_t)f->ntrees + 1, sizeof(int32_t))) ||
	    !(f->group = mp_calloc((size_t)f->ntrees + 1, sizeof(int32_t))) ||
	    !(f->feature = mp_malloc((total + 1) * sizeof(int32_t))) ||
	    !(f->left = mp_malloc((total + 1) * sizeof(int32_t))) ||
	    !(f->right = mp_malloc((total + 1) * sizeof(int32_t))) ||
	    !(f->value = mp_malloc((total + 1) * sizeof(float))) || !(f->dleft = mp_malloc(total + 1)) ||
	    !(f->gain = mp_calloc((size_t)f->nfeat, sizeof(double))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	json_array_foreach(trees, t, tree) {
		int rc;

		if (int_at(info, t, 0, f->ngroup - 1, &f->group[t]) != 0)
			return mp_error(err, MP_ECORRUPT, "'%s': tree %zu adds to an output outside 0 to %d", where,
					t, f->ngroup - 1);
		if ((rc = read_tree(f, tree, (int)t, where, err)) != 0)
			return rc;
	}
	return 0;
}

int mp_forest_parse(mp_forest *f, const char *json, size_t len, int nfeat, mp_loss loss, const char *where,
		    mp_err *err)
{
	json_error_t je;
	json_t *root;
	int rc;

	memset(f, 0, sizeof(*f));
	if (!(root = json_loadb(json, len, 0, &je)))
		return mp_error(err, MP_ECORRUPT, "'%s': the booster is not JSON (%s, at byte %d)", where, je.text,
				je.position);
	if ((rc = read_learner(f, root, nfeat, loss, where, err)) == 0)
		rc = read_trees(f, root, where, err);
	json_decref(root);
	if (rc != 0)
		mp_forest_release(f);
	return rc;
}

/* The leaf row x falls in, in the tree of nodes n (numbered from 0). */
static float leaf(const mp_forest *f, size_t n, const float *x)
{
	int32_t i = 0;

	while (f->left[n + (size_t)i] >= 0) {
		size_t o = n + (size_t)i;
		float v = x[f->feature[o]];

		i = isnan(v) ? (f->dleft[o] ? f->left[o] : f->right[o]) : v < f->value[o] ? f->left[o] : f->right[o];
	}
	return f->value[n + (size_t)i];
}

void mp_forest_margins(const mp_forest *f, const float *x, int rows, float *out)
{
	size_t g = (size_t)f->ngroup;
	int r, t;

	for (r = 0; r < rows; r++) {
		const float *xr = x + (size_t)r * (size_t)f->nfeat;
		float *o = out + (size_t)r * g;

		for (size_t k = 0; k < g; k++)
			o[k] = f->base;
		for (t = 0; t < f->ntrees; t++)
			o[f->group[t]] += leaf(f, (size_t)f->start[t], xr);
	}
}

void mp_forest_predict(const mp_forest *f, const float *x, int rows, float *out)
{
	size_t g = (size_t)f->ngroup, k;
	int r;

	mp_forest_margins(f, x, rows, out);
	for (r = 0; r < rows; r++) {
		float *o = out + (size_t)r * g;

		if (f->loss == MP_LOSS_BCE) {
			o[0] = 1.0f / (1.0f + expf(-o[0]));
		} else if (f->loss == MP_LOSS_SOFTMAX_CE) {
			/* the largest margin subtracted, in double, as the
			 * networks' C export does (XGBoost's float exponentials
			 * are within 1e-7 of it) */
			float mx = o[0];
			double sum = 0;

			for (k = 1; k < g; k++)
				mx = o[k] > mx ? o[k] : mx;
			for (k = 0; k < g; k++)
				sum += exp((double)(o[k] - mx));
			for (k = 0; k < g; k++)
				o[k] = (float)(exp((double)(o[k] - mx)) / sum);
		}
	}
}
