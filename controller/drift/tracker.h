// Drift decisions (PRODUCT §3.5). For each object an Application manages, the tracker keeps what
// applying git gives — the fields our manager owns, read out of the object the API server returned
// for our apply (or dry run), with the resourceVersion it had — and judges every live change the
// watches report against it: same resourceVersion, no drift; else compare the owned fields. The
// server's defaulting and normalization are in both sides, other managers' fields in neither, so
// the decision is exact and costs no request.
//
// After a restart nothing is known: objects our manager applied are kept as candidates as the
// watches list them, and Adopt turns one into an expectation when status.inventory's digest
// says it is still what our last apply stored, so a restart costs no request per object.
//
// Thread-safe: watch threads call Observe, workers the rest.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "apply/object_key.h"
#include "common/json.h"
#include "common/mutex.h"
#include "drift/fields.h"

namespace plumbline::drift {

// One drifted object, as status.drift lists it.
struct ObjectDrift {
  apply::ObjectKey key;
  bool missing = false;
  std::vector<std::string> fields;  // JSON pointers
};

// What was learnt about one object from our last apply (or dry run) of it.
struct Expectation {
  std::string manager;               // our field manager
  size_t manifest_hash = 0;          // of what git rendered, so a change in git is seen
  std::string resource_version;      // of `stored`; "" when unknown (a dry run)
  Json fields;                       // FieldsV1 tree our manager owns
  FieldValues values;                // the stored values at `fields`
  std::vector<std::string> ignored;  // ignoreDifferences pointers: never compared
};

// Builds an Expectation from the object the server returned for our apply of it; nullopt when
// our manager owns nothing there (the object was not applied by us).
std::optional<Expectation> ExpectationFrom(const Json& stored, const std::string& manager,
                                           size_t manifest_hash, std::vector<std::string> ignored);

// The drifted fields of `live` against `expected` (empty: no drift).
std::vector<std::string> Evaluate(const Expectation& expected, const Json& live);

// What an Expectation says, in 16 hex digits: the manifest hash and every owned value that is
// not ignored. Kept in status.inventory, it lets a restarted controller trust a live object
// without a request (Tracker::Adopt): values a manager other than ours changed, or removed, are
// no longer owned by ours (server-side apply moves the field to the writer), so they change the
// digest read from the live object too.
std::string StoredDigest(const Expectation& expected);

class Tracker {
 public:
  // `adopt_manager`: watched objects that no expectation covers yet, but which this field
  // manager applied, are kept as candidates for Adopt ("": none are kept).
  explicit Tracker(std::string adopt_manager = {}) : adopt_manager_(std::move(adopt_manager)) {}

  // Called (without locks held) when an Application's drift or an object's health changed.
  using WakeUp = std::function<void(const std::string& app)>;
  void SetWakeUp(WakeUp wake_up);

  // Replaces the expectation for one object of `app`; its drift is cleared (the object was just
  // read as the server stores it), or set to `drifted` when the caller compared it already.
  void Record(const std::string& app, const apply::ObjectKey& key, Expectation expected,
              std::vector<std::string> drifted = {});

  struct Known {
    size_t manifest_hash = 0;
    bool drifted = false;
    bool missing = false;
    std::vector<std::string> fields;  // when drifted
    std::string digest;               // StoredDigest of the expectation
  };
  std::optional<Known> Find(const std::string& app, const apply::ObjectKey& key) const;

  // After a restart: takes the watched object as what our last apply stored when its digest
  // (with this manifest hash and these ignored pointers) is `digest`, as status.inventory
  // recorded it; the object then has an expectation, as if applied now. Nullopt when nothing
  // was watched for it, or it differs (it must then be applied or learnt as usual).
  std::optional<Known> Adopt(const std::string& app, const apply::ObjectKey& key,
                             size_t manifest_hash, std::vector<std::string> ignored,
                             const std::string& digest);

  // The object is being re-applied to correct its drift (until Record or EndCorrection): a live
  // change that makes it match git is then our own write and wakes nobody up.
  void BeginCorrection(const std::string& app, const apply::ObjectKey& key);
  void EndCorrection(const std::string& app, const apply::ObjectKey& key);

  // Drops expectations for objects of `app` not in `keep` (they left git or were pruned).
  void Retain(const std::string& app, const std::set<apply::ObjectKey>& keep);
  void Forget(const std::string& app);

  // The drifted objects of `app`, sorted by key.
  std::vector<ObjectDrift> Drifted(const std::string& app) const;
  size_t objects() const;

  // A live change from the watches; `object` null when it was deleted.
  void Observe(const apply::ObjectKey& key, const std::string& app, const Json* object,
               bool health_changed);

 private:
  // An Expectation as text: parsed, its trees take about 2.5 KiB per object, as text a fifth of
  // that (10,000 objects: some 20 MiB saved). It is parsed back only to judge a live change
  // that is not our own write, or to adopt it.
  struct Packed {
    std::string manager;
    size_t manifest_hash = 0;
    std::string resource_version;
    std::string fields;  // the FieldsV1 tree
    std::string values;  // [[path, pointer, present, value], ...]
    std::vector<std::string> ignored;
  };
  static Packed Pack(const Expectation& e);
  static Expectation Unpack(const Packed& p);

  struct Entry {
    Packed expected;
    std::string digest;     // StoredDigest(expected), once confirmed
    bool confirmed = true;  // false: a candidate read from the watch, not yet adopted
    bool drifted = false;
    bool missing = false;
    bool correcting = false;
    std::vector<std::string> fields;
  };
  // A watched object without a confirmed expectation: kept (or dropped) as a candidate.
  void KeepCandidate(const std::string& app, const apply::ObjectKey& key, const Json* object)
      REQUIRES(mu_);

  mutable Mutex mu_;
  std::map<std::string, std::map<apply::ObjectKey, Entry>> apps_ GUARDED_BY(mu_);
  WakeUp wake_up_;  // set before use
  const std::string adopt_manager_;
};

}  // namespace plumbline::drift
