/* test_proxy_rules.c — the service proxy's model and rule generation without a kernel:
 * Services and EndpointSlices (as the API stores them) into proxy_service, frags, diffs
 * and batches, checked against kube-proxy's documented behaviour (ready and terminating
 * endpoints, named ports, traffic policies, affinity, hairpin, rejecting services without
 * endpoints) and against hostile input. When run as root, the last tests also apply the
 * generated text in a private network namespace (unshare), so the kernel's acceptance is
 * checked too; elsewhere they pass as skipped. */
#include "test.h"

#include <sched.h>
#include <unistd.h>

#include "base/json.h"
#include "base/util.h"
#include "proxy/proxy.h"

static const proxy_config cfg = {.node_name = "node-a", .cluster_cidr = "10.42.0.0/16"};
static const proxy_config cfg_svc = {
    .node_name = "node-a", .cluster_cidr = "10.42.0.0/16", .service_cidr = "10.43.0.0/16"};

/* JSON with ' for " (test readability). New reference; aborts on a typo. */
static json_t *J(const char *s)
{
	char *t = xstrdup(s);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	json_error_t e;
	json_t *j = json_loads(t, 0, &e);
	if (!j) {
		fprintf(stderr, "bad test JSON: %s: %s\n", e.text, t);
		abort();
	}
	free(t);
	return j;
}

static json_t *svc_json(const char *spec)
{
	char *s = xasprintf("{'metadata':{'name':'web','namespace':'default'},'spec':%s}", spec);
	json_t *j = J(s);
	free(s);
	return j;
}

/* A slice for port name `pname` (number pnum) with endpoints "ip[:cond][@node]"...,
 * cond r = ready, t = serving terminating, x = not serving terminating. */
static json_t *slice_json(const char *pname, int pnum, const char *const *eps, size_t n)
{
	json_t *s = J("{'addressType':'IPv4','metadata':{'name':'web-x','namespace':'default',"
	              "'labels':{'kubernetes.io/service-name':'web'}}}");
	json_object_set_new(
	    s, "ports",
	    json_pack("[{s:s, s:i, s:s}]", "name", pname, "port", pnum, "protocol", "TCP"));
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		char ip[64];
		snprintf(ip, sizeof ip, "%s", eps[i]);
		const char *node = NULL;
		char c = 'r';
		char *at = strchr(ip, '@');
		if (at) {
			*at = '\0';
			node = at + 1;
		}
		char *colon = strchr(ip, ':');
		if (colon) {
			c = colon[1];
			*colon = '\0';
		}
		json_t *ep =
		    json_pack("{s:[s], s:{s:b, s:b, s:b}}", "addresses", ip, "conditions", "ready",
		              c == 'r', "serving", c != 'x', "terminating", c != 'r');
		if (node)
			json_object_set_new(ep, "nodeName", json_string(node));
		json_array_append_new(arr, ep);
	}
	json_object_set_new(s, "endpoints", arr);
	return s;
}

/* The frag of spec with one slice; NULL model gives an empty frag. */
static nft_frag *frag_of(const char *spec, const char *pname, int pnum, const char *const *eps,
                         size_t n)
{
	json_t *svc = svc_json(spec);
	json_t *sl = slice_json(pname, pnum, eps, n);
	proxy_service *m = proxy_service_parse(svc, &sl, 1, &cfg);
	nft_frag *f = nft_frag_build(m, &cfg);
	proxy_service_free(m);
	json_decref(svc);
	json_decref(sl);
	return f;
}

static const nft_obj *find_obj(const nft_frag *f, const char *prefix)
{
	for (size_t i = 0; i < f->nobjs; i++)
		if (str_has_prefix(f->objs[i].name, prefix))
			return &f->objs[i];
	return NULL;
}

static size_t count_objs(const nft_frag *f, const char *prefix)
{
	size_t n = 0;
	for (size_t i = 0; i < f->nobjs; i++)
		n += str_has_prefix(f->objs[i].name, prefix);
	return n;
}

static const nft_elem *find_elem(const nft_frag *f, int map)
{
	for (size_t i = 0; i < f->nelems; i++)
		if (f->elems[i].map == map)
			return &f->elems[i];
	return NULL;
}

static char *diff_text(const nft_frag *a, const nft_frag *b, size_t *changes)
{
	nft_batch bt = {0};
	nft_batch_diff(&bt, a, b);
	if (changes)
		*changes = bt.changes;
	return nft_batch_take(&bt);
}

