/* test_schema.c — the generated schema table and its lookups (api/schema.h).
 * Expected values are Kubernetes' published facts (generated.proto numbers, types.go tags). */
#include "test.h"

#include "api/schema.h"

static const schema_field *path(const char *type, const char *dotted)
{
	const schema_type *t = schema_find(type);
	const schema_field *f = NULL;
	char buf[256];
	snprintf(buf, sizeof buf, "%s", dotted);
	for (char *save = NULL, *p = strtok_r(buf, ".", &save); p; p = strtok_r(NULL, ".", &save)) {
		if (!t)
			return NULL;
		f = schema_field_json(t, p);
		if (!f)
			return NULL;
		t = f->type;
	}
	return f;
}

TEST(table_sorted_and_linked)
{
	REQUIRE(schema_ntypes > 400);
	for (size_t i = 1; i < schema_ntypes; i++)
		CHECK(strcmp(schema_types[i - 1].name, schema_types[i].name) < 0);
	for (size_t i = 0; i < schema_ntypes; i++) {
		const schema_type *t = &schema_types[i];
		for (size_t j = 0; j < t->nfields; j++) {
			const schema_field *f = &t->fields[j];
			CHECK(f->json && f->json[0]);
			if (f->type)
				CHECK(f->type >= schema_types && f->type < schema_types + schema_ntypes);
			if (f->kind == SCHEMA_OBJECT || f->elem == SCHEMA_OBJECT)
				CHECK(f->type != NULL);
			if (f->kind == SCHEMA_ARRAY || f->kind == SCHEMA_MAP)
				CHECK(f->elem != SCHEMA_NONE);
		}
	}
}

TEST(find_by_name_and_gvk)
{
	const schema_type *d = schema_find("io.k8s.api.apps.v1.Deployment");
	REQUIRE(d);
	CHECK_STR(d->group, "apps");
	CHECK_STR(d->version, "v1");
	CHECK_STR(d->kind, "Deployment");
	CHECK(schema_find_gvk("apps", "v1", "Deployment") == d);
	CHECK(schema_find_gvk("", "v1", "Pod") == schema_find("io.k8s.api.core.v1.Pod"));
	CHECK(schema_find_gvk("apps", "v1", "DeploymentList") ==
	      schema_find("io.k8s.api.apps.v1.DeploymentList"));
	CHECK(schema_find_gvk("events.k8s.io", "v1", "Event") ==
	      schema_find("io.k8s.api.events.v1.Event"));
	CHECK(schema_find_gvk("", "v1", "Status") ==
	      schema_find("io.k8s.apimachinery.pkg.apis.meta.v1.Status"));
	CHECK(schema_find_gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition") ==
	      schema_find("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1."
	                  "CustomResourceDefinition"));
	CHECK(schema_find_gvk("autoscaling", "v2", "HorizontalPodAutoscaler") ==
	      schema_find("io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler"));
	/* Non-kinds carry no GVK. */
	const schema_type *spec = schema_find("io.k8s.api.apps.v1.DeploymentSpec");
	REQUIRE(spec);
	CHECK(spec->kind == NULL);
	CHECK(schema_find("io.k8s.api.apps.v1.Nope") == NULL);
	CHECK(schema_find_gvk("apps", "v1", "Pod") == NULL);
	CHECK(schema_find(NULL) == NULL);
}

