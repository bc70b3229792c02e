// http::Serve over Boost.Beast. The only file that sees Beast and Asio's server side.
//
// Why Beast: it is asynchronous, so a connection that sends nothing costs a socket and a timer
// instead of a thread; tcp_stream deadlines cover a whole read (a trickling client is cut all the
// same); the request parser counts a body as it arrives, chunked or not, and stops at a limit.
// cpprestsdk's listener had none of these and ran handlers on the thread pool that the
// Kubernetes client needs.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "http/server.h"

#include "common/mutex.h"

namespace plumbline::http {
namespace {

// The longest route "<prefix>*" whose prefix starts `path`; routes.end() when none.
std::map<std::string, Handler>::const_iterator FindPrefixRoute(
    const std::map<std::string, Handler>& routes, const std::string& path) {
  auto best = routes.end();
  for (auto it = routes.begin(); it != routes.end(); ++it) {
    const std::string& key = it->first;
    if (key.empty() || key.back() != '*') continue;
    if (path.compare(0, key.size() - 1, key, 0, key.size() - 1) != 0) continue;
    if (best == routes.end() || key.size() > best->first.size()) best = it;
  }
  return best;
}

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;

// After refusing a body it has not read (a Content-Length over the limit, an unknown path), the
// server reads and drops what the client already sent for a while, so that an honest client
// sees the answer instead of a reset. Bounded in bytes and time.
constexpr std::chrono::seconds kLingerTimeout{2};

// Runs handlers off the I/O thread, a bounded queue in front.
class HandlerPool {
 public:
  HandlerPool(int threads, size_t max_queued) : max_queued_(max_queued) {
    for (int i = 0; i < std::max(1, threads); ++i) {
      threads_.emplace_back([this] { Run(); });
    }
  }
  ~HandlerPool() { Stop(); }

  // False when the queue is full or the pool stopped.
  bool Submit(std::function<void()> task) {
    MutexLock lock(mu_);
    if (stopped_ || queue_.size() >= max_queued_) return false;
    queue_.push_back(std::move(task));
    cv_.notify_one();
    return true;
  }

  // Drops what has not started and waits for what has.
  void Stop() {
    {
      MutexLock lock(mu_);
      if (stopped_) return;
      stopped_ = true;
      queue_.clear();
      cv_.notify_all();
    }
    for (auto& t : threads_) t.join();
  }

