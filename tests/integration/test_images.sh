#!/usr/bin/env bash
# test_images.sh — the image service end to end, with no timon server: a local registry
# (Debian's docker-registry on 127.0.0.1), a test image built from busybox-static by
# mkimage.py and pushed with skopeo, then `timon images` pulls (anonymous, through a
# mirror, with Basic auth, with a bearer token), lists, inspects, imports OCI and docker
# save archives, removes, and catches damaged blobs. All traffic stays on 127.0.0.1; only
# the processes started here are stopped, by PID.
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
PIDS=()
MOUNTED=
images_cleanup() {
	[ -n "$MOUNTED" ] && umount "$MOUNTED" 2>/dev/null
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	cleanup
}
trap images_cleanup EXIT

for tool in docker-registry skopeo python3 curl; do
	if ! command -v "$tool" >/dev/null; then
		fail "tool $tool is installed (scripts/install-deps)"
		echo "$PASSED passed, $FAILED failed"
		exit 1
	fi
done

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_http URL: waits (at most 10 s) until URL answers at all.
wait_http() {
	for _ in $(seq 1 100); do
		curl -s -o /dev/null "$1" && return 0
		sleep 0.1
	done
	return 1
}

# start_registry PORT [AUTH_YAML]: a registry on 127.0.0.1:PORT over the shared storage.
start_registry() {
	local port=$1 auth=${2:-}
	cat >"$TMP/registry-$port.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $TMP/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
$auth
EOF
	docker-registry serve "$TMP/registry-$port.yml" >>"$TMP/registry-$port.log" 2>&1 &
	PIDS+=($!)
	wait_http "http://127.0.0.1:$port/v2/"
}

T() { "$TIMON" images "$@"; }

PORT=$(free_port)
REG=127.0.0.1:$PORT
R=$TMP/store
if start_registry "$PORT"; then pass "registry starts"; else fail "registry starts" "$(tail -5 "$TMP/registry-$PORT.log")"; fi

# The test image: an OCI layout, an OCI archive and a docker save archive of it.
check "test image builds" python3 "$HERE/mkimage.py" --layout "$TMP/layout" --tag 1 \
	--oci-archive "$TMP/oci.tar" --docker-archive "$TMP/docker.tar" --name test/dbox
check "skopeo pushes it" skopeo copy --quiet --dest-tls-verify=false \
	oci:"$TMP/layout":1 "docker://$REG/test/busybox:1"
check "skopeo pushes a second repository" skopeo copy --quiet --dest-tls-verify=false \
	oci:"$TMP/layout":1 "docker://$REG/test/corrupt:1"

# Pull, list, inspect.
NOCFG=(--registry-config "$TMP/none.yaml")
expect_out "pull" "pulled $REG/test/busybox:1 \(sha256:[0-9a-f]{64}\)" \
	T --root "$R" "${NOCFG[@]}" pull "$REG/test/busybox:1"
expect_out "ls shows the image" "^$REG/test/busybox +1 +[0-9a-f]{12} +1\.0[0-9]MB" \
	T --root "$R" ls
expect_out "ls has the header" "^REPOSITORY +TAG +IMAGE ID +SIZE" T --root "$R" ls
T --root "$R" inspect "$REG/test/busybox:1" >"$TMP/inspect.json" 2>&1
LOWER=$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["lowerdirs"]))' "$TMP/inspect.json")
read -r TOP BASE <<<"$LOWER"
check "the base layer has /bin/busybox" test -x "$BASE/bin/busybox"
expect_out "the unpacked busybox runs" "^unpacked-ok$" "$BASE/bin/busybox" echo unpacked-ok
check "symlinks are kept" test -L "$BASE/bin/sh"
check "hardlinks are kept" test "$BASE/bin/busybox" -ef "$BASE/bin/busybox-hard"
expect_out "modes and owners are kept" "^2750 1000:1000$" stat -c '%a %u:%g' "$BASE/home/user"
expect_out "the config is read" '"WorkingDir": "/home/user"' cat "$TMP/inspect.json"
expect_out "entrypoint and ports" '"8080/tcp"' cat "$TMP/inspect.json"
if [ "$(id -u)" -eq 0 ]; then
	expect_out "a whiteout becomes a 0/0 char device" "^character special file 0,0$" \
		stat -c '%F %t,%T' "$TOP/etc/removed.txt"
	mkdir -p "$TMP/mnt"
	if mount -t overlay overlay -o "lowerdir=${LOWER// /:}" "$TMP/mnt" 2>/dev/null; then
		MOUNTED=$TMP/mnt
		check_fails "overlay: the whited-out file is hidden" test -e "$TMP/mnt/etc/removed.txt"
		check_fails "overlay: the opaque folder hides the lower file" test -e "$TMP/mnt/etc/keep/a"
		check "overlay: the upper file is there" test -f "$TMP/mnt/etc/keep/b"
		expect_out "overlay: busybox runs in a chroot" "^chroot-ok$" \
			chroot "$TMP/mnt" /bin/sh -c 'echo chroot-ok'
		umount "$TMP/mnt" && MOUNTED=
	else
		echo "note: overlay mounts are not allowed here; skipped the mounted checks"
	fi
