#include "runtime/grammar/schema/json_schema_to_gbnf.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/common/json_depth.h"
#include "runtime/grammar/schema/json_schema_converter.h"
#include "runtime/grammar/schema/json_string_chars.h"
#include "runtime/grammar/schema/schema_all_of.h"
#include "runtime/grammar/schema/schema_keywords.h"
#include "runtime/grammar/schema/schema_limits.h"
#include "runtime/grammar/schema/string_formats.h"

namespace ggufd::grammar {
namespace schema {
namespace {

std::set<std::string> ReservedNames() {
  std::set<std::string> names = {
      "space",  "boolean", "null",   "integral-part", "decimal-part", "integer",
      "number", "char",    "string", "value",         "object",       "array"};
  for (const std::string& name : StringFormatRuleNames()) names.insert(name);
  return names;
}

// Keywords other than annotations, $defs and `except`.
bool HasConstraints(const Json& schema,
                    std::initializer_list<std::string_view> except) {
  for (auto it = schema.begin(); it != schema.end(); ++it) {
    KeywordKind kind = ClassifyKeyword(it.key());
    if (kind == KeywordKind::kAnnotation || kind == KeywordKind::kDefinitions) {
      continue;
    }
    bool excepted = false;
    for (std::string_view e : except) excepted = excepted || e == it.key();
    if (!excepted) return true;
  }
  return false;
}

bool HasKeywordOf(const Json& schema, KeywordKind kind) {
  for (auto it = schema.begin(); it != schema.end(); ++it) {
    if (ClassifyKeyword(it.key()) == kind) return true;
  }
  return false;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// URI fragments may percent-encode pointer characters.
std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
        HexValue(s[i + 2]) >= 0) {
      out.push_back(
          static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string UnescapeToken(std::string_view token) {
  std::string out;
  for (size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '~' && i + 1 < token.size() && token[i + 1] == '1') {
      out.push_back('/');
      ++i;
    } else if (token[i] == '~' && i + 1 < token.size() && token[i + 1] == '0') {
      out.push_back('~');
      ++i;
    } else {
      out.push_back(token[i]);
    }
  }
  return out;
}

bool MatchesType(const Json& value, std::string_view type) {
  if (type == "null") return value.is_null();
  if (type == "boolean") return value.is_boolean();
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "number") return value.is_number();
  if (type == "integer") {
    if (value.is_number_integer()) return true;
    if (!value.is_number_float()) return false;
    double d = value.get<double>();
    return std::isfinite(d) && std::trunc(d) == d;
  }
  return false;
}

bool IsTypeName(std::string_view t) {
  return t == "null" || t == "boolean" || t == "object" || t == "array" ||
         t == "string" || t == "number" || t == "integer";
}

}  // namespace

std::string Where(std::string_view pointer) {
  return absl::StrCat("#", std::string(pointer));
}

std::string ChildPointer(std::string_view pointer, std::string_view token) {
  std::string out(pointer);
  out.push_back('/');
  for (char c : token) {
    if (c == '~') {
      out.append("~0");
    } else if (c == '/') {
      out.append("~1");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string JoinName(std::string_view name, std::string_view part) {
  if (name.empty()) return std::string(part);
  return absl::StrCat(std::string(name), "-", std::string(part));
}

SchemaConverter::SchemaConverter(const Json& root)
    : root_(root), builder_(ReservedNames()) {
  if (root.is_object() && root.contains("$id") && root["$id"].is_string()) {
    root_id_ = root["$id"].get<std::string>();
    if (!root_id_.empty() && root_id_.back() == '#') root_id_.pop_back();
  }
}

absl::StatusOr<std::string> SchemaConverter::Convert() {
  absl::StatusOr<Expr> root = Visit(root_, "", "", 0);
  if (!root.ok()) return root.status();
  return builder_.Render(*std::move(root), "schema");
}

absl::Status SchemaConverter::CheckKeywords(const Json& schema,
                                            const std::string& pointer) const {
  for (auto it = schema.begin(); it != schema.end(); ++it) {
    const std::string& key = it.key();
    if (ClassifyKeyword(key) == KeywordKind::kUnsupported) {
      std::string_view reason = UnsupportedReason(key);
      return absl::InvalidArgumentError(absl::StrCat(
          "JSON Schema keyword \"", key, "\" at ", Where(pointer),
          " is not supported: ",
          reason.empty() ? "unknown keyword" : std::string(reason)));
    }
    if (key == "$id" && &schema != &root_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "JSON Schema keyword \"$id\" at ", Where(pointer),
          " is not supported below the root (it would change how $ref "
          "resolves)"));
    }
    if (key == "uniqueItems") {
      if (!it.value().is_boolean()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "uniqueItems at ", Where(pointer), " must be a boolean"));
      }
      if (it.value().get<bool>()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "JSON Schema keyword \"uniqueItems\": true at ", Where(pointer),
            " is not supported: a grammar cannot compare array items"));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::pair<const Json*, std::string>> SchemaConverter::ResolveRef(
    const Json& ref, const std::string& pointer) const {
  if (!ref.is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat("$ref at ", Where(pointer), " must be a string"));
  }
  std::string text = ref.get<std::string>();
  std::string_view rest = text;
  if (!root_id_.empty() && rest.starts_with(root_id_)) {
    rest.remove_prefix(root_id_.size());
  }
  if (rest.empty() || rest[0] != '#') {
    return absl::InvalidArgumentError(absl::StrCat(
        "$ref \"", text, "\" at ", Where(pointer),
        " is not supported: only \"#\" and \"#/...\" pointers within the "
        "document (no remote or relative references)"));
  }
  std::string fragment = PercentDecode(rest.substr(1));
  if (!fragment.empty() && fragment[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        "$ref \"", text, "\" at ", Where(pointer),
        " is not supported: anchors are not; use a \"#/...\" pointer"));
  }
  const Json* target = &root_;
  std::string normalized;
  size_t pos = 0;
  while (pos < fragment.size()) {
    size_t next = fragment.find('/', pos + 1);
    if (next == std::string::npos) next = fragment.size();
    std::string token = UnescapeToken(
        std::string_view(fragment).substr(pos + 1, next - pos - 1));
    pos = next;
    if (target->is_object() && target->contains(token)) {
      target = &(*target)[token];
    } else if (target->is_array() && !token.empty() &&
               token.find_first_not_of("0123456789") == std::string::npos &&
               token.size() < 10 && std::stoul(token) < target->size()) {
      target = &(*target)[std::stoul(token)];
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("$ref \"", text, "\" at ", Where(pointer),
                       " points to nothing in the document"));
    }
    normalized = ChildPointer(normalized, token);
  }
  return std::make_pair(target, normalized);
}

