/* metadata: every recording call and query, lineage, two writers at once
 * (the schema and refused files: check_store_schema.c). */
#include <math.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include "tests/store_fixture.h"

/* ---- recording and queries -------------------------------------------- */

START_TEST(types_are_registered_once)
{
	mp_store *st = open_new();
	int64_t a, b, c;
	mp_err err;

	ck_assert_int_eq(mp_store_register_type(st, MP_TYPE_ARTIFACT, "Model", "1", &a, &err), 0);
	ck_assert_int_eq(mp_store_register_type(st, MP_TYPE_ARTIFACT, "Model", "1", &b, &err), 0);
	ck_assert_int_eq(mp_store_register_type(st, MP_TYPE_EXECUTION, "Model", NULL, &c, &err), 0);
	ck_assert_int_eq(a, b);
	ck_assert_int_ne(a, c);
	ck_assert_int_eq(mp_store_register_type(st, MP_TYPE_ARTIFACT, "", NULL, &c, &err), MP_EINVAL);
	mp_store_close(st);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM type WHERE name = 'Model'"), 2);
}
END_TEST

START_TEST(run_execution_artifacts_metrics)
{
	mp_store *st = open_new();
	mp_prop params[] = {MP_PROP_I("seed", 42), MP_PROP_D("lr", 0.5), MP_PROP_S("opt", "adam")};
	mp_prop aprops[] = {MP_PROP_I("span", 3), MP_PROP_S("split", "train")};
	mp_output out[] = {{"examples", "Examples", "/r/demo/ingest/examples/1", "abc123", aprops, 2, 0}};
	mp_metric metrics[] = {{"rows", 0, 1000}, {"loss", 1, 0.5}, {"loss", 2, NAN}};
	mp_exec_spec spec = {0, "ingest", "ExampleGen", "k1", params, 3, NULL, 0};
	mp_exec_result res = {MP_EXEC_COMPLETE, NULL, out, 1, metrics, 3};
	mp_execution_list el;
	mp_artifact a;
	mp_run r;
	int64_t run, eid;
	mp_err err;

	ck_assert_int_eq(mp_store_begin_run(st, "demo", "/r", params, 1, &run, &err), 0);
	spec.run_id = run;
	ck_assert_int_eq(mp_store_begin_execution(st, &spec, &eid, &err), 0);
	ck_assert_int_eq(mp_store_get_run(st, run, NULL, &r, &err), 0);
	ck_assert_str_eq(r.state, "RUNNING");
	ck_assert_str_eq(r.name, "demo#1");
	ck_assert_int_eq(r.end_ms, 0);
	mp_run_release(&r);
	ck_assert_int_eq(mp_store_finish_execution(st, eid, &res, &err), 0);
	ck_assert_int_gt(out[0].id, 0);
	ck_assert_int_eq(mp_store_record_metric(st, eid, "auc", 0, 0.9, &err), 0);
	ck_assert_int_eq(mp_store_end_run(st, run, MP_EXEC_COMPLETE, &err), 0);

	ck_assert_int_eq(mp_store_get_run(st, 0, "demo", &r, &err), 0);
	ck_assert_int_eq(r.id, run);
	ck_assert_str_eq(r.pipeline, "demo");
	ck_assert_str_eq(r.state, "COMPLETE");
	ck_assert_int_eq(r.executed, 1);
	ck_assert_int_eq(r.cached, 0);
	ck_assert_int_gt(r.end_ms, r.start_ms);
	ck_assert_uint_eq(r.nparams, 1);
	ck_assert_str_eq(r.params[0].name, "seed");
	ck_assert_int_eq(r.params[0].i, 42);
	mp_run_release(&r);

	ck_assert_int_eq(mp_store_run_executions(st, run, &el, &err), 0);
	ck_assert_uint_eq(el.n, 1);
	ck_assert_str_eq(el.items[0].component_id, "ingest");
	ck_assert_str_eq(el.items[0].type, "ExampleGen");
	ck_assert_str_eq(el.items[0].state, "COMPLETE");
	ck_assert_str_eq(el.items[0].cache_key, "k1");
	ck_assert_int_eq(el.items[0].run_id, run);
	ck_assert_uint_eq(el.items[0].nparams, 3);
	ck_assert_str_eq(mp_prop_find(el.items[0].params, 3, "opt")->s, "adam");
	ck_assert_double_eq(mp_prop_find(el.items[0].params, 3, "lr")->d, 0.5);
	ck_assert_ptr_null(mp_prop_find(el.items[0].params, 3, "nope"));
	ck_assert_uint_eq(el.items[0].nevents, 1);
	ck_assert(el.items[0].events[0].is_output);
	ck_assert_str_eq(el.items[0].events[0].name, "examples");
	/* metrics by name then step: auc, loss 1, loss 2 (NaN), rows */
	ck_assert_uint_eq(el.items[0].nmetrics, 4);
	ck_assert_str_eq(el.items[0].metrics[0].name, "auc");
	ck_assert(isnan(el.items[0].metrics[2].value));
	ck_assert_double_eq(el.items[0].metrics[3].value, 1000);
	mp_execution_list_release(&el);

	ck_assert_int_eq(mp_store_get_artifact(st, out[0].id, &a, &err), 0);
	ck_assert_str_eq(a.type, "Examples");
	ck_assert_str_eq(a.name, "examples");
	ck_assert_str_eq(a.uri, "/r/demo/ingest/examples/1");
	ck_assert_str_eq(a.state, "LIVE");
	ck_assert_str_eq(a.fingerprint, "abc123");
	ck_assert_str_eq(a.producer, "ingest");
	ck_assert_int_eq(a.producer_id, eid);
	ck_assert_str_eq(a.pipeline, "demo");
	ck_assert_str_eq(a.root, "/r");
	ck_assert_uint_eq(a.nprops, 2);
	ck_assert_int_eq(mp_prop_find(a.props, a.nprops, "span")->i, 3);
	mp_artifact_release(&a);
	mp_store_close(st);
}
END_TEST