static size_t count_str(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

#define CLUSTER "{'clusterIP':'10.43.0.10','ports':[{'name':'http','port':80,'targetPort':'web'}]}"

/* ---------- the model ---------- */

TEST(model_cluster_ip_and_sorted_endpoints)
{
	const char *eps[] = {"10.42.2.2", "10.42.1.2"};
	json_t *svc = svc_json(CLUSTER);
	json_t *sl = slice_json("http", 8080, eps, 2);
	proxy_service *m = proxy_service_parse(svc, &sl, 1, &cfg);
	REQUIRE(m);
	CHECK_STR(m->cluster_ip, "10.43.0.10");
	REQUIRE(m->nports == 1);
	CHECK_STR(m->ports[0].proto, "tcp");
	CHECK_INT(m->ports[0].port, 80);
	REQUIRE(m->ports[0].neps == 2);
	CHECK_STR(m->ports[0].eps[0].ip, "10.42.1.2");
	CHECK_INT(m->ports[0].eps[0].port, 8080);
	CHECK(m->ports[0].eps[0].ready);
	proxy_service_free(m);
	json_decref(svc);
	json_decref(sl);
}

/* k8s: a named targetPort resolves per slice: two pod groups with different numbers for
 * "web" are two slices, each naming the service port "http". */
TEST(model_named_target_port_per_slice)
{
	const char *a[] = {"10.42.1.2"}, *b[] = {"10.42.2.2"};
	json_t *svc = svc_json(CLUSTER);
	json_t *sl[3] = {slice_json("http", 8080, a, 1), slice_json("http", 9090, b, 1),
	                 slice_json("metrics", 7000, b, 1)};
	proxy_service *m = proxy_service_parse(svc, sl, 3, &cfg);
	REQUIRE(m && m->ports[0].neps == 2);
	CHECK_INT(m->ports[0].eps[0].port, 8080);
	CHECK_INT(m->ports[0].eps[1].port, 9090);
	proxy_service_free(m);
	json_decref(svc);
	for (int i = 0; i < 3; i++)
		json_decref(sl[i]);
}

TEST(model_ignores_unproxied_services)
{
	json_t *s1 =
	    svc_json("{'type':'ExternalName','externalName':'example.com','ports':[{'port':80}]}");
	json_t *s2 = svc_json("{'clusterIP':'None','ports':[{'port':80}]}");
	json_t *s3 = svc_json("{'clusterIP':'10.43.0.10'}");
	CHECK(proxy_service_parse(s1, NULL, 0, &cfg) == NULL);
	CHECK(proxy_service_parse(s2, NULL, 0, &cfg) == NULL);
	CHECK(proxy_service_parse(s3, NULL, 0, &cfg) == NULL);
	json_decref(s1);
	json_decref(s2);
	json_decref(s3);
}

/* k8s: ProxyTerminatingEndpoints: ready ones only; serving terminating ones only when none
 * is ready; terminating ones that do not serve never. */
TEST(model_ready_then_terminating_fallback)
{
	const char *mixed[] = {"10.42.1.2:t", "10.42.1.3", "10.42.1.4:x"};
	const char *term[] = {"10.42.1.2:t", "10.42.1.4:x"};
	nft_frag *f = frag_of(CLUSTER, "http", 8080, mixed, 3);
	const char *body = find_obj(f, "service-")->body;
	CHECK_INT(count_str(body, "dnat ip to"), 1);
	CHECK(strstr(body, "dnat ip to 10.42.1.3:8080\n"));
	nft_frag_free(f);
	f = frag_of(CLUSTER, "http", 8080, term, 2);
	body = find_obj(f, "service-")->body;
	CHECK_INT(count_str(body, "dnat ip to"), 1);
	CHECK(strstr(body, "dnat ip to 10.42.1.2:8080\n"));
	nft_frag_free(f);
}

/* Nothing from the API reaches nft text unchecked. */
TEST(model_rejects_hostile_input)
{
	json_t *svc =
	    svc_json("{'clusterIP':'10.43.0.10; flush ruleset','externalIPs':['1.2.3.4 }',"
	             "'5.6.7.8'],'ports':[{'name':'h','port':80,'protocol':'ICMP'},"
	             "{'name':'a\\\"b','port':70000},{'name':'ok','port':81}]}");
	json_t *sl = J("{'addressType':'IPv4','ports':[{'name':'ok','port':8080}],'endpoints':["
	               "{'addresses':['10.42.1.2 } flush ruleset']},{'addresses':['10.42.1.3']}]}");
	proxy_service *m = proxy_service_parse(svc, &sl, 1, &cfg);
	REQUIRE(m);
	CHECK_STR(m->cluster_ip, "");
	CHECK_INT(m->nexternal, 1);
	REQUIRE(m->nports == 1);
	CHECK_STR(m->ports[0].name, "ok");
	REQUIRE(m->ports[0].neps == 1);
	CHECK_STR(m->ports[0].eps[0].ip, "10.42.1.3");
	proxy_service_free(m);
	json_decref(svc);
	/* Names are sanitized even if they were to slip through validation. */
	svc = J("{'metadata':{'name':'we b\\n}','namespace':'default'},'spec':{'clusterIP':"
	        "'10.43.0.10','ports':[{'port':80}]}}");
	m = proxy_service_parse(svc, &sl, 1, &cfg);
	nft_frag *f = nft_frag_build(m, &cfg);
	for (size_t i = 0; i < f->nobjs; i++)
		CHECK(!strpbrk(f->objs[i].name, " \n}{;\"'"));
	nft_frag_free(f);
	proxy_service_free(m);
	json_decref(svc);
	json_decref(sl);
}

/* ---------- frags ---------- */

TEST(frag_cluster_ip_two_endpoints)
{
	const char *eps[] = {"10.42.1.2", "10.42.2.2"};
	nft_frag *f = frag_of(CLUSTER, "http", 8080, eps, 2);
	CHECK_INT(f->nelems, 3);
	CHECK_INT(f->nobjs, 1); /* endpoints have no chains */
	const nft_elem *e = find_elem(f, NFT_MAP_SERVICE_IPS);
	REQUIRE(e);
	CHECK_STR(e->key, "10.43.0.10 . tcp . 80");
	const nft_obj *svc = find_obj(f, "service-");
	REQUIRE(svc);
	CHECK(str_has_suffix(svc->name, "-default/web/tcp/http"));
	CHECK(str_has_prefix(e->value, "goto service-"));
	CHECK_STR(e->value + 5, svc->name);
	/* k8s: cluster-IP traffic from outside the pod network is masqueraded; each
	 * endpoint is equally likely: 1/2, then the other. */
	CHECK_STR(svc->body, "ip saddr != 10.42.0.0/16 jump mark-for-masquerade\n"
	                     "numgen random mod 2 0 meta l4proto tcp dnat ip to 10.42.1.2:8080\n"
	                     "meta l4proto tcp dnat ip to 10.42.2.2:8080\n");
	/* k8s: hairpin: an endpoint reaching itself through the cluster IP is found in
	 * postrouting and masqueraded. */
	e = find_elem(f, NFT_SET_HAIRPIN);
	REQUIRE(e);
	CHECK_STR(e->key, "10.42.1.2 . 10.42.1.2 . 10.43.0.10 . 8080");
	CHECK(e->value == NULL);
	CHECK(count_objs(f, "external-") == 0 && count_objs(f, "local-") == 0);
	nft_frag_free(f);
}

/* With the service CIDR known, one rule in `services` masquerades for every cluster IP in
 * it; a cluster IP outside it keeps its own rule. */
TEST(frag_service_cidr_masquerade)
{
	const char *eps[] = {"10.42.1.2"};
	json_t *svc = svc_json(CLUSTER);
	json_t *sl = slice_json("http", 8080, eps, 1);
	proxy_service *m = proxy_service_parse(svc, &sl, 1, &cfg_svc);
	nft_frag *f = nft_frag_build(m, &cfg_svc);
	CHECK_STR(find_obj(f, "service-")->body, "meta l4proto tcp dnat ip to 10.42.1.2:8080\n");
	nft_frag_free(f);
	snprintf(m->cluster_ip, sizeof m->cluster_ip, "10.96.0.10");
	f = nft_frag_build(m, &cfg_svc);
	CHECK(str_has_prefix(find_obj(f, "service-")->body,
	                     "ip saddr != 10.42.0.0/16 jump mark-for-masquerade\n"));
	nft_frag_free(f);
	proxy_service_free(m);
	json_decref(svc);
	json_decref(sl);
	nft_batch b = {0};
	nft_batch_full(&b, &cfg_svc);
	char *t = nft_batch_take(&b);
	CHECK(strstr(t, "insert rule inet timon services ip daddr 10.43.0.0/16 ip saddr != "
	                "10.42.0.0/16 jump mark-for-masquerade\n"));
	free(t);
}

TEST(frag_single_endpoint_no_numgen)
{
	const char *eps[] = {"10.42.1.2"};
	nft_frag *f = frag_of(CLUSTER, "http", 8080, eps, 1);
	const nft_obj *svc = find_obj(f, "service-");
	REQUIRE(svc);
	CHECK(!strstr(svc->body, "numgen"));
	CHECK(str_has_suffix(svc->body, "\nmeta l4proto tcp dnat ip to 10.42.1.2:8080\n"));
	nft_frag_free(f);
}

/* k8s: a service without endpoints rejects (TCP reset / ICMP) instead of hanging. */
TEST(frag_no_endpoints_rejects)
{
	nft_frag *f = frag_of("{'type':'NodePort','clusterIP':'10.43.0.10','ports':[{'name':"
	                      "'http','port':80,'nodePort':30080}]}",
	                      "http", 8080, NULL, 0);
	CHECK_INT(f->nobjs, 0);
	CHECK_INT(f->nelems, 2);
	const nft_elem *e = find_elem(f, NFT_MAP_NOEP_SERVICES);
	REQUIRE(e);
	CHECK_STR(e->key, "10.43.0.10 . tcp . 80");
	CHECK_STR(e->value, "goto reject-chain");
	e = find_elem(f, NFT_MAP_NOEP_NODEPORTS);
	REQUIRE(e);
	CHECK_STR(e->key, "tcp . 30080");
	CHECK_STR(e->value, "goto reject-chain");
	nft_frag_free(f);
}

TEST(frag_node_port_cluster_policy)
{
	const char *eps[] = {"10.42.1.2", "10.42.2.2@node-b"};
	nft_frag *f = frag_of("{'type':'NodePort','clusterIP':'10.43.0.10','ports':[{'name':"
	                      "'http','port':80,'nodePort':30080,'protocol':'UDP'}]}",
	                      "http", 8080, eps, 2);
	/* The slice's port is TCP: the UDP port has no endpoints, and rejects. */
	CHECK_INT(f->nobjs, 0);
	CHECK_STR(find_elem(f, NFT_MAP_NOEP_NODEPORTS)->key, "udp . 30080");
	nft_frag_free(f);
	f = frag_of("{'type':'NodePort','clusterIP':'10.43.0.10','ports':[{'name':'http','port':"
	            "80,'nodePort':30080}]}",
	            "http", 8080, eps, 2);
	const nft_elem *np = find_elem(f, NFT_MAP_NODEPORTS);
	REQUIRE(np);
	CHECK_STR(np->key, "tcp . 30080");
	const nft_obj *ext = find_obj(f, "external-");
	REQUIRE(ext);
	CHECK_STR(np->value + 5, ext->name);
	/* k8s: externalTrafficPolicy Cluster masquerades and uses every endpoint; a client on
	 * this node keeps its address (its replies come back here anyway). */
	CHECK(str_has_prefix(ext->body, "fib saddr type local goto service-"));
	CHECK(strstr(ext->body, "\njump mark-for-masquerade\ngoto service-"));
	nft_frag_free(f);
}

/* k8s: LoadBalancer is NodePort plus the load balancer's ingress addresses. */
TEST(frag_load_balancer_and_external_ips)
{
	const char *eps[] = {"10.42.1.2"};
	json_t *svc =
	    J("{'metadata':{'name':'lb','namespace':'ns1'},'spec':{'type':'LoadBalancer',"
	      "'clusterIP':'10.43.0.11','externalIPs':['192.0.2.9'],'ports':[{'port':443,"
	      "'nodePort':31443}]},'status':{'loadBalancer':{'ingress':[{'ip':'192.0.2.7'},"
	      "{'hostname':'lb.example'}]}}}");
	json_t *sl = slice_json("", 8443, eps, 1);
	proxy_service *m = proxy_service_parse(svc, &sl, 1, &cfg);
	nft_frag *f = nft_frag_build(m, &cfg);
	size_t ext = 0, cluster = 0;
	for (size_t i = 0; i < f->nelems; i++) {
		if (f->elems[i].map != NFT_MAP_SERVICE_IPS)
			continue;
		if (str_has_prefix(f->elems[i].value, "goto external-"))
			ext++;
		else
			cluster++;
	}
	CHECK_INT(ext, 2);
	CHECK_INT(cluster, 1);
	CHECK(find_elem(f, NFT_MAP_NODEPORTS));
	CHECK(str_has_suffix(find_obj(f, "service-")->name, "ns1/lb/tcp/443"));
	nft_frag_free(f);
	proxy_service_free(m);
	json_decref(svc);
	json_decref(sl);
}

/* k8s: externalTrafficPolicy Local: external clients reach local endpoints only and keep
 * their address; node-local clients short-circuit to all endpoints. */
TEST(frag_external_policy_local)
{
	const char *eps[] = {"10.42.1.2@node-a", "10.42.2.2@node-b"};
	const char *spec = "{'type':'NodePort','externalTrafficPolicy':'Local','clusterIP':"
	                   "'10.43.0.10','ports':[{'name':'http','port':80,'nodePort':30080}]}";
	nft_frag *f = frag_of(spec, "http", 8080, eps, 2);
	const nft_obj *ext = find_obj(f, "external-"), *loc = find_obj(f, "local-");
	REQUIRE(ext && loc);
	CHECK(!strstr(ext->body, "\njump mark-for-masquerade"));
	CHECK(strstr(ext->body, "ip saddr 10.42.0.0/16 jump mark-for-masquerade\n"
	                        "ip saddr 10.42.0.0/16 goto service-"));
	CHECK(strstr(ext->body, "fib saddr type local jump mark-for-masquerade\n"));
	CHECK(strstr(ext->body, "fib saddr type local goto service-"));
	CHECK(strstr(ext->body, "goto local-"));
	/* No masquerade: the client address is kept. */
	CHECK_STR(loc->body, "meta l4proto tcp dnat ip to 10.42.1.2:8080\n");
	CHECK(!strstr(loc->body, "numgen"));
	/* Cluster IP traffic still uses every endpoint. */
	CHECK(strstr(find_elem(f, NFT_MAP_SERVICE_IPS)->value, "goto service-"));
	nft_frag_free(f);
	/* No local endpoint: external traffic is dropped. */
	const char *remote[] = {"10.42.2.2@node-b"};
	f = frag_of(spec, "http", 8080, remote, 1);
	ext = find_obj(f, "external-");
	REQUIRE(ext);
	CHECK(str_has_suffix(ext->body, "drop\n"));
	CHECK(!find_obj(f, "local-"));
	nft_frag_free(f);
}

/* k8s: internalTrafficPolicy Local: cluster-IP traffic reaches local endpoints only, and is
 * dropped when there are none here (but other endpoints exist). */
TEST(frag_internal_policy_local)
{
	const char *eps[] = {"10.42.1.2@node-a", "10.42.2.2@node-b"};
	const char *spec = "{'internalTrafficPolicy':'Local','clusterIP':'10.43.0.10','ports':"
	                   "[{'name':'http','port':80}]}";
	nft_frag *f = frag_of(spec, "http", 8080, eps, 2);
	const nft_elem *e = find_elem(f, NFT_MAP_SERVICE_IPS);
	REQUIRE(e);
	CHECK(str_has_prefix(e->value, "goto local-"));
	CHECK(!find_obj(f, "service-"));
	CHECK_INT(count_str(find_obj(f, "local-")->body, "dnat ip to 10.42.1.2:8080\n"), 1);
	CHECK_INT(count_str(find_obj(f, "local-")->body, "dnat"), 1);
	/* Masquerading in the local chain is for cluster-IP traffic only. */
	CHECK(str_has_prefix(find_obj(f, "local-")->body,
	                     "ip daddr 10.43.0.10 tcp dport 80 ip saddr != 10.42.0.0/16 jump "
	                     "mark-for-masquerade\n"));
	nft_frag_free(f);
	const char *remote[] = {"10.42.2.2@node-b"};
	f = frag_of(spec, "http", 8080, remote, 1);
	e = find_elem(f, NFT_MAP_NOEP_SERVICES);
	REQUIRE(e);
	CHECK_STR(e->value, "drop");
	CHECK_INT(f->nobjs, 0);
	nft_frag_free(f);
}

TEST(frag_session_affinity)
{
	const char *eps[] = {"10.42.1.2", "10.42.2.2"};
	const char *spec = "{'clusterIP':'10.43.0.10','sessionAffinity':'ClientIP',"
	                   "'sessionAffinityConfig':{'clientIP':{'timeoutSeconds':60}},"
	                   "'ports':[{'name':'http','port':80}]}";
	nft_frag *f = frag_of(spec, "http", 8080, eps, 2);
	CHECK_INT(count_objs(f, "affinity-"), 2);
	const nft_obj *set = find_obj(f, "affinity-");
	REQUIRE(set && set->is_set);
	CHECK(strstr(set->body, "timeout 60s"));
	CHECK(strstr(set->body, "flags dynamic,timeout"));
	const nft_obj *svc = find_obj(f, "service-");
	/* A known client goes back to its endpoint; every choice records the client. */
	char *ip = strrchr(set->name, '-') + 1; /* "10.42.x.2/8080" */
	char *want = xasprintf("ip saddr @%s meta l4proto tcp update @%s { ip saddr } dnat ip to ",
	                       set->name, set->name);
	CHECK(strstr(svc->body, want));
	free(want);
	CHECK_INT(count_str(svc->body, "ip saddr @affinity-"), 2);
	CHECK_INT(count_str(svc->body, "update @affinity-"), 4);
	CHECK(strstr(svc->body, "numgen random mod 2 0 meta l4proto tcp update @affinity-"));
	CHECK(ip && strchr(ip, '/'));
	/* A new timeout makes new sets (a set's declaration is fixed by its name). */
	nft_frag *g = frag_of("{'clusterIP':'10.43.0.10','sessionAffinity':'ClientIP',"
	                      "'ports':[{'name':'http','port':80}]}",
	                      "http", 8080, eps, 2);
	CHECK(strstr(find_obj(g, "affinity-")->body, "timeout 10800s"));
	CHECK(strcmp(find_obj(g, "affinity-")->name, set->name) != 0);
	nft_frag_free(g);
	nft_frag_free(f);
}

/* Two service ports on one target port: one hairpin element, two map elements. */
TEST(frag_two_ports_one_target)
{
	const char *eps[] = {"10.42.1.2"};
	json_t *svc = svc_json("{'clusterIP':'10.43.0.10','ports':[{'name':'a','port':80},"
	                       "{'name':'b','port':8080,'protocol':'TCP'}]}");
	json_t *sl[2] = {slice_json("a", 8080, eps, 1), slice_json("b", 8080, eps, 1)};
	proxy_service *m = proxy_service_parse(svc, sl, 2, &cfg);
	nft_frag *f = nft_frag_build(m, &cfg);
	size_t hp = 0, ips = 0;
	for (size_t i = 0; i < f->nelems; i++) {
		hp += f->elems[i].map == NFT_SET_HAIRPIN;
		ips += f->elems[i].map == NFT_MAP_SERVICE_IPS;
	}
	CHECK_INT(hp, 1);
	CHECK_INT(ips, 2);
	CHECK_INT(count_objs(f, "service-"), 2);
	nft_frag_free(f);
	proxy_service_free(m);
	json_decref(svc);
	json_decref(sl[0]);
	json_decref(sl[1]);
}

/* ---------- diffs ---------- */

TEST(diff_equal_is_empty)
{
	const char *eps[] = {"10.42.1.2", "10.42.2.2"};
	nft_frag *a = frag_of(CLUSTER, "http", 8080, eps, 2);
	nft_frag *b = frag_of(CLUSTER, "http", 8080, eps, 2);
	CHECK(nft_frag_equal(a, b));
	size_t changes = 9;
	char *t = diff_text(a, b, &changes);
	CHECK_STR(t, "");
	CHECK_INT(changes, 0);
	free(t);
	nft_frag_free(a);
	nft_frag_free(b);
}

/* Scaling touches the service chain and the new endpoint only; the map element stays. */
TEST(diff_scale_up_is_incremental)
{
	const char *two[] = {"10.42.1.2", "10.42.2.2"};
	const char *three[] = {"10.42.1.2", "10.42.2.2", "10.42.3.2"};
	nft_frag *a = frag_of(CLUSTER, "http", 8080, two, 2);
	nft_frag *b = frag_of(CLUSTER, "http", 8080, three, 3);
	size_t changes = 0;
	char *t = diff_text(a, b, &changes);
	CHECK_INT(changes, 1);
	CHECK(!strstr(t, "add chain"));
	CHECK_INT(count_str(t, "flush chain inet timon service-"), 1);
	CHECK(strstr(t, "numgen random mod 3 0 meta l4proto tcp dnat ip to 10.42.1.2:8080\n"));
	CHECK(strstr(t, "numgen random mod 2 0 meta l4proto tcp dnat ip to 10.42.2.2:8080\n"));
	CHECK(strstr(t, "add element inet timon hairpin { 10.42.3.2 . 10.42.3.2 . 10.43.0.10 . "
	                "8080 }\n"));
	CHECK(!strstr(t, "service-ips")); /* the map element stays */
	CHECK(!strstr(t, "delete"));
	free(t);
	nft_frag_free(a);
	nft_frag_free(b);
}

TEST(diff_to_no_endpoints_and_back)
{
	const char *two[] = {"10.42.1.2", "10.42.2.2"};
	nft_frag *a = frag_of(CLUSTER, "http", 8080, two, 2);
	nft_frag *b = frag_of(CLUSTER, "http", 8080, NULL, 0);
	char *t = diff_text(a, b, NULL);
	CHECK(strstr(t, "delete element inet timon service-ips { 10.43.0.10 . tcp . 80 }\n"));
	CHECK(strstr(t, "add element inet timon no-endpoint-services { 10.43.0.10 . tcp . 80 : "
	                "goto reject-chain }\n"));
	CHECK_INT(count_str(t, "delete chain"), 1);
	CHECK_INT(count_str(t, "flush chain"), 1);
	CHECK(strstr(t, "delete element inet timon hairpin { "));
	/* Elements go before the chains they name are deleted. */
	CHECK(strstr(t, "delete element") < strstr(t, "delete chain"));
	CHECK(strstr(t, "flush chain") < strstr(t, "delete element"));
	free(t);
	t = diff_text(b, a, NULL);
	CHECK(
	    strstr(t, "delete element inet timon no-endpoint-services { 10.43.0.10 . tcp . 80 }"));
	CHECK_INT(count_str(t, "add chain"), 1);
	/* Order: chains exist before rules and elements name them. */
	CHECK(strstr(t, "add chain") < strstr(t, "add rule"));
	CHECK(strstr(t, "add rule") < strstr(t, "add element"));
	free(t);
	nft_frag_free(a);
	nft_frag_free(b);
}

TEST(diff_service_deleted)
{
	const char *two[] = {"10.42.1.2", "10.42.2.2"};
	nft_frag *a = frag_of(CLUSTER, "http", 8080, two, 2);
	char *t = diff_text(a, NULL, NULL);
	CHECK_INT(count_str(t, "delete chain"), 1);
	CHECK(strstr(t, "delete element inet timon hairpin"));
	CHECK(strstr(t, "delete element inet timon service-ips"));
	CHECK(!strstr(t, "add "));
	free(t);
	nft_frag_free(a);
}

/* Many services in one batch: one command per map, global phase order. */
TEST(batch_many_services_one_transaction)
{
	nft_batch b = {0};
	nft_batch_full(&b, &cfg);
	char spec[256];
	for (int i = 0; i < 3; i++) {
		const char *eps[] = {"10.42.1.2"};
		snprintf(spec, sizeof spec,
		         "{'clusterIP':'10.43.1.%d','externalIPs':['192.0.2.1'],'ports':[{'name':"
		         "'http','port':80}]}",
		         i + 1);
		nft_frag *f = frag_of(spec, "http", 8080, eps, 1);
		nft_batch_diff(&b, NULL, f);
		nft_frag_free(f);
	}
	CHECK_INT(b.changes, 4); /* the base counts as one */
	char *t = nft_batch_take(&b);
	CHECK(str_has_prefix(t, "add table inet timon\ndelete table inet timon\n"));
	CHECK_INT(count_str(t, "add element inet timon service-ips {"), 1);
	/* Three services claim 192.0.2.1:80; a full sync keeps the first. */
	CHECK_INT(count_str(t, "192.0.2.1 . tcp . 80 :"), 1);
	CHECK_INT(count_str(t, "10.43.1."), 3 * 2); /* service-ips and hairpin */
	free(t);
	CHECK_INT(b.changes, 0);
}

/* Each node on a machine has its own table: the host's node keeps `timon`. */
TEST(table_name_per_node)
{
	char t[PROXY_TABLE_MAX];
	proxy_table_name("vm1", "vm1", t);
	CHECK_STR(t, "timon");
	proxy_table_name(NULL, "vm1", t);
	CHECK_STR(t, "timon");
	proxy_table_name("vm1", "VM1", t); /* the agent lower-cases the host name */
	CHECK_STR(t, "timon");
	proxy_table_name("timon-test-42", "vm1", t);
	CHECK_STR(t, "timon-timon-test-42");
	/* Changed characters or a long name: a hash keeps names apart. */
	char a[PROXY_TABLE_MAX], b[PROXY_TABLE_MAX];
	proxy_table_name("a.b", "vm1", a);
	proxy_table_name("a-b", "vm1", b);
	CHECK(strcmp(a, b) != 0);
	CHECK(str_has_prefix(a, "timon-"));
	char longname[254];
	memset(longname, 'n', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	proxy_table_name(longname, "vm1", a);
	longname[100] = 'm';
	proxy_table_name(longname, "vm1", b);
	CHECK(strlen(a) < PROXY_TABLE_MAX && strlen(b) < PROXY_TABLE_MAX);
	CHECK(strcmp(a, b) != 0);
	for (const char *p = a; *p; p++)
		CHECK((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-');
}

/* A batch names its table in every command; no mark is left in the text. */
TEST(batch_names_its_table)
{
	const char *eps[] = {"10.42.1.2"};
	nft_frag *f = frag_of(CLUSTER, "http", 8080, eps, 1);
	nft_batch b = {.table = "timon-node-b"};
	nft_batch_full(&b, &cfg);
	nft_batch_diff(&b, NULL, f);
	char *t = nft_batch_take(&b);
	CHECK(str_has_prefix(t, "add table inet timon-node-b\ndelete table inet timon-node-b\n"));
	CHECK(strstr(t, "add element inet timon-node-b service-ips {"));
	CHECK(!strstr(t, "inet timon "));
	CHECK(!strchr(t, '\x01'));
	free(t);
	t = diff_text(f, NULL, NULL);
	CHECK(strstr(t, "delete element inet timon service-ips {")); /* the default */
	free(t);
	t = nft_table_delete_text("timon-node-b");
	CHECK_STR(t, "add table inet timon-node-b\ndelete table inet timon-node-b\n");
	free(t);
	nft_frag_free(f);
}

/* ---------- the kernel, in a private network namespace (root only) ---------- */

static nft_applier *private_netns(void)
{
	static int state; /* 0 unknown, 1 in a private namespace, -1 unavailable */
	static nft_applier *a;
	if (state == 0) {
		state = -1;
		if (geteuid() == 0 && unshare(CLONE_NEWNET) == 0) {
			terr *err = NULL;
			a = nft_applier_new(&err);
			terr_free(err);
			if (a)
				state = 1;
		}
		if (state < 0)
			fprintf(stderr, "  (skipped: needs root and unshare(CLONE_NEWNET))\n");
	}
	return state > 0 ? a : NULL;
}

static int apply(nft_applier *a, char *text)
{
	terr *err = NULL;
	int rc = nft_apply(a, text, &err);
	if (rc < 0)
		fprintf(stderr, "  nft: %s\n  text:\n%s\n", err->message, text);
	terr_free(err);
	free(text);
	return rc;
}

TEST(kernel_accepts_full_and_incremental)
{
	nft_applier *a = private_netns();
	if (!a)
		return;
	const char *two[] = {"10.42.1.2@node-a", "10.42.2.2"};
	const char *three[] = {"10.42.1.2@node-a", "10.42.2.2", "10.42.3.2:t"};
	const char *specs[] = {
	    CLUSTER,
	    "{'type':'NodePort','externalTrafficPolicy':'Local','clusterIP':'10.43.0.10',"
	    "'sessionAffinity':'ClientIP','ports':[{'name':'http','port':80,'nodePort':30080}]}",
	    "{'type':'LoadBalancer','internalTrafficPolicy':'Local','clusterIP':'10.43.0.10',"
	    "'externalIPs':['192.0.2.1'],'ports':[{'name':'http','port':80,'nodePort':30081,"
	    "'protocol':'TCP'}]}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(specs); i++) {
		nft_frag *f2 = frag_of(specs[i], "http", 8080, two, 2);
		nft_frag *f3 = frag_of(specs[i], "http", 8080, three, 3);
		nft_frag *f0 = frag_of(specs[i], "http", 8080, NULL, 0);
		nft_batch b = {0};
		nft_batch_full(&b, i % 2 ? &cfg_svc : &cfg);
		nft_batch_diff(&b, NULL, f2);
		CHECK(apply(a, nft_batch_take(&b)) == 0);
		CHECK(apply(a, diff_text(f2, f3, NULL)) == 0);
		CHECK(apply(a, diff_text(f3, f0, NULL)) == 0);
		CHECK(apply(a, diff_text(f0, f2, NULL)) == 0);
		CHECK(apply(a, diff_text(f2, NULL, NULL)) == 0);
		nft_frag_free(f0);
		nft_frag_free(f2);
		nft_frag_free(f3);
	}
	CHECK(apply(a, nft_table_delete_text(NULL)) == 0);
	CHECK(apply(a, nft_table_delete_text(NULL)) == 0); /* also when absent */
}

/* Two nodes' tables live side by side: replacing or removing one leaves the other. */
TEST(kernel_tables_per_node_are_apart)
{
	nft_applier *a = private_netns();
	if (!a)
		return;
	const char *two[] = {"10.42.1.2", "10.42.2.2"};
	nft_frag *f = frag_of(CLUSTER, "http", 8080, two, 2);
	const char *names[] = {"timon-node-a", "timon-node-b"};
	for (int i = 0; i < 2; i++) {
		nft_batch b = {.table = names[i]};
		nft_batch_full(&b, &cfg);
		nft_batch_diff(&b, NULL, f);
		CHECK(apply(a, nft_batch_take(&b)) == 0);
	}
	/* A full sync of b (delete and re-add its table) and its removal. */
	nft_batch b = {.table = names[1]};
	nft_batch_full(&b, &cfg);
	CHECK(apply(a, nft_batch_take(&b)) == 0);
	CHECK(apply(a, nft_table_delete_text(names[1])) == 0);
	/* a's service is still there: deleting its chains and elements succeeds only if
	 * they exist. */
	nft_batch d = {.table = names[0]};
	nft_batch_diff(&d, f, NULL);
	CHECK(apply(a, nft_batch_take(&d)) == 0);
	CHECK(apply(a, nft_table_delete_text(names[0])) == 0);
	nft_frag_free(f);
}

/* A transaction with one bad command changes nothing. */
TEST(kernel_failed_batch_changes_nothing)
{
	nft_applier *a = private_netns();
	if (!a)
		return;
	const char *two[] = {"10.42.1.2", "10.42.2.2"};
	nft_frag *f = frag_of(CLUSTER, "http", 8080, two, 2);
	nft_batch b = {0};
	nft_batch_full(&b, &cfg);
	CHECK(apply(a, nft_batch_take(&b)) == 0);
	char *t = diff_text(NULL, f, NULL);
	char *bad =
	    xasprintf("%sdelete element inet timon service-ips { 10.43.9.9 . tcp . 1 }\n", t);
	free(t);
	terr *err = NULL;
	CHECK(nft_apply(a, bad, &err) < 0);
	CHECK(err && strstr(err->message, "nftables:"));
	terr_free(err);
	free(bad);
	/* The service's chains were not created: adding them now succeeds. */
	CHECK(apply(a, diff_text(NULL, f, NULL)) == 0);
	nft_frag_free(f);
	CHECK(apply(a, nft_table_delete_text(NULL)) == 0);
}
