# Tests of lib.rego (which objects are workloads, how deny entries name them), and the helpers
# the other *_test.rego files share.
package plumbline_test

import data.plumbline

# deny_for(objects) is the policy's answer for a commit that renders objects.
deny_for(objects) := result if {
	result := plumbline.deny with input as {
		"application": {"namespace": "team-a", "name": "web"},
		"commit": {
			"sha": "3f2c5e0d9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
			"author": "Dev <dev@example.com>",
			"message": "Deploy web",
		},
		"objects": objects,
	}
}

# A container every rule allows.
good_container := {
	"name": "web",
	"image": "nginx:1.27.3",
	"resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
}

# merged(x, patch) is x with the fields of patch replacing its own (not merged into them).
merged(x, patch) := object.union(object.remove(x, object.keys(patch)), patch)

metadata := {"namespace": "team-a", "name": "web"}

template(spec) := {"metadata": {"labels": {"app": "web"}}, "spec": spec}

# workloads(spec) holds one object of every workload kind with pod spec `spec`, keyed by how deny
# entries name it.
workloads(spec) := {
	"Pod/team-a/web": {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec},
	"ReplicationController/team-a/web": {
		"apiVersion": "v1", "kind": "ReplicationController", "metadata": metadata,
		"spec": {"selector": {"app": "web"}, "template": template(spec)},
	},
	"Deployment/team-a/web": {
		"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata,
		"spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template(spec)},
	},
	"StatefulSet/team-a/web": {
		"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": metadata,
		"spec": {"selector": {"matchLabels": {"app": "web"}}, "serviceName": "web", "template": template(spec)},
	},
	"DaemonSet/team-a/web": {
		"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": metadata,
		"spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template(spec)},
	},
	"ReplicaSet/team-a/web": {
		"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": metadata,
		"spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template(spec)},
	},
	"Job/team-a/web": {
		"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata,
		"spec": {"template": template(merged(spec, {"restartPolicy": "Never"}))},
	},
	"CronJob/team-a/web": {
		"apiVersion": "batch/v1", "kind": "CronJob", "metadata": metadata,
		"spec": {
			"schedule": "*/5 * * * *",
			"jobTemplate": {"spec": {"template": template(merged(spec, {"restartPolicy": "Never"}))}},
		},
	},
}

# A pod spec that breaks one rule (privileged), to find which objects the rules look into.
privileged_spec := {"containers": [merged(good_container, {"securityContext": {"privileged": true}})]}

privileged_msg := `container "web" is privileged (securityContext.privileged: true)`

# The rule tests check "every workload kind" with `every`, true of an empty set: the set is full.
test_workloads_has_every_kind if {
	count(workloads(privileged_spec)) == 8
}

test_every_workload_kind_in_one_commit if {
	objects := [obj | some obj in workloads(privileged_spec)]
	deny_for(objects) == {{"msg": privileged_msg, "object": ref} | some ref, _ in workloads(privileged_spec)}
}

test_pod_spec_of_pod if {
	deny_for([workloads(privileged_spec)["Pod/team-a/web"]]) == {{"msg": privileged_msg, "object": "Pod/team-a/web"}}
}

test_pod_spec_of_deployment if {
	obj := workloads(privileged_spec)["Deployment/team-a/web"]
	deny_for([obj]) == {{"msg": privileged_msg, "object": "Deployment/team-a/web"}}
}

test_pod_spec_of_cronjob if {
	obj := workloads(privileged_spec)["CronJob/team-a/web"]
	deny_for([obj]) == {{"msg": privileged_msg, "object": "CronJob/team-a/web"}}
}

test_compliant_workloads_denied_nothing if {
	spec := {"containers": [good_container], "initContainers": [merged(good_container, {"name": "setup"})]}
	objects := [obj | some obj in workloads(spec)]
	deny_for(objects) == set()
}

test_configmap_ignored if {
	deny_for([{
		"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata,
		"data": {"image": "nginx:latest"},
	}]) == set()
}

# A kind that is not a workload is ignored even when it has a pod spec's shape.
test_non_workload_with_pod_spec_ignored if {
	deny_for([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "spec": privileged_spec}]) == set()
}

# A workload kind's name in another API group (a CRD) is not that workload.
test_kind_of_another_group_ignored if {
	obj := merged(workloads(privileged_spec)["Deployment/team-a/web"], {"apiVersion": "example.com/v1"})
	deny_for([obj]) == set()
}

# Any version of the group is the workload.
test_other_version_of_group if {
	obj := merged(workloads(privileged_spec)["CronJob/team-a/web"], {"apiVersion": "batch/v1beta1"})
	deny_for([obj]) == {{"msg": privileged_msg, "object": "CronJob/team-a/web"}}
}

test_object_without_namespace_named_kind_slash_name if {
	obj := merged(workloads(privileged_spec)["Deployment/team-a/web"], {"metadata": {"name": "web"}})
	deny_for([obj]) == {{"msg": privileged_msg, "object": "Deployment/web"}}
}

test_no_objects if {
	deny_for([]) == set()
}
