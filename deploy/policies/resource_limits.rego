# Every container has a cpu and a memory limit, its own or the pod's (pod-level resources,
# spec.resources.limits, bound all the pod's containers together). Ephemeral containers are
# exempt: Kubernetes does not let them set resources.
package plumbline

deny contains {"msg": sprintf("%s has no %s limit", [c.name, resource]), "object": c.pod.object} if {
	some c in containers
	c.list != "ephemeralContainers"
	some resource in ["cpu", "memory"]
	not has_limit(c.container, resource)
	not has_limit(c.pod.spec, resource)
}

# has_limit(x, resource) when x (a container or a pod spec) sets resources.limits[resource].
has_limit(x, resource) if object.get(x, ["resources", "limits", resource], null) != null
