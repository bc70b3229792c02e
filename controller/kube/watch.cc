#include "kube/watch.h"

#include <malloc.h>

#include "common/mutex.h"
#include "kube/errors.h"

namespace plumbline::kube {

std::optional<std::string> LineFramer::Next() {
  auto nl = buffer_.find('\n', start_);
  if (nl == std::string::npos) {
    // Compact so a long stream does not grow the buffer without bound.
    if (start_ > 0) {
      buffer_.erase(0, start_);
      start_ = 0;
    }
    return std::nullopt;
  }
  std::string line = buffer_.substr(start_, nl - start_);
  start_ = nl + 1;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

Result<WatchEvent> ParseWatchEvent(std::string_view line) {
  Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string() || !j.contains("object")) {
    return Error(ErrorCode::kInternal,
                 "malformed watch event: " + std::string(line.substr(0, 200)));
  }
  WatchEvent event;
  const std::string& type = j["type"].get_ref<const std::string&>();
  if (type == "ADDED")
    event.type = WatchEvent::Type::kAdded;
  else if (type == "MODIFIED")
    event.type = WatchEvent::Type::kModified;
  else if (type == "DELETED")
    event.type = WatchEvent::Type::kDeleted;
  else if (type == "BOOKMARK")
    event.type = WatchEvent::Type::kBookmark;
  else if (type == "ERROR")
    event.type = WatchEvent::Type::kError;
  else
    return Error(ErrorCode::kInternal, "unknown watch event type \"" + type + "\"");
  event.object = std::move(j["object"]);
  return event;
}

namespace {

constexpr size_t kTrimAfterListOf = 500;  // items

class HttpWatchStream : public WatchStream {
 public:
  HttpWatchStream(std::unique_ptr<http::Stream> stream, std::string context)
      : stream_(std::move(stream)), context_(std::move(context)) {}

  Result<std::optional<WatchEvent>> Next() override {
    while (true) {
      if (auto line = framer_.Next()) {
        if (line->empty()) continue;
        auto event = ParseWatchEvent(*line);
        if (!event.ok()) return event.error().Wrap(context_);
        return std::optional<WatchEvent>(std::move(*event));
      }
      auto chunk = stream_->ReadSome();
      if (!chunk.ok()) return chunk.error().Wrap(context_);
      if (chunk->empty()) return std::optional<WatchEvent>();  // the server ended the watch
      framer_.Append(*chunk);
    }
  }

  void Cancel() override { stream_->Cancel(); }

 private:
  std::unique_ptr<http::Stream> stream_;
  std::string context_;
  LineFramer framer_;
};

std::string ResourceVersionOf(const Json& object) {
  if (object.is_object() && object.contains("metadata") && object["metadata"].is_object()) {
    return object["metadata"].value("resourceVersion", "");
  }
  return "";
}

}  // namespace

std::unique_ptr<WatchStream> NewWatchStream(std::unique_ptr<http::Stream> stream,
                                            std::string context) {
  return std::make_unique<HttpWatchStream>(std::move(stream), std::move(context));
}

ListWatcher::ListWatcher(Client& client, ResourceInfo resource, ListWatchOptions options,
                         ListWatchHandlers handlers)
    : client_(client),
      resource_(std::move(resource)),
      options_(std::move(options)),
      handlers_(std::move(handlers)),
      resource_version_(options_.initial_resource_version) {}

ListWatcher::~ListWatcher() { Stop(); }

void ListWatcher::Start() {
  thread_ = std::thread([this] { Run(); });
}

void ListWatcher::Stop() {
  stopping_ = true;
  {
    MutexLock lock(mu_);
    if (current_) current_->Cancel();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string ListWatcher::resource_version() const {
  MutexLock lock(mu_);
  return resource_version_;
}

void ListWatcher::Backoff() {
  delay_ = std::min(options_.max_backoff,
                    delay_.count() == 0 ? std::chrono::milliseconds(200) : delay_ * 2);
  MutexLock lock(mu_);
  wake_.wait_for(lock, delay_, [this] { return stopping_.load(); });
}

bool ListWatcher::ListOnce() {
  ListOptions list_options;
  list_options.label_selector = options_.label_selector;
  list_options.metadata_only = options_.metadata_only;
  bool large = false;
  {
    auto list = client_.List(resource_, options_.ns, list_options);
    ++lists_;
    if (!list.ok()) {
      if (handlers_.on_error) handlers_.on_error(list.error());
      return false;
    }
    {
      MutexLock lock(mu_);
      resource_version_ = list->resource_version;
    }
    if (handlers_.on_list) Deliver([&] { handlers_.on_list(list->items); });
    large = list->items.size() >= kTrimAfterListOf;
  }
  // A large list's parsed form is many times its text. Once handed on and freed, give the
  // memory back, so that resident memory follows what the handlers keep, not the list's peak.
  if (large) malloc_trim(0);
  return true;
}

void ListWatcher::WatchOnce() {
  WatchOptions watch_options;
  watch_options.resource_version = resource_version();
  watch_options.label_selector = options_.label_selector;
  watch_options.metadata_only = options_.metadata_only;
  watch_options.timeout_seconds = options_.watch_timeout_seconds;
  auto stream = client_.Watch(resource_, options_.ns, watch_options);
  ++watches_;
  if (!stream.ok()) {
    if (IsGone(stream.error())) {
      MutexLock lock(mu_);
      resource_version_.clear();  // too old: re-list
      return;
    }
    if (handlers_.on_error) handlers_.on_error(stream.error());
    Backoff();
    return;
  }
  {
    MutexLock lock(mu_);
    current_ = stream->get();
    if (stopping_) current_->Cancel();
  }
  bool retry_later = false;
  bool got_event = false;
  while (!stopping_) {
    auto next = (*stream)->Next();
    if (!next.ok()) {
      // A broken or idle-cut connection: re-watch from the last resourceVersion we saw.
      if (!stopping_ && next.error().code() != ErrorCode::kCancelled && handlers_.on_error) {
        handlers_.on_error(next.error());
      }
      retry_later = !got_event;  // failing before any event: slow down
      break;
    }
    if (!next->has_value()) break;  // the server's timeout: just watch again
    WatchEvent& event = **next;
    got_event = true;
    delay_ = std::chrono::milliseconds(0);
    if (event.type == WatchEvent::Type::kError) {
      int code = event.object.value("code", 0);
      MutexLock lock(mu_);
      if (code == 410) {
        resource_version_.clear();
      } else {
        retry_later = true;
      }
      break;
    }
    std::string rv = ResourceVersionOf(event.object);
    if (!rv.empty()) {
      MutexLock lock(mu_);
      resource_version_ = rv;
    }
    if (event.type == WatchEvent::Type::kBookmark) continue;
    if (handlers_.on_event) Deliver([&] { handlers_.on_event(event); });
  }
  {
    MutexLock lock(mu_);
    current_ = nullptr;
  }
  if (retry_later && !stopping_) Backoff();
}

void ListWatcher::Deliver(const std::function<void()>& call) {
  // A handler that throws (an object of an unexpected shape) must not end the watch thread.
  try {
    call();
  } catch (const std::exception& e) {
    if (handlers_.on_error) {
      handlers_.on_error(
          Error(ErrorCode::kInternal, std::string("watch handler failed: ") + e.what()));
    }
  }
}

void ListWatcher::Run() {
  while (!stopping_) {
    if (resource_version().empty()) {
      if (!ListOnce()) {
        Backoff();
        continue;
      }
    }
    WatchOnce();
  }
}

}  // namespace plumbline::kube
