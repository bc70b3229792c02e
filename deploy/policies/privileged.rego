# No container runs privileged (securityContext.privileged: true): a privileged container has
# every capability and the host's devices, which is root on the node.
package plumbline

deny contains {"msg": sprintf("%s is privileged (securityContext.privileged: true)", [c.name]), "object": c.pod.object} if {
	some c in containers
	c.container.securityContext.privileged == true
}
