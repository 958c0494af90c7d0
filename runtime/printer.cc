#include "runtime/printer.h"

#include <iomanip>
#include <ostream>

namespace kafka {

void print_value(std::ostream& os, bool v) { os << (v ? "true" : "false"); }
void print_value(std::ostream& os, int8_t v) { os << static_cast<int>(v); }
void print_value(std::ostream& os, int16_t v) { os << v; }
void print_value(std::ostream& os, uint16_t v) { os << v; }
void print_value(std::ostream& os, int32_t v) { os << v; }
void print_value(std::ostream& os, uint32_t v) { os << v; }
void print_value(std::ostream& os, int64_t v) { os << v; }
void print_value(std::ostream& os, double v) { os << v; }
void print_value(std::ostream& os, const std::string& v) { os << std::quoted(v); }
void print_value(std::ostream& os, const Bytes& v) { os << "bytes(" << v.size() << ")"; }
void print_value(std::ostream& os, const Uuid& v) { os << v.to_string(); }
void print_null(std::ostream& os) { os << "null"; }
void print_separator(std::ostream& os, size_t index) { os << (index == 0 ? "[" : ", "); }
void print_end(std::ostream& os) { os << "]"; }

void print_value(std::ostream& os, const TaggedFields& v) {
    os << "[";
    for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << "tag " << v[i].tag << ": bytes(" << v[i].data.size() << ")";
    os << "]";
}

} // namespace kafka