fi

expect_out "pulling again is fine" "pulled" T --root "$R" "${NOCFG[@]}" pull "$REG/test/busybox:1"
DIGEST=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["digest"])' "$TMP/inspect.json")
expect_out "pull by digest" "pulled" T --root "$R" "${NOCFG[@]}" pull "$REG/test/busybox@$DIGEST"
expect_out "find by digest reference" '"id"' T --root "$R" inspect "$REG/test/busybox@$DIGEST"
expect_out "one image listed" "^1$" bash -c "'$TIMON' images --root '$R' ls -q | sort -u | wc -l"
expect_err "a missing image carries the registry's answer" \
	"failed to pull \"$REG/nope:latest\": manifest unknown" \
	T --root "$R" "${NOCFG[@]}" pull "$REG/nope:latest"
expect_err "a bad reference is refused" "InvalidImageName|invalid image reference" \
	T --root "$R" pull "127.0.0.1:1/Test/UPPER"
expect_err "a closed port is a pull error" "failed to pull \"127.0.0.1:1/x:1\"" \
	T --root "$R" "${NOCFG[@]}" pull "127.0.0.1:1/x:1"

# A damaged blob in the store: reads catch it, and the next pull repairs it.
CONFIG=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"][7:])' "$TMP/inspect.json")
printf '{"damaged":true}' >"$R/blobs/sha256/$CONFIG"
expect_err "a damaged config blob is detected" "digest mismatch" \
	T --root "$R" inspect "$REG/test/busybox:1"
expect_out "pull repairs it" "pulled" T --root "$R" "${NOCFG[@]}" pull "$REG/test/busybox:1"
check "inspect works again" T --root "$R" inspect "$REG/test/busybox:1"
L2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][1]["digest"][7:])' "$TMP/inspect.json")
head -c 100 /dev/zero >"$R/blobs/sha256/$L2"
rm -rf "$TOP"
expect_out "a damaged layer blob is fetched again" "pulled" \
	T --root "$R" "${NOCFG[@]}" pull "$REG/test/busybox:1"
check "the layer is unpacked again" test -f "$TOP/hello.txt"

# Through a mirror: the image's registry (127.0.0.2:1) is closed; the mirror serves it.
cat >"$TMP/mirrors.yaml" <<EOF
mirrors:
  "127.0.0.2:1":
    endpoint:
      - "http://$REG"
EOF
expect_out "pull through a mirror" "pulled" \
	T --root "$TMP/store-mirror" --registry-config "$TMP/mirrors.yaml" pull 127.0.0.2:1/test/busybox:1
expect_out "the image keeps its own name" "^127\.0\.0\.2:1/test/busybox +1 " \
	T --root "$TMP/store-mirror" ls

# Basic auth (htpasswd) from a pull secret.
BPORT=$(free_port)
python3 -W ignore -c "import crypt; print('alice:' + crypt.crypt('s3cret', crypt.mksalt(crypt.METHOD_BLOWFISH)))" >"$TMP/htpasswd"
if start_registry "$BPORT" "auth:
  htpasswd:
    realm: test-realm
    path: $TMP/htpasswd"; then
	pass "a registry with Basic auth starts"
else
	fail "a registry with Basic auth starts" "$(tail -5 "$TMP/registry-$BPORT.log")"
