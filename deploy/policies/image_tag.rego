# Every image names a version: a tag other than "latest", or a digest. An image with neither is
# pulled as ":latest", so it is denied too. A workload annotated
# policy.plumbline.dev/allow-latest: "true" is exempt from this rule (and only this one).
package plumbline

deny contains {"msg": msg, "object": c.pod.object} if {
	some c in containers
	not allows_latest(c.pod)
	msg := unpinned_image_message(c.name, c.container.image)
}

allows_latest(pod) if pod.annotations["policy.plumbline.dev/allow-latest"] == "true"

unpinned_image_message(name, image) := sprintf("%s uses image %q: pin a version tag or digest", [name, image]) if {
	not contains(image, "@")
	image_tag(image) == "latest"
}

unpinned_image_message(name, image) := msg if {
	not contains(image, "@")
	not image_tag(image)
	msg := sprintf("%s uses image %q, which has no tag (implicitly latest): pin a version tag or digest", [name, image])
}

# image_tag(image) is the tag of an image reference, undefined when it has none. The tag follows
# the ":" in the last path segment, before any "@digest": the ":" in "registry:5000/app" is a
# port, and the one in "app@sha256:..." is part of the digest.
image_tag(image) := tag if {
	segments := split(split(image, "@")[0], "/")
	last := segments[count(segments) - 1]
	contains(last, ":")
	tag := split(last, ":")[1]
}
