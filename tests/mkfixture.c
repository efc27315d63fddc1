/* Builds the metadata store the CLI tests read: two pipelines, four runs,
 * cached, failed and running executions, metrics over steps.  A fake clock
 * makes every time in it the same on every machine.
 *
 *   mkfixture DB ROOT    ROOT is recorded as the pipelines' artifact root;
 *                        with --files the artifact directories are created
 *   mkfixture --files DB ROOT
 *   mkfixture --bury DB PIPELINE ROOT N
 *                        adds N runs of PIPELINE whose Evaluator blessed
 *                        nothing and whose Pusher pushed nothing, burying
 *                        the real ones deeper than a page of a search
 *   mkfixture --images DIR NAME N SEED
 *                        writes DIR/NAME-images-idx3-ubyte.gz and its labels
 *                        (IDX, gzip) and DIR/NAME.csv (the same pixels): N
 *                        images of 28x28 as Fashion-MNIST's, of 3 classes
 *                        told apart by where a bright bar is (a conv finds it)
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "metadata/store.h"

static int64_t clock_ms = 1793527200000LL; /* 2026-10-31 10:00:00 UTC */

static int64_t fake_clock(void *ud)
{
	(void)ud;
	clock_ms += 1500;
	return clock_ms;
}

static mp_store *st;
static const char *root;
static int make_files;
static mp_err err;

static void die_if(int rc)
{
	if (rc) {
		fprintf(stderr, "mkfixture: %s\n", err.msg);
		exit(1);
	}
}

/* Runs one execution: begin, then finish with outputs named in outs
 * ("name:Type" pairs) and the given metrics. */
static int64_t exec(int64_t run, const char *id, const char *type, const mp_prop *params,
		    size_t np, const mp_input *in, size_t nin, const char *const *outs, size_t nout,
		    const mp_metric *m, size_t nm, mp_exec_state state, const char *reason,
		    int64_t *out_ids)
{
	mp_exec_spec spec = {run, id, type, "key", params, np, in, nin};
	mp_output o[8];
	char uris[8][512], names[8][64], types[8][64];
	mp_exec_result res = {state, reason, o, state == MP_EXEC_COMPLETE ? nout : 0, m, nm};
	char key[128];
	int64_t eid;
	size_t i;

	snprintf(key, sizeof(key), "%s-%s-%zu", type, id, np ? (size_t)params[0].i : 0);
	spec.cache_key = key;
	die_if(mp_store_begin_execution(st, &spec, &eid, &err));
	for (i = 0; i < res.noutputs; i++) {
		const char *colon = strchr(outs[i], ':');

		snprintf(names[i], sizeof(names[i]), "%.*s", (int)(colon - outs[i]), outs[i]);
		snprintf(types[i], sizeof(types[i]), "%s", colon + 1);
		snprintf(uris[i], sizeof(uris[i]), "%s/%s/%s/%lld", root, id, names[i], (long long)eid);
		memset(&o[i], 0, sizeof(o[i]));
		o[i].name = names[i];
		o[i].type = types[i];
		o[i].uri = uris[i];
		if (make_files) {
			char f[600];

			die_if(mp_mkdirs(uris[i], 0755, &err));
			snprintf(f, sizeof(f), "%s/data", uris[i]);
			die_if(mp_write_file_atomic(f, "x", 1, &err));
		}
	}
	die_if(mp_store_finish_execution(st, eid, &res, &err));
	for (i = 0; i < res.noutputs && out_ids; i++)
		out_ids[i] = o[i].id;
	return eid;
}

/* mkfixture --images: class 0 has a horizontal bar, 1 a vertical one, 2
 * a diagonal, each somewhere random, on noise. */
