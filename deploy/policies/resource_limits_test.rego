# Tests of resource_limits.rego. The fixtures (workloads, good_container, deny_for) are in lib_test.rego.
package plumbline_test

no_limits_container := object.remove(good_container, ["resources"])

test_no_limits_denied_in_every_workload_kind if {
	every ref, obj in workloads({"containers": [no_limits_container]}) {
		deny_for([obj]) == {
			{"msg": `container "web" has no cpu limit`, "object": ref},
			{"msg": `container "web" has no memory limit`, "object": ref},
		}
	}
}

test_no_memory_limit_denied if {
	container := merged(good_container, {"resources": {"limits": {"cpu": "1"}}})
	deny_for([workloads({"containers": [container]})["DaemonSet/team-a/web"]]) == {{
		"msg": `container "web" has no memory limit`,
		"object": "DaemonSet/team-a/web",
	}}
}

test_no_cpu_limit_denied if {
	container := merged(good_container, {"resources": {"limits": {"memory": "128Mi"}}})
	deny_for([workloads({"containers": [container]})["ReplicaSet/team-a/web"]]) == {{
		"msg": `container "web" has no cpu limit`,
		"object": "ReplicaSet/team-a/web",
	}}
}

# Requests are not limits.
test_requests_only_denied if {
	container := merged(good_container, {"resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}})
	deny_for([workloads({"containers": [container]})["Job/team-a/web"]]) == {
		{"msg": `container "web" has no cpu limit`, "object": "Job/team-a/web"},
		{"msg": `container "web" has no memory limit`, "object": "Job/team-a/web"},
	}
}

test_limits_allowed if {
	deny_for([workloads({"containers": [good_container]})["Job/team-a/web"]]) == set()
}

test_init_container_without_limits_denied if {
	spec := {"containers": [good_container], "initContainers": [merged(no_limits_container, {"name": "migrate"})]}
	deny_for([workloads(spec)["Deployment/team-a/web"]]) == {
		{"msg": `init container "migrate" has no cpu limit`, "object": "Deployment/team-a/web"},
		{"msg": `init container "migrate" has no memory limit`, "object": "Deployment/team-a/web"},
	}
}

test_cronjob_without_limits_denied if {
	spec := {"containers": [merged(good_container, {"resources": {"limits": {"cpu": "1"}}})]}
	deny_for([workloads(spec)["CronJob/team-a/web"]]) == {{
		"msg": `container "web" has no memory limit`,
		"object": "CronJob/team-a/web",
	}}
}

# Pod-level limits bound every container of the pod.
test_pod_level_limits_allowed if {
	spec := {
		"resources": {"limits": {"cpu": "2", "memory": "1Gi"}},
		"containers": [no_limits_container],
		"initContainers": [merged(no_limits_container, {"name": "migrate"})],
	}
	deny_for([workloads(spec)["Deployment/team-a/web"]]) == set()
}

# Each resource is bounded by the container or the pod.
test_pod_level_limit_of_one_resource if {
	spec := {
		"resources": {"limits": {"cpu": "2"}},
		"containers": [no_limits_container, merged(good_container, {"name": "sidecar", "resources": {"limits": {"memory": "64Mi"}}})],
	}
	deny_for([workloads(spec)["Deployment/team-a/web"]]) == {{
		"msg": `container "web" has no memory limit`,
		"object": "Deployment/team-a/web",
	}}
}

# Kubernetes does not let ephemeral containers set resources.
test_ephemeral_container_without_limits_allowed if {
	spec := {"containers": [good_container], "ephemeralContainers": [{"name": "debug", "image": "busybox:1.37"}]}
	deny_for([workloads(spec)["Pod/team-a/web"]]) == set()
}
