# Tests of image_tag.rego. The fixtures (workloads, good_container, deny_for) are in lib_test.rego.
package plumbline_test

import data.plumbline

# container_with_image(image) is the compliant container running image.
container_with_image(image) := merged(good_container, {"image": image})

# image_deny(image) is the answer for a Deployment whose one container runs image.
image_deny(image) := deny_for([workloads({"containers": [container_with_image(image)]})["Deployment/team-a/web"]])

latest_msg(image) := sprintf(`container "web" uses image %q: pin a version tag or digest`, [image])

untagged_msg(image) := sprintf(`container "web" uses image %q, which has no tag (implicitly latest): pin a version tag or digest`, [image])

test_latest_denied_in_every_workload_kind if {
	every ref, obj in workloads({"containers": [container_with_image("nginx:latest")]}) {
		deny_for([obj]) == {{"msg": `container "web" uses image "nginx:latest": pin a version tag or digest`, "object": ref}}
	}
}

test_untagged_denied_in_every_workload_kind if {
	every ref, obj in workloads({"containers": [container_with_image("nginx")]}) {
		deny_for([obj]) == {{"msg": `container "web" uses image "nginx", which has no tag (implicitly latest): pin a version tag or digest`, "object": ref}}
	}
}

test_version_tag_allowed if {
	image_deny("nginx:1.27.3") == set()
	image_deny("docker.io/library/nginx:1.27.3-alpine") == set()
}

test_registry_port_without_tag_denied if {
	image_deny("registry:5000/app") == {{"msg": untagged_msg("registry:5000/app"), "object": "Deployment/team-a/web"}}
}

test_registry_port_with_tag_allowed if {
	image_deny("registry:5000/app:1.2") == set()
	image_deny("registry.example.com:5000/team/app:1.2") == set()
}

test_registry_port_with_latest_denied if {
	image_deny("registry:5000/app:latest") == {{"msg": latest_msg("registry:5000/app:latest"), "object": "Deployment/team-a/web"}}
}

test_digest_allowed if {
	digest := "sha256:4c0f5c6f2c2a0d5b8e1f3a7d9c6b5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d"
	image_deny(sprintf("app@%s", [digest])) == set()
	image_deny(sprintf("registry:5000/app@%s", [digest])) == set()

	# The digest is what is pulled, whatever the tag says.
	image_deny(sprintf("nginx:latest@%s", [digest])) == set()
}

test_image_tag if {
	plumbline.image_tag("nginx:1.27") == "1.27"
	plumbline.image_tag("registry:5000/team/app:1.2") == "1.2"
	plumbline.image_tag("registry:5000/app:1.2@sha256:4c0f5c6f") == "1.2"
	not plumbline.image_tag("registry:5000/app")
	not plumbline.image_tag("app@sha256:4c0f5c6f")
}

test_init_container_denied if {
	spec := {
		"containers": [good_container],
		"initContainers": [merged(good_container, {"name": "migrate", "image": "migrate:latest"})],
	}
	deny_for([workloads(spec)["StatefulSet/team-a/web"]]) == {{
		"msg": `init container "migrate" uses image "migrate:latest": pin a version tag or digest`,
		"object": "StatefulSet/team-a/web",
	}}
}

test_ephemeral_container_denied if {
	spec := {
		"containers": [good_container],
		"ephemeralContainers": [{"name": "debug", "image": "busybox"}],
	}
	deny_for([workloads(spec)["Pod/team-a/web"]]) == {{
		"msg": `ephemeral container "debug" uses image "busybox", which has no tag (implicitly latest): pin a version tag or digest`,
		"object": "Pod/team-a/web",
	}}
}

test_cronjob_denied if {
	spec := {"containers": [good_container, merged(good_container, {"name": "report", "image": "report"})]}
	deny_for([workloads(spec)["CronJob/team-a/web"]]) == {{
		"msg": `container "report" uses image "report", which has no tag (implicitly latest): pin a version tag or digest`,
		"object": "CronJob/team-a/web",
	}}
}

allow_latest(obj, value) := merged(obj, {"metadata": merged(metadata, {"annotations": {"policy.plumbline.dev/allow-latest": value}})})

test_allow_latest_annotation_exempts if {
	every _, obj in workloads({"containers": [container_with_image("nginx:latest"), container_with_image("nginx")]}) {
		deny_for([allow_latest(obj, "true")]) == set()
	}
}

test_allow_latest_annotation_other_value_does_not_exempt if {
	obj := workloads({"containers": [container_with_image("nginx:latest")]})["Deployment/team-a/web"]
	deny_for([allow_latest(obj, "false")]) == {{"msg": latest_msg("nginx:latest"), "object": "Deployment/team-a/web"}}
}

# The annotation is the workload's: on the pod template it exempts nothing.
test_allow_latest_annotation_on_pod_template_does_not_exempt if {
	obj := workloads({"containers": [container_with_image("nginx:latest")]})["Deployment/team-a/web"]
	annotated := json.patch(obj, [{
		"op": "add", "path": "/spec/template/metadata/annotations",
		"value": {"policy.plumbline.dev/allow-latest": "true"},
	}])
	deny_for([annotated]) == {{"msg": latest_msg("nginx:latest"), "object": "Deployment/team-a/web"}}
}

# allow-latest exempts from this rule only.
test_allow_latest_annotation_exempts_no_other_rule if {
	obj := workloads({"containers": [merged(container_with_image("nginx:latest"), {"securityContext": {"privileged": true}})]})["Deployment/team-a/web"]
	deny_for([allow_latest(obj, "true")]) == {{"msg": privileged_msg, "object": "Deployment/team-a/web"}}
}