static int images(const char *dir, const char *name, int n, uint64_t seed)
{
	char path[4096];
	uint8_t head[16] = {0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28}, lhead[8] = {0, 0, 8, 1, 0, 0, 0, 0};
	uint8_t px[784];
	gzFile gi, gl;
	FILE *csv;
	int i, k;

	for (k = 0; k < 4; k++)
		head[4 + k] = lhead[4 + k] = (uint8_t)((unsigned)n >> (24 - 8 * k));
	snprintf(path, sizeof(path), "%s/%s-images-idx3-ubyte.gz", dir, name);
	gi = gzopen(path, "wb");
	snprintf(path, sizeof(path), "%s/%s-labels-idx1-ubyte.gz", dir, name);
	gl = gzopen(path, "wb");
	snprintf(path, sizeof(path), "%s/%s.csv", dir, name);
	csv = fopen(path, "w");
	if (!gi || !gl || !csv) {
		fprintf(stderr, "mkfixture: cannot write into %s\n", dir);
		return 1;
	}
	gzwrite(gi, head, 16);
	gzwrite(gl, lhead, 8);
	for (k = 0; k < 784; k++)
		fprintf(csv, "%spixel%d", k ? "," : "", k);
	fputc('\n', csv);
	for (i = 0; i < n; i++) {
		uint8_t label = (uint8_t)(mp_splitmix64(&seed) % 3);
		int at = 4 + (int)(mp_splitmix64(&seed) % 20), from = 2 + (int)(mp_splitmix64(&seed) % 8);

		for (k = 0; k < 784; k++)
			px[k] = (uint8_t)(mp_splitmix64(&seed) % 90);
		for (k = from; k < from + 16; k++) {
			int y = label == 0 ? at : k, x = label == 1 ? at : label == 0 ? k : (k + at) % 28;

			px[y * 28 + x] = (uint8_t)(200 + mp_splitmix64(&seed) % 56);
		}
		gzwrite(gi, px, 784);
		gzwrite(gl, &label, 1);
		for (k = 0; k < 784; k++)
			fprintf(csv, "%s%d", k ? "," : "", px[k]);
		fputc('\n', csv);
	}
	gzclose(gi);
	gzclose(gl);
	return fclose(csv) != 0;
}

/* mkfixture --bury: N runs of an evaluate and a push that judged and
 * pushed nothing (their outputs carry no blessed or pushed property). */
