// Fuzz target: watch-stream framing (kube/watch.h). The input is the body of a watch response,
// delivered in chunks whose sizes the input also picks, as a network would cut it; events are
// read until the stream ends or fails.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "kube/watch.h"

namespace {

class ChunkedStream : public plumbline::http::Stream {
 public:
  explicit ChunkedStream(FuzzedDataProvider& in) : in_(in) {}
  plumbline::Result<std::string> ReadSome() override {
    if (in_.remaining_bytes() == 0) return std::string();
    const size_t n = in_.ConsumeIntegralInRange<size_t>(1, 64);
    std::string chunk = in_.ConsumeBytesAsString(n);
    if (chunk.empty()) return std::string();
    return chunk;
  }
  int status() const override { return 200; }
  void Cancel() override {}

 private:
  FuzzedDataProvider& in_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  auto stream = plumbline::kube::NewWatchStream(std::make_unique<ChunkedStream>(in), "watch");
  for (int i = 0; i < 100000; ++i) {
    auto event = stream->Next();
    if (!event.ok() || !event->has_value()) break;
  }
  return 0;
}
