/* images.c — `timon images`: the node's image store by hand (air-gapped imports, checks):
 * pull, import, ls, inspect, rm, gc. Flags and printing only; the work is in
 * src/agent/image_*.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/image_pull.h"
#include "agent/image_registry.h"
#include "agent/image_store.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "cmd/cmd.h"

static const char usage[] =
    "Usage: timon images COMMAND [flags] [args]\n"
    "\n"
    "Manages the node's image store.\n"
    "\n"
    "Commands:\n"
    "  pull REF...          pull images from their registries (or mirrors)\n"
    "  import ARCHIVE...    import docker save or OCI image layout tarballs\n"
    "  ls                   list images (REPOSITORY TAG IMAGE ID SIZE)\n"
    "  inspect REF          print an image's record, config and overlay lowerdirs as JSON\n"
    "  rm REF|ID...         remove images, then their unreferenced blobs and layers\n"
    "  gc                   remove blobs and layers no image references\n"
    "\n"
    "Flags:\n"
    "  --root DIR               image store (default " IMAGE_STORE_DEFAULT_ROOT ")\n"
    "  --registry-config FILE   mirrors and registry settings, k3s format\n"
    "                           (default " IMAGE_REGISTRIES_DEFAULT_PATH ")\n"
    "  --auth-file FILE         credentials as a .dockerconfigjson (pull secrets)\n"
    "  --platform OS/ARCH[/V]   platform to pick from multi-arch images (default: this host)\n"
    "  --name REF               import: name for images the archive names by tag or not at all\n"
    "  -q, --quiet              ls: print image IDs only\n"
    "  -v, --verbose            log debug messages\n"
    "  -h, --help               show this help\n";

typedef struct opts {
	const char *root, *registry_config, *auth_file, *platform, *name;
	bool quiet;
} opts;

static int fail(terr *e)
{
	fprintf(stderr, "timon images: %s\n", e && e->message ? e->message : "failed");
	terr_free(e);
	return 1;
}

static int do_pull(image_store *s, const opts *o, int argc, char **argv)
{
	terr *err = NULL;
	image_registries *regs = image_registries_load(o->registry_config, &err);
	if (!regs)
		return fail(err);
	image_keyring *kr = image_keyring_new();
	int rc = 0;
	if (o->auth_file) {
		FILE *f = fopen(o->auth_file, "r");
		char data[1 << 16];
		size_t n = f ? fread(data, 1, sizeof data, f) : 0;
		if (f)
			fclose(f);
		if (!f) {
			fprintf(stderr, "timon images: cannot read %s\n", o->auth_file);
			rc = 1;
		} else if (image_keyring_add(kr, data, n, &err) < 0) {
			rc = fail(err);
		}
	}
	image_pull_opts po = {.registries = regs, .keyring = kr};
	_cleanup_free_ char *plat = xstrdup(o->platform);
	if (plat) {
		char *save = NULL;
		po.os = strtok_r(plat, "/", &save);
		po.arch = strtok_r(NULL, "/", &save);
		po.variant = strtok_r(NULL, "/", &save);
	}
	for (int i = 0; rc == 0 && i < argc; i++) {
		image_info img;
		if (image_pull(s, argv[i], &po, &img, &err) < 0) {
			rc = fail(err);
			err = NULL;
			break;
		}
		printf("pulled %s (%s)\n", argv[i], img.id);
		image_info_free(&img);
	}
	image_keyring_free(kr);
	image_registries_free(regs);
	return rc;
}

static int do_import(image_store *s, const opts *o, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		terr *err = NULL;
		image_info *imgs = NULL;
		size_t n = 0;
		if (image_import(s, argv[i], o->name, &imgs, &n, &err) < 0)
			return fail(err);
		for (size_t k = 0; k < n; k++)
			printf("imported %s (%s)\n", imgs[k].n_names ? imgs[k].names[0] : "<none>",
			       imgs[k].id);
		image_infos_free(imgs, n);
	}
	return 0;
}

/* "host/a/b:tag" -> repo "host/a/b", tag "tag". */
static void split_name(const char *name, char **repo, const char **tag)
{
	const char *slash = strrchr(name, '/');
	const char *colon = strrchr(slash ? slash : name, ':');
	*repo = colon ? xstrndup(name, (size_t)(colon - name)) : xstrdup(name);
	*tag = colon ? colon + 1 : "<none>";
}

