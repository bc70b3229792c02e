#include "support/metrics_text.h"

#include <cstdlib>
#include <sstream>

namespace plumbline::testing {

std::optional<double> MetricSum(const std::string& text, const std::string& name,
                                const std::map<std::string, std::string>& labels) {
  std::optional<double> sum;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.compare(0, name.size(), name) != 0) continue;
    size_t after = name.size();
    if (after >= line.size() || (line[after] != '{' && line[after] != ' ')) continue;
    std::string label_text;
    size_t value_at = after;
    if (line[after] == '{') {
      size_t close = line.find('}', after);
      if (close == std::string::npos) continue;
      label_text = line.substr(after + 1, close - after - 1);
      value_at = close + 1;
    }
    bool match = true;
    const std::string wrapped = "," + label_text + ",";
    for (const auto& [k, v] : labels) {
      if (wrapped.find("," + k + "=\"" + v + "\",") == std::string::npos) {
        match = false;
        break;
      }
    }
    if (!match) continue;
    sum = sum.value_or(0) + std::strtod(line.c_str() + value_at, nullptr);
  }
  return sum;
}

}  // namespace plumbline::testing
