/* test_cni.c — pod networking through CNI plugins (src/agent/cni*.c).
 *
 * Three kinds of tests:
 * - pure: the generated configuration, capability arguments, CNI_ARGS, request
 *   configurations, result and error parsing;
 * - fake plugins: this binary doubles as a CNI plugin (a constructor takes over when
 *   CNI_COMMAND is set; symlinks named bridge/portmap/loopback point at it) that logs its
 *   environment and stdin and answers as told by files next to it — the execution
 *   protocol, chains, timeouts, and (as root) the sandbox lifecycle with namespaces;
 * - live_*: the real plugins in /usr/lib/cni, run only with TIMON_CNI_LIVE=1 as root
 *   (tests/integration/test_cni.sh). They run in a child with its own network and mount
 *   namespaces standing in for the node, so the bridge, veths, iptables rules and sysctls
 *   they create vanish with it; the host's own stack is never touched.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/cni-internal.h"
#include "agent/cni.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/util.h"
#include "test.h"

/* ---------------------------------------------------------------------------------------
 * The fake plugin
 * ------------------------------------------------------------------------------------ */

static char *slurp_fd(int fd)
{
	buf b = {0};
	char tmp[4096];
	for (;;) {
		ssize_t r = read(fd, tmp, sizeof tmp);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		buf_add(&b, tmp, (size_t)r);
	}
	if (!b.p)
		buf_puts(&b, "");
	return buf_take(&b);
}

static char *slurp(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *s = slurp_fd(fd);
	close(fd);
	return s;
}

static void spit(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, s, strlen(s)) < 0)
		perror("write");
	close(fd);
}

static void fake_say(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	if (write(1, s, strlen(s)) < 0)
		_exit(9);
	free(s);
}

/* Files in the plugin's folder steer it: sleep.<type> (seconds), fail.<type>.<CMD> (an
 * error result printed on stdout, exit 1), versions.<type> (supportedVersions JSON),
 * ip (the address ADD hands out). Every call appends a line to log.jsonl. */
__attribute__((constructor)) static void fake_plugin(void)
{
	const char *cmd = getenv("CNI_COMMAND");
	if (!cmd)
		return;
	char *self = xstrdup(program_invocation_name);
	char *type = xstrdup(basename(self));
	char *dir = xstrdup(dirname(self));
	char *in = str_eq(getenv("FAKE_NO_STDIN"), "1") ? xstrdup("") : slurp_fd(0);
	json_t *req = json_loads(in, 0, NULL);
	json_t *line =
	    json_pack("{ss ss ss* ss* ss* ss* ss* ss* so*}", "type", type, "cmd", cmd, "id",
	              getenv("CNI_CONTAINERID"), "netns", getenv("CNI_NETNS"), "ifname",
	              getenv("CNI_IFNAME"), "args", getenv("CNI_ARGS"), "cnipath",
	              getenv("CNI_PATH"), "path", getenv("PATH"), "stdin", json_incref(req));
	char *l = json_dumps(line, JSON_COMPACT);
	char *logp = xasprintf("%s/log.jsonl", dir);
	int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	char *nl = xasprintf("%s\n", l);
	if (fd < 0 || write(fd, nl, strlen(nl)) < 0)
		_exit(8);
	close(fd);
	char *p = xasprintf("%s/sleep.%s", dir, type);
	char *s = slurp(p);
	if (s)
		sleep((unsigned)atoi(s));
	p = xasprintf("%s/fail.%s.%s", dir, type, cmd);
	s = slurp(p);
	if (s) {
		if (write(1, s, strlen(s)) < 0)
			_exit(9);
		_exit(1);
	}
	if (strcmp(cmd, "VERSION") == 0) {
		s = slurp(xasprintf("%s/versions.%s", dir, type));
		json_t *v =
		    s ? json_loads(s, 0, NULL) : json_pack("[sss]", "0.4.0", "1.0.0", "1.1.0");
		fake_say(json_pack("{ss so}", "cniVersion", "1.0.0", "supportedVersions", v));
		_exit(0);
	}
	if (strcmp(cmd, "ADD") == 0) {
		json_t *prev = json_object_get(req, "prevResult");
		if (prev) {
			/* A chained plugin passes the result on, marking that it saw it. */
			json_t *dns = json_obj_child(prev, "dns");
			json_t *search = json_object_get(dns, "search");
			if (!search)
				json_object_set_new(dns, "search", search = json_array());
			json_array_append_new(search, json_string(type));
			fake_say(prev);
			_exit(0);
		}
		s = slurp(xasprintf("%s/ip", dir));
		const char *ns = getenv("CNI_NETNS");
		fake_say(json_pack("{ss s[{ss ss}{ss ss ss}] s[{ss ss si}]}", "cniVersion",
		                   json_string_value(json_object_get(req, "cniVersion")),
		                   "interfaces", "name", "vethfake", "mac", "aa:bb:cc:00:00:01",
		                   "name", "eth0", "mac", "02:42:ac:11:00:05", "sandbox",
		                   ns ? ns : "", "ips", "address", s ? s : "10.42.0.5/24",
		                   "gateway", "10.42.0.1", "interface", 1));
	}
	_exit(0);
}

/* A folder holding bridge, portmap and loopback as links to this binary. */
static char *fake_dir(void)
{
	char *d = xstrdup("/tmp/timon-test-cni.XXXXXX");
	if (!mkdtemp(d))
		abort();
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		abort();
	exe[n] = '\0';
	static const char *const types[] = {"bridge", "portmap", "loopback"};
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		_cleanup_free_ char *l = xasprintf("%s/%s", d, types[i]);
		if (symlink(exe, l) < 0)
			abort();
	}
	return d;
}

static void rm_rf(const char *d)
{
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", d);
	if (system(cmd) != 0)
		fprintf(stderr, "  cannot remove %s\n", d);
}

/* The calls logged by the fake plugins, in order (new reference). */
static json_t *fake_log(const char *dir)
{
	_cleanup_free_ char *p = xasprintf("%s/log.jsonl", dir);
	_cleanup_free_ char *s = slurp(p);
	json_t *arr = json_array();
	for (char *line = s, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		json_t *j = json_loads(line, 0, NULL);
		if (j)
			json_array_append_new(arr, j);
	}
	return arr;
}

static void fake_log_clear(const char *dir)
{
	_cleanup_free_ char *p = xasprintf("%s/log.jsonl", dir);
	unlink(p);
}

/* "type CMD" of each logged call, space-joined: "bridge ADD,portmap ADD". */
static char *fake_calls(const char *dir)
{
	_cleanup_json_ json_t *log = fake_log(dir);
	buf b = {0};
	size_t i;
	json_t *l;
	json_array_foreach(log, i, l)
	{
		const char *cmd = json_string_value(json_object_get(l, "cmd"));
		if (str_eq(cmd, "VERSION"))
			continue;
		buf_printf(&b, "%s%s %s", b.n ? "," : "",
		           json_string_value(json_object_get(l, "type")), cmd);
	}
	if (!b.p)
		buf_puts(&b, "");
	return buf_take(&b);
}

/* fake_calls without the "loopback ADD" calls, which run beside the rest of an ADD's
 * chain (so anywhere in the log); *n_lo gets how many there were. */
