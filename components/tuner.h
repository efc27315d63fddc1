/* components/tuner: what the Tuner's files share (internal).
 *
 *   tuner.c         the component: specs, trials as child processes, the
 *                   journal that --resume reads, the outputs
 *   tuner_config.c  its params read into a mp__tune_config, checked at load
 *                   time against the Trainer's
 *   tuner_search.c  the strategies: the grid's combinations, seeded random
 *                   samples, successive halving's rungs and promotions
 */
#ifndef MP_COMPONENTS_TUNER_H
#define MP_COMPONENTS_TUNER_H

#include "components/component.h"
#include "components/hparams.h"

typedef enum { MP_TUNE_RANDOM, MP_TUNE_GRID, MP_TUNE_HALVING } mp_tune_strategy;

#define MP_TUNE_MAX_RUNGS 16

typedef struct mp__tune_config {
	mp_hp_space space;
	mp_tune_strategy strategy;
	int trials;	 /* configurations (the grid's size for a grid) */
	const char *objective; /* a Trainer metric: val_accuracy, val_loss */
	int maximize;
	/* halving: the budget's path (epochs, or a tree model's rounds) and rungs */
	const char *budget_path;
	int budgets[MP_TUNE_MAX_RUNGS];
	int nrungs, reduction;
	int parallel, trial_threads;
	uint64_t seed;
	const char *base; /* the Trainer's params as JSON (the trainer param) */
	int gbdt;	  /* the base makes boosted trees */
	/* which of the Trainer's thread params the base sets itself */
	int base_threads, base_input_threads, base_prefetch;
} mp__tune_config;

/* Reads io's params into c (release it with mp__tune_config_release, also
 * after a failure); checks what the shapes cannot say. */
int mp__tune_config_parse(const mp_component_io *io, mp__tune_config *c, mp_err *err);
void mp__tune_config_release(mp__tune_config *c);
/* The cores shared on purpose: the Trainer params each trial gets (those
 * the base leaves out), into paths and values (which may point into buf);
 * returns how many, at most MP_TUNE_SHARE. */
#define MP_TUNE_SHARE 4
size_t mp__tune_share_cores(const mp__tune_config *c, const char **paths, const char **values, char buf[24]);
/* The load-time check: the config, then the Trainer's own check of the
 * base params and of the first and last value of every domain. */
int mp__tune_check(const mp_component_io *io, mp_err *err);
/* The custom shapes of the trainer and search params. */
extern const mp_shape mp__tune_trainer_shape, mp__tune_search_shape;

/* One trial at one budget. */
typedef struct mp__tune_eval {
	int trial;    /* from 1 */
	int rung;     /* from 0 (random and grid: 0) */
	int budget;   /* halving's epochs or rounds; 0: the base's */
	char **values; /* one JSON text per domain, borrowed from the trial's first evaluation */
	int done, failed, reused, promoted;
	double objective, start, end; /* seconds from the search's start */
	char *error;
} mp__tune_eval;

/* The grid's size (the product of the domains' sizes), 0 when a domain is
 * continuous, UINT64_MAX past 10^9. */
uint64_t mp__tune_grid_size(const mp_hp_space *s);
/* The k-th combination of the grid (the last domain changing fastest):
 * s->n JSON texts into values (free each). */
int mp__tune_grid_values(const mp_hp_space *s, uint64_t k, char **values, mp_err *err);
/* A random sample for trial (from 1), the same for a seed on every
 * machine, and another for each attempt (to avoid repeating a trial). */
int mp__tune_random_values(const mp_hp_space *s, uint64_t seed, int trial, int attempt, char **values,
			   mp_err *err);
/* Successive halving's budgets, as Hyperband's: max_budget divided by
 * reduction^k (rounded down) for as long as that is min_budget or more,
 * smallest first: how many, into budgets. */
int mp__tune_rungs(int min_budget, int max_budget, int reduction, int *budgets);
/* The trials a rung keeps of n: n / reduction, at least 1. */
size_t mp__tune_keep(size_t n, int reduction);
/* The best keep of e[0..n) that finished, best first (ties: the lower
 * trial): their positions into idx; returns how many. */
size_t mp__tune_rank(const mp__tune_eval *e, size_t n, int maximize, size_t keep, size_t *idx);

/* Every trial's values, trials x domains JSON texts into *values (free
 * each and the array): the grid's combinations, or seeded samples. */
int mp__tune_plan(const mp__tune_config *c, char ***values, mp_err *err);

/* Runs the evaluations [from, to) of the search's array, filling in their
 * results (done, failed, objective). */
typedef int (*mp__tune_run_fn)(void *ud, size_t from, size_t to, mp_err *err);
/* The search: every trial (at the first rung's budget with halving), then
 * for halving each rung with the best 1/reduction of the one before.  ev
 * has room for trials x rungs; *nev gets how many were planned. */
int mp__tune_search(const mp__tune_config *c, char **values, mp__tune_eval *ev, size_t *nev, mp__tune_run_fn run,
		    void *ud, mp_err *err);
/* The best of the highest rung any trial finished (the only one for
 * random and grid), or NULL when every trial failed. */
const mp__tune_eval *mp__tune_best(const mp__tune_eval *ev, size_t nev, int maximize);

#endif
