// All of ember's metrics (namespace ember::metrics): host code on contiguous ranges, double
// results, (y_true, y_pred) argument order. Each group is includable on its own:
//   metrics/classification.hpp  accuracy, confusion matrix, macro P/R/F1, multi-label F1
//   metrics/correlation.hpp     Pearson (PLCC), Spearman (SRCC) with tie-averaged ranks
//   metrics/clustering.hpp      clustering accuracy (Hungarian), NMI, ARI
//   metrics/segmentation.hpp    per-class IoU, mIoU with an ignore label, group mIoU
//   metrics/regression.hpp      MSE, relative L2, PSNR
//   metrics/attribution.hpp     deletion / insertion AUC, pointing games, CAM boxes
//   metrics/boxes.hpp           boxes, box and mask IoU, connected components
//   metrics/retrieval.hpp       recall@k
//   metrics/summary.hpp         mean, sample std, median, "mean ± std (n seeds)"
//   metrics/captioning.hpp      CIDEr-D, CIDEr, Self-CIDEr (captions)
#pragma once

#include <ember/metrics/assignment.hpp>
#include <ember/metrics/attribution.hpp>
#include <ember/metrics/boxes.hpp>
#include <ember/metrics/captioning.hpp>
#include <ember/metrics/classification.hpp>
#include <ember/metrics/clustering.hpp>
#include <ember/metrics/confusion.hpp>
#include <ember/metrics/correlation.hpp>
#include <ember/metrics/inputs.hpp>
#include <ember/metrics/regression.hpp>
#include <ember/metrics/retrieval.hpp>
#include <ember/metrics/segmentation.hpp>
#include <ember/metrics/summary.hpp>