static char *fake_calls_lo(const char *dir, int *n_lo)
{
	_cleanup_free_ char *all = fake_calls(dir);
	buf b = {0};
	*n_lo = 0;
	char *save = NULL;
	for (char *t = strtok_r(all, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (str_eq(t, "loopback ADD"))
			(*n_lo)++;
		else
			buf_printf(&b, "%s%s", b.n ? "," : "", t);
	}
	if (!b.p)
		buf_puts(&b, "");
	return buf_take(&b);
}

/* ---------------------------------------------------------------------------------------
 * Pure tests
 * ------------------------------------------------------------------------------------ */

TEST(container_ids)
{
	CHECK(cni_id_valid("abc123"));
	CHECK(cni_id_valid("0f3a-b_c.d"));
	CHECK(!cni_id_valid(""));
	CHECK(!cni_id_valid(NULL));
	CHECK(!cni_id_valid("-abc"));
	CHECK(!cni_id_valid("a/b"));
	CHECK(!cni_id_valid("a b"));
	CHECK(!cni_id_valid(".."));
}

TEST(cidrs)
{
	CHECK_INT(cni_cidr_family("10.42.0.0/24", NULL), 4);
	CHECK_INT(cni_cidr_family("fd00:42::/64", NULL), 6);
	CHECK_INT(cni_cidr_family("10.42.0.0/30", NULL), 4);
	_cleanup_terr_ terr *e = NULL;
	CHECK_INT(cni_cidr_family("10.42.0.1/24", &e), -1);
	REQUIRE(e);
	CHECK_INT(e->code, 400);
	CHECK(strstr(e->message, "host bits") != NULL);
	CHECK_INT(cni_cidr_family("10.42.0.0/31", NULL), -1);
	CHECK_INT(cni_cidr_family("10.42.0.0", NULL), -1);
	CHECK_INT(cni_cidr_family("10.42.0.0/", NULL), -1);
	CHECK_INT(cni_cidr_family("10.42.0.0/33", NULL), -1);
	CHECK_INT(cni_cidr_family("10.42.0.0/2x", NULL), -1);
	CHECK_INT(cni_cidr_family("nonsense/24", NULL), -1);
	CHECK_INT(cni_cidr_family(NULL, NULL), -1);
}

/* A caller that masquerades itself turns the bridge plugin's ipMasq off. */
TEST(generated_config_without_ip_masq)
{
	cni_config cfg = {.no_ip_masq = true};
	_cleanup_json_ json_t *c = cni_conf_generate(&cfg, NULL, 0, "1.0.0", NULL);
	REQUIRE(c);
	json_t *br = json_array_get(json_object_get(c, "plugins"), 0);
	CHECK(json_is_false(json_object_get(br, "ipMasq")));
	CHECK(json_is_true(json_object_get(br, "isGateway")));
}

TEST(generated_config)
{
	cni_config cfg = {.state_dir = "/var/lib/x", .mtu = 1400};
	_cleanup_json_ json_t *c = cni_conf_generate(&cfg, NULL, 0, "1.0.0", NULL);
	REQUIRE(c);
	CHECK_STR(json_path_str(c, "cniVersion"), "1.0.0");
	CHECK_STR(json_path_str(c, "name"), "timon");
	json_t *plugins = json_object_get(c, "plugins");
	REQUIRE(json_array_size(plugins) == 3);
	json_t *br = json_array_get(plugins, 0);
	CHECK_STR(json_path_str(br, "type"), "bridge");
	CHECK_STR(json_path_str(br, "bridge"), "timon0");
	CHECK(json_is_true(json_object_get(br, "isGateway")));
	CHECK(json_is_true(json_object_get(br, "ipMasq")));
	CHECK(json_is_true(json_object_get(br, "hairpinMode")));
	CHECK_INT(json_integer_value(json_object_get(br, "mtu")), 1400);
	CHECK_STR(json_path_str(br, "ipam.type"), "host-local");
	CHECK_STR(json_path_str(br, "ipam.dataDir"), "/var/lib/x/cni/networks");
	json_t *r0 = json_array_get(json_array_get(json_path(br, "ipam.ranges"), 0), 0);
	CHECK_STR(json_path_str(r0, "subnet"), "10.42.0.0/24");
	CHECK_STR(json_path_str(json_array_get(json_path(br, "ipam.routes"), 0), "dst"),
	          "0.0.0.0/0");
	json_t *pm = json_array_get(plugins, 1);
	CHECK_STR(json_path_str(pm, "type"), "portmap");
	CHECK(json_is_true(json_path(pm, "capabilities.portMappings")));
	CHECK_STR(json_path_str(json_array_get(plugins, 2), "type"), "loopback");

	const char *dual[] = {"10.1.0.0/24", "fd00:1::/64"};
	cni_config cfg2 = {.bridge = "br9", .network = "n9"};
	_cleanup_json_ json_t *d = cni_conf_generate(&cfg2, dual, 2, "1.0.0", NULL);
	REQUIRE(d);
	CHECK_STR(json_path_str(d, "name"), "n9");
	br = json_array_get(json_object_get(d, "plugins"), 0);
	CHECK_STR(json_path_str(br, "bridge"), "br9");
	CHECK(json_object_get(br, "mtu") == NULL);
	CHECK(json_is_true(json_object_get(br, "ipMasq")));
	CHECK_STR(json_path_str(br, "ipam.dataDir"), CNI_DEFAULT_STATE_DIR "/cni/networks");
	CHECK_INT(json_array_size(json_path(br, "ipam.ranges")), 2);
	CHECK_STR(json_path_str(json_array_get(json_path(br, "ipam.routes"), 1), "dst"), "::/0");

	const char *two4[] = {"10.1.0.0/24", "10.2.0.0/24"};
	_cleanup_terr_ terr *e = NULL;
	CHECK(cni_conf_generate(&cfg2, two4, 2, "1.0.0", &e) == NULL);
	CHECK(e && e->code == 400);
	const char *bad[] = {"10.1.0.1/24"};
	CHECK(cni_conf_generate(&cfg2, bad, 1, "1.0.0", NULL) == NULL);
}

TEST(port_mappings_and_args)
{
	cni_port ports[] = {
	    {.host_port = 8080, .container_port = 80},
	    {.host_port = 5353, .container_port = 53, .protocol = "UDP", .host_ip = "127.0.0.1"},
	    {.host_port = 0, .container_port = 9000}, /* no hostPort: not mapped */
	    {.host_port = 70000, .container_port = 1},
	};
	cni_pod pod = {.namespace = "default",
	               .name = "web-0",
	               .uid = "1234-5678",
	               .sandbox_id = "sb1",
	               .ports = ports,
	               .n_ports = ARRAY_SIZE(ports)};
	_cleanup_json_ json_t *ra = cni_conf_runtime_args(&pod);
	json_t *maps = json_object_get(ra, "portMappings");
	REQUIRE(json_array_size(maps) == 2);
	json_t *m0 = json_array_get(maps, 0), *m1 = json_array_get(maps, 1);
	CHECK_INT(json_integer_value(json_object_get(m0, "hostPort")), 8080);
	CHECK_INT(json_integer_value(json_object_get(m0, "containerPort")), 80);
	CHECK_STR(json_path_str(m0, "protocol"), "tcp");
	CHECK(json_object_get(m0, "hostIP") == NULL);
	CHECK_STR(json_path_str(m1, "protocol"), "udp");
	CHECK_STR(json_path_str(m1, "hostIP"), "127.0.0.1");
	cni_pod none = {.sandbox_id = "x"};
	_cleanup_json_ json_t *ra2 = cni_conf_runtime_args(&none);
	CHECK_INT(json_object_size(ra2), 0);

	_cleanup_free_ char *a = cni_conf_args(&pod);
	CHECK_STR(a, "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;"
	             "K8S_POD_INFRA_CONTAINER_ID=sb1;K8S_POD_UID=1234-5678");
	cni_pod odd = {.namespace = "a;b", .name = "n=1", .sandbox_id = "sb"};
	_cleanup_free_ char *b = cni_conf_args(&odd);
	CHECK_STR(b, "IgnoreUnknown=1;K8S_POD_INFRA_CONTAINER_ID=sb");
}

TEST(request_config)
{
	_cleanup_json_ json_t *net = json_pack(
	    "{ss ss s[{ss s{sb sb} ss}]}", "cniVersion", "1.0.0", "name", "timon", "plugins",
	    "type", "portmap", "capabilities", "portMappings", 1, "bandwidth", 0, "keep", "me");
	json_t *plugin = json_array_get(json_object_get(net, "plugins"), 0);
	_cleanup_json_ json_t *rargs = json_pack("{s[{si}] s{si} s[]}", "portMappings", "hostPort",
	                                         1, "bandwidth", "rate", 5, "ips");
	_cleanup_json_ json_t *prev = json_pack("{ss}", "cniVersion", "1.0.0");
	_cleanup_json_ json_t *req = cni_request_config(net, plugin, rargs, prev);
	CHECK_STR(json_path_str(req, "cniVersion"), "1.0.0");
	CHECK_STR(json_path_str(req, "name"), "timon");
	CHECK_STR(json_path_str(req, "keep"), "me");
	CHECK(json_object_get(req, "capabilities") == NULL);
	/* only capabilities the plugin declares true, and the runtime provides */
	CHECK(json_is_array(json_path(req, "runtimeConfig.portMappings")));
	CHECK(json_path(req, "runtimeConfig.bandwidth") == NULL);
	CHECK(json_path(req, "runtimeConfig.ips") == NULL);
	CHECK(json_equal(json_object_get(req, "prevResult"), prev));
	/* the plugin object itself is untouched */
	CHECK(json_object_get(plugin, "capabilities") != NULL);
	CHECK(json_object_get(plugin, "runtimeConfig") == NULL);

	_cleanup_json_ json_t *empty = json_object();
	_cleanup_json_ json_t *req2 = cni_request_config(net, plugin, empty, NULL);
	CHECK(json_object_get(req2, "runtimeConfig") == NULL);
	CHECK(json_object_get(req2, "prevResult") == NULL);
}

TEST(results)
{
	/* A bridge result: the host veth, the pod's eth0, one address on eth0. */
	const char *r10 =
	    "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"timon0\",\"mac\":\"aa:aa:aa:"
	    "aa:aa:aa\"},{\"name\":\"veth1\",\"mac\":\"bb:bb:bb:bb:bb:bb\"},{\"name\":\"eth0\","
	    "\"mac\":\"02:00:00:00:00:07\",\"sandbox\":\"/run/timon/netns/x\"}],\"ips\":[{"
	    "\"address\":\"fd00::7/64\",\"gateway\":\"fd00::1\",\"interface\":2},{\"address\":"
	    "\"10.42.0.7/24\",\"gateway\":\"10.42.0.1\",\"interface\":2},{\"address\":\"10.9."
	    "9.9/24\",\"interface\":0}],\"dns\":{}}";
	_cleanup_json_ json_t *j = json_loads(r10, 0, NULL);
	REQUIRE(j);
	cni_result r = {0};
	REQUIRE(cni_conf_parse_result(j, "/run/timon/netns/x", &r, NULL) == 0);
	REQUIRE(r.n_ips == 2);
	CHECK_STR(r.ips[0], "10.42.0.7"); /* IPv4 first, the host-side address left out */
	CHECK_STR(r.gateways[0], "10.42.0.1");
	CHECK_STR(r.ips[1], "fd00::7");
	CHECK_STR(r.mac, "02:00:00:00:00:07");
	CHECK_STR(r.netns_path, "/run/timon/netns/x");
	CHECK(r.raw && strstr(r.raw, "10.42.0.7/24"));
	cni_result_free(&r);
	CHECK(r.ips == NULL && r.n_ips == 0);

	/* 0.4.0 shape (ips carry "version"); an IPAM-style result without interfaces. */
	const char *r04 = "{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"4\",\"address\":"
	                  "\"10.1.0.3/16\"}]}";
	_cleanup_json_ json_t *k = json_loads(r04, 0, NULL);
	cni_result r2 = {0};
	REQUIRE(cni_conf_parse_result(k, NULL, &r2, NULL) == 0);
	REQUIRE(r2.n_ips == 1);
	CHECK_STR(r2.ips[0], "10.1.0.3");
	CHECK_STR(r2.gateways[0], "");
	CHECK(r2.mac == NULL);
	cni_result_free(&r2);

	_cleanup_json_ json_t *none = json_pack("{ss s[]}", "cniVersion", "1.0.0", "ips");
	cni_result r3 = {0};
	_cleanup_terr_ terr *e = NULL;
	CHECK(cni_conf_parse_result(none, NULL, &r3, &e) < 0);
	CHECK(e && e->code == 500);
	cni_result_free(&r3);
}

TEST(plugin_errors)
{
	{
		_cleanup_terr_ terr *e = NULL;
		cni_plugin_error("bridge", "ADD", 1,
		                 "{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":\"Invalid "
		                 "Configuration\",\"details\":\"Network too small\"}",
		                 "", &e);
		REQUIRE(e);
		CHECK_INT(e->code, 500);
		CHECK_STR(e->message, "CNI plugin bridge ADD failed: Invalid Configuration: "
		                      "Network too small (code 7)");
	}
	{
		_cleanup_terr_ terr *e = NULL;
		cni_plugin_error("host-local", "ADD", 1, "", "{\"code\":11,\"msg\":\"busy\"}", &e);
		REQUIRE(e);
		CHECK_INT(e->code, 503);
		CHECK_INT(e->retry_after, 1);
		CHECK(strstr(e->message, "busy (code 11)") != NULL);
	}
	{
		_cleanup_terr_ terr *e = NULL;
		cni_plugin_error("portmap", "DEL", 2, "", "iptables: not found\n\n", &e);
		REQUIRE(e);
		CHECK_STR(e->message,
		          "CNI plugin portmap DEL failed (exit 2): iptables: not found");
	}
	{
		_cleanup_terr_ terr *e = NULL;
		cni_plugin_error("x", "CHECK", -9, "", "", &e);
		REQUIRE(e);
		CHECK_STR(e->message, "CNI plugin x CHECK failed (killed by signal 9)");
	}
}

/* ---------------------------------------------------------------------------------------
 * The execution protocol, with fake plugins
 * ------------------------------------------------------------------------------------ */

static json_t *test_netconf(void)
{
	cni_config cfg = {.state_dir = "/tmp/none"};
	return cni_conf_generate(&cfg, NULL, 0, "1.0.0", NULL);
}

TEST(plugin_lookup)
{
	char *d = fake_dir();
	_cleanup_free_ char *dirs = xasprintf("/nonexistent:%s", d);
	_cleanup_free_ char *p = cni_plugin_find(dirs, "bridge");
	_cleanup_free_ char *want = xasprintf("%s/bridge", d);
	CHECK_STR(p, want);
	CHECK(cni_plugin_find(dirs, "nope") == NULL);
	CHECK(cni_plugin_find(dirs, "../bridge") == NULL);
	CHECK(cni_plugin_find(dirs, "") == NULL);
	_cleanup_free_ char *log = xasprintf("%s/log.jsonl", d); /* not executable */
	spit(log, "");
	CHECK(cni_plugin_find(d, "log.jsonl") == NULL);
	rm_rf(d);
	free(d);
}

TEST(exec_environment_and_stdin)
{
	char *d = fake_dir();
	cni_call call = {.command = "ADD",
	                 .container_id = "sb-1",
	                 .netns = "/run/timon/netns/sb-1",
	                 .ifname = "eth0",
	                 .args = "IgnoreUnknown=1;K8S_POD_NAME=p",
	                 .plugin_dirs = d};
	_cleanup_json_ json_t *out = NULL;
	const char *in = "{\"cniVersion\":\"1.0.0\",\"name\":\"timon\",\"type\":\"bridge\"}";
	REQUIRE(cni_exec_plugin(&call, "bridge", in, &out, NULL) == 0);
	REQUIRE(out);
	CHECK_STR(json_path_str(json_array_get(json_object_get(out, "ips"), 0), "address"),
	          "10.42.0.5/24");
	_cleanup_json_ json_t *log = fake_log(d);
	REQUIRE(json_array_size(log) == 1);
	json_t *l = json_array_get(log, 0);
	CHECK_STR(json_path_str(l, "cmd"), "ADD");
	CHECK_STR(json_path_str(l, "id"), "sb-1");
	CHECK_STR(json_path_str(l, "netns"), "/run/timon/netns/sb-1");
	CHECK_STR(json_path_str(l, "ifname"), "eth0");
	CHECK_STR(json_path_str(l, "args"), "IgnoreUnknown=1;K8S_POD_NAME=p");
	CHECK_STR(json_path_str(l, "cnipath"), d);
	CHECK(strstr(json_path_str(l, "path"), "/usr/sbin") != NULL);
	CHECK_STR(json_path_str(l, "stdin.type"), "bridge");

	/* DEL without a namespace: no CNI_NETNS at all; empty stdout is no result. */
	cni_call del = call;
	del.command = "DEL";
	del.netns = NULL;
	_cleanup_json_ json_t *out2 = NULL;
	REQUIRE(cni_exec_plugin(&del, "bridge", in, &out2, NULL) == 0);
	CHECK(out2 == NULL);
	_cleanup_json_ json_t *log2 = fake_log(d);
	CHECK(json_object_get(json_array_get(log2, 1), "netns") == NULL);
	rm_rf(d);
	free(d);
}

TEST(exec_failures)
{
	char *d = fake_dir();
	cni_call call = {.command = "ADD",
	                 .container_id = "c",
	                 .netns = "/x",
	                 .ifname = "eth0",
	                 .plugin_dirs = d,
	                 .timeout_ms = 700};
	{
		_cleanup_terr_ terr *e = NULL;
		json_t *out = NULL;
		CHECK(cni_exec_plugin(&call, "nope", "{}", &out, &e) < 0);
		CHECK(e && strstr(e->message, "\"nope\" not found"));
	}
	{
		_cleanup_free_ char *f = xasprintf("%s/fail.bridge.ADD", d);
		spit(f, "{\"code\":7,\"msg\":\"bad\",\"details\":\"very bad\"}");
		_cleanup_terr_ terr *e = NULL;
		json_t *out = NULL;
		CHECK(cni_exec_plugin(&call, "bridge", "{}", &out, &e) < 0);
		CHECK(e && strstr(e->message, "bridge ADD failed: bad: very bad (code 7)"));
		unlink(f);
	}
	{
		/* A plugin that hangs is killed at the deadline. */
		_cleanup_free_ char *f = xasprintf("%s/sleep.portmap", d);
		spit(f, "30");
		_cleanup_terr_ terr *e = NULL;
		json_t *out = NULL;
		int64_t t0 = time_mono_ns();
		CHECK(cni_exec_plugin(&call, "portmap", "{}", &out, &e) < 0);
		int64_t ms = (time_mono_ns() - t0) / 1000000;
		CHECK(ms >= 600 && ms < 5000);
		CHECK(e && strstr(e->message, "timed out"));
		unlink(f);
	}
	{
		/* A plugin that never reads a large stdin must not hurt the caller (SIGPIPE). */
		setenv("FAKE_NO_STDIN", "1", 1);
		size_t n = 4u << 20;
		char *big = xmalloc(n + 1);
		memset(big, ' ', n);
		big[0] = '{';
		big[n - 1] = '}';
		big[n] = '\0';
		json_t *out = NULL;
		_cleanup_terr_ terr *e = NULL;
		call.command = "DEL";
		CHECK(cni_exec_plugin(&call, "loopback", big, &out, &e) == 0);
		unsetenv("FAKE_NO_STDIN");
		free(big);
	}
	rm_rf(d);
	free(d);
}

TEST(exec_chain)
{
	char *d = fake_dir();
	_cleanup_json_ json_t *net = test_netconf();
	cni_port ports[] = {{.host_port = 8080, .container_port = 80}};
	cni_pod pod = {.sandbox_id = "s", .ports = ports, .n_ports = 1};
	_cleanup_json_ json_t *rargs = cni_conf_runtime_args(&pod);
	cni_call call = {.command = "ADD",
	                 .container_id = "s",
	                 .netns = "/x",
	                 .ifname = "eth0",
	                 .plugin_dirs = d};
	_cleanup_json_ json_t *res = NULL;
	REQUIRE(cni_exec_chain(&call, net, rargs, NULL, &res, NULL) == 0);
	REQUIRE(res);
	/* each chained plugin saw the previous result and passed it on */
	json_t *search = json_path(res, "dns.search");
	/* (loopback ran beside them, on its own: its result is not the chain's) */
	REQUIRE(json_array_size(search) == 1);
	CHECK_STR(json_string_value(json_array_get(search, 0)), "portmap");
	int n_lo = 0;
	_cleanup_free_ char *calls = fake_calls_lo(d, &n_lo);
	CHECK_STR(calls, "bridge ADD,portmap ADD");
	CHECK_INT(n_lo, 1);
	_cleanup_json_ json_t *log = fake_log(d);
	json_t *b = NULL, *p = NULL, *lo = NULL;
	for (size_t i = 0; i < json_array_size(log); i++) {
		json_t *l = json_array_get(log, i);
		const char *type = json_string_value(json_object_get(l, "type"));
		if (str_eq(type, "bridge"))
			b = l;
		else if (str_eq(type, "portmap"))
			p = l;
		else if (str_eq(type, "loopback"))
			lo = l;
	}
	REQUIRE(b && p && lo);
	CHECK(json_path(lo, "stdin.prevResult") == NULL);
	CHECK(json_path(b, "stdin.prevResult") == NULL);
	CHECK(json_path(b, "stdin.runtimeConfig") == NULL); /* bridge declares no capability */
	CHECK_STR(json_path_str(p, "stdin.name"), "timon");
	CHECK_STR(json_path_str(p, "stdin.cniVersion"), "1.0.0");
	CHECK(json_path(p, "stdin.capabilities") == NULL);
	CHECK_INT(
	    json_integer_value(json_object_get(
	        json_array_get(json_path(p, "stdin.runtimeConfig.portMappings"), 0), "hostPort")),
	    8080);
	CHECK_STR(json_path_str(json_array_get(json_path(p, "stdin.prevResult.ips"), 0), "address"),
	          "10.42.0.5/24");

	/* DEL: reverse order, every plugin given the final ADD result */
	fake_log_clear(d);
	call.command = "DEL";
	REQUIRE(cni_exec_chain(&call, net, rargs, res, NULL, NULL) == 0);
	_cleanup_free_ char *dcalls = fake_calls(d);
	CHECK_STR(dcalls, "loopback DEL,portmap DEL,bridge DEL");
	_cleanup_json_ json_t *dlog = fake_log(d);
	for (size_t i = 0; i < json_array_size(dlog); i++)
		CHECK(json_equal(json_path(json_array_get(dlog, i), "stdin.prevResult"), res));

	/* CHECK: in order, stops at the first failure */
	fake_log_clear(d);
	call.command = "CHECK";
	_cleanup_free_ char *f = xasprintf("%s/fail.portmap.CHECK", d);
	spit(f, "{\"code\":100,\"msg\":\"rule missing\"}");
	_cleanup_terr_ terr *e = NULL;
	CHECK(cni_exec_chain(&call, net, rargs, res, NULL, &e) < 0);
	CHECK(e && strstr(e->message, "portmap CHECK failed: rule missing"));
	_cleanup_free_ char *ccalls = fake_calls(d);
	CHECK_STR(ccalls, "bridge CHECK,portmap CHECK");

	/* portmap before 1.3.0 fails CHECK on the IPv6 rules of an IPv4-only pod: ignored
	 * then, not when the pod has an IPv6 address */
	spit(f, "{\"code\":999,\"msg\":\"could not check ipv6 dnat: chain CNI-DN-1 not found\"}");
	CHECK(cni_exec_chain(&call, net, rargs, res, NULL, NULL) == 0);
	_cleanup_json_ json_t *res6 = json_deep_copy(res);
	json_array_append_new(json_object_get(res6, "ips"),
	                      json_pack("{ss si}", "address", "fd00::5/64", "interface", 1));
	CHECK(cni_exec_chain(&call, net, rargs, res6, NULL, NULL) < 0);
	unlink(f);

	/* disableCheck: no CHECK at all */
	fake_log_clear(d);
	json_object_set_new(net, "disableCheck", json_true());
	CHECK(cni_exec_chain(&call, net, rargs, res, NULL, NULL) == 0);
	_cleanup_free_ char *none = fake_calls(d);
	CHECK_STR(none, "");
	rm_rf(d);
	free(d);
}

TEST(version_pick)
{
	char *d = fake_dir();
	_cleanup_json_ json_t *net = test_netconf();
	cni_call call = {.plugin_dirs = d};
	CHECK_STR(cni_exec_pick_version(&call, net, NULL), "1.1.0");
	_cleanup_free_ char *v = xasprintf("%s/versions.portmap", d);
	spit(v, "[\"0.3.1\",\"0.4.0\",\"1.0.0\"]");
	CHECK_STR(cni_exec_pick_version(&call, net, NULL), "1.0.0");
	spit(v, "[\"0.3.0\",\"0.3.1\"]");
	_cleanup_terr_ terr *e = NULL;
	CHECK(cni_exec_pick_version(&call, net, &e) == NULL);
	CHECK(e != NULL);
	rm_rf(d);
	free(d);
}

/* ---------------------------------------------------------------------------------------
 * Sandboxes (root): each body runs in a child with its own network and mount namespaces
 * ------------------------------------------------------------------------------------ */

static char *sh_out(const char *cmd);

static bool is_root(void)
{
	return geteuid() == 0;
}

/* Runs body in a child that stands in for the node: new network and mount namespaces
 * (mounts private, a sysfs of its own), loopback up. 0 when the body passed. */
static int isolated(void (*body)(int *test_failed_))
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (unshare(CLONE_NEWNS | CLONE_NEWNET) < 0) {
			perror("unshare");
			_exit(2);
		}
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("sysfs", "/sys", "sysfs", 0, NULL) < 0) {
			perror("mount");
			_exit(3);
		}
		if (system("ip link set lo up") != 0)
			_exit(4);
		int failed = 0;
		body(&failed);
		fflush(stdout);
		fflush(stderr);
		_exit(failed ? 1 : 0);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status))
		fprintf(stderr, "  isolated body killed by signal %d\n", WTERMSIG(status));
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static void body_netns(int *test_failed_)
{
	char *d = xstrdup("/tmp/timon-test-cni.XXXXXX");
	REQUIRE(mkdtemp(d));
	_cleanup_free_ char *dir = xasprintf("%s/netns", d);
	_cleanup_free_ char *p = xasprintf("%s/a", dir);
	CHECK(!cni_netns_live(p));
	REQUIRE(cni_netns_create(dir, p, NULL) == 0);
	CHECK(cni_netns_live(p));
	_cleanup_terr_ terr *e = NULL;
	CHECK(cni_netns_create(dir, p, &e) < 0);
	CHECK(e && e->code == 409);
	/* a fresh namespace has lo only; the node's interfaces are not in it */
	char *show[] = {"ip", "link", "show", "lo", NULL};
	CHECK_INT(cni_netns_run(p, show, 5000, NULL), 0);
	CHECK(system("ip link add tmnode0 type veth peer name tmnode1") == 0);
	char *show2[] = {"ip", "link", "show", "tmnode0", NULL};
	CHECK(cni_netns_run(p, show2, 5000, NULL) != 0);
	/* a stand-in interface with the result's in-sandbox addresses */
	_cleanup_json_ json_t *res = json_loads(
	    "{\"interfaces\":[{\"name\":\"v\"},{\"name\":\"eth0\",\"sandbox\":\"x\"}],\"ips\":[{"
	    "\"address\":\"10.42.0.9/24\",\"interface\":1},{\"address\":\"10.9.0.1/24\","
	    "\"interface\":0}]}",
	    0, NULL);
	CHECK_INT(cni_netns_ensure_iface(p, "eth0", res, NULL), 1);
	CHECK_INT(cni_netns_ensure_iface(p, "eth0", res, NULL), 0);
	char *addr[] = {"sh", "-c",
	                "ip -o addr show dev eth0 | grep -q 10.42.0.9/24 && "
	                "! ip -o addr show dev eth0 | grep -q 10.9.0.1",
	                NULL};
	CHECK_INT(cni_netns_run(p, addr, 5000, NULL), 0);
	CHECK(cni_netns_remove(p, NULL) == 0);
	CHECK(!exists(p));
	CHECK(cni_netns_remove(p, NULL) == 0); /* idempotent */
	umount2(dir, MNT_DETACH);
	rm_rf(d);
	free(d);
}

