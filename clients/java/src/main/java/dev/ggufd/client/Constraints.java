package dev.ggufd.client;

import dev.ggufd.v1.Constraint;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@link Constraint} a generation's output is held to, for {@code
 * GenerateRequest.Builder.setConstraint}: a GBNF grammar, a JSON Schema or a regular expression.
 * The stream then ends with {@code FINISH_REASON_CONSTRAINT_COMPLETE} once nothing more can follow;
 * a constraint the server cannot use fails the call with INVALID_ARGUMENT.
 *
 * <pre>{@code
 * GenerateRequest.newBuilder()
 *     .setText("Call me at ")
 *     .setConstraint(Constraints.regex("[0-9]{3}-[0-9]{4}"))
 * }</pre>
 */
public final class Constraints {
  private Constraints() {}

  /** Output that is a sentence of rule {@code root} of a grammar in llama.cpp's GBNF. */
  public static Constraint grammar(String gbnf) {
    return Constraint.newBuilder().setGrammar(gbnf).build();
  }

  /** Output that is one JSON value valid under a JSON Schema (the schema's JSON text). */
  public static Constraint jsonSchema(String schema) {
    return Constraint.newBuilder().setJsonSchema(schema).build();
  }

  /** Output that the regular expression matches as a whole. */
  public static Constraint regex(String pattern) {
    return Constraint.newBuilder().setRegex(pattern).build();
  }

  /**
   * The constraint of whichever argument is not null (for options that come separately, such as
   * command-line flags), or null when all are.
   *
   * @throws IllegalArgumentException when more than one is set: a Constraint holds one kind, and
   *     its builder would silently keep the last one set
   */
  public static Constraint of(String grammar, String jsonSchema, String regex) {
    List<String> given = new ArrayList<>();
    if (grammar != null) {
      given.add("grammar");
    }
    if (jsonSchema != null) {
      given.add("jsonSchema");
    }
    if (regex != null) {
      given.add("regex");
    }
    if (given.size() > 1) {
      throw new IllegalArgumentException(
          "a constraint takes one of grammar, jsonSchema and regex; got "
              + String.join(" and ", given));
    }
    if (grammar != null) {
      return grammar(grammar);
    }
    if (jsonSchema != null) {
      return jsonSchema(jsonSchema);
    }
    return regex != null ? regex(regex) : null;
  }
}