static int bury(const char *db, const char *pipeline, int n)
{
	static const char *const bless_out[] = {"blessing:ModelBlessing"};
	static const char *const push_out[] = {"pushed_model:PushedModel"};
	int64_t run;
	int i;

	die_if(mp_store_open(&st, db, 0, &err));
	for (i = 0; i < n; i++) {
		die_if(mp_store_begin_run(st, pipeline, root, NULL, 0, &run, &err));
		exec(run, "evaluate", "Evaluator", NULL, 0, NULL, 0, bless_out, 1, NULL, 0, MP_EXEC_COMPLETE, NULL, NULL);
		exec(run, "push", "Pusher", NULL, 0, NULL, 0, push_out, 1, NULL, 0, MP_EXEC_COMPLETE, NULL, NULL);
		die_if(mp_store_end_run(st, run, MP_EXEC_COMPLETE, &err));
	}
	mp_store_close(st);
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const ingest_out[] = {"examples:Examples"};
	static const char *const train_out[] = {"model:Model"};
	static const char *const eval_out[] = {"evaluation:ModelEvaluation", "blessing:ModelBlessing"};
	static const char *const push_out[] = {"pushed_model:PushedModel"};
	mp_prop seed42 = MP_PROP_I("seed", 42), seed7 = MP_PROP_I("seed", 7);
	mp_prop train1[] = {MP_PROP_I("epochs", 2), MP_PROP_D("lr", 0.01), MP_PROP_S("optimizer", "adam")};
	mp_prop train2[] = {MP_PROP_I("epochs", 4), MP_PROP_D("lr", 0.01), MP_PROP_S("optimizer", "sgd")};
	mp_metric m1[] = {{"accuracy", 1, 0.71}, {"accuracy", 2, 0.8}, {"loss", 1, 0.9}, {"loss", 2, 0.6}};
	mp_metric m2[] = {{"accuracy", 1, 0.75}, {"accuracy", 2, 0.84}, {"accuracy", 3, 0.87},
			  {"accuracy", 4, 0.88}, {"loss", 4, 0.41}};
	mp_metric e1[] = {{"accuracy", 0, 0.79}}, e2[] = {{"accuracy", 0, 0.86}};
	int64_t run, ex, ing, train_id, examples, model[1], eval[2], ignored[2];
	int argi = 1;

	if (argc == 6 && strcmp(argv[1], "--images") == 0)
		return images(argv[2], argv[3], atoi(argv[4]), strtoull(argv[5], NULL, 10));
	if (argc == 6 && strcmp(argv[1], "--bury") == 0) {
		root = argv[4];
		return bury(argv[2], argv[3], atoi(argv[5]));
	}
	if (argc > 1 && strcmp(argv[1], "--files") == 0) {
		make_files = 1;
		argi++;
	}
	if (argc - argi != 2) {
		fprintf(stderr, "usage: mkfixture [--files] DB ROOT\n");
		return 2;
	}
	root = argv[argi + 1];
	die_if(mp_store_open(&st, argv[argi], MP_STORE_CREATE, &err));
	mp_store_set_clock(st, fake_clock, NULL);

	/* run 1 of demo: everything runs and the model is pushed */
	die_if(mp_store_begin_run(st, "demo", root, &seed42, 1, &run, &err));
	ing = exec(run, "ingest", "ExampleGen", NULL, 0, NULL, 0, ingest_out, 1, NULL, 0,
		   MP_EXEC_COMPLETE, NULL, &examples);
	{
		mp_input in[] = {{"examples", examples}};
		mp_input ein[] = {{"examples", examples}, {"model", 0}};
		mp_input pin[] = {{"model", 0}, {"blessing", 0}};

		train_id = exec(run, "train", "Trainer", train1, 3, in, 1, train_out, 1, m1, 4,
				MP_EXEC_COMPLETE, NULL, model);
		ein[1].artifact_id = model[0];
		exec(run, "eval", "Evaluator", NULL, 0, ein, 2, eval_out, 2, e1, 1, MP_EXEC_COMPLETE, NULL, eval);
		pin[0].artifact_id = model[0];
		pin[1].artifact_id = eval[1];
		exec(run, "push", "Pusher", NULL, 0, pin, 2, push_out, 1, NULL, 0, MP_EXEC_COMPLETE, NULL, ignored);
	}
	die_if(mp_store_end_run(st, run, MP_EXEC_COMPLETE, &err));

	/* run 2 of demo: ingest reused from the cache, a better model, the push fails */
	die_if(mp_store_begin_run(st, "demo", root, &seed7, 1, &run, &err));
	{
		mp_exec_spec spec = {run, "ingest", "ExampleGen", "ExampleGen-ingest-0", NULL, 0, NULL, 0};
		mp_input in[] = {{"examples", examples}};
		mp_input ein[] = {{"examples", examples}, {"model", 0}};
		mp_input pin[] = {{"model", 0}, {"blessing", 0}};

		die_if(mp_store_record_cached(st, &spec, ing, &ex, &err));
		exec(run, "train", "Trainer", train2, 3, in, 1, train_out, 1, m2, 5, MP_EXEC_COMPLETE, NULL, model);
		ein[1].artifact_id = model[0];
		exec(run, "eval", "Evaluator", NULL, 0, ein, 2, eval_out, 2, e2, 1, MP_EXEC_COMPLETE, NULL, eval);
		pin[0].artifact_id = model[0];
		pin[1].artifact_id = eval[1];
		exec(run, "push", "Pusher", NULL, 0, pin, 2, push_out, 1, NULL, 0, MP_EXEC_FAILED,
		     "killed by signal 9 (SIGKILL)", NULL);
	}
	die_if(mp_store_end_run(st, run, MP_EXEC_FAILED, &err));

	/* run 3 of demo: nothing changed, so the first two steps come from the cache */
	die_if(mp_store_begin_run(st, "demo", root, &seed7, 1, &run, &err));
	{
		mp_exec_spec s1 = {run, "ingest", "ExampleGen", "ExampleGen-ingest-0", NULL, 0, NULL, 0};
		mp_exec_spec s2 = {run, "train", "Trainer", "Trainer-train-4", train2, 3, NULL, 0};
		mp_input in[] = {{"examples", examples}};

		s2.inputs = in;
		s2.ninputs = 1;
		die_if(mp_store_record_cached(st, &s1, ing, &ex, &err));
		(void)train_id;
		die_if(mp_store_find_cached(st, "Trainer-train-4", &ex, &err));
		die_if(mp_store_record_cached(st, &s2, ex, &ex, &err));
	}
	die_if(mp_store_end_run(st, run, MP_EXEC_CANCELED, &err));

	/* a second pipeline, still running */
	die_if(mp_store_begin_run(st, "tiny", root, NULL, 0, &run, &err));
	exec(run, "ingest", "ExampleGen", NULL, 0, NULL, 0, ingest_out, 1, NULL, 0, MP_EXEC_COMPLETE, NULL,
	     &examples);
	{
		mp_exec_spec spec = {run, "train", "Trainer", NULL, NULL, 0, NULL, 0};
		mp_input in[] = {{"examples", examples}};

		spec.inputs = in;
		spec.ninputs = 1;
		die_if(mp_store_begin_execution(st, &spec, &ex, &err));
		die_if(mp_store_record_metric(st, ex, "loss", 1, 1.25, &err));
	}
	mp_store_close(st);
	return 0;
}
