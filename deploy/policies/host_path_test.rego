# Tests of host_path.rego. The fixtures (workloads, good_container, deny_for) are in lib_test.rego.
package plumbline_test

host_path_spec := {
	"containers": [merged(good_container, {"volumeMounts": [{"name": "docker", "mountPath": "/var/run/docker.sock"}]})],
	"volumes": [{"name": "docker", "hostPath": {"path": "/var/run/docker.sock", "type": "Socket"}}],
}

test_host_path_denied_in_every_workload_kind if {
	every ref, obj in workloads(host_path_spec) {
		deny_for([obj]) == {{"msg": `volume "docker" uses hostPath "/var/run/docker.sock"`, "object": ref}}
	}
}

test_other_volumes_allowed if {
	spec := merged(host_path_spec, {"volumes": [
		{"name": "docker", "emptyDir": {}},
		{"name": "config", "configMap": {"name": "web"}},
		{"name": "data", "persistentVolumeClaim": {"claimName": "web"}},
	]})
	deny_for([workloads(spec)["StatefulSet/team-a/web"]]) == set()
}

test_each_host_path_volume_denied if {
	spec := merged(host_path_spec, {"volumes": [
		{"name": "logs", "hostPath": {"path": "/var/log"}},
		{"name": "cache", "emptyDir": {}},
		{"name": "root", "hostPath": {"path": "/"}},
	]})
	deny_for([workloads(spec)["CronJob/team-a/web"]]) == {
		{"msg": `volume "logs" uses hostPath "/var/log"`, "object": "CronJob/team-a/web"},
		{"msg": `volume "root" uses hostPath "/"`, "object": "CronJob/team-a/web"},
	}
}