START_TEST(recording_errors_are_clear)
{
	mp_store *st = open_new();
	mp_input bad_in[] = {{"examples", 999}};
	mp_exec_spec spec = {0, "train", "Trainer", NULL, NULL, 0, bad_in, 1};
	mp_output out[] = {{"model", "Model", "/r/m", NULL, NULL, 0, 0}};
	mp_exec_result failed = {MP_EXEC_FAILED, "exit status 3", out, 1, NULL, 0};
	mp_exec_result done = {MP_EXEC_COMPLETE, NULL, NULL, 0, NULL, 0};
	mp_exec_result running = {MP_EXEC_RUNNING, NULL, NULL, 0, NULL, 0};
	int64_t run, eid;
	mp_err err;

	spec.run_id = 12345;
	ck_assert_int_eq(mp_store_begin_execution(st, &spec, &eid, &err), MP_ENOTFOUND);
	ck_assert_str_eq(err.msg + strlen(err.msg) - strlen("metadata.db'"), "metadata.db'");
	ck_assert(strstr(err.msg, "no run 12345 in '") != NULL);
	ck_assert_int_eq(mp_store_begin_run(st, "", "/r", NULL, 0, &run, &err), MP_EINVAL);
	ck_assert_int_eq(mp_store_begin_run(st, "demo", "/r", NULL, 0, &run, &err), 0);
	spec.run_id = run;
	ck_assert_int_eq(mp_store_begin_execution(st, &spec, &eid, &err), MP_ENOTFOUND);
	ck_assert_str_eq(err.msg, "input 'examples' of 'train': no artifact 999");
	/* nothing of the refused execution was kept */
	spec.ninputs = 0;
	ck_assert_int_eq(mp_store_begin_execution(st, &spec, &eid, &err), 0);
	ck_assert_int_eq(mp_store_finish_execution(st, eid, &failed, &err), MP_EINVAL);
	ck_assert_str_eq(err.msg, "a FAILED execution has no outputs");
	ck_assert_int_eq(mp_store_finish_execution(st, eid, &running, &err), MP_EINVAL);
	failed.noutputs = 0;
	ck_assert_int_eq(mp_store_finish_execution(st, eid, &failed, &err), 0);
	ck_assert_int_eq(mp_store_finish_execution(st, eid, &done, &err), MP_EINVAL);
	ck_assert_msg(strstr(err.msg, "is not running (FAILED)") != NULL, "%s", err.msg);
	ck_assert_int_eq(mp_store_finish_execution(st, 777, &done, &err), MP_ENOTFOUND);
	ck_assert_int_eq(mp_store_record_metric(st, 777, "x", 0, 1, &err), MP_ENOTFOUND);
	ck_assert_int_eq(mp_store_record_cached(st, &spec, eid, &eid, &err), MP_EINVAL);
	ck_assert(strstr(err.msg, "did not complete") != NULL);
	ck_assert_int_eq(mp_store_end_run(st, run, MP_EXEC_RUNNING, &err), MP_EINVAL);
	ck_assert_int_eq(mp_store_end_run(st, 999, MP_EXEC_FAILED, &err), MP_ENOTFOUND);
	ck_assert_int_eq(mp_store_end_run(st, run, MP_EXEC_FAILED, &err), 0);
	ck_assert_int_eq(mp_store_begin_execution(st, &spec, &eid, &err), MP_EINVAL);
	ck_assert_str_eq(err.msg, "run 2 has ended (FAILED)");
	ck_assert_int_eq(mp_store_set_artifact_state(st, 1, "GONE", &err), MP_EINVAL);
	ck_assert_int_eq(mp_store_set_artifact_state(st, 999, "DELETED", &err), MP_ENOTFOUND);
	mp_store_close(st);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM execution"), 1);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM event"), 0);
}
END_TEST

