#!/usr/bin/env bash
# Lesson 02's core steps as plain docker CLI commands, for bench/run.py's notebook/CLI ratio.
# Usage: bench/lesson02.sh IMAGE. Its objects carry the lab's labels (learner "bench").
source "$(dirname "$0")/common.sh"
p=dn-bench-cli02

docker run -d --init "${labels[@]}" "${local_dns[@]}" --name $p-helloworld "$image" sh -c "$hello"
docker run -d --init "${labels[@]}" "${local_dns[@]}" --name $p-helloworld2 "$image" sh -c "$hello"
docker network create "${labels[@]}" $p-my-net
docker network connect --alias helloworld $p-my-net $p-helloworld
docker network connect --alias helloworld2 $p-my-net $p-helloworld2
docker network inspect $p-my-net >/dev/null
for _ in $(seq 50); do docker exec $p-helloworld2 curl -s 127.0.0.1:8000 >/dev/null && break; sleep 0.1; done
docker exec $p-helloworld cat /etc/resolv.conf
docker exec $p-helloworld getent hosts helloworld2
docker exec $p-helloworld curl -sS --max-time 3 http://helloworld2:8000 | grep -q "Hello Docker!"
docker network disconnect $p-my-net $p-helloworld2
! docker exec $p-helloworld getent hosts helloworld2