TEST(netns_lifecycle)
{
	if (!is_root()) {
		fprintf(stderr, "  skipped: needs root\n");
		return;
	}
	CHECK_INT(isolated(body_netns), 0);
}

static void body_sandbox_fake(int *test_failed_)
{
	char *d = fake_dir();
	_cleanup_free_ char *state = xasprintf("%s/state", d);
	_cleanup_free_ char *nsdir = xasprintf("%s/netns", d);
	cni_config cfg = {.state_dir = state, .netns_dir = nsdir, .plugin_dirs = d};
	cni_port ports[] = {{.host_port = 8080, .container_port = 80}};
	cni_pod pod = {.namespace = "ns1",
	               .name = "p1",
	               .uid = "u1",
	               .sandbox_id = "sb-a",
	               .ports = ports,
	               .n_ports = 1};
	_cleanup_free_ char *nspath = cni_netns_path(&cfg, "sb-a");
	_cleanup_free_ char *cache = xasprintf("%s/cni/results/sb-a.json", state);

	cni_result r = {0};
	REQUIRE(cni_setup(&cfg, &pod, &r, NULL) == 0);
	CHECK(!r.readopted);
	REQUIRE(r.n_ips == 1);
	CHECK_STR(r.ips[0], "10.42.0.5");
	CHECK_STR(r.netns_path, nspath);
	CHECK_STR(r.mac, "02:42:ac:11:00:05");
	CHECK(cni_netns_live(nspath));
	CHECK(exists(cache));
	int n_lo = 0;
	_cleanup_free_ char *calls = fake_calls_lo(d, &n_lo);
	CHECK_STR(calls, "bridge ADD,portmap ADD");
	CHECK_INT(n_lo, 1);
	_cleanup_json_ json_t *log = fake_log(d);
	json_t *add = NULL; /* the bridge's ADD (its VERSION probe comes first) */
	for (size_t i = 0; i < json_array_size(log) && !add; i++)
		if (str_eq(json_path_str(json_array_get(log, i), "type"), "bridge") &&
		    str_eq(json_path_str(json_array_get(log, i), "cmd"), "ADD"))
			add = json_array_get(log, i);
	REQUIRE(add);
	CHECK_STR(json_path_str(add, "args"), "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;"
	                                      "K8S_POD_NAME=p1;K8S_POD_INFRA_CONTAINER_ID=sb-a;"
	                                      "K8S_POD_UID=u1");
	CHECK_STR(json_path_str(add, "stdin.cniVersion"), "1.1.0");
	CHECK_STR(json_path_str(add, "netns"), nspath);
	cni_result_free(&r);

	/* an agent restart: setup again re-adopts with CHECK, same address */
	fake_log_clear(d);
	REQUIRE(cni_setup(&cfg, &pod, &r, NULL) == 0);
	CHECK(r.readopted);
	CHECK(r.n_ips == 1 && str_eq(r.ips[0], "10.42.0.5"));
	cni_result_free(&r);
	_cleanup_free_ char *calls2 = fake_calls(d);
	CHECK_STR(calls2, "bridge CHECK,portmap CHECK,loopback CHECK");
	CHECK(cni_check(&cfg, "sb-a", &r, NULL) == 0);
	CHECK(r.readopted && r.n_ips == 1);
	cni_result_free(&r);
	char **ids = NULL;
	size_t n = 0;
	CHECK(cni_list(&cfg, &ids, &n, NULL) == 0);
	CHECK(n == 1 && str_eq(ids[0], "sb-a"));
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);

	/* a failing CHECK is an error, and setup does not hide it */
	_cleanup_free_ char *fc = xasprintf("%s/fail.bridge.CHECK", d);
	spit(fc, "{\"code\":100,\"msg\":\"eth0 missing\"}");
	_cleanup_terr_ terr *ce = NULL;
	CHECK(cni_setup(&cfg, &pod, &r, &ce) < 0);
	CHECK(ce && strstr(ce->message, "eth0 missing"));
	unlink(fc);

	/* a failing DEL keeps the namespace and the cache, so teardown can be retried */
	cni_pod bare = {.sandbox_id = "sb-a"};
	_cleanup_free_ char *fd = xasprintf("%s/fail.bridge.DEL", d);
	spit(fd, "{\"code\":100,\"msg\":\"busy\"}");
	_cleanup_terr_ terr *de = NULL;
	CHECK(cni_teardown(&cfg, &bare, &de) < 0);
	CHECK(de && strstr(de->message, "bridge DEL failed: busy"));
	CHECK(cni_netns_live(nspath));
	CHECK(exists(cache));
	unlink(fd);

	/* teardown: DEL in reverse with the cached configuration and prevResult */
	fake_log_clear(d);
	REQUIRE(cni_teardown(&cfg, &bare, NULL) == 0);
	_cleanup_free_ char *calls3 = fake_calls(d);
	CHECK_STR(calls3, "loopback DEL,portmap DEL,bridge DEL");
	_cleanup_json_ json_t *dlog = fake_log(d);
	json_t *pm = NULL;
	for (size_t i = 0; i < json_array_size(dlog); i++)
		if (str_eq(json_path_str(json_array_get(dlog, i), "type"), "portmap"))
			pm = json_array_get(dlog, i);
	CHECK(json_array_size(json_path(pm, "stdin.runtimeConfig.portMappings")) == 1);
	CHECK(json_path(pm, "stdin.prevResult.ips") != NULL);
	CHECK(!exists(nspath));
	CHECK(!exists(cache));
	_cleanup_terr_ terr *nf = NULL;
	CHECK(cni_check(&cfg, "sb-a", NULL, &nf) < 0);
	CHECK(nf && nf->code == 404);

	/* teardown again: DEL without namespace or prevResult, still fine */
	fake_log_clear(d);
	CHECK(cni_teardown(&cfg, &bare, NULL) == 0);
	_cleanup_json_ json_t *dlog2 = fake_log(d);
	CHECK(json_array_size(dlog2) >= 3);
	for (size_t i = 0; i < json_array_size(dlog2); i++) {
		json_t *l = json_array_get(dlog2, i);
		if (!str_eq(json_path_str(l, "cmd"), "DEL"))
			continue;
		CHECK(json_object_get(l, "netns") == NULL);
		CHECK(json_path(l, "stdin.prevResult") == NULL);
	}

	/* a failed ADD is undone: DEL runs, no namespace and no cache stay */
	_cleanup_free_ char *fa = xasprintf("%s/fail.portmap.ADD", d);
	spit(fa, "{\"code\":100,\"msg\":\"no iptables\"}");
	fake_log_clear(d);
	_cleanup_terr_ terr *ae = NULL;
	CHECK(cni_setup(&cfg, &pod, &r, &ae) < 0);
	CHECK(ae && strstr(ae->message, "no iptables"));
	CHECK(r.n_ips == 0);
	_cleanup_free_ char *calls4 = fake_calls_lo(d, &n_lo);
	CHECK_STR(calls4, "bridge ADD,portmap ADD,loopback DEL,portmap DEL,bridge DEL");
	CHECK_INT(n_lo, 1);
	CHECK(!exists(nspath));
	CHECK(!exists(cache));
	unlink(fa);

	/* the namespace vanished under a cached sandbox: DEL (with a stand-in eth0 so the
	 * masquerade rule can be found), then a new namespace and ADD */
	REQUIRE(cni_setup(&cfg, &pod, &r, NULL) == 0);
	cni_result_free(&r);
	CHECK(cni_netns_remove(nspath, NULL) == 0);
	fake_log_clear(d);
	REQUIRE(cni_setup(&cfg, &pod, &r, NULL) == 0);
	CHECK(!r.readopted);
	cni_result_free(&r);
	_cleanup_free_ char *calls5 = fake_calls_lo(d, &n_lo);
	CHECK_STR(calls5, "loopback DEL,portmap DEL,bridge DEL,bridge ADD,portmap ADD");
	CHECK_INT(n_lo, 1);
	_cleanup_json_ json_t *vlog = fake_log(d);
	CHECK_STR(json_path_str(json_array_get(vlog, 0), "netns"), nspath); /* the stub */
	CHECK(cni_netns_live(nspath));

	/* a namespace without a cache (a crash before the result was written): DEL, then
	 * ADD in the same namespace */
	CHECK(unlink(cache) == 0);
	fake_log_clear(d);
	REQUIRE(cni_setup(&cfg, &pod, &r, NULL) == 0);
	cni_result_free(&r);
	_cleanup_free_ char *calls6 = fake_calls_lo(d, &n_lo);
	CHECK_STR(calls6, "loopback DEL,portmap DEL,bridge DEL,bridge ADD,portmap ADD");
	CHECK_INT(n_lo, 1);
	CHECK(cni_teardown(&cfg, &bare, NULL) == 0);
	CHECK(!exists(nspath));

	/* a pod without host ports is wired without portmap, and undone the way it was
	 * wired (the cached list); a namespace made beforehand (cni_netns_prepare, for
	 * containers created meanwhile) is used as it is, with no DEL first */
	cni_pod plain = {.namespace = "ns1", .name = "p2", .uid = "u2", .sandbox_id = "sb-b"};
	_cleanup_free_ char *nspath_b = cni_netns_path(&cfg, "sb-b");
	bool made = false;
	REQUIRE(cni_netns_prepare(&cfg, "sb-b", &made, NULL) == 0);
	CHECK(made);
	CHECK(cni_netns_live(nspath_b));
	plain.netns_fresh = made;
	fake_log_clear(d);
	REQUIRE(cni_setup(&cfg, &plain, &r, NULL) == 0);
	CHECK(!r.readopted);
	cni_result_free(&r);
	_cleanup_free_ char *calls7 = fake_calls_lo(d, &n_lo);
	CHECK_STR(calls7, "bridge ADD");
	CHECK_INT(n_lo, 1);
	REQUIRE(cni_netns_prepare(&cfg, "sb-b", &made, NULL) == 0);
	CHECK(!made); /* it exists */
	fake_log_clear(d);
	cni_pod bare_b = {.sandbox_id = "sb-b"};
	CHECK(cni_teardown(&cfg, &bare_b, NULL) == 0);
	_cleanup_free_ char *calls8 = fake_calls(d);
	CHECK_STR(calls8, "loopback DEL,bridge DEL");
	CHECK(!exists(nspath_b));

	_cleanup_terr_ terr *ie = NULL;
	cni_pod badid = {.sandbox_id = "../etc"};
	CHECK(cni_setup(&cfg, &badid, &r, &ie) < 0);
	CHECK(ie && ie->code == 400);
	umount2(nsdir, MNT_DETACH);
	rm_rf(d);
	free(d);
}

