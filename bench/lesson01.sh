#!/usr/bin/env bash
# Lesson 01's core steps as plain docker CLI commands, for bench/run.py's notebook/CLI ratio.
# Usage: bench/lesson01.sh IMAGE. Its objects carry the lab's labels (learner "bench").
source "$(dirname "$0")/common.sh"
p=dn-bench-cli01

docker run -d --init "${labels[@]}" "${local_dns[@]}" --name $p-helloworld "$image" sh -c "$hello"
docker run -d --init "${labels[@]}" "${local_dns[@]}" --name $p-helloworld2 "$image" sh -c "$hello"
docker network inspect bridge >/dev/null
ip2=$(docker inspect -f '{{.NetworkSettings.Networks.bridge.IPAddress}}' $p-helloworld2)
for _ in $(seq 50); do docker exec $p-helloworld2 curl -s 127.0.0.1:8000 >/dev/null && break; sleep 0.1; done
docker exec $p-helloworld ip link show eth0
docker exec $p-helloworld curl -sS --max-time 3 "http://$ip2:8000" | grep -q "Hello Docker!"
! docker exec $p-helloworld curl -sS --max-time 1 "http://$p-helloworld2:8000"