absl::StatusOr<Expr> SchemaConverter::Visit(const Json& schema,
                                            const std::string& pointer,
                                            const std::string& name,
                                            int depth) {
  if (depth > kMaxSchemaDepth) {
    return absl::InvalidArgumentError(absl::StrCat(
        "schema nested deeper than ", kMaxSchemaDepth, " at ", Where(pointer)));
  }
  if (schema.is_boolean()) {
    return schema.get<bool>() ? Builtin("value") : Nothing();
  }
  if (!schema.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a schema must be an object or a boolean (at ", Where(pointer), ")"));
  }
  absl::Status status = CheckKeywords(schema, pointer);
  if (!status.ok()) return status;
  if (schema.contains("$ref")) {
    if (HasConstraints(schema, {"$ref"})) {
      return VisitAllOf(schema, pointer, name, depth);
    }
    return VisitRef(schema["$ref"], pointer, depth);
  }
  if (schema.contains("allOf") ||
      (schema.contains("anyOf") && schema.contains("oneOf"))) {
    return VisitAllOf(schema, pointer, name, depth);
  }
  if (schema.contains("anyOf") || schema.contains("oneOf")) {
    return VisitUnion(schema, pointer, name, depth);
  }
  if (schema.contains("enum") || schema.contains("const")) {
    return VisitEnum(schema, pointer);
  }
  return VisitTyped(schema, pointer, name, depth);
}

