# Helpers shared by the rules in this directory (one file per rule): which objects are workloads,
# where their pod spec is, which containers they run, and how a deny entry names an object.
package plumbline

# Where each workload kind keeps its pod spec, keyed by "group/Kind" ("Kind" alone for the core
# group). Every version of a group matches. Other kinds, and kinds of the same name in other
# groups (a CRD's "Deployment"), are not workloads: the rules ignore them.
pod_spec_paths := {
	"Pod": ["spec"],
	"ReplicationController": ["spec", "template", "spec"],
	"apps/Deployment": ["spec", "template", "spec"],
	"apps/StatefulSet": ["spec", "template", "spec"],
	"apps/DaemonSet": ["spec", "template", "spec"],
	"apps/ReplicaSet": ["spec", "template", "spec"],
	"batch/Job": ["spec", "template", "spec"],
	"batch/CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
}

# group_kind(obj) is the key of obj's kind in pod_spec_paths.
group_kind(obj) := obj.kind if {
	not contains(obj.apiVersion, "/")
}

group_kind(obj) := sprintf("%s/%s", [split(obj.apiVersion, "/")[0], obj.kind]) if {
	contains(obj.apiVersion, "/")
}

# object_ref(obj) is how deny entries name obj: "Kind/namespace/name", or "Kind/name" when the
# rendered object has no namespace.
object_ref(obj) := sprintf("%s/%s/%s", [obj.kind, namespace, object_name(obj)]) if {
	namespace := object.get(obj, ["metadata", "namespace"], "")
	namespace != ""
}

object_ref(obj) := sprintf("%s/%s", [obj.kind, object_name(obj)]) if {
	object.get(obj, ["metadata", "namespace"], "") == ""
}

object_name(obj) := object.get(obj, ["metadata", "name"], "")

# pods contains one entry per workload in input.objects: how deny entries name the workload
# ("object"), the workload's own annotations (not its pod template's), and its pod spec.
pods contains pod if {
	some obj in input.objects
	spec := object.get(obj, pod_spec_paths[group_kind(obj)], null)
	is_object(spec)
	pod := {
		"object": object_ref(obj),
		"annotations": object.get(obj, ["metadata", "annotations"], {}),
		"spec": spec,
	}
}

# The container lists of a pod spec, and the words messages call their members by.
container_lists := {
	"containers": "container",
	"initContainers": "init container",
	"ephemeralContainers": "ephemeral container",
}

# containers contains one entry per container of every workload: its pod (an entry of pods),
# the list it is in ("containers", "initContainers" or "ephemeralContainers"), how messages name
# it (`container "web"`, `init container "migrate"`), and the container itself.
containers contains entry if {
	some pod in pods
	some list, words in container_lists
	some container in object.get(pod.spec, list, [])
	entry := {
		"pod": pod,
		"list": list,
		"name": sprintf("%s %q", [words, object.get(container, "name", "")]),
		"container": container,
	}
}