struct worker {
	cni_config *cfg;
	char id[32];
	int failures;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	for (int round = 0; round < 3; round++) {
		cni_pod pod = {.sandbox_id = w->id};
		cni_result r = {0};
		if (cni_setup(w->cfg, &pod, &r, NULL) < 0 || r.n_ips != 1)
			w->failures++;
		cni_result_free(&r);
		if (cni_teardown(w->cfg, &pod, NULL) < 0)
			w->failures++;
	}
	return NULL;
}

/* Worker threads call in at once: distinct sandboxes in parallel, one sandbox from two
 * threads (serialized), and nothing left afterwards. */
static void body_threads(int *test_failed_)
{
	char *d = fake_dir();
	_cleanup_free_ char *state = xasprintf("%s/state", d);
	_cleanup_free_ char *nsdir = xasprintf("%s/netns", d);
	cni_config cfg = {.state_dir = state, .netns_dir = nsdir, .plugin_dirs = d};
	struct worker w[10];
	pthread_t t[10];
	for (int i = 0; i < 10; i++) {
		w[i] = (struct worker){.cfg = &cfg};
		snprintf(w[i].id, sizeof w[i].id, "sb-%d", i < 8 ? i : 99);
		REQUIRE(pthread_create(&t[i], NULL, worker_run, &w[i]) == 0);
	}
	for (int i = 0; i < 10; i++) {
		pthread_join(t[i], NULL);
		CHECK_INT(w[i].failures, 0);
	}
	char **ids = NULL;
	size_t n = 9;
	CHECK(cni_list(&cfg, &ids, &n, NULL) == 0);
	CHECK_INT(n, 0);
	free(ids);
	_cleanup_free_ char *ls = xasprintf("ls -A '%s'", nsdir);
	_cleanup_free_ char *left = sh_out(ls);
	CHECK_STR(left, "");
	umount2(nsdir, MNT_DETACH);
	rm_rf(d);
	free(d);
}