absl::StatusOr<Expr> SchemaConverter::VisitNested(const Json& schema,
                                                  const std::string& pointer,
                                                  const std::string& name,
                                                  int depth) {
  ++container_depth_;
  absl::StatusOr<Expr> e = Visit(schema, pointer, name, depth);
  --container_depth_;
  return e;
}

absl::StatusOr<Expr> SchemaConverter::VisitRef(const Json& ref,
                                               const std::string& pointer,
                                               int depth) {
  auto target = ResolveRef(ref, pointer);
  if (!target.ok()) return target.status();
  const std::string& key = target->second;
  auto known = ref_rules_.find(key);
  if (known != ref_rules_.end()) {
    for (const auto& [entered, at_depth] : ref_stack_) {
      if (entered == key && at_depth == container_depth_) {
        return absl::InvalidArgumentError(absl::StrCat(
            "$ref cycle through \"", Where(key), "\" (at ", Where(pointer),
            ") never goes through an object or array, so it could never "
            "produce a value"));
      }
    }
    return Ref(known->second);
  }
  std::string hint = "schema";
  size_t slash = key.rfind('/');
  if (slash != std::string::npos && slash + 1 < key.size()) {
    hint = UnescapeToken(key.substr(slash + 1));
  }
  std::string rule = builder_.ReserveRule(hint);
  ref_rules_[key] = rule;
  ref_stack_.push_back({key, container_depth_});
  absl::StatusOr<Expr> body = Visit(*target->first, key, rule, depth + 1);
  ref_stack_.pop_back();
  if (!body.ok()) return body.status();
  builder_.DefineRule(rule, *std::move(body));
  return Ref(rule);
}

absl::StatusOr<Expr> SchemaConverter::VisitAllOf(const Json& schema,
                                                 const std::string& pointer,
                                                 const std::string& name,
                                                 int depth) {
  absl::StatusOr<Json> merged = MergeAllOf({{schema, pointer}}, *this, depth);
  if (!merged.ok()) return merged.status();
  return Visit(*merged, pointer, name, depth + 1);
}

absl::StatusOr<Expr> SchemaConverter::VisitUnion(const Json& schema,
                                                 const std::string& pointer,
                                                 const std::string& name,
                                                 int depth) {
  // Sibling constraints apply to every branch: merge them in.
  if (HasConstraints(schema, {"anyOf", "oneOf"})) {
    return VisitAllOf(schema, pointer, name, depth);
  }
  const char* key = schema.contains("anyOf") ? "anyOf" : "oneOf";
  const Json& branches = schema[key];
  if (!branches.is_array() || branches.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        key, " at ", Where(pointer), " must be a non-empty array"));
  }
  std::vector<Expr> alts;
  for (size_t i = 0; i < branches.size(); ++i) {
    std::string branch_name = name.empty() ? absl::StrCat("alternative-", i)
                                           : absl::StrCat(name, "-", i);
    absl::StatusOr<Expr> e =
        Visit(branches[i],
              ChildPointer(ChildPointer(pointer, key), std::to_string(i)),
              branch_name, depth + 1);
    if (!e.ok()) return e;
    alts.push_back(AsRule(branch_name, *std::move(e)));
  }
  return Alt(std::move(alts));
}

absl::StatusOr<Expr> SchemaConverter::VisitEnum(const Json& schema,
                                                const std::string& pointer) {
  for (auto it = schema.begin(); it != schema.end(); ++it) {
    KeywordKind kind = ClassifyKeyword(it.key());
    if (kind == KeywordKind::kAnnotation || kind == KeywordKind::kDefinitions ||
        it.key() == "enum" || it.key() == "const" || it.key() == "type") {
      continue;
    }
    return absl::InvalidArgumentError(
        absl::StrCat("\"", it.key(), "\" together with enum/const at ",
                     Where(pointer), " is not supported"));
  }
  std::vector<Json> values;
  if (schema.contains("enum")) {
    if (!schema["enum"].is_array()) {
      return absl::InvalidArgumentError(
          absl::StrCat("enum at ", Where(pointer), " must be an array"));
    }
    values.assign(schema["enum"].begin(), schema["enum"].end());
  }
  if (schema.contains("const")) {
    const Json& c = schema["const"];
    if (schema.contains("enum")) {
      bool listed = std::find(values.begin(), values.end(), c) != values.end();
      values.clear();
      if (listed) values.push_back(c);
    } else {
      values.push_back(c);
    }
  }
  std::vector<std::string> types;
  if (schema.contains("type")) {
    const Json& t = schema["type"];
    if (t.is_string()) types.push_back(t.get<std::string>());
    if (t.is_array()) {
      for (const Json& x : t) {
        if (x.is_string()) types.push_back(x.get<std::string>());
      }
    }
  }
  std::vector<Expr> alts;
  for (const Json& v : values) {
    bool typed = types.empty();
    for (const std::string& t : types) typed = typed || MatchesType(v, t);
    if (typed) alts.push_back(LiteralUtf8(v.dump()));
  }
  return Alt(std::move(alts));
}