static int do_ls(image_store *s, const opts *o)
{
	terr *err = NULL;
	image_info *imgs;
	size_t n;
	if (image_store_list(s, &imgs, &n, &err) < 0)
		return fail(err);
	/* Rows first, to size the columns. */
	size_t rows = 0, cap = 16, w[3] = {10, 3, 8};
	struct row {
		char *repo;
		const char *tag;
		char id[13];
		char size[16];
	} *v = xcalloc(cap, sizeof *v);
	for (size_t i = 0; i < n; i++) {
		size_t names = imgs[i].n_names ? imgs[i].n_names : 1;
		for (size_t k = 0; k < names; k++) {
			if (rows == cap)
				v = xrealloc(v, (cap *= 2) * sizeof *v);
			struct row *r = &v[rows++];
			if (imgs[i].n_names) {
				split_name(imgs[i].names[k], &r->repo, &r->tag);
			} else if (imgs[i].n_repo_digests) {
				const char *rd = imgs[i].repo_digests[0];
				const char *at = strchr(rd, '@');
				r->repo = at ? xstrndup(rd, (size_t)(at - rd)) : xstrdup(rd);
				r->tag = "<none>";
			} else {
				r->repo = xstrdup("<none>");
				r->tag = "<none>";
			}
			snprintf(r->id, sizeof r->id, "%.12s",
			         imgs[i].id && strlen(imgs[i].id) > 7 ? imgs[i].id + 7 : "?");
			image_size_human(imgs[i].size, r->size);
			if (strlen(r->repo) > w[0])
				w[0] = strlen(r->repo);
			if (strlen(r->tag) > w[1])
				w[1] = strlen(r->tag);
		}
	}
	if (!o->quiet)
		printf("%-*s   %-*s   %-*s   %s\n", (int)w[0], "REPOSITORY", (int)w[1], "TAG",
		       12, "IMAGE ID", "SIZE");
	for (size_t i = 0; i < rows; i++) {
		if (o->quiet)
			printf("%s\n", v[i].id);
		else
			printf("%-*s   %-*s   %-12s   %s\n", (int)w[0], v[i].repo, (int)w[1], v[i].tag,
			       v[i].id, v[i].size);
		free(v[i].repo);
	}
	free(v);
	image_infos_free(imgs, n);
	return 0;
}

