package dev.ggufd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ggufd.v1.ChatPrompt;
import dev.ggufd.v1.Constraint;
import dev.ggufd.v1.FinishReason;
import dev.ggufd.v1.GenerateRequest;
import dev.ggufd.v1.ModelInfo;
import dev.ggufd.v1.Pooling;
import dev.ggufd.v1.SamplingParams;
import dev.ggufd.v1.StoppingParams;
import io.grpc.Status;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Constrained generation (GenerateRequest.constraint) and Embed against a real ggufd serving the
 * default model.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GgufdConstraintEmbedE2ETest {
  private static final String MODEL = "SmolLM2-135M-Instruct.Q4_1.gguf";
  private static final String PHONE = "[0-9]{3}-[0-9]{4}";
  private static final String SCHEMA =
      "{\"type\":\"object\",\"properties\":{\"answer\":{\"enum\":[\"yes\",\"no\"]},"
          + "\"sure\":{\"type\":\"boolean\"}},\"required\":[\"answer\",\"sure\"],"
          + "\"additionalProperties\":false}";
  private static final List<String> TEXTS =
      List.of(
          "The cat sat on the mat.",
          "Stock markets fell sharply on Monday.",
          "The cat sat on the mat.");

  private GgufdServer server;
  private GgufdClient client;

  @BeforeAll
  void startServer() throws Exception {
    server = GgufdServer.start(List.of("--model", GgufdServer.modelFile(MODEL).toString()));
    client = GgufdClient.connect(server.address());
  }

  @AfterAll
  void stopServer() throws Exception {
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
  }

  private static GenerateRequest constrained(
      String prompt, Constraint constraint, SamplingParams sampling) {
    return GenerateRequest.newBuilder()
        .setText(prompt)
        .setSampling(sampling)
        .setStopping(StoppingParams.newBuilder().setMaxTokens(48))
        .setConstraint(constraint)
        .build();
  }

  private static SamplingParams greedy() {
    return SamplingParams.newBuilder().setTemperature(0).build();
  }

  private static double norm(float[] v) {
    double sum = 0;
    for (float x : v) {
      sum += (double) x * x;
    }
    return Math.sqrt(sum);
  }

  private static double cosine(float[] a, float[] b) {
    double dot = 0;
    for (int i = 0; i < a.length; i++) {
      dot += (double) a[i] * b[i];
    }
    return dot / (norm(a) * norm(b));
  }

  @Test
  void moreThanOneConstraintKindIsRefusedInTheClient() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> Constraints.of("root ::= \"a\"", null, PHONE));
    assertTrue(e.getMessage().contains("got grammar and regex"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Constraints.of(null, "{}", PHONE));
    assertNull(Constraints.of(null, null, null));
    assertEquals(PHONE, Constraints.of(null, null, PHONE).getRegex());
    assertEquals("{}", Constraints.of(null, "{}", null).getJsonSchema());
  }

  @Test
  void regexOutputMatchesAndCompletes() {
    List<SamplingParams> samplings =
        List.of(
            greedy(),
            SamplingParams.newBuilder().setTemperature(1).setSeed(1).build(),
            SamplingParams.newBuilder().setTemperature(1).setSeed(2).build(),
            SamplingParams.newBuilder().setTemperature(1).setSeed(3).build());
    for (SamplingParams sampling : samplings) {
      Generation g =
          client.complete(constrained("My phone number is ", Constraints.regex(PHONE), sampling));
      assertTrue(Pattern.matches(PHONE, g.text()), "output " + g.text() + " for " + sampling);
      assertEquals(FinishReason.FINISH_REASON_CONSTRAINT_COMPLETE, g.finished().getReason());
      assertTrue(g.finished().getUsage().getCompletionTokens() <= 8);
    }
  }

  @Test
  void jsonSchemaAndGrammarKeepTheOutput() {
    Generation json =
        client.complete(
            constrained(
                "Is the sky blue? Reply in JSON: ", Constraints.jsonSchema(SCHEMA), greedy()));
    // Checked by its shape: {"answer": "yes"|"no", "sure": true|false}, any whitespace.
    assertTrue(
        Pattern.matches(
            "\\s*\\{\\s*\"answer\"\\s*:\\s*\"(yes|no)\"\\s*,\\s*\"sure\"\\s*:\\s*(true|false)"
                + "\\s*\\}\\s*",
            json.text()),
        json.text());
    // After the closing brace the grammar may still allow whitespace, which the model may end
    // with EOS instead.
    assertTrue(
        Set.of(FinishReason.FINISH_REASON_CONSTRAINT_COMPLETE, FinishReason.FINISH_REASON_EOS)
            .contains(json.finished().getReason()),
        json.finished().getReason().toString());

    Generation answer =
        client.complete(
            GenerateRequest.newBuilder()
                .setChat(
                    ChatPrompt.newBuilder()
                        .addMessages(
                            GgufdClient.message("user", "Is water wet? Answer yes or no.")))
                .setSampling(greedy())
                .setStopping(StoppingParams.newBuilder().setMaxTokens(16))
                .setConstraint(Constraints.grammar("root ::= (\"yes\" | \"no\") \".\""))
                .build());
    assertTrue(Set.of("yes.", "no.").contains(answer.text()), answer.text());
    assertEquals(FinishReason.FINISH_REASON_CONSTRAINT_COMPLETE, answer.finished().getReason());
  }

  @Test
  void invalidConstraintIsInvalidArgument() {
    for (Constraint bad :
        List.of(
            Constraints.grammar("root ::= undefined-rule"),
            Constraints.grammar("root ::= \"unterminated"),
            Constraints.regex("[0-9"),
            Constraints.jsonSchema("{not json"))) {
      GgufdException e =
          assertThrows(
              GgufdException.class, () -> client.complete(constrained("Hi", bad, greedy())));
      assertEquals(Status.Code.INVALID_ARGUMENT, e.code(), e.getMessage());
      assertEquals(1, e.errorCode(), e.getMessage());
    }
    assertFalse(client.generateText("Hello", 2).isEmpty());
  }

  @Test
  void embedGivesUnitVectorsOfTheModelDimension() {
    ModelInfo info = client.status("").getModel();
    Embeddings e = client.embed(TEXTS);
    assertEquals(info.getEmbeddingLength(), e.dimensions());
    assertTrue(e.dimensions() > 0);
    assertEquals(info.getName(), e.model());
    assertNotEquals(Pooling.POOLING_UNSPECIFIED, e.pooling());
    assertEquals(3, e.vectors().size());
    for (float[] v : e.vectors()) {
      assertEquals(e.dimensions(), v.length);
      assertEquals(1.0, norm(v), 1e-4);
    }
    for (int i = 0; i < e.dimensions(); i++) {
      assertEquals(e.vectors().get(0)[i], e.vectors().get(2)[i], 1e-6, "dimension " + i);
    }
    assertTrue(cosine(e.vectors().get(0), e.vectors().get(1)) < 0.999);
    assertEquals(List.of(false, false, false), e.truncated());
    assertEquals(e.promptTokens(), e.tokens().stream().mapToInt(Integer::intValue).sum());
    assertTrue(e.tokens().stream().allMatch(n -> n > 0));

    // Pooling and normalization reach the server.
    List<String> one = List.of(TEXTS.get(1));
    Embeddings mean = client.embed(one, Pooling.POOLING_MEAN, true, false);
    Embeddings raw = client.embed(one, Pooling.POOLING_MEAN, false, false);
    assertEquals(Pooling.POOLING_MEAN, mean.pooling());
    assertEquals(Pooling.POOLING_MEAN, raw.pooling());
    double length = norm(raw.vectors().get(0));
    assertTrue(Math.abs(length - 1) > 1e-3, "normalize false gave a unit vector");
    for (int i = 0; i < raw.dimensions(); i++) {
      assertEquals(mean.vectors().get(0)[i], raw.vectors().get(0)[i] / length, 1e-5);
    }
    Embeddings last = client.embed(one, Pooling.POOLING_LAST, true, false);
    assertEquals(Pooling.POOLING_LAST, last.pooling());
    assertTrue(cosine(last.vectors().get(0), mean.vectors().get(0)) < 0.9999);
  }
}