absl::StatusOr<Expr> SchemaConverter::VisitTyped(const Json& schema,
                                                 const std::string& pointer,
                                                 const std::string& name,
                                                 int depth) {
  std::vector<std::string> types;
  if (schema.contains("type")) {
    const Json& t = schema["type"];
    std::vector<Json> listed;
    if (t.is_array()) {
      listed.assign(t.begin(), t.end());
    } else {
      listed.push_back(t);
    }
    for (const Json& x : listed) {
      if (!x.is_string() || !IsTypeName(x.get<std::string>())) {
        return absl::InvalidArgumentError(absl::StrCat(
            "type at ", Where(pointer),
            " must be one of null, boolean, object, "
            "array, string, number, integer (or a list of them), not ",
            x.dump()));
      }
      types.push_back(x.get<std::string>());
    }
    if (types.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("type at ", Where(pointer), " is an empty list"));
    }
  } else {
    // As llama.cpp: without "type", the keywords present tell which kind of
    // value is meant (numeric bounds mean an integer); none means any value.
    if (HasKeywordOf(schema, KeywordKind::kObject)) types.push_back("object");
    if (HasKeywordOf(schema, KeywordKind::kArray)) types.push_back("array");
    if (HasKeywordOf(schema, KeywordKind::kString)) types.push_back("string");
    if (HasKeywordOf(schema, KeywordKind::kNumeric)) types.push_back("integer");
    if (types.empty()) return Builtin("value");
  }
  bool has_number =
      std::find(types.begin(), types.end(), "number") != types.end();
  std::vector<Expr> alts;
  for (const std::string& type : types) {
    absl::StatusOr<Expr> e;
    if (type == "null" || type == "boolean") {
      e = Builtin(type);
    } else if (type == "integer") {
      if (has_number) continue;  // "number" covers it
      e = VisitInteger(schema, pointer);
    } else if (type == "number") {
      if (HasKeywordOf(schema, KeywordKind::kNumeric)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "minimum/maximum/exclusiveMinimum/exclusiveMaximum at ",
            Where(pointer),
            " are only supported for \"type\": \"integer\" (as in llama.cpp), "
            "not \"number\""));
      }
      e = Builtin("number");
    } else if (type == "string") {
      e = VisitString(schema, pointer, name);
    } else if (type == "array") {
      e = VisitArray(schema, pointer, name, depth);
    } else {
      e = VisitObject(schema, pointer, name, depth);
    }
    if (!e.ok()) return e;
    alts.push_back(types.size() > 1
                       ? AsRule(JoinName(name, type), *std::move(e))
                       : *std::move(e));
  }
  return Alt(std::move(alts));
}

Expr SchemaConverter::AsRule(std::string_view hint, Expr e) {
  switch (e.kind) {
    case Expr::Kind::kRef:
    case Expr::Kind::kLiteral:
    case Expr::Kind::kClass:
    case Expr::Kind::kNothing:
    case Expr::Kind::kEmpty:
      return e;
    default:
      return Ref(builder_.AddRule(hint.empty() ? "rule" : hint, std::move(e)));
  }
}

