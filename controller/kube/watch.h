// Watch plumbing: framing the streamed body into events, and ListWatcher, which keeps one
// list+watch going for a resource no matter what the connection does: it re-watches from the
// last resourceVersion when the server ends a watch or cpprestsdk's idle timeout cuts it,
// follows bookmarks, and re-lists after 410 Gone.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "common/mutex.h"
#include "http/http_client.h"
#include "kube/client.h"

namespace plumbline::kube {

// Splits a byte stream into newline-terminated lines (the watch wire format: one JSON event per
// line). Not thread-safe.
class LineFramer {
 public:
  void Append(std::string_view bytes) { buffer_.append(bytes); }
  // The next complete line without its '\n' (and without a trailing '\r').
  std::optional<std::string> Next();
  size_t buffered() const { return buffer_.size() - start_; }

 private:
  std::string buffer_;
  size_t start_ = 0;
};

// Parses one watch line: {"type":"ADDED","object":{...}}.
Result<WatchEvent> ParseWatchEvent(std::string_view line);

// Wraps an open HTTP stream whose body is a watch.
std::unique_ptr<WatchStream> NewWatchStream(std::unique_ptr<http::Stream> stream,
                                            std::string context);

struct ListWatchOptions {
  std::string ns;  // empty: all namespaces (or a cluster-scoped kind)
  std::string label_selector;
  bool metadata_only = false;  // objects carry only their metadata (see ListOptions)
  int watch_timeout_seconds = 300;
  // Start watching from here without listing first; "" lists first.
  std::string initial_resource_version;
  std::chrono::milliseconds max_backoff{std::chrono::seconds(30)};
};

struct ListWatchHandlers {
  // After every (re-)list: the complete set of objects. Replaces whatever was known before.
  std::function<void(const std::vector<Json>& items)> on_list;
  std::function<void(const WatchEvent& event)> on_event;
  // A failed list or watch that will be retried.
  std::function<void(const Error& error)> on_error;
};

// Runs list+watch on its own thread from Start() until Stop() (or destruction).
class ListWatcher {
 public:
  ListWatcher(Client& client, ResourceInfo resource, ListWatchOptions options,
              ListWatchHandlers handlers);
  ~ListWatcher();
  ListWatcher(const ListWatcher&) = delete;
  ListWatcher& operator=(const ListWatcher&) = delete;

  void Start();
  void Stop();

  // Counters for tests and benchmarks.
  int lists() const { return lists_; }
  int watches() const { return watches_; }
  std::string resource_version() const;

 private:
  void Run();
  bool ListOnce();                                  // false on error
  void WatchOnce();                                 // returns when the watch ends for any reason
  void Backoff();                                   // sleeps (interruptibly) and grows the delay
  void Deliver(const std::function<void()>& call);  // runs a handler, reporting its exceptions

  Client& client_;
  const ResourceInfo resource_;
  const ListWatchOptions options_;
  const ListWatchHandlers handlers_;

  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> lists_{0};
  std::atomic<int> watches_{0};
  mutable Mutex mu_;
  CondVar wake_;
  std::string resource_version_ GUARDED_BY(mu_);
  WatchStream* current_ GUARDED_BY(mu_) = nullptr;  // cancelled by Stop()
  std::chrono::milliseconds delay_{0};
};

}  // namespace plumbline::kube
