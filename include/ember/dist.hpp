// ember::dist: data-parallel training across processes and machines. MPI (OpenMPI) starts the
// processes and moves CPU tensors, NCCL moves CUDA tensors; see README.md, "Distributed".
//
//   int main() {
//     auto& pg = ember::dist::init();          // under mpirun -np N; throws without MPI
//     auto ddp = ember::dist::DistributedDataParallel(model);
//     ...
//   }
#pragma once

#include <ember/dist/checkpoint.hpp>
#include <ember/dist/collectives.hpp>
#include <ember/dist/ddp.hpp>
#include <ember/dist/process_group.hpp>
#include <ember/dist/sampler.hpp>
#include <ember/dist/state_sync.hpp>
#include <ember/dist/sync_batch_norm.hpp>