START_TEST(a_failed_recording_leaves_nothing)
{
	mp_store *st = open_new();
	mp_prop bad[] = {{NULL, MP_PROP_INT, 1, 0, NULL}};
	mp_output out[] = {{"a", "Examples", "/r/a", NULL, NULL, 0, 0},
			   {"b", "Examples", "/r/b", NULL, bad, 1, 0}};
	mp_exec_spec spec = {0, "ingest", "ExampleGen", NULL, NULL, 0, NULL, 0};
	mp_exec_result res = {MP_EXEC_COMPLETE, NULL, out, 2, NULL, 0};
	mp_execution e;
	int64_t run, eid;
	mp_err err;

	ck_assert_int_eq(mp_store_begin_run(st, "demo", "/r", NULL, 0, &run, &err), 0);
	spec.run_id = run;
	ck_assert_int_eq(mp_store_begin_execution(st, &spec, &eid, &err), 0);
	ck_assert_int_eq(mp_store_finish_execution(st, eid, &res, &err), MP_EINVAL);
	ck_assert_str_eq(err.msg, "a property needs a name");
	ck_assert_int_eq(mp_store_get_execution(st, eid, &e, &err), 0);
	ck_assert_str_eq(e.state, "RUNNING");
	ck_assert_uint_eq(e.nevents, 0);
	mp_execution_release(&e);
	mp_store_close(st);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM artifact"), 0);
}
END_TEST

START_TEST(cache_reuse_and_history)
{
	mp_store *st = open_new();
	mp_output o1[] = {{"model", "Model", "/r/m1", NULL, NULL, 0, 0}};
	mp_metric m1[] = {{"acc", 1, 0.5}, {"acc", 2, 0.7}};
	mp_exec_spec spec = {0, "train", "Trainer", "key-A", NULL, 0, NULL, 0};
	mp_exec_result res = {MP_EXEC_COMPLETE, NULL, o1, 1, m1, 2};
	mp_metric_filter last = {"acc", "demo", NULL, 0, 0}, all = {"acc", NULL, "train", 1, 0};
	mp_metric_history h;
	mp_execution_list el;
	int64_t r1, r2, e1, e2, hit;
	mp_err err;

	ck_assert_int_eq(mp_store_find_cached(st, "key-A", &hit, &err), MP_ENOTFOUND);
	ck_assert_int_eq(mp_store_begin_run(st, "demo", "/r", NULL, 0, &r1, &err), 0);
	spec.run_id = r1;
	ck_assert_int_eq(mp_store_begin_execution(st, &spec, &e1, &err), 0);
	/* a running execution is not a cache hit */
	ck_assert_int_eq(mp_store_find_cached(st, "key-A", &hit, &err), MP_ENOTFOUND);
	ck_assert_int_eq(mp_store_finish_execution(st, e1, &res, &err), 0);
	ck_assert_int_eq(mp_store_end_run(st, r1, MP_EXEC_COMPLETE, &err), 0);

	ck_assert_int_eq(mp_store_find_cached(st, "key-A", &hit, &err), 0);
	ck_assert_int_eq(hit, e1);
	ck_assert_int_eq(mp_store_begin_run(st, "demo", "/r", NULL, 0, &r2, &err), 0);
	spec.run_id = r2;
	ck_assert_int_eq(mp_store_record_cached(st, &spec, hit, &e2, &err), 0);
	ck_assert_int_eq(mp_store_end_run(st, r2, MP_EXEC_COMPLETE, &err), 0);

	ck_assert_int_eq(mp_store_run_executions(st, r2, &el, &err), 0);
	ck_assert_uint_eq(el.n, 1);
	ck_assert_str_eq(el.items[0].state, "CACHED");
	ck_assert_int_eq(el.items[0].cached_from, e1);
	ck_assert_uint_eq(el.items[0].nevents, 1);
	ck_assert_int_eq(el.items[0].events[0].artifact_id, o1[0].id);
	ck_assert_uint_eq(el.items[0].nmetrics, 2); /* those of e1 */
	mp_execution_list_release(&el);

	ck_assert_int_eq(mp_store_metric_history(st, &last, &h, &err), 0);
	ck_assert_uint_eq(h.n, 2); /* one point per run, the last step */
	ck_assert_int_eq(h.items[0].run_id, r1);
	ck_assert_int_eq(h.items[1].run_id, r2);
	ck_assert_int_eq(h.items[1].execution_id, e1);
	ck_assert_int_eq(h.items[1].step, 2);
	ck_assert_double_eq(h.items[1].value, 0.7);
	mp_metric_history_release(&h);
	ck_assert_int_eq(mp_store_metric_history(st, &all, &h, &err), 0);
	ck_assert_uint_eq(h.n, 4);
	mp_metric_history_release(&h);
	/* limited: the newest points, still oldest first */
	all.limit = 3;
	ck_assert_int_eq(mp_store_metric_history(st, &all, &h, &err), 0);
	ck_assert_uint_eq(h.n, 3);
	ck_assert_int_eq(h.items[0].run_id, r1);
	ck_assert_int_eq(h.items[0].step, 2);
	ck_assert_int_eq(h.items[1].run_id, r2);
	ck_assert_int_eq(h.items[1].step, 1);
	ck_assert_int_eq(h.items[2].step, 2);
	mp_metric_history_release(&h);
	/* a name nobody recorded: nothing, found without walking the store */
	last.name = "nosuch";
	ck_assert_int_eq(mp_store_metric_history(st, &last, &h, &err), 0);
	ck_assert_uint_eq(h.n, 0);
	mp_metric_history_release(&h);

	/* once its output is gone the execution is no longer a hit */
	ck_assert_int_eq(mp_store_set_artifact_state(st, o1[0].id, "DELETED", &err), 0);
	ck_assert_int_eq(mp_store_find_cached(st, "key-A", &hit, &err), MP_ENOTFOUND);
	mp_store_close(st);
}
END_TEST

