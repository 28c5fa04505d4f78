# Shared by bench/lesson0N.sh: strict mode, the image argument, the lab's labels (learner
# "bench", so `python -m dockernet clean --learner bench` finds anything left) and the seed's
# "Hello Docker!" server command.
set -euo pipefail
image=$1
labels=(--label dockernet.lab=1 --label dockernet.learner=bench --label dockernet.lesson=99-bench-cli)
# As Lab.run does: names Docker does not know fail here instead of reaching the host's resolver.
local_dns=(--dns 127.0.0.1 --dns-opt timeout:2 --dns-opt attempts:2)
# Remove what these scripts made by label and id, never by name.
remove_bench_objects() {
  local ids
  ids=$(docker ps -aq --filter label=dockernet.lab=1 --filter label=dockernet.lesson=99-bench-cli)
  [ -z "$ids" ] || docker rm -f $ids >/dev/null
  ids=$(docker network ls -q --filter label=dockernet.lab=1 --filter label=dockernet.lesson=99-bench-cli)
  [ -z "$ids" ] || docker network rm $ids >/dev/null
}
trap remove_bench_objects EXIT
hello='mkdir -p /srv/hello && echo "Hello Docker!" > /srv/hello/index.html && exec python3 -m http.server --directory /srv/hello 8000'
