// The pinned programs Plumbline renders and decrypts with (kustomize, helm, sops), and age-keygen,
// built or found in the cache by hack/build-render-tools.sh, plus helpers to make age keys and
// SOPS-encrypted files the way a user does.
#pragma once

#include <string>

#include "render/render.h"

namespace plumbline::testing {

struct RenderToolPaths {
  std::string kustomize, helm, sops, age_keygen;
};

// Runs hack/build-render-tools.sh once per process; fails the test (fatally) when it cannot.
const RenderToolPaths& RenderTools();

// Points `options` at the pinned programs.
void UseRenderTools(render::RenderOptions* options);

struct AgeKey {
  std::string identity;   // AGE-SECRET-KEY-1...
  std::string recipient;  // age1...
};
AgeKey NewAgeKey();

// `sops --encrypt` of `plaintext` ("yaml", "json" or "dotenv") for `recipient`; with
// `encrypted_regex`, only the keys it matches are encrypted.
std::string SopsEncrypt(const std::string& plaintext, const std::string& format,
                        const std::string& recipient, const std::string& encrypted_regex = "");

}  // namespace plumbline::testing