START_TEST(artifact_queries_and_latest)
{
	mp_store *st = open_new();
	mp_prop yes = MP_PROP_I("blessed", 1), no = MP_PROP_I("blessed", 0);
	mp_output b1[] = {{"blessing", "ModelBlessing", "/r/b1", NULL, &yes, 1, 0}};
	mp_output b2[] = {{"blessing", "ModelBlessing", "/r/b2", NULL, &no, 1, 0}};
	mp_output b3[] = {{"blessing", "ModelBlessing", "/other/b3", NULL, &yes, 1, 0}};
	mp_artifact_filter by_type = {"ModelBlessing", NULL, 0, 0, 0, 0}, of_run = {NULL, NULL, 0, 0, 0, 0};
	mp_artifact_filter of_demo = {NULL, "demo", 0, 0, 0, 0}, with_deleted = {NULL, NULL, 0, 1, 0, 0};
	mp_artifact_list l;
	mp_artifact a;
	int64_t r1, r2, r3;
	mp_err err;

	ck_assert_int_eq(mp_store_begin_run(st, "demo", "/r", NULL, 0, &r1, &err), 0);
	run_exec(st, r1, "eval", "Evaluator", NULL, 0, b1, 1, NULL, 0);
	ck_assert_int_eq(mp_store_begin_run(st, "demo", "/r", NULL, 0, &r2, &err), 0);
	run_exec(st, r2, "eval", "Evaluator", NULL, 0, b2, 1, NULL, 0);
	ck_assert_int_eq(mp_store_begin_run(st, "other", "/other", NULL, 0, &r3, &err), 0);
	run_exec(st, r3, "eval", "Evaluator", NULL, 0, b3, 1, NULL, 0);

	ck_assert_int_eq(mp_store_latest_artifact(st, "demo", "ModelBlessing", &yes, &a, &err), 0);
	ck_assert_int_eq(a.id, b1[0].id);
	mp_artifact_release(&a);
	ck_assert_int_eq(mp_store_latest_artifact(st, "demo", "ModelBlessing", NULL, &a, &err), 0);
	ck_assert_int_eq(a.id, b2[0].id);
	mp_artifact_release(&a);
	ck_assert_int_eq(mp_store_latest_artifact(st, "demo", "Model", NULL, &a, &err), MP_ENOTFOUND);
	ck_assert_str_eq(err.msg, "no Model artifact of pipeline 'demo'");

	ck_assert_int_eq(mp_store_list_artifacts(st, &by_type, &l, &err), 0);
	ck_assert_uint_eq(l.n, 3);
	mp_artifact_list_release(&l);
	/* pages, newest first, each listed oldest first */
	by_type.limit = 2;
	ck_assert_int_eq(mp_store_list_artifacts(st, &by_type, &l, &err), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_int_eq(l.items[0].id, b2[0].id);
	ck_assert_int_eq(l.items[1].id, b3[0].id);
	by_type.before_id = l.items[0].id;
	mp_artifact_list_release(&l);
	ck_assert_int_eq(mp_store_list_artifacts(st, &by_type, &l, &err), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_int_eq(l.items[0].id, b1[0].id);
	mp_artifact_list_release(&l);
	by_type.limit = by_type.before_id = 0;
	of_run.run_id = r2;
	ck_assert_int_eq(mp_store_list_artifacts(st, &of_run, &l, &err), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_int_eq(l.items[0].id, b2[0].id);
	mp_artifact_list_release(&l);
	ck_assert_int_eq(mp_store_list_artifacts(st, &of_demo, &l, &err), 0);
	ck_assert_uint_eq(l.n, 2);
	mp_artifact_list_release(&l);

	ck_assert_int_eq(mp_store_set_artifact_state(st, b1[0].id, "DELETED", &err), 0);
	ck_assert_int_eq(mp_store_latest_artifact(st, "demo", "ModelBlessing", &yes, &a, &err), MP_ENOTFOUND);
	ck_assert_int_eq(mp_store_list_artifacts(st, &by_type, &l, &err), 0);
	ck_assert_uint_eq(l.n, 2);
	mp_artifact_list_release(&l);
	ck_assert_int_eq(mp_store_list_artifacts(st, &with_deleted, &l, &err), 0);
	ck_assert_uint_eq(l.n, 3);
	mp_artifact_list_release(&l);
	ck_assert_int_eq(mp_store_get_artifact(st, 999, &a, &err), MP_ENOTFOUND);
	mp_store_close(st);
}
END_TEST

START_TEST(runs_are_listed_newest_first)
{
	mp_store *st = open_new();
	mp_run_list l;
	mp_run r;
	int64_t ids[5], i, found;
	mp_err err;

	for (i = 0; i < 5; i++)
		ck_assert_int_eq(mp_store_begin_run(st, i % 2 ? "b" : "a", "/r", NULL, 0, &ids[i], &err), 0);
	ck_assert_int_eq(mp_store_list_runs(st, NULL, 0, &l, &err), 0);
	ck_assert_uint_eq(l.n, 5);
	ck_assert_int_eq(l.items[0].id, ids[4]);
	ck_assert_str_eq(l.items[0].name, "a#3");
	mp_run_list_release(&l);
	ck_assert_int_eq(mp_store_list_runs(st, "b", 1, &l, &err), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_int_eq(l.items[0].id, ids[3]);
	mp_run_list_release(&l);
	ck_assert_int_eq(mp_store_find_run(st, "b#1", &found, &err), 0);
	ck_assert_int_eq(found, ids[1]);
	ck_assert_int_eq(mp_store_find_run(st, "b#9", &found, &err), MP_ENOTFOUND);
	ck_assert_int_eq(mp_store_get_run(st, 0, "zzz", &r, &err), MP_ENOTFOUND);
	ck_assert(strstr(err.msg, "no runs of pipeline zzz") != NULL);
	ck_assert_int_eq(mp_store_get_run(st, 9999, NULL, &r, &err), MP_ENOTFOUND);
	mp_store_close(st);
}
END_TEST

/* The hand-built graph:
 *   ingest -> ex -> train -> model -> eval -> blessing -> push -> pushed
 *                                   \-----------------------^
 *   ex -> stats -> statistics                                          */
START_TEST(lineage_up_and_down)
{
	mp_store *st = open_new();
	mp_output ex[] = {{"examples", "Examples", "/r/ex", NULL, NULL, 0, 0}};
	mp_output stats[] = {{"statistics", "Statistics", "/r/st", NULL, NULL, 0, 0}};
	mp_output model[] = {{"model", "Model", "/r/m", NULL, NULL, 0, 0}};
	mp_output bless[] = {{"blessing", "ModelBlessing", "/r/b", NULL, NULL, 0, 0}};
	mp_output pushed[] = {{"pushed_model", "PushedModel", "/r/p", NULL, NULL, 0, 0}};
	mp_lineage l;
	int64_t run, e_ingest, e_train, e_push;
	mp_err err;

	ck_assert_int_eq(mp_store_begin_run(st, "demo", "/r", NULL, 0, &run, &err), 0);
	e_ingest = run_exec(st, run, "ingest", "ExampleGen", NULL, 0, ex, 1, NULL, 0);
	{
		mp_input in[] = {{"examples", ex[0].id}};

		run_exec(st, run, "stats", "StatisticsGen", in, 1, stats, 1, NULL, 0);
		e_train = run_exec(st, run, "train", "Trainer", in, 1, model, 1, NULL, 0);
	}
	{
		mp_input in[] = {{"model", model[0].id}};

		run_exec(st, run, "eval", "Evaluator", in, 1, bless, 1, NULL, 0);
	}
	{
		mp_input in[] = {{"model", model[0].id}, {"blessing", bless[0].id}};

		e_push = run_exec(st, run, "push", "Pusher", in, 2, pushed, 1, NULL, 0);
	}

	/* up from the pushed model: push <- model <- train <- ex <- ingest,
	 * and push <- blessing <- eval <- model (already shown) */
	ck_assert_int_eq(mp_store_lineage(st, pushed[0].id, MP_LINEAGE_UP, 0, 0, &l, &err), 0);
	ck_assert_uint_eq(l.n, 9);
	ck_assert_int_eq(l.items[0].id, pushed[0].id);
	ck_assert_int_eq(l.items[0].depth, 0);
	ck_assert(l.items[1].is_execution);
	ck_assert_int_eq(l.items[1].id, e_push);
	ck_assert_str_eq(l.items[1].via, "pushed_model");
	ck_assert_int_eq(l.items[2].id, model[0].id);
	ck_assert_str_eq(l.items[2].via, "model");
	ck_assert_int_eq(l.items[2].depth, 2);
	ck_assert_int_eq(l.items[3].id, e_train);
	ck_assert_int_eq(l.items[4].id, ex[0].id);
	ck_assert_int_eq(l.items[5].id, e_ingest);
	ck_assert_int_eq(l.items[5].depth, 5);
	ck_assert_int_eq(l.items[6].id, bless[0].id);
	ck_assert_int_eq(l.items[6].depth, 2);
	ck_assert_str_eq(l.items[7].label, "eval");
	ck_assert_int_eq(l.items[8].id, model[0].id);
	ck_assert(l.items[8].repeated);
	mp_lineage_release(&l);

	/* down from the examples: stats and train, and all that followed */
	ck_assert_int_eq(mp_store_lineage(st, ex[0].id, MP_LINEAGE_DOWN, 0, 0, &l, &err), 0);
	ck_assert_str_eq(l.items[1].label, "stats");
	ck_assert_str_eq(l.items[2].label, "Statistics");
	ck_assert_str_eq(l.items[3].label, "train");
	ck_assert_uint_eq(l.n, 10);
	mp_lineage_release(&l);

	/* a depth limit cuts the tree */
	ck_assert_int_eq(mp_store_lineage(st, ex[0].id, MP_LINEAGE_DOWN, 1, 0, &l, &err), 0);
	ck_assert_uint_eq(l.n, 3);
	mp_lineage_release(&l);
	/* a node limit stops the walk and says there was more */
	ck_assert_int_eq(mp_store_lineage(st, pushed[0].id, MP_LINEAGE_UP, 0, 4, &l, &err), 0);
	ck_assert_uint_eq(l.n, 5);
	ck_assert(l.truncated);
	ck_assert_int_eq(l.items[4].id, ex[0].id);
	mp_lineage_release(&l);
	ck_assert_int_eq(mp_store_lineage(st, pushed[0].id, MP_LINEAGE_UP, 0, 8, &l, &err), 0);
	ck_assert_uint_eq(l.n, 9);
	ck_assert(!l.truncated);
	mp_lineage_release(&l);
	ck_assert_int_eq(mp_store_lineage(st, 999, MP_LINEAGE_UP, 0, 0, &l, &err), MP_ENOTFOUND);
	mp_store_close(st);
}
END_TEST

/* Retraining on the last run's output, run after run, makes a chain as deep
 * as the store is long; a walk 120,000 levels deep must not run out of stack.
 * The chain is written with SQL directly: recording it would take minutes. */
START_TEST(lineage_of_a_very_long_chain)
{
	enum { N = 60000 };
	mp_store *st = open_new();
	mp_output ex[] = {{"examples", "Examples", "/r/ex", NULL, NULL, 0, 0}};
	mp_lineage l;
	int64_t run;
	char sql[2048];
	mp_err err;

	ck_assert_int_eq(mp_store_begin_run(st, "demo", "/r", NULL, 0, &run, &err), 0);
	run_exec(st, run, "ingest", "ExampleGen", NULL, 0, ex, 1, NULL, 0);
	mp_store_close(st);
	/* step i reads artifact 1000 + i - 1 (the ingest's for i = 1), writes 1000 + i */
	snprintf(sql, sizeof(sql),
		 "BEGIN;"
		 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)"
		 " INSERT INTO execution (id, type_id, component_id, state, create_time_ms, update_time_ms)"
		 " SELECT 1000 + i, (SELECT type_id FROM execution LIMIT 1), 'step', 'COMPLETE', 0, 0 FROM n;"
		 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)"
		 " INSERT INTO artifact (id, type_id, uri, state, create_time_ms, update_time_ms)"
		 " SELECT 1000 + i, (SELECT type_id FROM artifact LIMIT 1), '/r/' || i, 'LIVE', 0, 0 FROM n;"
		 "INSERT INTO event (artifact_id, execution_id, type, name, time_ms)"
		 " SELECT CASE WHEN id = 1001 THEN %lld ELSE id - 1 END, id, 'INPUT', 'in', 0 FROM execution WHERE id > 1000;"
		 "INSERT INTO event (artifact_id, execution_id, type, name, time_ms)"
		 " SELECT id, id, 'OUTPUT', 'out', 0 FROM execution WHERE id > 1000;"
		 "COMMIT;",
		 N, N, (long long)ex[0].id);
	raw_sql(db, sql);
	ck_assert_int_eq(mp_store_open(&st, db, 0, &err), 0);
	ck_assert_msg(mp_store_lineage(st, 1000 + N, MP_LINEAGE_UP, 0, 0, &l, &err) == 0, "%s", err.msg);
	/* the artifact, N steps and their inputs, then the ingest */
	ck_assert_uint_eq(l.n, 2 * N + 2);
	ck_assert_int_eq(l.items[2 * N].id, ex[0].id);
	ck_assert_int_eq(l.items[2 * N + 1].depth, 2 * N + 1);
	ck_assert_str_eq(l.items[2 * N + 1].label, "ingest");
	mp_lineage_release(&l);
	ck_assert_int_eq(mp_store_lineage(st, ex[0].id, MP_LINEAGE_DOWN, 0, 10, &l, &err), 0);
	ck_assert_uint_eq(l.n, 11);
	ck_assert(l.truncated);
	mp_lineage_release(&l);
	mp_store_close(st);
}
END_TEST

START_TEST(gc_spares_pushed_and_in_use)
{
	mp_store *st = open_new();
	mp_output ex[] = {{"examples", "Examples", "/r/ex", NULL, NULL, 0, 0}};
	mp_output model[] = {{"model", "Model", "/r/m", NULL, NULL, 0, 0}};
	mp_output pushed[] = {{"pushed_model", "PushedModel", "/r/p", NULL, NULL, 0, 0}};
	mp_output stale[] = {{"model", "Model", "/r/old", NULL, NULL, 0, 0}};
	mp_artifact_list l;
	int64_t run, eid;
	mp_err err;

	ck_assert_int_eq(mp_store_begin_run(st, "demo", "/r", NULL, 0, &run, &err), 0);
	run_exec(st, run, "ingest", "ExampleGen", NULL, 0, ex, 1, NULL, 0);
	run_exec(st, run, "old", "Trainer", NULL, 0, stale, 1, NULL, 0);
	run_exec(st, run, "train", "Trainer", NULL, 0, model, 1, NULL, 0);
	{
		mp_input in[] = {{"model", model[0].id}};

		run_exec(st, run, "push", "Pusher", in, 1, pushed, 1, NULL, 0);
	}
	{
		mp_input in[] = {{"examples", ex[0].id}};
		mp_exec_spec spec = {run, "stats", "StatisticsGen", NULL, NULL, 0, in, 1};

		ck_assert_int_eq(mp_store_begin_execution(st, &spec, &eid, &err), 0);
	}
	ck_assert_int_eq(mp_store_gc_candidates(st, fake_ms + 1, &l, &err), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_int_eq(l.items[0].id, stale[0].id);
	ck_assert_str_eq(l.items[0].root, "/r");
	mp_artifact_list_release(&l);
	/* nothing is old enough before the first artifact was made */
	ck_assert_int_eq(mp_store_gc_candidates(st, 1, &l, &err), 0);
	ck_assert_uint_eq(l.n, 0);
	mp_artifact_list_release(&l);
	mp_store_close(st);
}
END_TEST

START_TEST(queries_survive_allocation_failure)
{
	mp_store *st = open_new();
	mp_output ex[] = {{"examples", "Examples", "/r/ex", NULL, NULL, 0, 0}};
	mp_metric m[] = {{"rows", 0, 5}};
	mp_prop p = MP_PROP_S("k", "v");
	int64_t run;
	long n;
	mp_err err;

	ck_assert_int_eq(mp_store_begin_run(st, "demo", "/r", &p, 1, &run, &err), 0);
	run_exec(st, run, "ingest", "ExampleGen", NULL, 0, ex, 1, m, 1);
	/* every allocation in turn fails: each query fails cleanly or works,
	 * and the sanitizers see no leak */
	for (n = 0; n < 40; n++) {
		mp_run_list rl;
		mp_execution_list el;
		mp_artifact_list al;
		mp_artifact_filter f = {NULL, NULL, 0, 0, 0, 0};
		mp_lineage ll;
		int rc;

		mp_alloc_fail_after(n);
		rc = mp_store_list_runs(st, NULL, 0, &rl, &err);
		mp_alloc_fail_after(-1);
		ck_assert(rc == 0 || rc == MP_ENOMEM);
		if (!rc)
			mp_run_list_release(&rl);
		mp_alloc_fail_after(n);
		rc = mp_store_run_executions(st, run, &el, &err);
		mp_alloc_fail_after(-1);
		ck_assert(rc == 0 || rc == MP_ENOMEM);
		if (!rc)
			mp_execution_list_release(&el);
		mp_alloc_fail_after(n);
		rc = mp_store_list_artifacts(st, &f, &al, &err);
		mp_alloc_fail_after(-1);
		ck_assert(rc == 0 || rc == MP_ENOMEM);
		if (!rc)
			mp_artifact_list_release(&al);
		mp_alloc_fail_after(n);
		rc = mp_store_lineage(st, ex[0].id, MP_LINEAGE_UP, 0, 0, &ll, &err);
		mp_alloc_fail_after(-1);
		ck_assert(rc == 0 || rc == MP_ENOMEM);
		if (!rc)
			mp_lineage_release(&ll);
	}
	mp_store_close(st);
}
END_TEST

/* ---- concurrency ------------------------------------------------------- */

/* One writer: its own connection, n executions each with an input and an
 * output artifact and a metric, every one checked. */
static int writer(const char *path, const char *pipeline, int n)
{
	mp_store *st;
	int64_t run, prev = 0, eid;
	mp_err err;
	int i;

	if (mp_store_open(&st, path, MP_STORE_CREATE, &err) != 0)
		goto fail;
	if (mp_store_begin_run(st, pipeline, "/r", NULL, 0, &run, &err) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		char uri[64];
		mp_input in[] = {{"in", prev}};
		mp_output out[] = {{"out", "Examples", uri, NULL, NULL, 0, 0}};
		mp_metric m[] = {{"i", i, (double)i}};
		mp_exec_spec spec = {run, "step", "Step", NULL, NULL, 0, in, prev ? 1 : 0};
		mp_exec_result res = {MP_EXEC_COMPLETE, NULL, out, 1, m, 1};

		snprintf(uri, sizeof(uri), "/r/%s/%d", pipeline, i);
		if (mp_store_begin_execution(st, &spec, &eid, &err) != 0 ||
		    mp_store_finish_execution(st, eid, &res, &err) != 0)
			goto fail;
		prev = out[0].id;
	}
	if (mp_store_end_run(st, run, MP_EXEC_COMPLETE, &err) != 0)
		goto fail;
	mp_store_close(st);
	return 0;
fail:
	fprintf(stderr, "writer %s: %s\n", pipeline, err.msg);
	return 1;
}

START_TEST(two_processes_write_at_once)
{
	pid_t a, b;
	int sa, sb;

	/* both create the store too: that must be safe as well */
	if ((a = fork()) == 0)
		_exit(writer(db, "left", 1000));
	if ((b = fork()) == 0)
		_exit(writer(db, "right", 1000));
	ck_assert_int_eq(waitpid(a, &sa, 0), a);
	ck_assert_int_eq(waitpid(b, &sb, 0), b);
	ck_assert(WIFEXITED(sa) && WEXITSTATUS(sa) == 0);
	ck_assert(WIFEXITED(sb) && WEXITSTATUS(sb) == 0);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM execution WHERE state = 'COMPLETE'"), 2000);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM artifact"), 2000);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM metric"), 2000);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM event WHERE type = 'INPUT'"), 1998);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM context WHERE state = 'COMPLETE'"), 2);
	ck_assert_int_eq(raw_count(db, "SELECT integrity_check = 'ok' FROM pragma_integrity_check"), 1);
}
END_TEST

