#!/usr/bin/env bash
# build-images.sh — builds the walkthrough's two images from Debian packages, without a
# Docker daemon, and prints where their OCI image layouts are ("NAME LAYOUT" lines):
#   nginx             nginx-light serving Debian's welcome page on port 80, in the foreground
#   scikit-inference  python3 + Flask + scikit-learn + joblib, the seed's app.py in /app and
#                     a model.joblib trained at build time on scikit-learn's iris data set
#
# How: mmdebstrap (--variant=essential plus the packages, --mode=root) assembles each root
# filesystem from the configured Debian mirror, maintainer scripts and all; the model is
# trained inside it by the image's own python3 (a customize hook, so /proc and /dev are
# mounted); ocilayout.py tars the folder into one layer and writes the OCI layout. We use
# mmdebstrap rather than copying the host's installed files (dpkg -L over the dependency
# closure): the host has neither scikit-learn nor Flask installed, the result must not
# depend on what a CI machine happens to have, and mmdebstrap's cost is mostly the
# one-time download, which the .deb cache below removes from later builds.
#
# Caches, under $TIMON_E2E_CACHE (default /var/cache/timon-e2e), one lock for all runs:
#   debs/                   downloaded .deb files, reused by every build
#   NAME-ROOTKEY/rootfs     the root filesystem; ROOTKEY hashes the recipe below (suite,
#                           packages, hooks) and the files copied in (app.py, train.py)
#   NAME-ROOTKEY/layout-K   the OCI layout; K hashes ROOTKEY, the image config and ocilayout.py
# A warm run only checks the keys (about a second). Older entries of an image are removed
# when a new one is built. Needs root and mmdebstrap (scripts/install-deps).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${TIMON_E2E_CACHE:-/var/cache/timon-e2e}
MIRROR=${TIMON_E2E_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
PATHS="PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Left out of every image, as slim images do: documentation, and what scipy's hard
# dependency on pythran (a compiler: g++, headers, static libraries) brings along.
EXCLUDES=(/usr/share/man/'*' /usr/share/doc/'*' /usr/share/locale/'*' /usr/share/info/'*'
	/usr/include/'*' /usr/lib/gcc/'*' '/usr/lib/x86_64-linux-gnu/*.a' '/usr/lib/*/lib[atlu]san.so*')

hash_of() { sha256sum | cut -c1-16; }

# build NAME PACKAGES CONFIG HOOK...: ensures NAME's rootfs and layout; prints "NAME LAYOUT".
build() {
	local name=$1 pkgs=$2 config=$3
	shift 3
	local rootkey laykey dir layout h
	rootkey=$({
		echo "$SUITE essential $pkgs ${EXCLUDES[*]}"
		for h in "$@"; do echo "hook: $h"; done
		cat "$HERE/images/app.py" "$HERE/images/train.py"
	} | hash_of)
	dir=$CACHE/$name-$rootkey
	laykey=$({ echo "$rootkey $config"; cat "$HERE/ocilayout.py" "$HERE/../integration/mkimage.py"; } | hash_of)
	layout=$dir/layout-$laykey
	if [ ! -f "$dir/rootfs.done" ]; then
		echo "build-images: building $name's root filesystem from Debian packages ($pkgs)" >&2
		rm -rf "$dir"
		mkdir -p "$dir" "$CACHE/debs"
		local args=() start=$SECONDS
		for h in "${EXCLUDES[@]}"; do args+=(--dpkgopt="path-exclude=$h"); done
		for h in "$@"; do args+=(--customize-hook="$h"); done
		# The .deb cache: mmdebstrap's documented sync-in / sync-out hooks.
		mmdebstrap --mode=root --variant=essential --include="$pkgs" \
			--skip=download/empty --skip=essential/unlink \
			--setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
			--setup-hook="sync-in $CACHE/debs /var/cache/apt/archives/" \
			"${args[@]}" \
			--customize-hook="sync-out /var/cache/apt/archives $CACHE/debs" \
			--customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb' \
			"$SUITE" "$dir/rootfs" "$MIRROR" >"$dir/mmdebstrap.log" 2>&1 || {
			echo "build-images: mmdebstrap failed for $name:" >&2
			tail -n 20 "$dir/mmdebstrap.log" >&2
			rm -rf "$dir/rootfs"
			return 1
		}
		touch "$dir/rootfs.done"
		echo "build-images: $name's root filesystem took $((SECONDS - start)) s" >&2
		for old in "$CACHE/$name"-*; do
			[ "$old" = "$dir" ] || rm -rf "$old"
		done
	fi
	if [ ! -f "$layout/done" ]; then
		rm -rf "$dir"/layout-*
		python3 "$HERE/ocilayout.py" --rootfs "$dir/rootfs" --layout "$layout" --tag latest \
			--config "$config" >/dev/null
		touch "$layout/done"
	fi
	echo "$name $layout"
}

if [ "$(id -u)" -ne 0 ] || ! command -v mmdebstrap >/dev/null; then
	echo "build-images: needs root and mmdebstrap (scripts/install-deps)" >&2
	exit 1
fi
mkdir -p "$CACHE"
exec 9>"$CACHE/lock"
flock 9

build nginx nginx-light \
	'{"Cmd":["nginx","-g","daemon off;"],"Env":["'"$PATHS"'"],"ExposedPorts":{"80/tcp":{}},"StopSignal":"SIGQUIT"}' \
	'ln -sf /dev/stdout "$1"/var/log/nginx/access.log && ln -sf /dev/stderr "$1"/var/log/nginx/error.log'

build scikit-inference python3-flask,python3-sklearn,python3-joblib,python3-numpy,python-is-python3 \
	'{"Cmd":["python","app.py"],"WorkingDir":"/app","Env":["'"$PATHS"'","PYTHONUNBUFFERED=1"],"ExposedPorts":{"5000/tcp":{}}}' \
	"mkdir -p \"\$1\"/app && cp '$HERE/images/app.py' '$HERE/images/train.py' \"\$1\"/app/" \
	'find "$1"/usr/lib/python3/dist-packages -depth -type d -name tests -exec rm -rf {} +' \
	'chroot "$1" sh -c "cd /app && python3 train.py && rm train.py"'
