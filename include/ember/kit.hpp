// The example kit: what every paper example program is built from (the harness with the
// standard flags, progress lines, tables, criteria and the computed verdict, the report).
// Metrics are in <ember/metrics.hpp>, figures in <ember/viz/...> and <ember/plot/...>.
#pragma once

#include <ember/kit/criteria.hpp>
#include <ember/kit/harness.hpp>
#include <ember/kit/options.hpp>
#include <ember/kit/output.hpp>
#include <ember/kit/progress.hpp>
#include <ember/kit/report.hpp>
#include <ember/kit/table.hpp>
