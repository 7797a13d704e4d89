#include <doctest/doctest.h>

#include <string>

#include "mqtk/output/json_text.hpp"

using mqtk::append_base64;
using mqtk::append_json_string;
using mqtk::append_minified_json;
using mqtk::is_valid_utf8;

namespace {

std::string minify(std::string_view text)
{
  std::string out = "<";
  if (!append_minified_json(out, text)) {
    CHECK(out == "<"); // unchanged on failure
    return "INVALID";
  }
  return out.substr(1);
}

std::string quoted(std::string_view text)
{
  std::string out;
  append_json_string(out, text);
  return out;
}

std::string b64(std::string_view bytes)
{
  std::string out;
  append_base64(out, bytes);
  return out;
}

} // namespace

TEST_CASE("minify: removes insignificant whitespace and keeps numbers as written")
{
  CHECK(minify(" { \"a\" : [ 1 , 2.50 , -0 , 1e400 , 1E+2 , 12345678901234567890 ] ,\n\t\"b\" : null }\r\n")
        == R"({"a":[1,2.50,-0,1e400,1E+2,12345678901234567890],"b":null})");
  CHECK(minify("true") == "true");
  CHECK(minify("false") == "false");
  CHECK(minify(" null ") == "null");
  CHECK(minify("0") == "0");
  CHECK(minify("-0.0e-0") == "-0.0e-0");
  CHECK(minify(R"("a b \" \\ \/ \u00e9 \ud83d\ude00")") == R"("a b \" \\ \/ \u00e9 \ud83d\ude00")");
  CHECK(minify("{}") == "{}");
  CHECK(minify("[ ]") == "[]");
  CHECK(minify("{ }") == "{}");
  CHECK(minify(R"({"a":{"b":[{},[]]}, "a":1})") == R"({"a":{"b":[{},[]]},"a":1})");
  CHECK(minify("\"ünï\"") == "\"ünï\"");
  CHECK(minify("[\"a  b\"]") == "[\"a  b\"]");
}

TEST_CASE("minify: rejects what is not one JSON value")
{
  for (const char* bad :
       {"", " ", "plain text", "{", "}", "[1,]", "[1 2]", "{\"a\"}", "{\"a\":}", "{a:1}", "{\"a\":1,}", "01", "1.",
        ".5", "-", "+1", "1e", "1e+", "0x10", "NaN", "Infinity", "tru", "nul", "True", "'a'", "\"abc", "\"\\x\"",
        "\"\\u12\"", "\"\\u12g4\"", "\"a\tb\"", "\"a\nb\"", "1 2", "{} {}", "[1]]", "[[1]", "{\"a\":1}x",
        "\xef\xbb\xbf{}", "\v1", "\f1"}) {
    CAPTURE(bad);
    CHECK(minify(bad) == "INVALID");
  }
  CHECK(minify(std::string("{}\0", 3)) == "INVALID");
  CHECK(minify(std::string("\"a\0b\"", 5)) == "INVALID");
}

TEST_CASE("minify: strings must be valid UTF-8")
{
  CHECK(minify("\"\xff\"") == "INVALID");
  CHECK(minify("\"\xc3\"") == "INVALID");
  CHECK(minify("\"\xc0\xaf\"") == "INVALID");     // overlong
  CHECK(minify("\"\xed\xa0\x80\"") == "INVALID"); // surrogate
  CHECK(minify("\"\xf4\x90\x80\x80\"") == "INVALID");
  CHECK(minify("\"\xf0\x9f\x98\x80\"") == "\"\xf0\x9f\x98\x80\"");
}

TEST_CASE("minify: nesting depth is bounded without recursion")
{
  auto nested = [](std::size_t depth) { return std::string(depth, '[') + "1" + std::string(depth, ']'); };
  CHECK(minify(nested(mqtk::max_json_depth)) == nested(mqtk::max_json_depth));
  CHECK(minify(nested(mqtk::max_json_depth + 1)) == "INVALID");
  CHECK(minify(nested(10000)) == "INVALID");
  CHECK(minify(std::string(10000, '[')) == "INVALID");
  std::string objects;
  for (int i = 0; i < 10000; ++i) {
    objects += "{\"a\":";
  }
  objects += "1" + std::string(10000, '}');
  CHECK(minify(objects) == "INVALID");
  CHECK(minify(std::string(1000000, '[')) == "INVALID");
}

TEST_CASE("minify: appends after existing text")
{
  std::string out = "prefix:";
  CHECK(append_minified_json(out, " [1, 2] "));
  CHECK(out == "prefix:[1,2]");
  CHECK_FALSE(append_minified_json(out, "[1, 2"));
  CHECK(out == "prefix:[1,2]");
}

TEST_CASE("is_valid_utf8")
{
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain ascii\n"));
  CHECK(is_valid_utf8(std::string("nul\0inside", 10)));
  CHECK(is_valid_utf8("é€😀"));
  CHECK(is_valid_utf8("\xf4\x8f\xbf\xbf")); // U+10FFFF
  CHECK(is_valid_utf8("\xef\xbf\xbf"));     // U+FFFF
  CHECK_FALSE(is_valid_utf8("\xff"));
  CHECK_FALSE(is_valid_utf8("\xfe\xff"));
  CHECK_FALSE(is_valid_utf8("\x80"));
  CHECK_FALSE(is_valid_utf8("a\xc3"));               // truncated
  CHECK_FALSE(is_valid_utf8("\xe2\x82"));            // truncated
  CHECK_FALSE(is_valid_utf8("\xc3\x28"));            // bad continuation
  CHECK_FALSE(is_valid_utf8("\xc1\xbf"));            // overlong 2-byte
  CHECK_FALSE(is_valid_utf8("\xe0\x80\xaf"));        // overlong 3-byte
  CHECK_FALSE(is_valid_utf8("\xf0\x80\x80\xaf"));    // overlong 4-byte
  CHECK_FALSE(is_valid_utf8("\xed\xbf\xbf"));        // surrogate
  CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));    // above U+10FFFF
  CHECK_FALSE(is_valid_utf8("\xf8\x88\x80\x80\x80")); // 5-byte form
}

