#!/usr/bin/env bash
# The layering rules of CONTRIBUTING.md that a grep can check, run as the ctest test
# `layering`:
# - an op (include/ember/ops/) never names a device: no cuda:: call, no on_cuda, no
#   EMBER_WITH_CUDA, no *_cuda twin; the backend function below it picks the device;
# - a backend function (include/ember/backend/*.hpp) chooses the device with on_cuda and
#   cuda_kernels_v, never with #ifdef EMBER_WITH_CUDA (backend/device.hpp is the one place);
# - the CUDA launchers are declared once per family in backend/<family>.hpp, not in
#   backend/cuda/api.hpp, which keeps the runtime and the plain data types.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
status=0
report() {  # message, offending lines
  if [ -n "$2" ]; then
    echo "check_layers: $1"
    echo "$2" | sed 's/^/  /'
    status=1
  fi
}
report "an op names a device (move the device choice into backend/<family>.hpp)" \
  "$(grep -rnE 'cuda::|on_cuda\(|use_cuda|EMBER_WITH_CUDA|[a-z]_cuda\(' include/ember/ops || true)"
report "a backend header branches on EMBER_WITH_CUDA (use on_cuda / cuda_kernels_v)" \
  "$(grep -nE '^#if(n?def)? .*EMBER_WITH_CUDA' include/ember/backend/*.hpp |
     grep -v '^include/ember/backend/device.hpp' || true)"
# Launcher declarations: a line that starts a function taking a device index, other than the
# runtime's and gemm's.
report "a launcher declared in backend/cuda/api.hpp (declare it in its family's header)" \
  "$(grep -nE '^void [a-z_]+\(' include/ember/backend/cuda/api.hpp |
     grep -vE 'void (synchronize|set_stream|allow_tf32|deallocate|copy|fill|strided_copy|gemm)\(' || true)"
if [ "$status" -eq 0 ]; then echo "check_layers: ops, backends and CUDA glue follow the layers"; fi
exit "$status"
