# No hostPath volumes: a directory of the node's filesystem inside the pod reaches past the
# container (the container runtime's socket, the kubelet's credentials, other pods' data).
package plumbline

deny contains {"msg": sprintf("volume %q uses hostPath %q", [object.get(volume, "name", ""), path]), "object": pod.object} if {
	some pod in pods
	some volume in object.get(pod.spec, "volumes", [])
	object.get(volume, "hostPath", null) != null
	path := object.get(volume, ["hostPath", "path"], "")
}
