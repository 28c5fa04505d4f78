# Shared by bench/lesson0N.sh: strict mode, the image argument, the lab's labels (learner
# "bench", so `python -m dockernet clean --learner bench` finds anything left) and the seed's
# "Hello Docker!" server command.
set -euo pipefail
image=$1
labels=(--label dockernet.lab=1 --label dockernet.learner=bench --label dockernet.lesson=99-bench-cli)
hello='mkdir -p /srv/hello && echo "Hello Docker!" > /srv/hello/index.html && exec python3 -m http.server --directory /srv/hello 8000'
