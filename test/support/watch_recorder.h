// Collects what a kube::ListWatcher delivers, for assertions in watch tests. Thread-safe.
#pragma once

#include <algorithm>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/json.h"
#include "kube/watch.h"

namespace plumbline::testing {

struct WatchRecorder {
  std::mutex mu;
  std::vector<std::string> events;  // "ADDED name", "MODIFIED name=value", "DELETED name"
  std::set<std::string> listed;
  int list_calls = 0;

  kube::ListWatchHandlers Handlers() {
    return {[this](const std::vector<Json>& items) {
              std::lock_guard<std::mutex> lock(mu);
              ++list_calls;
              listed.clear();
              for (const auto& item : items) listed.insert(item["metadata"]["name"]);
            },
            [this](const kube::WatchEvent& e) {
              std::lock_guard<std::mutex> lock(mu);
              std::string name = e.object["metadata"]["name"];
              switch (e.type) {
                case kube::WatchEvent::Type::kAdded:
                  events.push_back("ADDED " + name);
                  break;
                case kube::WatchEvent::Type::kModified:
                  events.push_back("MODIFIED " + name + "=" +
                                   e.object["data"].value("v", std::string()));
                  break;
                case kube::WatchEvent::Type::kDeleted:
                  events.push_back("DELETED " + name);
                  break;
                default:
                  break;
              }
            },
            nullptr};
  }
  bool Saw(const std::string& event) {
    std::lock_guard<std::mutex> lock(mu);
    return std::find(events.begin(), events.end(), event) != events.end();
  }
};

}  // namespace plumbline::testing