static json_t *strv_json(char **v)
{
	if (!v)
		return json_null();
	json_t *a = json_array();
	for (size_t i = 0; v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static int do_inspect(image_store *s, const char *ref)
{
	terr *err = NULL;
	image_info img;
	if (image_store_find(s, ref, &img, &err) < 0)
		return fail(err);
	image_config cfg;
	char **dirs = NULL;
	if (image_store_config(s, &img, &cfg, &err) < 0 ||
	    image_rootfs_layers(s, &img, &dirs, NULL, &err) < 0) {
		image_info_free(&img);
		return fail(err);
	}
	json_t *names = json_array(), *rds = json_array(), *layers = json_array();
	for (size_t i = 0; i < img.n_names; i++)
		json_array_append_new(names, json_string(img.names[i]));
	for (size_t i = 0; i < img.n_repo_digests; i++)
		json_array_append_new(rds, json_string(img.repo_digests[i]));
	for (size_t i = 0; i < img.n_layers; i++)
		json_array_append_new(layers, json_pack("{s:s, s:s, s:I}", "digest",
		                                        img.layers[i].digest, "diffID",
		                                        img.layers[i].diff_id, "size",
		                                        (json_int_t)img.layers[i].size));
	json_t *config = json_pack(
	    "{s:o, s:o, s:o, s:s?, s:s?, s:o, s:s?, s:s?, s:s?}", "Entrypoint",
	    strv_json(cfg.entrypoint), "Cmd", strv_json(cfg.cmd), "Env", strv_json(cfg.env),
	    "WorkingDir", cfg.working_dir, "User", cfg.user, "ExposedPorts",
	    strv_json(cfg.exposed_ports), "StopSignal", cfg.stop_signal, "os", cfg.os,
	    "architecture", cfg.architecture);
	_cleanup_json_ json_t *j = json_pack(
	    "{s:s, s:s, s:s, s:I, s:o, s:o, s:o, s:o, s:o}", "id", img.id, "digest", img.digest,
	    "manifest", img.manifest, "size", (json_int_t)img.size, "names", names,
	    "repoDigests", rds, "layers", layers, "lowerdirs", strv_json(dirs), "config", config);
	_cleanup_free_ char *text = json_dumps(j, JSON_INDENT(2));
	puts(text);
	image_strv_free(dirs);
	image_config_free(&cfg);
	image_info_free(&img);
	return 0;
}

static int do_gc(image_store *s, bool nowait)
{
	terr *err = NULL;
	image_gc_stats st;
	int r = image_store_gc(s, nowait, &st, &err);
	if (r < 0)
		return fail(err);
	if (r == 1) {
		fprintf(stderr, "timon images: a pull is running; garbage collection skipped\n");
		return 0;
	}
	if (st.blobs_removed || st.layers_removed)
		printf("removed %zu blobs (%llu bytes) and %zu layers\n", st.blobs_removed,
		       (unsigned long long)st.bytes_removed, st.layers_removed);
	return 0;
}

static int do_rm(image_store *s, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		terr *err = NULL;
		if (image_store_remove(s, argv[i], &err) < 0)
			return fail(err);
		printf("Deleted: %s\n", argv[i]);
	}
	return do_gc(s, true);
}

int cmd_images(int argc, char **argv)
{
	opts o = {.root = IMAGE_STORE_DEFAULT_ROOT};
	enum { O_ROOT = 256, O_REGCFG, O_AUTH, O_PLATFORM, O_NAME };
	static const struct option lopts[] = {
	    {"root", required_argument, NULL, O_ROOT},
	    {"registry-config", required_argument, NULL, O_REGCFG},
	    {"auth-file", required_argument, NULL, O_AUTH},
	    {"platform", required_argument, NULL, O_PLATFORM},
	    {"name", required_argument, NULL, O_NAME},
	    {"quiet", no_argument, NULL, 'q'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "qvh", lopts, NULL)) != -1) {
		switch (c) {
		case O_ROOT: o.root = optarg; break;
		case O_REGCFG: o.registry_config = optarg; break;
		case O_AUTH: o.auth_file = optarg; break;
		case O_PLATFORM: o.platform = optarg; break;
		case O_NAME: o.name = optarg; break;
		case 'q': o.quiet = true; break;
		case 'v': log_level_max = LOG_DEBUG; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind >= argc) {
		fputs(usage, stderr);
		return 2;
	}
	const char *sub = argv[optind];
	int nargs = argc - optind - 1;
	char **args = argv + optind + 1;
	bool needs_args = str_eq(sub, "pull") || str_eq(sub, "import") || str_eq(sub, "rm") ||
	                  str_eq(sub, "inspect");
	bool known = needs_args || str_eq(sub, "ls") || str_eq(sub, "list") || str_eq(sub, "gc");
	if (!known) {
		fprintf(stderr, "timon images: unknown command \"%s\"\n\n%s", sub, usage);
		return 2;
	}
	if (needs_args && nargs == 0) {
		fprintf(stderr, "timon images %s: missing argument\n", sub);
		return 2;
	}
	terr *err = NULL;
	image_store *s = image_store_open(o.root, &err);
	if (!s)
		return fail(err);
	int rc;
	if (str_eq(sub, "pull"))
		rc = do_pull(s, &o, nargs, args);
	else if (str_eq(sub, "import"))
		rc = do_import(s, &o, nargs, args);
	else if (str_eq(sub, "rm"))
		rc = do_rm(s, nargs, args);
	else if (str_eq(sub, "inspect"))
		rc = do_inspect(s, args[0]);
	else if (str_eq(sub, "gc"))
		rc = do_gc(s, false);
	else
		rc = do_ls(s, &o);
	image_store_close(s);
	return rc;
}
