#!/usr/bin/env bash
# test_controllers_jobs.sh — the Job, TTL-after-finished and CronJob controllers against the
# real kubectl. No kubelet runs (--disable-agent), so the test plays the kubelet: it sets pod
# phases (and exit codes) through the pods/status subresource, as a node agent would.
. "$(dirname "$0")/lib.sh"

start_server || { echo "0 passed, 1 failed"; exit 1; }
W=$TMP/work
mkdir -p "$W"

# wait_out NAME PATTERN SECONDS CMD...: passes once CMD's output matches the ERE.
wait_out() {
	local name=$1 pat=$2 secs=$3
	shift 3
	local out deadline=$((SECONDS + secs))
	while :; do
		out=$("$@" 2>&1)
		if echo "$out" | grep -Eq -- "$pat"; then pass "$name"; return 0; fi
		if [ $SECONDS -ge $deadline ]; then
			fail "$name" "command: $*" "wanted /$pat/ within ${secs}s" "$(echo "$out" | tail -n 12)"
			return 1
		fi
		sleep 0.2
	done
}

# set_phase POD PHASE [EXIT_CODE]: what a kubelet reports when the pod's container ends.
set_phase() {
	local pod=$1 phase=$2 code=${3:-}
	local patch="{\"status\":{\"phase\":\"$phase\"}}"
	if [ -n "$code" ]; then
		patch="{\"status\":{\"phase\":\"$phase\",\"containerStatuses\":[{\"name\":\"main\",\"image\":\"busybox\",\"imageID\":\"\",\"ready\":false,\"restartCount\":0,\"state\":{\"terminated\":{\"exitCode\":$code,\"reason\":\"Error\",\"startedAt\":\"2025-01-01T00:00:00Z\",\"finishedAt\":\"2025-01-01T00:00:01Z\"}}}]}}"
	fi
	kubectl patch pod "$pod" --subresource=status --type=merge -p "$patch" >/dev/null
}

pods_of() { kubectl get pods -l "job-name=$1" -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}'; }
jpath() { kubectl get "$1" -o jsonpath="$2"; }

# --- CronJobs first: their schedules run while the Job checks below take their time ---
expect_out "create cronjob every minute" 'cronjob.batch/every created' \
	kubectl create cronjob every --image=busybox --schedule='* * * * *' -- true
cat >"$W/berlin.yaml" <<'YAML'
apiVersion: batch/v1
kind: CronJob
metadata:
  name: berlin
spec:
  schedule: "* * * * *"
  timeZone: Europe/Berlin
  concurrencyPolicy: Forbid
  jobTemplate:
    metadata:
      labels:
        team: night
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: main
            image: busybox
YAML
expect_out "create cronjob with a time zone" 'cronjob.batch/berlin created' kubectl apply -f "$W/berlin.yaml"
expect_out "get cronjob shows schedule and zone" 'berlin +\* \* \* \* \* +Europe/Berlin +False +0' kubectl get cronjob berlin
expect_out "create job from cronjob" 'job.batch/by-hand created' kubectl create job by-hand --from=cronjob/every
wait_out "manual job from the cronjob runs a pod" '^by-hand-[a-z0-9]{5}$' 10 pods_of by-hand
expect_out "manual job is owned by the cronjob" '^CronJob/every$' \
	jpath job/by-hand '{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}'

# --- an Indexed Job: each index once ---
cat >"$W/indexed.yaml" <<'YAML'
apiVersion: batch/v1
kind: Job
metadata:
  name: idx
spec:
  completions: 3
  parallelism: 3
  completionMode: Indexed
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
        command: ["sh", "-c", "echo $JOB_COMPLETION_INDEX"]
YAML
expect_out "create indexed job" 'job.batch/idx created' kubectl apply -f "$W/indexed.yaml"
wait_out "three indexed pods, named <job>-<index>-<random>" \
	'^idx-0-[a-z0-9]{5} idx-1-[a-z0-9]{5} idx-2-[a-z0-9]{5}$' 10 \
	sh -c "kubectl get pods -l job-name=idx -o jsonpath='{.items[*].metadata.name}' | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ \$//'"
expect_out "index annotation and label on each pod" '^0=0 1=1 2=2 $' \
	sh -c "kubectl get pods -l job-name=idx -o jsonpath='{range .items[*]}{.metadata.annotations.batch\.kubernetes\.io/job-completion-index}={.metadata.labels.batch\.kubernetes\.io/job-completion-index} {end}' | tr ' ' '\n' | sort | tr '\n' ' '"
