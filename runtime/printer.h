// Printing of message fields for logs and test failures: numbers as numbers, strings quoted, bytes
// as their length (payloads are not logged), null as null.
#pragma once

#include "runtime/bytes.h"
#include "runtime/tagged_fields.h"
#include "runtime/uuid.h"

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace kafka {

void print_value(std::ostream& os, bool v);
void print_value(std::ostream& os, int8_t v);
void print_value(std::ostream& os, int16_t v);
void print_value(std::ostream& os, uint16_t v);
void print_value(std::ostream& os, int32_t v);
void print_value(std::ostream& os, uint32_t v);
void print_value(std::ostream& os, int64_t v);
void print_value(std::ostream& os, double v);
void print_value(std::ostream& os, const std::string& v);
void print_value(std::ostream& os, const Bytes& v);
void print_value(std::ostream& os, const Uuid& v);
void print_value(std::ostream& os, const TaggedFields& v);
void print_null(std::ostream& os);
void print_separator(std::ostream& os, size_t index);   // "[" before the first, ", " after
void print_end(std::ostream& os);                       // "]"

template<typename T>
void print_value(std::ostream& os, const std::optional<T>& v);
template<typename T>
void print_value(std::ostream& os, const std::vector<T>& v);

template<typename T>
auto print_value(std::ostream& os, const T& v) -> decltype(v.print(os)) {
    v.print(os);
}

template<typename T>
void print_value(std::ostream& os, const std::optional<T>& v) {
    if (v) print_value(os, *v);
    else print_null(os);
}

template<typename T>
void print_value(std::ostream& os, const std::vector<T>& v) {
    print_separator(os, 0);
    for (size_t i = 0; i < v.size(); ++i) {
        if (i > 0) print_separator(os, i);
        print_value(os, v[i]);
    }
    print_end(os);
}

} // namespace kafka