Expr SchemaConverter::Builtin(std::string_view name) {
  std::string rule(name);
  if (builder_.HasRule(rule)) return Ref(rule);
  auto lit = [](std::u32string_view s) { return Literal(std::u32string(s)); };
  auto range = [](char32_t lo, char32_t hi) {
    return Class(CodepointSet::Of(lo, hi));
  };
  Expr body;
  if (name == "space") {
    // Bounded, as llama.cpp's: a model cannot emit whitespace forever.
    CodepointSet blank;
    blank.Add(' ');
    blank.Add('\t');
    body = Alt({Empty(), lit(U" "),
                Seq({Repeat(lit(U"\n"), 1, 2), Repeat(Class(blank), 0, 20)})});
  } else if (name == "boolean") {
    body = Alt({lit(U"true"), lit(U"false")});
  } else if (name == "null") {
    body = lit(U"null");
  } else if (name == "integral-part") {
    body = Alt({lit(U"0"),
                Seq({range('1', '9'), Repeat(range('0', '9'), 0,
                                             kUnboundedIntegerDigits - 1)})});
  } else if (name == "decimal-part") {
    body = Repeat(range('0', '9'), 1, kUnboundedIntegerDigits);
  } else if (name == "integer") {
    body = Seq({Optional(lit(U"-")), Builtin("integral-part")});
  } else if (name == "number") {
    CodepointSet e;
    e.Add('e');
    e.Add('E');
    CodepointSet sign;
    sign.Add('-');
    sign.Add('+');
    body = Seq({Optional(lit(U"-")), Builtin("integral-part"),
                Optional(Seq({lit(U"."), Builtin("decimal-part")})),
                Optional(Seq({Class(e), Optional(Class(sign)),
                              Builtin("integral-part")}))});
  } else if (name == "char") {
    body = JsonStringCharRule();
  } else if (name == "string") {
    body =
        Seq({lit(U"\""), Repeat(Builtin("char"), 0, kUnbounded), lit(U"\"")});
  } else if (name == "value") {
    // Defined before its parts: object and array refer back to it.
    builder_.AddFixedRule(rule, Nothing());
    body = Alt({Builtin("object"), Builtin("array"), Builtin("string"),
                Builtin("number"), Builtin("boolean"), Builtin("null")});
    builder_.DefineRule(rule, std::move(body));
    return Ref(rule);
  } else if (name == "object") {
    builder_.AddFixedRule(rule, Nothing());
    Expr kv =
        Seq({Builtin("string"), lit(U":"), Builtin("space"), Builtin("value")});
    Expr more = Repeat(Seq({lit(U","), Builtin("space"), kv}), 0, kUnbounded);
    body = Seq({lit(U"{"), Builtin("space"),
                Optional(Seq({kv, more, Builtin("space")})), lit(U"}")});
    builder_.DefineRule(rule, std::move(body));
    return Ref(rule);
  } else if (name == "array") {
    builder_.AddFixedRule(rule, Nothing());
    Expr more = Repeat(Seq({lit(U","), Builtin("space"), Builtin("value")}), 0,
                       kUnbounded);
    body = Seq({lit(U"["), Builtin("space"),
                Optional(Seq({Builtin("value"), more, Builtin("space")})),
                lit(U"]")});
    builder_.DefineRule(rule, std::move(body));
    return Ref(rule);
  }
  builder_.AddFixedRule(rule, std::move(body));
  return Ref(rule);
}

}  // namespace schema

absl::StatusOr<std::string> JsonSchemaToGbnf(std::string_view schema_json) {
  using schema::Json;
  if (schema_json.size() > schema::kMaxInputBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("schema of ", schema_json.size(),
                     " bytes exceeds the limit of ", schema::kMaxInputBytes));
  }
  // Checked on the text, before any recursive code sees the document.
  if (JsonNestingDepth(schema_json) > schema::kMaxJsonNesting) {
    return absl::InvalidArgumentError(
        absl::StrCat("schema JSON is nested deeper than ",
                     schema::kMaxJsonNesting, " levels"));
  }
  Json root;
  try {
    root = Json::parse(schema_json);
  } catch (const Json::parse_error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("schema is not valid JSON: ", e.what()));
  }
  schema::SchemaConverter converter(root);
  return converter.Convert();
}

}  // namespace ggufd::grammar