expect_out "JOB_COMPLETION_INDEX env in every pod spec" \
	'^(JOB_COMPLETION_INDEX=metadata\.annotations\[.batch\.kubernetes\.io/job-completion-index.\] ){3}$' \
	kubectl get pods -l job-name=idx -o jsonpath='{range .items[*]}{.spec.containers[0].env[0].name}={.spec.containers[0].env[0].valueFrom.fieldRef.fieldPath} {end}'
expect_out "indexed pods get hostnames <job>-<index>" '^idx-0 idx-1 idx-2 $' \
	sh -c "kubectl get pods -l job-name=idx -o jsonpath='{range .items[*]}{.spec.hostname} {end}' | tr ' ' '\n' | sort | tr '\n' ' '"
expect_out "pods carry the job-tracking finalizer" '^(batch.kubernetes.io/job-tracking ){3}$' \
	kubectl get pods -l job-name=idx -o jsonpath='{range .items[*]}{.metadata.finalizers[0]} {end}'
wait_out "status counts three active" '^3$' 5 jpath job/idx '{.status.active}'
for p in $(pods_of idx); do set_phase "$p" Succeeded; done
check "indexed job completes" kubectl wait --for=condition=complete job/idx --timeout=20s
expect_out "completedIndexes lists each index once" '^0-2 3$' jpath job/idx '{.status.completedIndexes} {.status.succeeded}'
expect_out "SuccessCriteriaMet then Complete, reason CompletionsReached" \
	'^SuccessCriteriaMet=CompletionsReached Complete=CompletionsReached $' \
	jpath job/idx '{range .status.conditions[*]}{.type}={.reason} {end}'
expect_out "get job shows Complete 3/3" '^idx +Complete +3/3 ' kubectl get job idx
expect_out "finalizers removed once counted" '^$' \
	kubectl get pods -l job-name=idx -o jsonpath='{range .items[*]}{.metadata.finalizers}{end}'
expect_out "completionTime set, nothing left uncounted" '^[0-9T:-]+Z \{\}$' \
	jpath job/idx '{.status.completionTime} {.status.uncountedTerminatedPods}'
expect_out "events: SuccessfulCreate and Completed" 'Normal +Completed +job/idx +Job completed' \
	kubectl get events --field-selector involvedObject.name=idx
expect_out "event names the created pod" 'SuccessfulCreate +job/idx +Created pod: idx-[0-2]-' \
	kubectl get events --field-selector involvedObject.name=idx

# --- a Job run by a simulated node (timon.dev/sim-duration ends its containers) ---
# The node is tainted so that only this Job's pods land there: the other Jobs' pods stay
# unscheduled and the test sets their phases itself.
# bind_pending JOB NODE: binds the job's unscheduled pods, in case no scheduler runs.
bind_pending() {
	local p
	for p in $(kubectl get pods -l "job-name=$1" -o jsonpath='{range .items[*]}{.metadata.name}={.spec.nodeName} {end}' 2>/dev/null |
		tr ' ' '\n' | sed -n 's/=$//p'); do
		echo "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":\"$p\"},\"target\":{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"name\":\"$2\"}}" >"$W/binding.json"
		kubectl create --raw "/api/v1/namespaces/default/pods/$p/binding" -f "$W/binding.json" >/dev/null 2>&1
	done
}
cat >"$W/simnode.yaml" <<'YAML'
apiVersion: v1
kind: Node
metadata:
  name: sim-jobs
  annotations:
    timon.dev/simulated: "true"
spec:
  taints:
  - key: timon.dev/jobs-test
    effect: NoSchedule
YAML
cat >"$W/simjob.yaml" <<'YAML'
apiVersion: batch/v1
kind: Job
metadata:
  name: simjob
spec:
  completions: 3
  parallelism: 2
  completionMode: Indexed
  template:
    metadata:
      annotations:
        timon.dev/sim-duration: 500ms
    spec:
      tolerations:
      - key: timon.dev/jobs-test
        operator: Exists
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
YAML
check "create a simulated node" kubectl apply -f "$W/simnode.yaml"
check "create a job for it" kubectl apply -f "$W/simjob.yaml"
done_sim=
for _ in $(seq 1 100); do
	bind_pending simjob sim-jobs
	if [ "$(jpath job/simjob '{.status.conditions[?(@.type=="Complete")].status}')" = True ]; then done_sim=1; break; fi
	sleep 0.3