TEST(deployment_containers_patch_metadata)
{
	const schema_field *c =
	    path("io.k8s.api.apps.v1.Deployment", "spec.template.spec.containers");
	REQUIRE(c);
	CHECK_INT(c->kind, SCHEMA_ARRAY);
	CHECK_INT(c->elem, SCHEMA_OBJECT);
	CHECK_STR(c->type->name, "io.k8s.api.core.v1.Container");
	CHECK_STR(c->patch_strategy, "merge");
	CHECK_STR(c->patch_merge_key, "name");
	CHECK_STR(c->list_type, "map");
	CHECK_STR(c->list_map_keys, "name");
	CHECK(c->flags & SCHEMA_F_REQUIRED);
	const schema_field *ports = schema_field_json(c->type, "ports");
	REQUIRE(ports);
	CHECK_STR(ports->patch_merge_key, "containerPort");
	CHECK_STR(ports->list_map_keys, "containerPort,protocol");
	/* k8s: PodSpec.volumes patches with "merge,retainKeys". */
	const schema_field *v = path("io.k8s.api.core.v1.PodSpec", "volumes");
	REQUIRE(v);
	CHECK_STR(v->patch_strategy, "merge,retainKeys");
	const schema_field *st = path("io.k8s.api.apps.v1.Deployment", "spec.strategy");
	REQUIRE(st);
	CHECK_STR(st->patch_strategy, "retainKeys");
	const schema_field *fin = path("io.k8s.api.core.v1.Pod", "metadata.finalizers");
	REQUIRE(fin);
	CHECK_STR(fin->patch_strategy, "merge");
	CHECK(fin->patch_merge_key == NULL);
	CHECK_STR(fin->list_type, "set");
	const schema_field *ns = path("io.k8s.api.core.v1.PodSpec", "nodeSelector");
	REQUIRE(ns);
	CHECK(ns->flags & SCHEMA_F_MAP_ATOMIC);
}

TEST(pod_proto_numbers)
{
	const schema_type *pod = schema_find("io.k8s.api.core.v1.Pod");
	REQUIRE(pod);
	const schema_field *md = schema_field_proto(pod, 1);
	REQUIRE(md);
	CHECK_STR(md->json, "metadata");
	CHECK_STR(schema_field_proto(pod, 2)->json, "spec");
	CHECK_STR(schema_field_proto(pod, 3)->json, "status");
	CHECK(schema_field_proto(pod, 4) == NULL);
	CHECK(schema_field_proto(pod, 0) == NULL);
	const schema_field *name = schema_field_json(md->type, "name");
	REQUIRE(name);
	CHECK_INT(name->proto, 1);
	CHECK_INT(schema_field_json(md->type, "namespace")->proto, 3);
	CHECK_INT(schema_field_json(md->type, "labels")->proto, 11);
	CHECK_INT(schema_field_json(md->type, "managedFields")->proto, 17);
	const schema_field *cs = path("io.k8s.api.core.v1.Pod", "spec.containers");
	REQUIRE(cs);
	CHECK_INT(cs->proto, 2);
	CHECK_INT(path("io.k8s.api.core.v1.PodSpec", "initContainers")->proto, 20);
	CHECK_INT(path("io.k8s.api.core.v1.Container", "image")->proto, 2);
	/* TypeMeta fields have no protobuf number (the envelope carries them). */
	const schema_field *k = schema_field_json(pod, "kind");
	REQUIRE(k);
	CHECK_INT(k->proto, 0);
	CHECK_INT(k->kind, SCHEMA_STRING);
	CHECK(schema_field_json(pod, "apiVersion") != NULL);
}

TEST(volume_inline_source)
{
	const schema_type *v = schema_find("io.k8s.api.core.v1.Volume");
	REQUIRE(v);
	const schema_field *src = schema_field_proto(v, 2);
	REQUIRE(src);
	CHECK(src->flags & SCHEMA_F_INLINE);
	CHECK_STR(src->json, "VolumeSource");
	CHECK_STR(src->type->name, "io.k8s.api.core.v1.VolumeSource");
	/* JSON names of the inline struct are found through the parent ... */
	const schema_field *hp = schema_field_json(v, "hostPath");
	REQUIRE(hp);
	CHECK_INT(hp->proto, 1);
	CHECK_STR(hp->type->name, "io.k8s.api.core.v1.HostPathVolumeSource");
	CHECK(schema_field_json(v, "configMap") != NULL);
	CHECK_INT(schema_field_json(v, "name")->proto, 1);
	/* ... but the Go name of the inline field is not a JSON name. */
	CHECK(schema_field_json(v, "VolumeSource") == NULL);
}

