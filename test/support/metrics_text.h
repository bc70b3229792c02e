// Reading the Prometheus text format in tests: the value of series picked by name and labels.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace plumbline::testing {

// The sum of every series named `name` whose labels include `labels` (nullopt: none matched).
std::optional<double> MetricSum(const std::string& text, const std::string& name,
                                const std::map<std::string, std::string>& labels = {});

}  // namespace plumbline::testing