TEST(sandbox_threads)
{
	if (!is_root()) {
		fprintf(stderr, "  skipped: needs root\n");
		return;
	}
	CHECK_INT(isolated(body_threads), 0);
}

TEST(sandbox_lifecycle_fake_plugins)
{
	if (!is_root()) {
		fprintf(stderr, "  skipped: needs root\n");
		return;
	}
	CHECK_INT(isolated(body_sandbox_fake), 0);
}

/* ---------------------------------------------------------------------------------------
 * Live: the real plugins (TIMON_CNI_LIVE=1, root)
 * ------------------------------------------------------------------------------------ */

#define LIVE_PLUGINS "/usr/lib/cni"
#define NODE_IP      "192.0.2.1" /* TEST-NET-1, on an interface of the stand-in node */
#define EXT_IP       "192.0.2.2" /* an outside client, at the other end of that interface */

static bool live_enabled(void)
{
	if (!str_eq(getenv("TIMON_CNI_LIVE"), "1")) {
		fprintf(stderr,
		        "  skipped: set TIMON_CNI_LIVE=1 (tests/integration/test_cni.sh)\n");
		return false;
	}
	_cleanup_free_ char *b = cni_plugin_find(LIVE_PLUGINS, "bridge");
	if (!is_root() || !b) {
		fprintf(stderr, "  skipped: needs root and %s/bridge\n", LIVE_PLUGINS);
		return false;
	}
	return true;
}