TEST(special_kinds)
{
	const schema_field *f;
	f = path("io.k8s.api.apps.v1.Deployment", "spec.strategy.rollingUpdate.maxSurge");
	REQUIRE(f);
	CHECK_INT(f->kind, SCHEMA_INT_OR_STRING);
	CHECK(f->flags & SCHEMA_F_POINTER);
	f = path("io.k8s.api.core.v1.Container", "resources.limits");
	REQUIRE(f);
	CHECK_INT(f->kind, SCHEMA_MAP);
	CHECK_INT(f->elem, SCHEMA_QUANTITY);
	f = path("io.k8s.api.core.v1.Pod", "metadata.creationTimestamp");
	REQUIRE(f);
	CHECK_INT(f->kind, SCHEMA_TIME);
	CHECK_INT(path("io.k8s.api.events.v1.Event", "eventTime")->kind, SCHEMA_MICROTIME);
	CHECK_INT(path("io.k8s.api.coordination.v1.Lease", "spec.renewTime")->kind, SCHEMA_MICROTIME);
	f = path("io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry", "fieldsV1");
	REQUIRE(f);
	CHECK_INT(f->kind, SCHEMA_RAW);
	CHECK_INT(path("io.k8s.api.apps.v1.ControllerRevision", "data")->kind, SCHEMA_RAW);
	f = path("io.k8s.api.core.v1.Secret", "data");
	REQUIRE(f);
	CHECK_INT(f->kind, SCHEMA_MAP);
	CHECK_INT(f->elem, SCHEMA_BYTES);
	CHECK_INT(path("io.k8s.api.core.v1.ConfigMap", "binaryData")->elem, SCHEMA_BYTES);
	CHECK_INT(path("io.k8s.api.core.v1.PodSpec", "restartPolicy")->kind, SCHEMA_STRING);
	CHECK_INT(path("io.k8s.api.core.v1.PodSpec", "terminationGracePeriodSeconds")->kind,
	          SCHEMA_INT64);
	CHECK_INT(path("io.k8s.api.apps.v1.DeploymentSpec", "replicas")->kind, SCHEMA_INT32);
	CHECK_INT(path("io.k8s.api.autoscaling.v2.MetricTarget", "averageValue")->kind,
	          SCHEMA_QUANTITY);
	/* map[string]ExtraValue: JSON arrays; protobuf wraps each in ExtraValue{items=1}. */
	f = path("io.k8s.api.authentication.v1.UserInfo", "extra");
	REQUIRE(f);
	CHECK_INT(f->kind, SCHEMA_MAP);
	CHECK_INT(f->elem, SCHEMA_ARRAY);
	REQUIRE(f->type);
	CHECK_STR(f->type->name, "io.k8s.api.authentication.v1.ExtraValue");
	CHECK_INT(schema_field_proto(f->type, 1)->elem, SCHEMA_STRING);
}

TEST(required_and_flags)
{
	const schema_field *f = path("io.k8s.api.apps.v1.DeploymentSpec", "selector");
	REQUIRE(f);
	CHECK(f->flags & SCHEMA_F_REQUIRED);
	CHECK(f->flags & SCHEMA_F_POINTER);
	CHECK(path("io.k8s.api.apps.v1.DeploymentSpec", "template")->flags & SCHEMA_F_REQUIRED);
	f = path("io.k8s.api.apps.v1.DeploymentSpec", "replicas");
	CHECK(f->flags & SCHEMA_F_OMITEMPTY);
	CHECK(!(f->flags & SCHEMA_F_REQUIRED));
	CHECK(path("io.k8s.api.core.v1.Container", "name")->flags & SCHEMA_F_REQUIRED);
	CHECK(!(path("io.k8s.api.core.v1.Container", "image")->flags & SCHEMA_F_REQUIRED));
	CHECK(!(path("io.k8s.api.apps.v1.Deployment", "metadata")->flags & SCHEMA_F_REQUIRED));
}

TEST(crd_types)
{
	const char *p = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.";
	char name[160];
	snprintf(name, sizeof name, "%sCustomResourceDefinition", p);
	const schema_field *f = path(name, "spec.versions");
	REQUIRE(f);
	CHECK_INT(f->kind, SCHEMA_ARRAY);
	f = schema_field_json(f->type, "schema");
	REQUIRE(f);
	f = schema_field_json(f->type, "openAPIV3Schema");
	REQUIRE(f);
	const schema_type *props = f->type;
	REQUIRE(props);
	const schema_field *pp = schema_field_json(props, "properties");
	REQUIRE(pp);
	CHECK_INT(pp->kind, SCHEMA_MAP);
	CHECK(pp->type == props);
	CHECK_INT(schema_field_json(props, "x-kubernetes-preserve-unknown-fields")->kind,
	          SCHEMA_BOOL);
	CHECK_INT(schema_field_json(props, "default")->kind, SCHEMA_RAW);
}