START_TEST(a_held_lock_times_out_clearly)
{
	mp_store *st = open_new();
	sqlite3 *h;
	int64_t run;
	mp_err err;

	ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(h, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
	mp_store_set_busy_timeout(st, 200);
	ck_assert_int_eq(mp_store_begin_run(st, "demo", "/r", NULL, 0, &run, &err), MP_EBUSY);
	ck_assert_msg(strstr(err.msg, "stayed locked by another process for 200 ms") != NULL, "%s", err.msg);
	sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(h);
	ck_assert_int_eq(mp_store_begin_run(st, "demo", "/r", NULL, 0, &run, &err), 0);
	mp_store_close(st);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc;

	tc = tcase_create("record");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, types_are_registered_once);
	tcase_add_test(tc, run_execution_artifacts_metrics);
	tcase_add_test(tc, recording_errors_are_clear);
	tcase_add_test(tc, a_failed_recording_leaves_nothing);
	tcase_add_test(tc, cache_reuse_and_history);
	suite_add_tcase(s, tc);

	tc = tcase_create("query");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60); /* the long chain, under the sanitizers */
	tcase_add_test(tc, artifact_queries_and_latest);
	tcase_add_test(tc, runs_are_listed_newest_first);
	tcase_add_test(tc, lineage_up_and_down);
	tcase_add_test(tc, lineage_of_a_very_long_chain);
	tcase_add_test(tc, gc_spares_pushed_and_in_use);
	tcase_add_test(tc, queries_survive_allocation_failure);
	suite_add_tcase(s, tc);

	tc = tcase_create("concurrency");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, two_processes_write_at_once);
	tcase_add_test(tc, a_held_lock_times_out_clearly);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(store_suite());
}
