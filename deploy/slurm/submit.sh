#!/bin/bash
# Submits a sharded divergo sweep as a Slurm job array and queues the merge
# behind it (docs/deploy.md):
#
#   MODEL=/shared/llama-2-7b CORPUS=/shared/c4-val.jsonl QUANT=int8,int4:g128 \
#     OUT=/shared/sweep SHARDS=16 deploy/slurm/submit.sh
#
# Every variable is passed to the jobs (sbatch exports the environment).
set -euo pipefail
: "${MODEL:?set MODEL}" "${CORPUS:?set CORPUS}" "${OUT:?set OUT}"
SHARDS=${SHARDS:-8}
export SHARDS
here=$(cd "$(dirname "$0")" && pwd)
array=$(sbatch --parsable --array="0-$((SHARDS - 1))" "$here/sweep.sbatch")
array=${array%%;*} # "jobid;cluster" on federated clusters
merge=$(sbatch --parsable --dependency="afterok:$array" "$here/merge.sbatch")
echo "sweep array $array ($SHARDS shards), merge $merge after it; results in $OUT/sweep.jsonl"