/* Output of a shell command (new string, "" on failure). */
static char *sh_out(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	if (!f)
		return xstrdup("");
	char *s = slurp_fd(fileno(f));
	pclose(f);
	return s;
}

static int count_lines(const char *cmd, const char *needle)
{
	_cleanup_free_ char *s = sh_out(cmd);
	int n = 0;
	for (char *p = s; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void enter_netns(const char *path)
{
	if (!path)
		return;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
		_exit(90);
	close(fd);
}

/* A TCP server inside the namespace (NULL: the node) on ip:port that answers every
 * connection with reply (NULL: with the client's address and a newline). Returns its pid
 * once it listens, or -1. */
static pid_t serve(const char *netns, const char *ip, int port, const char *reply)
{
	int ready[2];
	if (pipe(ready) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(ready[0]);
		enter_netns(netns);
		int s = socket(AF_INET, SOCK_STREAM, 0);
		int one = 1;
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		inet_pton(AF_INET, ip, &a.sin_addr);
		if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 16) < 0)
			_exit(91);
		if (write(ready[1], "r", 1) != 1)
			_exit(92);
		close(ready[1]);
		for (;;) {
			struct sockaddr_in peer;
			socklen_t plen = sizeof peer;
			int c = accept(s, (struct sockaddr *)&peer, &plen);
			if (c < 0)
				continue;
			char who[INET_ADDRSTRLEN + 2] = "";
			if (!reply) {
				inet_ntop(AF_INET, &peer.sin_addr, who, INET_ADDRSTRLEN);
				strcat(who, "\n");
			}
			const char *say = reply ? reply : who;
			if (write(c, say, strlen(say)) < 0)
				perror("write");
			close(c);
		}
	}
	close(ready[1]);
	struct pollfd pf = {.fd = ready[0], .events = POLLIN};
	char b = 0;
	bool ok = poll(&pf, 1, 5000) == 1 && read(ready[0], &b, 1) == 1;
	close(ready[0]);
	if (!ok) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

static void stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/* Connects from the namespace (NULL: the node) to ip:port and returns what the server
 * said (new string), or NULL when it could not connect within two seconds. */
static char *ask(const char *netns, const char *ip, int port)
{
	int out[2];
	if (pipe(out) < 0)
		return NULL;
	pid_t pid = fork();
	if (pid == 0) {
		close(out[0]);
		enter_netns(netns);
		int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		inet_pton(AF_INET, ip, &a.sin_addr);
		if (connect(s, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS)
			_exit(1);
		struct pollfd pf = {.fd = s, .events = POLLIN};
		if (poll(&pf, 1, 2000) != 1)
			_exit(2);
		char b[256];
		ssize_t n = read(s, b, sizeof b);
		if (n <= 0)
			_exit(3);
		if (write(out[1], b, (size_t)n) != n)
			_exit(4);
		_exit(0);
	}
	close(out[1]);
	char *s = slurp_fd(out[0]);
	close(out[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !*s) {
		free(s);
		return NULL;
	}
	return s;
}

static bool answers(const char *netns, const char *ip, int port, const char *want)
{
	_cleanup_free_ char *got = ask(netns, ip, port);
	if (!str_eq(got, want)) {
		fprintf(stderr, "    %s -> %s:%d: got \"%s\", want \"%s\"\n",
		        netns ? netns : "node", ip, port, got ? got : "(no connection)", want);
		return false;
	}
	return true;
}

static bool in_pod_cidr(const char *ip)
{
	struct in_addr a;
	if (inet_pton(AF_INET, ip, &a) != 1)
		return false;
	uint32_t h = ntohl(a.s_addr);
	return (h & 0xffffff00u) == 0x0a2a0000u && (h & 0xff) > 1 && (h & 0xff) < 255;
}

static void live_node(void)
{
	/* The stand-in node's own address, like eth0 on a real node. */
	if (system("ip link add node0 type veth peer name node1 && ip addr add " NODE_IP
	           "/24 dev node0 && ip link set node0 up && ip link set node1 up") != 0)
		_exit(5);
}

static char *live_tmp(cni_config *cfg)
{
	char *d = xstrdup("/tmp/timon-test-cni-live.XXXXXX");
	if (!mkdtemp(d))
		_exit(6);
	cfg->state_dir = xasprintf("%s/state", d);
	cfg->netns_dir = xasprintf("%s/netns", d);
	cfg->plugin_dirs = LIVE_PLUGINS;
	cfg->timeout_ms = 30000;
	return d;
}

static void live_done(cni_config *cfg, char *d)
{
	umount2(cfg->netns_dir, MNT_DETACH);
	free((char *)cfg->state_dir);
	free((char *)cfg->netns_dir);
	rm_rf(d);
	free(d);
}

#define NAT "iptables-save -t nat"

static void live_pods(int *test_failed_, cni_config cfg)
{
	cni_port ports[] = {{.host_port = 18080, .container_port = 8080, .protocol = "TCP"}};
	cni_pod a = {.namespace = "default",
	             .name = "a",
	             .uid = "ua",
	             .sandbox_id = "sandbox-a",
	             .ports = ports,
	             .n_ports = 1};
	cni_pod b = {.namespace = "default", .name = "b", .uid = "ub", .sandbox_id = "sandbox-b"};
	cni_result ra = {0}, rb = {0};
	_cleanup_terr_ terr *e = NULL;
	if (cni_setup(&cfg, &a, &ra, &e) < 0 || cni_setup(&cfg, &b, &rb, &e) < 0) {
		fprintf(stderr, "    setup: %s\n", e ? e->message : "?");
		CHECK(!"setup of two pods");
		cni_result_free(&ra);
		return;
	}
	REQUIRE(ra.n_ips == 1 && rb.n_ips == 1);
	fprintf(stderr, "    pod a %s, pod b %s\n", ra.ips[0], rb.ips[0]);
	CHECK(in_pod_cidr(ra.ips[0]) && in_pod_cidr(rb.ips[0]));
	CHECK(!str_eq(ra.ips[0], rb.ips[0]));
	CHECK_STR(ra.gateways[0], "10.42.0.1");
	/* the bridge masquerades each pod (a rule keyed by its ID) and maps a's hostPort */
	CHECK(count_lines(NAT, "sandbox-a") >= 2);
	CHECK(count_lines(NAT, "sandbox-b") >= 1);
	CHECK(count_lines(NAT, "--dport 18080") >= 1);
	/* what the plugins set on the node: forwarding, and localnet routing for 127.0.0.1 */
	_cleanup_free_ char *fwd = slurp("/proc/sys/net/ipv4/ip_forward");
	_cleanup_free_ char *lnet = slurp("/proc/sys/net/ipv4/conf/timon0/route_localnet");
	CHECK_STR(fwd, "1\n");
	CHECK_STR(lnet, "1\n");

	pid_t sa = serve(ra.netns_path, ra.ips[0], 8080, "pong-a\n");
	pid_t sb = serve(rb.netns_path, rb.ips[0], 8080, "pong-b\n");
	CHECK(sa > 0 && sb > 0);
	/* pod to pod over the bridge, both ways */
	CHECK(answers(rb.netns_path, ra.ips[0], 8080, "pong-a\n"));
	CHECK(answers(ra.netns_path, rb.ips[0], 8080, "pong-b\n"));
	/* the node reaches pod IPs */
	CHECK(answers(NULL, ra.ips[0], 8080, "pong-a\n"));
	/* hostPort: the node's own address, localhost, and from another pod (hairpin
	 * through the node) */
	CHECK(answers(NULL, NODE_IP, 18080, "pong-a\n"));
	CHECK(answers(NULL, "127.0.0.1", 18080, "pong-a\n"));
	CHECK(answers(rb.netns_path, NODE_IP, 18080, "pong-a\n"));
	/* an outside client reaches the hostPort through the node's address; a pod reaches
	 * the outside masqueraded as the node (ipMasq) */
	_cleanup_free_ char *ext = xasprintf("%s/ext-client", cfg.netns_dir);
	REQUIRE(cni_netns_create(cfg.netns_dir, ext, NULL) == 0);
	_cleanup_free_ char *mv = xasprintf("ip link set node1 netns '%s'", ext);
	CHECK(system(mv) == 0);
	char *up[] = {"sh", "-c",
	              "ip link set lo up && ip link set node1 up && "
	              "ip addr add " EXT_IP "/24 dev node1",
	              NULL};
	CHECK_INT(cni_netns_run(ext, up, 5000, NULL), 0);
	CHECK(answers(ext, NODE_IP, 18080, "pong-a\n"));
	pid_t se = serve(ext, EXT_IP, 7000, NULL);
	CHECK(se > 0 && answers(ra.netns_path, EXT_IP, 7000, NODE_IP "\n"));
	stop(se);
	/* a pod's loopback is up (the loopback plugin) */
	pid_t sl = serve(ra.netns_path, "127.0.0.1", 9000, "lo-a\n");
	CHECK(sl > 0 && answers(ra.netns_path, "127.0.0.1", 9000, "lo-a\n"));
	stop(sl);

	/* re-adoption after a restart: CHECK passes, setup answers the same address */
	cni_result again = {0};
	_cleanup_terr_ terr *ke = NULL;
	CHECK(cni_check(&cfg, "sandbox-a", NULL, &ke) == 0);
	if (ke)
		fprintf(stderr, "    CHECK: %s\n", ke->message);
	CHECK(cni_setup(&cfg, &a, &again, NULL) == 0);
	CHECK(again.readopted && again.n_ips == 1 && str_eq(again.ips[0], ra.ips[0]));
	cni_result_free(&again);

	/* teardown of a releases its address and removes its rules */
	_cleanup_free_ char *ipfile =
	    xasprintf("%s/cni/networks/timon/%s", cfg.state_dir, ra.ips[0]);
	CHECK(exists(ipfile));
	stop(sa);
	sa = -1;
	CHECK(cni_teardown(&cfg, &a, NULL) == 0);
	CHECK(!exists(ipfile));
	CHECK(!exists(ra.netns_path));
	CHECK_INT(count_lines(NAT, "sandbox-a"), 0);
	CHECK_INT(count_lines(NAT, "--dport 18080"), 0);
	CHECK(ask(NULL, NODE_IP, 18080) == NULL);
	CHECK(cni_teardown(&cfg, &a, NULL) == 0);          /* idempotent */
	CHECK(answers(NULL, rb.ips[0], 8080, "pong-b\n")); /* b unaffected */

	/* b's eth0 is deleted behind our back: CHECK fails; teardown still removes b's
	 * masquerade rule (a stand-in eth0 carries its address for the bridge plugin) */
	stop(sb);
	sb = -1;
	char *del[] = {"ip", "link", "del", "eth0", NULL};
	CHECK_INT(cni_netns_run(rb.netns_path, del, 5000, NULL), 0);
	_cleanup_terr_ terr *ce = NULL;
	CHECK(cni_check(&cfg, "sandbox-b", NULL, &ce) < 0);
	if (ce)
		fprintf(stderr, "    CHECK after eth0 removal: %s\n", ce->message);
	CHECK(cni_teardown(&cfg, &b, NULL) == 0);
	CHECK_INT(count_lines(NAT, "sandbox-b"), 0);

	/* a pod whose namespace vanished (unmounted, as after a crash) is still cleaned up */
	cni_pod c = {.namespace = "default",
	             .name = "c",
	             .sandbox_id = "sandbox-c",
	             .ports = ports,
	             .n_ports = 1};
	cni_result rc = {0};
	REQUIRE(cni_setup(&cfg, &c, &rc, NULL) == 0);
	CHECK(count_lines(NAT, "sandbox-c") >= 2);
	CHECK(cni_netns_remove(rc.netns_path, NULL) == 0);
	CHECK(cni_teardown(&cfg, &c, NULL) == 0);
	CHECK_INT(count_lines(NAT, "sandbox-c"), 0);
	_cleanup_free_ char *cfile =
	    xasprintf("%s/cni/networks/timon/%s", cfg.state_dir, rc.ips[0]);
	CHECK(!exists(cfile));
	cni_result_free(&rc);

	/* nothing of the pods is left on the node: no veth on the bridge, no per-pod chain */
	CHECK_INT(count_lines("ip -o link show master timon0", "veth"), 0);
	CHECK_INT(count_lines(NAT, "CNI-DN-"), 0);
	CHECK_INT(count_lines(NAT, "id: \""), 0);
	CHECK(cni_netns_remove(ext, NULL) == 0);
	_cleanup_free_ char *lscmd = xasprintf("ls -A '%s'", cfg.netns_dir);
	_cleanup_free_ char *left = sh_out(lscmd);
	CHECK_STR(left, "");
	char **ids = NULL;
	size_t n = 0;
	CHECK(cni_list(&cfg, &ids, &n, NULL) == 0 && n == 0);
	free(ids);
	stop(sa);
	stop(sb);
	cni_result_free(&ra);
	cni_result_free(&rb);
}

static void body_live_pods(int *test_failed_)
{
	live_node();
	cni_config cfg = {0};
	char *d = live_tmp(&cfg);
	live_pods(test_failed_, cfg);
	live_done(&cfg, d);
}

TEST(live_pods_talk_and_clean_up)
{
	if (!live_enabled())
		return;
	CHECK_INT(isolated(body_live_pods), 0);
}

static void body_live_reuse(int *test_failed_)
{
	live_node();
	cni_config cfg = {0};
	char *d = live_tmp(&cfg);
	/* a /30 holds one pod: .1 is the bridge's, .2 the only pod address */
	const char *tiny[] = {"10.42.9.0/30"};
	cni_pod x = {.sandbox_id = "sandbox-x", .pod_cidrs = tiny, .n_pod_cidrs = 1};
	cni_pod y = {.sandbox_id = "sandbox-y", .pod_cidrs = tiny, .n_pod_cidrs = 1};
	cni_result rx = {0}, ry = {0};
	_cleanup_terr_ terr *e = NULL;
	REQUIRE(cni_setup(&cfg, &x, &rx, NULL) == 0);
	CHECK_STR(rx.ips[0], "10.42.9.2");
	/* the range is full: setup fails and leaves nothing behind */
	CHECK(cni_setup(&cfg, &y, &ry, &e) < 0);
	if (e)
		fprintf(stderr, "    full range: %s\n", e->message);
	_cleanup_free_ char *ypath = cni_netns_path(&cfg, "sandbox-y");
	CHECK(!exists(ypath));
	CHECK_INT(count_lines(NAT, "sandbox-y"), 0);
	CHECK_INT(count_lines("ip -o link show master timon0", "veth"), 1);
	/* teardown releases .2, and the next pod gets it */
	CHECK(cni_teardown(&cfg, &x, NULL) == 0);
	REQUIRE(cni_setup(&cfg, &y, &ry, NULL) == 0);
	CHECK_STR(ry.ips[0], "10.42.9.2");
	CHECK(cni_teardown(&cfg, &y, NULL) == 0);
	CHECK_INT(count_lines(NAT, "id: \""), 0);
	CHECK_INT(count_lines("ip -o link show master timon0", "veth"), 0);
	cni_result_free(&rx);
	cni_result_free(&ry);
	live_done(&cfg, d);
}

TEST(live_ip_released_and_reused)
{
	if (!live_enabled())
		return;
	CHECK_INT(isolated(body_live_reuse), 0);
}
