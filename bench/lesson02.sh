#!/usr/bin/env bash
# Lesson 02's core steps as plain docker CLI commands, for bench/run.py's notebook/CLI ratio.
# Usage: bench/lesson02.sh IMAGE SUBNET. Its objects carry the lab's labels (learner "bench").
# SUBNET comes from the lab's allocator (bench/run.py asks lab.free_subnet()): on a shared
# daemon Docker's default pools may be used up or taken by others.
source "$(dirname "$0")/common.sh"
subnet=${2:?usage: bench/lesson02.sh IMAGE SUBNET (a free subnet, e.g. from lab.free_subnet())}
p=dn-bench-cli02

docker run -d --init "${labels[@]}" "${local_dns[@]}" --name $p-helloworld "$image" sh -c "$hello"
docker run -d --init "${labels[@]}" "${local_dns[@]}" --name $p-helloworld2 "$image" sh -c "$hello"
docker network create "${labels[@]}" --subnet "$subnet" $p-my-net
docker network connect --alias helloworld $p-my-net $p-helloworld
docker network connect --alias helloworld2 $p-my-net $p-helloworld2
docker network inspect $p-my-net >/dev/null
for _ in $(seq 50); do docker exec $p-helloworld2 curl -s 127.0.0.1:8000 >/dev/null && break; sleep 0.1; done
docker exec $p-helloworld cat /etc/resolv.conf
docker exec $p-helloworld getent hosts helloworld2
docker exec $p-helloworld curl -sS --max-time 3 http://helloworld2:8000 | grep -q "Hello Docker!"
docker network disconnect $p-my-net $p-helloworld2
! docker exec $p-helloworld getent hosts helloworld2