done
if [ -n "$done_sim" ]; then pass "simulated pods run the indexed job to Complete"; else
	fail "simulated pods run the indexed job to Complete" "$(kubectl get pods -l job-name=simjob -o wide 2>&1)"; fi
expect_out "parallelism 2 made three pods, one per index" '^0-2 3$' jpath job/simjob '{.status.completedIndexes} {.status.succeeded}'

# --- a failing Job: back-off between pods, then BackoffLimitExceeded ---
cat >"$W/failing.yaml" <<'YAML'
apiVersion: batch/v1
kind: Job
metadata:
  name: failing
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
YAML
expect_out "create failing job" 'job.batch/failing created' kubectl apply -f "$W/failing.yaml"
wait_out "failing job runs a pod" '^failing-[a-z0-9]{5}$' 10 pods_of failing
first=$(pods_of failing)
set_phase "$first" Failed 1
wait_out "the failure is counted" '^1$' 5 jpath job/failing '{.status.failed}'
sleep 2
expect_out "no replacement during the 10 s back-off" "^$first\$" pods_of failing
wait_out "replacement pod after the back-off" '^failing-[a-z0-9]{5}$' 15 \
	sh -c "kubectl get pods -l job-name=failing -o name | sed 's|pod/||' | grep -vx '$first'"
second=$(pods_of failing | grep -vx "$first")
set_phase "$second" Failed 1
check "failing job fails" kubectl wait --for=condition=failed job/failing --timeout=20s
expect_out "FailureTarget then Failed, reason BackoffLimitExceeded" \
	'^FailureTarget=BackoffLimitExceeded Failed=BackoffLimitExceeded $' \
	jpath job/failing '{range .status.conditions[*]}{.type}={.reason} {end}'
expect_out "failed counts both pods" '^2$' jpath job/failing '{.status.failed}'
expect_out "Failed condition message" '^Job has reached the specified backoff limit$' \
	jpath job/failing '{.status.conditions[?(@.type=="Failed")].message}'
expect_out "get job shows Failed" '^failing +Failed +0/1 ' kubectl get job failing
expect_out "BackoffLimitExceeded warning event" 'Warning +BackoffLimitExceeded +job/failing +Job has reached the specified backoff limit' \
	kubectl get events --field-selector involvedObject.name=failing

# --- podFailurePolicy: an exit code that fails the Job at once ---
cat >"$W/pfp.yaml" <<'YAML'
apiVersion: batch/v1
kind: Job
metadata:
  name: pfp
spec:
  podFailurePolicy:
    rules:
    - action: FailJob
      onExitCodes:
        containerName: main
        operator: In
        values: [42]
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
YAML
expect_out "create job with a pod failure policy" 'job.batch/pfp created' kubectl apply -f "$W/pfp.yaml"
wait_out "pfp job runs a pod" '^pfp-[a-z0-9]{5}$' 10 pods_of pfp
pfp_pod=$(pods_of pfp)
set_phase "$pfp_pod" Failed 42
check "exit code 42 fails the job" kubectl wait --for=condition=failed job/pfp --timeout=10s
expect_out "reason PodFailurePolicy with kube's message" \
	"^PodFailurePolicy Container main for pod default/$pfp_pod failed with exit code 42 matching FailJob rule at index 0\$" \
	jpath job/pfp '{.status.conditions[?(@.type=="Failed")].reason} {.status.conditions[?(@.type=="Failed")].message}'

# --- activeDeadlineSeconds ---
cat >"$W/deadline.yaml" <<'YAML'
apiVersion: batch/v1
kind: Job
metadata:
  name: deadline
spec:
  activeDeadlineSeconds: 2
  parallelism: 2
  completions: 4
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
YAML
expect_out "create job with a deadline" 'job.batch/deadline created' kubectl apply -f "$W/deadline.yaml"
check "deadline job fails" kubectl wait --for=condition=failed job/deadline --timeout=15s
expect_out "reason DeadlineExceeded" '^DeadlineExceeded Job was active longer than specified deadline$' \
	jpath job/deadline '{.status.conditions[?(@.type=="Failed")].reason} {.status.conditions[?(@.type=="Failed")].message}'
wait_out "its running pods are deleted" '^$' 5 pods_of deadline
expect_out "SuccessfulDelete events" 'SuccessfulDelete +job/deadline +Deleted pod: deadline-' \
	kubectl get events --field-selector involvedObject.name=deadline