TEST_CASE("valid_utf8: stray bytes become U+FFFD, a cut falls between characters")
{
  using mqtk::valid_utf8;
  CHECK(valid_utf8("plain é€") == "plain é€");
  CHECK(valid_utf8("a\xff\xfe") == "a\uFFFD\uFFFD");
  CHECK(valid_utf8("\xe2\x82") == "\uFFFD\uFFFD"); // a truncated sequence: each byte
  CHECK(valid_utf8("\xed\xbf\xbf") == "\uFFFD\uFFFD\uFFFD"); // a surrogate
  CHECK(valid_utf8(std::string("nul\0kept", 8)) == std::string("nul\0kept", 8));
  CHECK(valid_utf8("ab€", 4) == "ab"); // € is 3 bytes: not cut in two
  CHECK(valid_utf8("ab€", 5) == "ab€");
  CHECK(valid_utf8("a\xff", 3) == "a");
  CHECK(valid_utf8("abc", 0).empty());
}

TEST_CASE("append_json_string: escapes")
{
  CHECK(quoted("") == "\"\"");
  CHECK(quoted("a/b") == "\"a/b\"");
  CHECK(quoted("\"\\") == R"("\"\\")");
  CHECK(quoted("\b\f\n\r\t") == R"("\b\f\n\r\t")");
  CHECK(quoted(std::string("\x01\x1f\0x", 4)) == R"("\u0001\u001f\u0000x")");
  CHECK(quoted("\x7f é") == "\"\x7f é\"");
  CHECK(quoted("\x1b[0m") == R"("\u001b[0m")");
}

TEST_CASE("append_base64")
{
  CHECK(b64("") == "");
  CHECK(b64("f") == "Zg==");
  CHECK(b64("fo") == "Zm8=");
  CHECK(b64("foo") == "Zm9v");
  CHECK(b64("foob") == "Zm9vYg==");
  CHECK(b64("fooba") == "Zm9vYmE=");
  CHECK(b64("foobar") == "Zm9vYmFy");
  CHECK(b64("\xff\xfe") == "//4=");
  CHECK(b64(std::string("\0\0\0", 3)) == "AAAA");
  CHECK(b64("\xfb\xff") == "+/8=");
}

namespace {

std::string unb64(std::string_view text)
{
  std::string out = "kept";
  if (!mqtk::append_base64_decoded(out, text)) {
    CHECK(out == "kept");
    return "<bad>";
  }
  return out.substr(4);
}

std::string exact_member(std::string_view payload)
{
  std::string out;
  mqtk::append_exact_payload_member(out, payload);
  return out;
}

} // namespace

TEST_CASE("append_base64_decoded")
{
  for (std::string_view bytes : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe", "\xfb\xff"}) {
    CHECK(unb64(b64(bytes)) == bytes);
  }
  CHECK(unb64("AAAA") == std::string("\0\0\0", 3));
  CHECK(unb64("Zg=") == "<bad>");    // not a multiple of 4
  CHECK(unb64("Zg==Zg==") == "<bad>"); // padding before the end
  CHECK(unb64("Z===") == "<bad>");
  CHECK(unb64("Zm9 ") == "<bad>");
  CHECK(unb64("Zm-v") == "<bad>");  // the URL-safe alphabet is not accepted
  CHECK(unb64("ab=c") == "<bad>");
}

TEST_CASE("append_exact_payload_member keeps every byte")
{
  CHECK(exact_member(R"({"a":1})") == R"("payload":{"a":1})");
  CHECK(exact_member("42") == R"("payload":42)");
  CHECK(exact_member("1.50e3") == R"("payload":1.50e3)");
  CHECK(exact_member("true") == R"("payload":true)");
  // Whitespace would be lost as a JSON value: written as a string.
  CHECK(exact_member(R"({ "a": 1 })") == R"("payload":"{ \"a\": 1 }")");
  CHECK(exact_member("42\n") == R"("payload":"42\n")");
  // A JSON string keeps its quotes.
  CHECK(exact_member(R"("on")") == R"("payload":"\"on\"")");
  CHECK(exact_member("on") == R"("payload":"on")");
  CHECK(exact_member("") == R"("payload":"")");
  CHECK(exact_member(std::string("\xff\0x", 3)) == R"("payload_base64":"/wB4")");
}
