// Time as a seam. Code that measures intervals or stamps records asks a Clock instead of
// reading std::chrono directly, so tests can move time forward without waiting for it.
#pragma once

#include <chrono>

namespace plumbline {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time, for intervals and deadlines.
  virtual std::chrono::steady_clock::time_point Now() const = 0;
  // Wall-clock time, for what is shown to people or stored in objects.
  virtual std::chrono::system_clock::time_point WallNow() const = 0;

  // The machine's clocks. Lives for the whole program.
  static Clock& Real();
};

}  // namespace plumbline
