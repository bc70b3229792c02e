// Reading signatures out of raw git objects as git does: what is signed, and what is refused.
#include <gtest/gtest.h>

#include "source/git_source.h"

namespace plumbline::source {
namespace {

const char kHeaders[] =
    "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
    "author A <a@x> 1700000000 +0000\n"
    "committer A <a@x> 1700000000 +0000\n";

TEST(SplitCommitSignature, TheSignatureIsUnfoldedAndLeftOutOfWhatIsSigned) {
  const std::string raw = std::string(kHeaders) +
                          "gpgsig -----BEGIN SSH SIGNATURE-----\n"
                          " U1NIU0lH\n"
                          " \n"
                          " -----END SSH SIGNATURE-----\n"
                          "\nmessage\n";
  SignedObject split = SplitCommitSignature(raw);
  EXPECT_EQ(split.error, "");
  EXPECT_EQ(split.signature,
            "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n\n-----END SSH SIGNATURE-----\n");
  EXPECT_EQ(split.signed_data, std::string(kHeaders) + "\nmessage\n");
}

TEST(SplitCommitSignature, AnUnsignedCommitIsSignedDataOnly) {
  const std::string raw = std::string(kHeaders) + "\nmessage\n";
  SignedObject split = SplitCommitSignature(raw);
  EXPECT_EQ(split.signature, "");
  EXPECT_EQ(split.error, "");
  EXPECT_EQ(split.signed_data, raw);
}

// A signature header written into the message is text, not a signature (libgit2 1.5 would take
// it).
TEST(SplitCommitSignature, OnlyTheHeadersAreSearched) {
  const std::string raw = std::string(kHeaders) +
                          "\nmessage\ngpgsig -----BEGIN SSH SIGNATURE-----\n x\n"
                          " -----END SSH SIGNATURE-----\n";
  SignedObject split = SplitCommitSignature(raw);
  EXPECT_EQ(split.signature, "");
  EXPECT_EQ(split.signed_data, raw);
}

TEST(SplitCommitSignature, TwoSignatureHeadersAreRefused) {
  const std::string raw = std::string(kHeaders) +
                          "gpgsig -----BEGIN SSH SIGNATURE-----\n a\n -----END SSH SIGNATURE-----\n"
                          "gpgsig -----BEGIN SSH SIGNATURE-----\n b\n -----END SSH SIGNATURE-----\n"
                          "\nmessage\n";
  SignedObject split = SplitCommitSignature(raw);
  EXPECT_EQ(split.signature, "");
  EXPECT_NE(split.error.find("2 gpgsig headers"), std::string::npos) << split.error;
}

// As git does in a SHA-1 repository: a gpgsig-sha256 header is neither the signature nor signed.
TEST(SplitCommitSignature, ASha256SignatureHeaderIsLeftOutOfBoth) {
  const std::string raw = std::string(kHeaders) +
                          "gpgsig-sha256 -----BEGIN PGP SIGNATURE-----\n z\n"
                          " -----END PGP SIGNATURE-----\n"
                          "\nmessage\n";
  SignedObject split = SplitCommitSignature(raw);
  EXPECT_EQ(split.signature, "");
  EXPECT_EQ(split.signed_data, std::string(kHeaders) + "\nmessage\n");
}

TEST(SplitTagSignature, TheLastArmorInTheMessageIsTheSignature) {
  const std::string head =
      "object 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ntype commit\ntag v1\n"
      "tagger A <a@x> 1700000000 +0000\n\nrelease\n"
      "-----BEGIN SSH SIGNATURE-----\nquoted in the message\n-----END SSH SIGNATURE-----\n";
  const std::string signature =
      "-----BEGIN SSH SIGNATURE-----\nreal\n-----END SSH SIGNATURE-----\n";
  SignedObject split = SplitTagSignature(head + signature);
  EXPECT_EQ(split.signature, signature);
  EXPECT_EQ(split.signed_data, head);
  EXPECT_EQ(TagObjectName(head + signature), "v1");

  SignedObject unsigned_tag = SplitTagSignature("object x\ntype commit\ntag v2\n\nrelease\n");
  EXPECT_EQ(unsigned_tag.signature, "");
  // An armor line among the headers is not one.
  SignedObject in_headers =
      SplitTagSignature("object x\n-----BEGIN PGP SIGNATURE-----\ntag v3\n\nrelease\n");
  EXPECT_EQ(in_headers.signature, "");
}

}  // namespace
}  // namespace plumbline::source
