# Tests of privileged.rego. The fixtures (workloads, good_container, deny_for) are in lib_test.rego.
package plumbline_test

test_privileged_denied_in_every_workload_kind if {
	every ref, obj in workloads(privileged_spec) {
		deny_for([obj]) == {{"msg": `container "web" is privileged (securityContext.privileged: true)`, "object": ref}}
	}
}

test_unprivileged_allowed if {
	spec := {"containers": [merged(good_container, {"securityContext": {"privileged": false, "runAsNonRoot": true}})]}
	deny_for([workloads(spec)["Deployment/team-a/web"]]) == set()
}

test_privileged_init_container_denied if {
	spec := {
		"containers": [good_container],
		"initContainers": [merged(good_container, {"name": "sysctl", "securityContext": {"privileged": true}})],
	}
	deny_for([workloads(spec)["DaemonSet/team-a/web"]]) == {{
		"msg": `init container "sysctl" is privileged (securityContext.privileged: true)`,
		"object": "DaemonSet/team-a/web",
	}}
}

test_privileged_cronjob_denied if {
	spec := {"containers": [good_container, merged(good_container, {"name": "backup", "securityContext": {"privileged": true}})]}
	deny_for([workloads(spec)["CronJob/team-a/web"]]) == {{
		"msg": `container "backup" is privileged (securityContext.privileged: true)`,
		"object": "CronJob/team-a/web",
	}}
}
