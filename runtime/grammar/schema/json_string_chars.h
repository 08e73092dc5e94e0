// Characters as they are written inside a JSON string. A pattern, a format or
// a property-name exclusion constrains the decoded string, while the model
// writes the encoded one; these map a set of decoded code points to the
// grammar of their encodings.
//
// Encodings accepted for a constrained character: the character itself when
// JSON allows it raw (not `"`, `\`, a control character, nor DEL, which
// llama.cpp also keeps escaped), `\"` and `\\`, the short escapes \b \f \n \r
// \t, and \u00XX (either hex case) for control characters and DEL. Other
// \uXXXX spellings of printable characters are not accepted there: each
// character then has encodings of its own, so matching encoded text decides
// exactly what the decoded text is.
#ifndef GGUFD_RUNTIME_GRAMMAR_SCHEMA_JSON_STRING_CHARS_H_
#define GGUFD_RUNTIME_GRAMMAR_SCHEMA_JSON_STRING_CHARS_H_

#include <string>

#include "runtime/grammar/schema/codepoint_set.h"
#include "runtime/grammar/schema/gbnf_expr.h"

namespace ggufd::grammar::schema {

// Characters JSON lets a string hold unescaped (DEL aside, as llama.cpp).
// Surrogate code points are included: they never occur in UTF-8 text, and
// leaving them in keeps the classes short.
CodepointSet JsonRawChars();
// One decoded character from `set`, as written in a JSON string.
Expr JsonEncodedChar(const CodepointSet& set);
// The decoded text `text`, as written in a JSON string (without quotes).
Expr JsonEncodedText(const std::u32string& text);

// Body of the `char` rule for unconstrained string content: any raw
// character JSON allows (as llama.cpp's `char`, DEL kept escaped), the short
// escapes, and \uXXXX for any BMP non-surrogate or a surrogate pair (never
// a lone surrogate, so each match decodes to exactly one character and
// minLength/maxLength count what a validator counts).
Expr JsonStringCharRule();

}  // namespace ggufd::grammar::schema

#endif  // GGUFD_RUNTIME_GRAMMAR_SCHEMA_JSON_STRING_CHARS_H_
