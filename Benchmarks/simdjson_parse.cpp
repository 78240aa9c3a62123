// simdjson_parse: parse-only throughput of Debian's libsimdjson on a directory of JSON files, to
// compare with `ferry-bench parse` (Ferry's JSONReader) on the same corpus (issue 6).
//
//   g++ -O2 -std=c++17 Benchmarks/simdjson_parse.cpp -lsimdjson -o /tmp/simdjson_parse
//   taskset -c 0 /tmp/simdjson_parse DIR [REPETITIONS=5]
//
// Every *.json file under DIR (recursively) is read into memory first, so I/O is not timed. Then, for
// each repetition, three passes over all files:
//   dom        simdjson::dom::parser::parse of every file (the tape is built; nothing else is read);
//   dom+walk   the same, plus a walk that touches every value (string bytes, keys, numbers counted);
//   ondemand   the On-Demand API walking every value of the whole document the same way.
// Each prints the median MiB/s over the repetitions (MiB = 2^20 bytes of input) and the walk's
// checksum, which `ferry-bench parse` computes the same way: string and key lengths are the unescaped
// UTF-8 byte counts.
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#define FERRY_STRING2(x) #x
#define FERRY_STRING(x) FERRY_STRING2(x)

namespace {

struct Checksum {
    uint64_t objects = 0, arrays = 0, keys = 0, keyBytes = 0, strings = 0, stringBytes = 0, numbers = 0,
             numberBytes = 0, bools = 0, nulls = 0;
    void add(const Checksum &o) {
        objects += o.objects; arrays += o.arrays; keys += o.keys; keyBytes += o.keyBytes; strings += o.strings;
        stringBytes += o.stringBytes; numbers += o.numbers; numberBytes += o.numberBytes; bools += o.bools;
        nulls += o.nulls;
    }
    bool operator==(const Checksum &o) const {
        return objects == o.objects && arrays == o.arrays && keys == o.keys && keyBytes == o.keyBytes &&
               strings == o.strings && stringBytes == o.stringBytes && numbers == o.numbers && bools == o.bools &&
               nulls == o.nulls;
    }
    // numberBytes (the numbers' text) is printed only where the API still has the text (On-Demand).
    void print(const char *label, bool withNumberText) const {
        std::printf("%s checksum: objects=%llu arrays=%llu keys=%llu keyBytes=%llu strings=%llu stringBytes=%llu "
                    "numbers=%llu bools=%llu nulls=%llu",
                    label, (unsigned long long)objects, (unsigned long long)arrays, (unsigned long long)keys,
                    (unsigned long long)keyBytes, (unsigned long long)strings, (unsigned long long)stringBytes,
                    (unsigned long long)numbers, (unsigned long long)bools, (unsigned long long)nulls);
        if (withNumberText) std::printf(" numberBytes=%llu", (unsigned long long)numberBytes);
        std::printf("\n");
    }
};

[[noreturn]] void fail(const char *what, simdjson::error_code error) {
    std::fprintf(stderr, "%s: %s\n", what, simdjson::error_message(error));
    std::exit(1);
}

void walk(simdjson::dom::element element, Checksum &sum) {
    using simdjson::dom::element_type;
    switch (element.type()) {
    case element_type::OBJECT:
        sum.objects++;
        for (auto field : simdjson::dom::object(element)) {
            sum.keys++;
            sum.keyBytes += field.key.size();
            walk(field.value, sum);
        }
        break;
    case element_type::ARRAY:
        sum.arrays++;
        for (auto item : simdjson::dom::array(element)) walk(item, sum);
        break;
    case element_type::STRING:
        sum.strings++;
        sum.stringBytes += std::string_view(element).size();
        break;
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
        sum.numbers++; // the DOM keeps the binary value only; the number's text is gone
        break;
    case element_type::BOOL: sum.bools++; break;
    case element_type::NULL_VALUE: sum.nulls++; break;
    }
}

void walk(simdjson::ondemand::value value, Checksum &sum) {
    using simdjson::ondemand::json_type;
    json_type type;
    if (auto error = value.type().get(type)) fail("type", error);
    switch (type) {
    case json_type::object: {
        sum.objects++;
        simdjson::ondemand::object object;
        if (auto error = value.get_object().get(object)) fail("object", error);
        for (auto field : object) {
            std::string_view key;
            if (auto error = field.unescaped_key().get(key)) fail("key", error);
            sum.keys++;
            sum.keyBytes += key.size();
            simdjson::ondemand::value child;
            if (auto error = field.value().get(child)) fail("value", error);
            walk(child, sum);
        }
        break;
    }
    case json_type::array: {
        sum.arrays++;
        simdjson::ondemand::array array;
        if (auto error = value.get_array().get(array)) fail("array", error);
        for (auto item : array) {
            simdjson::ondemand::value child;
            if (auto error = item.get(child)) fail("item", error);
            walk(child, sum);
        }
        break;
    }
    case json_type::string: {
        std::string_view text;
        if (auto error = value.get_string().get(text)) fail("string", error);
        sum.strings++;
        sum.stringBytes += text.size();
        break;
    }
    case json_type::number: {
        // The number's own text, as Ferry keeps it (raw_json_token includes trailing whitespace).
        std::string_view token = value.raw_json_token();
        while (!token.empty() && (token.back() == ' ' || token.back() == '\n' || token.back() == '\r' ||
                                  token.back() == '\t'))
            token.remove_suffix(1);
        sum.numbers++;
        sum.numberBytes += token.size();
        break;
    }
    case json_type::boolean: {
        bool b;
        if (auto error = value.get_bool().get(b)) fail("bool", error);
        sum.bools++;
        break;
    }
    case json_type::null:
        if (!value.is_null()) fail("null", simdjson::INCORRECT_TYPE);
        sum.nulls++;
        break;
    }
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    size_t n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

template <typename F> double seconds(F &&body) {
    auto start = std::chrono::steady_clock::now();
    body();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

int main(int argc, char **argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s DIR [REPETITIONS=5]\n", argv[0]);
        return 2;
    }
    int repetitions = argc > 2 ? std::atoi(argv[2]) : 5;
    if (repetitions < 1) repetitions = 1;

    std::vector<std::string> paths;
    for (auto &entry : std::filesystem::recursive_directory_iterator(argv[1]))
        if (entry.is_regular_file() && entry.path().extension() == ".json") paths.push_back(entry.path().string());
    std::sort(paths.begin(), paths.end());
    std::vector<simdjson::padded_string> files;
    size_t totalBytes = 0;
    for (auto &path : paths) {
        simdjson::padded_string text;
        if (auto error = simdjson::padded_string::load(path).get(text)) fail(path.c_str(), error);
        totalBytes += text.size();
        files.push_back(std::move(text));
    }
    double mib = double(totalBytes) / (1 << 20);
    // The DOM parser and On-Demand's structural index use the library's runtime-selected kernel; the rest
    // of On-Demand is inlined from the header with the kernel this program's compiler flags allow
    // (fallback, i.e. scalar, without -march on x86-64).
    std::printf("simdjson %s, runtime kernel %s (DOM, On-Demand stage 1), compile-time kernel %s (On-Demand)\n",
                FERRY_STRING(SIMDJSON_VERSION), simdjson::get_active_implementation()->name().c_str(),
                FERRY_STRING(SIMDJSON_BUILTIN_IMPLEMENTATION));
    std::printf("%zu files, %zu bytes (%.1f MiB), %d repetitions\n", files.size(), totalBytes, mib, repetitions);

    simdjson::dom::parser domParser;
    simdjson::ondemand::parser onDemandParser;
    std::vector<double> domRates, walkRates, onDemandRates;
    Checksum domSum, onDemandSum;
    uint64_t parsed = 0;
    for (int r = 0; r < repetitions; r++) {
        domRates.push_back(mib / seconds([&] {
            for (auto &file : files) {
                simdjson::dom::element root;
                if (auto error = domParser.parse(file).get(root)) fail("dom parse", error);
                parsed += root.is_object(); // something that depends on the parse
            }
        }));
        Checksum sum;
        walkRates.push_back(mib / seconds([&] {
            for (auto &file : files) {
                simdjson::dom::element root;
                if (auto error = domParser.parse(file).get(root)) fail("dom parse", error);
                walk(root, sum);
            }
        }));
        domSum = sum;
        Checksum onDemand;
        onDemandRates.push_back(mib / seconds([&] {
            for (auto &file : files) {
                simdjson::ondemand::document document;
                if (auto error = onDemandParser.iterate(file).get(document)) fail("ondemand iterate", error);
                simdjson::ondemand::value root;
                if (auto error = document.get_value().get(root)) fail("ondemand root", error);
                walk(root, onDemand);
            }
        }));
        onDemandSum = onDemand;
        std::printf("rep %d: dom %.1f MiB/s, dom+walk %.1f MiB/s, ondemand walk %.1f MiB/s\n", r + 1, domRates.back(),
                    walkRates.back(), onDemandRates.back());
    }
    std::printf("median over %d: dom parse %.1f MiB/s, dom parse+walk %.1f MiB/s, ondemand walk %.1f MiB/s "
                "(documents parsed: %llu)\n",
                repetitions, median(domRates), median(walkRates), median(onDemandRates), (unsigned long long)parsed);
    domSum.print("dom+walk", false);
    onDemandSum.print("ondemand", true);
    if (!(domSum == onDemandSum)) {
        std::fprintf(stderr, "DOM and On-Demand checksums differ\n");
        return 1;
    }
    return 0;
}
