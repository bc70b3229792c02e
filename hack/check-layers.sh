#!/usr/bin/env bash
# Checks that each folder of controller/ includes only the folders its library declares
# (controller/CMakeLists.txt, written by the build to layers.txt as "folder: dep dep ...").
#
#   hack/check-layers.sh LAYERS_TXT [CONTROLLER_DIR]
set -euo pipefail
layers=$1
src=${2:-$(cd "$(dirname "$0")/.." && pwd)/controller}
declare -A allowed
while IFS=: read -r folder deps; do
  [ -n "$folder" ] && allowed[$folder]=" $folder $deps "
done < "$layers"
bad=0
for dir in "$src"/*/; do
  folder=$(basename "$dir")
  if [ -z "${allowed[$folder]+x}" ]; then
    echo "controller/$folder: no library declares this folder" >&2
    bad=1
    continue
  fi
  for file in "$dir"*.h "$dir"*.cc; do
    [ -e "$file" ] || continue
    while IFS= read -r line; do
      target=${line#*\"}
      target=${target%%/*}
      case "${allowed[$folder]}" in
        *" $target "*) ;;
        *) echo "controller/$folder/$(basename "$file"): includes $target/, which $folder does not depend on" >&2
           bad=1 ;;
      esac
    done < <(grep -E '^#include "[a-z_]+/' "$file" || true)
  done
done
[ $bad = 0 ] && echo "every include follows the layers of $(wc -l < "$layers") libraries"
exit $bad