fi
printf '{"auths":{"127.0.0.1:%s":{"auth":"%s"}}}' "$BPORT" "$(printf 'alice:s3cret' | base64)" >"$TMP/auth.json"
printf '{"auths":{"127.0.0.1:%s":{"username":"alice","password":"wrong"}}}' "$BPORT" >"$TMP/bad-auth.json"
expect_err "Basic: anonymous pulls are refused" "failed to pull .*: (authentication required|unauthorized)" \
	T --root "$TMP/store-basic" "${NOCFG[@]}" pull "127.0.0.1:$BPORT/test/busybox:1"
expect_err "Basic: a wrong password is refused" "failed to pull .*: (authentication required|unauthorized)" \
	T --root "$TMP/store-basic" "${NOCFG[@]}" --auth-file "$TMP/bad-auth.json" pull "127.0.0.1:$BPORT/test/busybox:1"
expect_out "Basic: the pull secret opens it" "pulled" \
	T --root "$TMP/store-basic" "${NOCFG[@]}" --auth-file "$TMP/auth.json" pull "127.0.0.1:$BPORT/test/busybox:1"

# Bearer tokens: a front that sends clients to its token realm.
TPORT=$(free_port)
python3 "$HERE/tokenproxy.py" "$TPORT" "$PORT" bob t0ken >"$TMP/tokenproxy.log" 2>&1 &
PIDS+=($!)
check "the token front starts" wait_http "http://127.0.0.1:$TPORT/v2/"
printf '{"auths":{"127.0.0.1:%s":{"username":"bob","password":"t0ken"}}}' "$TPORT" >"$TMP/tauth.json"
expect_err "Bearer: the token service refuses anonymous callers" "incorrect username or password" \
	T --root "$TMP/store-token" "${NOCFG[@]}" pull "127.0.0.1:$TPORT/test/busybox:1"
expect_out "Bearer: a token from the realm opens it" "pulled" \
	T --root "$TMP/store-token" "${NOCFG[@]}" --auth-file "$TMP/tauth.json" pull "127.0.0.1:$TPORT/test/busybox:1"

# Imports: an OCI archive (named with --name, as it only carries a tag) and docker save.
I=$TMP/store-import
expect_out "import an OCI archive" "imported example.com/imported/busybox:1" \
	T --root "$I" import --name example.com/imported/busybox "$TMP/oci.tar"
expect_out "import a docker save archive" "imported docker.io/test/dbox:1" \
	T --root "$I" import "$TMP/docker.tar"
# skopeo names an oci-archive:FILE:REF by REF, which may be a whole reference.
check "skopeo writes an OCI archive named by a reference" skopeo copy --quiet \
	oci:"$TMP/layout":1 oci-archive:"$TMP/named.tar":scratchy:2
expect_out "import names it by that reference, without --name" "imported docker.io/library/scratchy:2" \
	T --root "$TMP/store-named" import "$TMP/named.tar"
expect_out "imports are listed" "^example\.com/imported/busybox +1 " T --root "$I" ls
expect_out "docker save images are listed" "^docker\.io/test/dbox +1 " T --root "$I" ls
IL=$(T --root "$I" inspect example.com/imported/busybox:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["lowerdirs"][-1])')
check "the imported rootfs has /bin/busybox" test -x "$IL/bin/busybox"

# rm: the name goes, then the blobs and layers nothing else needs.
expect_out "rm" "Deleted: example.com/imported/busybox:1" \
	T --root "$I" rm example.com/imported/busybox:1
check_fails "rm removed it from ls" bash -c "'$TIMON' images --root '$I' ls | grep -q example.com"
expect_out "rm by ID" "Deleted" T --root "$I" rm "$CONFIG"
expect_out "nothing is left" "^0 0$" bash -c "echo \$(ls '$I/blobs/sha256' | wc -l) \$(ls '$I/layers' | wc -l)"
expect_err "rm of an unknown image" "not found" T --root "$I" rm example.com/imported/busybox:1

# A registry serving the wrong bytes: the pull fails and stores nothing.
BLOB=$(find "$TMP/registry" -path "*/blobs/sha256/*/$L2/data")
python3 - "$BLOB" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[-1] ^= 0xff
open(p, "wb").write(bytes(b))
EOF
expect_err "a blob that does not match its digest is refused" "failed to pull .*digest mismatch" \
	T --root "$TMP/store-bad" "${NOCFG[@]}" pull "$REG/test/corrupt:1"
check_fails "the bad blob was not stored" test -e "$TMP/store-bad/blobs/sha256/$L2"
check "no leftovers in tmp" test -z "$(ls "$TMP/store-bad/tmp")"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
