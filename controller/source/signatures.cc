// Reading signatures out of raw git objects. No libgit2 here: these parse what a tenant's commit
// holds, byte for byte as git does, and are fuzzed (test/fuzz/sshsig_fuzz.cc's neighbour).
#include <cstring>

#include "source/git_source.h"

namespace plumbline::source {
namespace {

constexpr char kSignatureHeader[] = "gpgsig";
constexpr char kSha256SignatureHeader[] = "gpgsig-sha256";

// Whether `line` (without its newline) is the header `name`: "name value".
bool IsHeader(std::string_view line, std::string_view name) {
  return line.size() > name.size() && line.compare(0, name.size(), name) == 0 &&
         line[name.size()] == ' ';
}

}  // namespace

SignedObject SplitCommitSignature(const std::string& raw) {
  SignedObject out;
  out.signed_data.reserve(raw.size());
  size_t pos = 0;
  int signatures = 0;
  bool in_signature = false;  // continuation lines (" ...") of a signature header follow
  bool in_headers = true;
  while (pos < raw.size()) {
    size_t eol = raw.find('\n', pos);
    const size_t next = eol == std::string::npos ? raw.size() : eol + 1;
    std::string_view line(raw.data() + pos, (eol == std::string::npos ? raw.size() : eol) - pos);
    if (!in_headers) {
      out.signed_data.append(raw, pos, std::string::npos);
      break;
    }
    if (line.empty()) {  // the end of the headers: the message follows
      in_headers = false;
      out.signed_data.append(raw, pos, next - pos);
      pos = next;
      continue;
    }
    if (in_signature && line[0] == ' ') {
      if (signatures == 1 && out.error.empty() && !out.signature.empty()) {
        out.signature.append(line.substr(1));
        out.signature += '\n';
      }
      pos = next;
      continue;
    }
    in_signature = false;
    if (IsHeader(line, kSignatureHeader)) {
      ++signatures;
      in_signature = true;
      out.signature.assign(line.substr(sizeof(kSignatureHeader)));
      out.signature += '\n';
    } else if (IsHeader(line, kSha256SignatureHeader)) {
      in_signature = true;  // for SHA-256 repositories: left out of what is signed, as git does
    } else {
      out.signed_data.append(raw, pos, next - pos);
    }
    pos = next;
  }
  if (signatures > 1) {
    out.error = "the commit has " + std::to_string(signatures) + " gpgsig headers";
    out.signature.clear();
  }
  return out;
}

SignedObject SplitTagSignature(const std::string& raw) {
  static const char* const kBegins[] = {"-----BEGIN PGP SIGNATURE-----",
                                        "-----BEGIN PGP MESSAGE-----",
                                        "-----BEGIN SSH SIGNATURE-----"};
  SignedObject out;
  // The armor is in the message, after the headers: a header line cannot start one.
  const size_t body = raw.find("\n\n");
  size_t found = std::string::npos;
  if (body != std::string::npos) {
    for (size_t line = body + 2; line < raw.size();) {
      for (const char* begin : kBegins) {
        if (raw.compare(line, std::strlen(begin), begin) == 0) found = line;
      }
      const size_t eol = raw.find('\n', line);
      if (eol == std::string::npos) break;
      line = eol + 1;
    }
  }
  if (found == std::string::npos) {
    out.signed_data = raw;
  } else {
    out.signed_data = raw.substr(0, found);
    out.signature = raw.substr(found);
  }
  return out;
}

std::string TagObjectName(const std::string& raw) {
  size_t pos = 0;
  while (pos < raw.size()) {
    size_t eol = raw.find('\n', pos);
    if (eol == std::string::npos) eol = raw.size();
    std::string_view line(raw.data() + pos, eol - pos);
    if (line.empty()) break;
    if (IsHeader(line, "tag")) return std::string(line.substr(4));
    pos = eol + 1;
  }
  return "";
}

}  // namespace plumbline::source