 private:
  void Run() {
    for (;;) {
      std::function<void()> task;
      {
        MutexLock lock(mu_);
        while (!stopped_ && queue_.empty()) cv_.wait(lock);
        if (stopped_) return;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  const size_t max_queued_;
  Mutex mu_;
  CondVar cv_;
  std::deque<std::function<void()>> queue_ GUARDED_BY(mu_);
  bool stopped_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

// What every connection of one server shares; sessions keep it alive.
struct State {
  State(std::map<std::string, Handler> r, ServerOptions o)
      : routes(std::move(r)),
        options(o),
        pool(o.handler_threads, static_cast<size_t>(std::max(1, o.max_queued_requests))) {}
  const std::map<std::string, Handler> routes;
  const ServerOptions options;
  HandlerPool pool;
  std::atomic<int> connections{0};
};

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// One connection: headers, then the body, then one response, then close. Every step runs on
// the server's single I/O thread, so a Session needs no lock.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<State> state)
      : stream_(std::move(socket)), state_(std::move(state)) {
    beast::error_code ec;
    auto endpoint = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = endpoint.address().to_string();
  }
  ~Session() { state_->connections.fetch_sub(1); }

  void Start() {
    const ServerOptions& o = state_->options;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(o.max_header_bytes));
    parser_->body_limit(o.max_body_bytes);
    stream_.expires_after(o.header_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

 private:
  void OnHeader(beast::error_code ec) {
    if (ec == bhttp::error::header_limit) return Reply({431, "headers too large\n"}, false);
    // The parser refuses a Content-Length over the body limit as soon as it reads the header.
    if (ec == bhttp::error::body_limit) return Reply({413, "body too large\n"}, true);
    if (ec) return Close();  // a deadline, a reset, garbage: nobody to answer
    const auto& header = parser_->get();
    std::string target(header.target());
    path_ = target.substr(0, target.find('?'));
    route_ = state_->routes.find(path_);
    if (route_ == state_->routes.end()) route_ = FindPrefixRoute(state_->routes, path_);
    if (route_ == state_->routes.end()) return Reply({404, "not found\n"}, true);
    if (auto length = parser_->content_length();
        length && *length > state_->options.max_body_bytes) {
      return Reply({413, "body too large\n"}, true);
    }
    if (Lower(std::string(header[bhttp::field::expect])) == "100-continue") {
      // The client waits for this before it sends the body.
      continue_.emplace(bhttp::status::continue_, header.version());
      stream_.expires_after(state_->options.write_timeout);
      bhttp::async_write(stream_, *continue_,
                         [self = shared_from_this()](beast::error_code ec, size_t) {
                           if (ec) return self->Close();
                           self->ReadBody();
                         });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    stream_.expires_after(state_->options.body_timeout);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnBody(ec); });
  }

  void OnBody(beast::error_code ec) {
    // Past the limit: answer and close at once; the rest of the body is never read.
    if (ec == bhttp::error::body_limit) return Reply({413, "body too large\n"}, false);
    if (ec) return Close();
    auto request = parser_->release();
    ServerRequest in;
    in.method = std::string(request.method_string());
    in.path = path_;
    in.remote_address = remote_;
    for (const auto& field : request) {
      in.headers[Lower(std::string(field.name_string()))] = std::string(field.value());
    }
    in.body = std::move(request.body());
    // The handler may block (webhooks call the API server): run it off the I/O thread, then
    // come back to it to write.
    auto self = shared_from_this();
    const Handler* handler = &route_->second;
    bool queued = state_->pool.Submit([self, handler, in = std::move(in)]() mutable {
      ServerResponse out;
      try {
        out = (*handler)(in);
      } catch (const std::exception& e) {
        out = {500, std::string("internal error: ") + e.what() + "\n"};
      }
      // The session moves back to the I/O thread whole, so it is also destroyed there.
      auto executor = self->stream_.get_executor();
      asio::post(executor,
                 [self = std::move(self), out = std::move(out)] { self->Reply(out, false); });
    });
    if (!queued) Reply({503, "busy\n"}, false);
  }

  // Writes `r` and closes; `linger` first drains what the client already sent of a body that
  // was not read.
  void Reply(const ServerResponse& r, bool linger) {
    response_.emplace(static_cast<bhttp::status>(r.status), 11);
    response_->set(bhttp::field::content_type, r.content_type);
    response_->keep_alive(false);
    response_->body() = r.body;
    response_->prepare_payload();
    stream_.expires_after(state_->options.write_timeout);
    bhttp::async_write(stream_, *response_,
                       [self = shared_from_this(), linger](beast::error_code ec, size_t) {
                         if (ec || !linger) return self->Close();
                         beast::error_code ignored;
                         self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                         self->stream_.expires_after(kLingerTimeout);
                         self->Drain(0);
                       });
  }

  void Drain(size_t drained) {
    if (drained > state_->options.max_body_bytes) return Close();
    stream_.async_read_some(asio::buffer(drain_),
                            [self = shared_from_this(), drained](beast::error_code ec, size_t n) {
                              if (ec) return self->Close();
                              self->Drain(drained + n);
                            });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  std::shared_ptr<State> state_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::string path_;
  std::map<std::string, Handler>::const_iterator route_;
  std::optional<bhttp::response<bhttp::empty_body>> continue_;
  std::optional<bhttp::response<bhttp::string_body>> response_;
  std::array<char, 16 << 10> drain_;
};

class BeastServer : public Server {
 public:
  BeastServer(std::map<std::string, Handler> routes, ServerOptions options)
      : state_(std::make_shared<State>(std::move(routes), options)), acceptor_(io_) {}

  ~BeastServer() override {
    io_.stop();
    if (thread_.joinable()) thread_.join();
    beast::error_code ignored;
    acceptor_.close(ignored);
    // Handlers that run finish (they may use what the routes captured, which outlives the
    // server); their replies are never written. Connections close with the io_context.
    state_->pool.Stop();
  }

  Status Open(const tcp::endpoint& endpoint) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Error(ErrorCode::kUnavailable, ec.message());
    port_ = acceptor_.local_endpoint(ec).port();
    Accept();
    thread_ = std::thread([this] { io_.run(); });
    return Status::Ok();
  }

  int port() const override { return port_; }

 private:
  void Accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;  // closing
      if (!ec) {
        if (state_->connections.fetch_add(1) >= state_->options.max_connections) {
          state_->connections.fetch_sub(1);
          beast::error_code ignored;
          socket.close(ignored);  // over the cap: closed at once
        } else {
          std::make_shared<Session>(std::move(socket), state_)->Start();
        }
      }
      if (!ec) return Accept();
      // Out of descriptors (EMFILE) or similar: accepting again at once would spin; pause.
      retry_.expires_after(std::chrono::milliseconds(100));
      retry_.async_wait([this](beast::error_code wait_ec) {
        if (wait_ec != asio::error::operation_aborted) Accept();
      });
    });
  }

  std::shared_ptr<State> state_;
  asio::io_context io_{1};
  tcp::acceptor acceptor_;
  asio::steady_timer retry_{io_};
  std::thread thread_;
  int port_ = 0;
};

Result<tcp::endpoint> Endpoint(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    return Error(ErrorCode::kInvalidArgument,
                 "address \"" + address + "\" is not host:port or :port");
  }
  std::string host = address.substr(0, colon);
  std::string port = address.substr(colon + 1);
  if (port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); }) ||
      std::stoi(port) > 65535) {
    return Error(ErrorCode::kInvalidArgument, "address \"" + address + "\" has a bad port");
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  beast::error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  if (ec) {
    return Error(ErrorCode::kInvalidArgument,
                 "address \"" + address + "\": the host must be an IP address or localhost");
  }
  return tcp::endpoint(ip, static_cast<unsigned short>(std::stoi(port)));
}

}  // namespace

Result<std::unique_ptr<Server>> Serve(const std::string& address,
                                      std::map<std::string, Handler> routes,
                                      ServerOptions options) {
  auto endpoint = Endpoint(address);
  if (!endpoint.ok()) return endpoint.error();
  auto server = std::make_unique<BeastServer>(std::move(routes), options);
  if (Status s = server->Open(*endpoint); !s.ok()) {
    return Error(ErrorCode::kUnavailable,
                 "cannot listen on " + address + ": " + s.error().message());
  }
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace plumbline::http