# --- suspend and resume ---
expect_out "create job" 'job.batch/sus created' kubectl create job sus --image=busybox
wait_out "it runs a pod" '^sus-[a-z0-9]{5}$' 10 pods_of sus
check "suspend it" kubectl patch job sus --type=merge -p '{"spec":{"suspend":true}}'
wait_out "suspended job has no pods" '^$' 5 pods_of sus
expect_out "condition Suspended True, JobSuspended" '^True JobSuspended Job suspended$' \
	jpath job/sus '{.status.conditions[?(@.type=="Suspended")].status} {.status.conditions[?(@.type=="Suspended")].reason} {.status.conditions[?(@.type=="Suspended")].message}'
expect_out "get job shows Suspended" '^sus +Suspended ' kubectl get job sus
check "resume it" kubectl patch job sus --type=merge -p '{"spec":{"suspend":false}}'
wait_out "resumed job runs a pod again" '^sus-[a-z0-9]{5}$' 10 pods_of sus
expect_out "condition Suspended False, JobResumed" '^False JobResumed$' \
	jpath job/sus '{.status.conditions[?(@.type=="Suspended")].status} {.status.conditions[?(@.type=="Suspended")].reason}'

# --- ttlSecondsAfterFinished ---
cat >"$W/ttl.yaml" <<'YAML'
apiVersion: batch/v1
kind: Job
metadata:
  name: ttl
spec:
  ttlSecondsAfterFinished: 5
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
YAML
expect_out "create job with a TTL" 'job.batch/ttl created' kubectl apply -f "$W/ttl.yaml"
wait_out "ttl job runs a pod" '^ttl-[a-z0-9]{5}$' 10 pods_of ttl
set_phase "$(pods_of ttl)" Succeeded
# (the TTL leaves kubectl wait, a new process, time to see the job before it goes: with 1 s
# the job was sometimes deleted first on the sanitizer build)
check "ttl job completes" kubectl wait --for=condition=complete job/ttl --timeout=10s
wait_out "finished job is deleted after its TTL" 'NotFound|not found' 15 kubectl get job ttl

# --- the CronJobs created at the start ---
wait_out "cronjob creates a job on schedule" '^every-[0-9]+$' 70 \
	sh -c "kubectl get jobs -o jsonpath='{range .items[*]}{.metadata.name}{\"\\n\"}{end}' | grep '^every-[0-9]*\$'"
# the newest scheduled run (another minute may have passed while the Job checks ran)
sched=$(kubectl get jobs -o name | sed -n 's|job.batch/\(every-[0-9]*\)$|\1|p' | sort | tail -n1)
minutes=${sched#every-}
at=$(date -u -d @$((minutes * 60)) +%Y-%m-%dT%H:%M:00Z)
expect_out "job is named by its scheduled minute" "^$at\$" \
	jpath "job/$sched" '{.metadata.annotations.batch\.kubernetes\.io/cronjob-scheduled-timestamp}'
expect_out "lastScheduleTime and the active reference" "^[0-9T:-]+Z .*$sched" \
	jpath cronjob/every '{.status.lastScheduleTime} {.status.active[*].name}'
expect_out "lastScheduleTime is a scheduled minute" '^[0-9T:-]+:00Z$' jpath cronjob/every '{.status.lastScheduleTime}'
expect_out "SuccessfulCreate event on the cronjob" "SuccessfulCreate +cronjob/every +Created job $sched" \
	kubectl get events --field-selector involvedObject.name=every
expect_out "the manual job is reported as unexpected" 'UnexpectedJob +cronjob/every +Saw a job that the controller did not create or forgot: by-hand' \
	kubectl get events --field-selector involvedObject.name=every
wait_out "scheduled job runs a pod" "^$sched-[a-z0-9]{5}\$" 10 pods_of "$sched"
set_phase "$(pods_of "$sched")" Succeeded
wait_out "cronjob saw the job complete" "SawCompletedJob +cronjob/every +Saw completed job: $sched, status: Complete" 10 \
	kubectl get events --field-selector involvedObject.name=every
wait_out "lastSuccessfulTime recorded" '^[0-9T:-]+Z$' 10 jpath cronjob/every '{.status.lastSuccessfulTime}'
check "the finished job left status.active" sh -c "! kubectl get cronjob every -o jsonpath='{.status.active[*].name}' | grep -qw '$sched'"
wait_out "time-zoned cronjob ran with a Berlin timestamp" '^[0-9T:-]+\+0[12]:00 night$' 10 \
	sh -c "kubectl get jobs -l team=night -o jsonpath='{.items[0].metadata.annotations.batch\.kubernetes\.io/cronjob-scheduled-timestamp} {.items[0].metadata.labels.team}'"

finish
