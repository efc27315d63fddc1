/* The component registry: the built-in types, then those a program
 * embedding mlpipe registers.  Only this file knows every component. */
#include "components/component.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const mp_component_type *const registry[] = {
	&mp_command_component,
	&mp_example_gen_component,
	&mp_statistics_gen_component,
	&mp_schema_gen_component,
	&mp_example_validator_component,
	&mp_transform_component,
	&mp_trainer_component,
	&mp_tuner_component,
	&mp_evaluator_component,
	&mp_infra_validator_component,
	&mp_pusher_component,
	&mp_bulk_inferrer_component,
};

#define NREGISTRY MP_COUNTOF(registry)
#define MAX_TYPES 64

/* The built-in types, then those a program embedding mlpipe registered. */
static const mp_component_type *types[MAX_TYPES];
static size_t ntypes;

static void init_types(void)
{
	size_t i;

	if (ntypes)
		return;
	for (i = 0; i < NREGISTRY; i++)
		types[ntypes++] = registry[i];
}

int mp_component_register(const mp_component_type *t, mp_err *err)
{
	init_types();
	if (!t->name || !t->version || !t->run)
		return mp_error(err, MP_EINVAL, "a component type needs a name, a version and a run function");
	if (mp_component_find(t->name))
		return mp_error(err, MP_EEXIST, "component type '%s' is already registered", t->name);
	if (ntypes == MAX_TYPES)
		return mp_error(err, MP_EINVAL, "too many component types (at most %d)", MAX_TYPES);
	types[ntypes++] = t;
	return 0;
}

const mp_component_type *mp_component_find(const char *name)
{
	size_t i;

	init_types();
	for (i = 0; i < ntypes; i++)
		if (strcmp(types[i]->name, name) == 0)
			return types[i];
	return NULL;
}

const char *mp_component_closest(const char *name)
{
	const char *names[MAX_TYPES];
	size_t i;

	init_types();
	for (i = 0; i < ntypes; i++)
		names[i] = types[i]->name;
	return mp_closest(name, names, ntypes);
}

const mp_component_type *const *mp_component_types(size_t *n)
{
	init_types();
	*n = ntypes;
	return types;
}
