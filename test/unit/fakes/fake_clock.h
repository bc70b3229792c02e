// A Clock that moves only when a test says so. Thread-safe: the code under test may read it
// from its own threads while the test advances it.
#pragma once

#include <chrono>
#include <mutex>

#include "common/clock.h"

namespace plumbline::testing {

class FakeClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  std::chrono::system_clock::time_point WallNow() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return wall_;
  }
  void Advance(std::chrono::steady_clock::duration d) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
    wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
  }

 private:
  mutable std::mutex mu_;
  // Far from zero, so that "time minus a period" never underflows.
  std::chrono::steady_clock::time_point now_{std::chrono::hours(1000)};
  std::chrono::system_clock::time_point wall_{std::chrono::seconds(1796083200)};  // 2026-12-01
};

}  // namespace plumbline::testing
