// A minimal JSON writer for the --json output of the tools: objects, arrays,
// strings (escaped; invalid UTF-8 replaced), integers, booleans, null.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mail {

class JsonWriter {
  public:
    JsonWriter& begin_object();
    JsonWriter& end_object();
    JsonWriter& begin_array();
    JsonWriter& end_array();
    JsonWriter& key(std::string_view k);
    JsonWriter& value(std::string_view s);
    JsonWriter& value(const char* s) { return value(std::string_view(s)); }
    JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
    JsonWriter& value(int64_t n);
    JsonWriter& value(bool b);
    JsonWriter& null();
    JsonWriter& strings(const std::vector<std::string>& list);
    const std::string& str() const { return out_; }

  private:
    void comma();
    std::string out_;
    std::vector<bool> first_; // per open container: no element written yet
    bool after_key_ = false;
};

std::string json_escape(std::string_view s);

} // namespace mail
