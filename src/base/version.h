/* version.h — the version timon reports, and the Kubernetes version it speaks. */
#ifndef TIMON_BASE_VERSION_H
#define TIMON_BASE_VERSION_H
#define TIMON_VERSION "0.1.0"
#define TIMON_K8S_MAJOR "1"
#define TIMON_K8S_MINOR "32"
#define TIMON_K8S_GIT_VERSION "v1.32.0+timon"
#endif
