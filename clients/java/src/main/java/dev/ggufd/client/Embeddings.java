package dev.ggufd.client;

import dev.ggufd.v1.EmbedResponse;
import dev.ggufd.v1.Embedding;
import dev.ggufd.v1.Pooling;
import java.util.ArrayList;
import java.util.List;

/**
 * An Embed call's answer: one vector per text, in the order of the texts.
 *
 * @param vectors the vectors, {@code dimensions} values each (unit L2 norm unless the request
 *     turned normalization off)
 * @param tokens per text, the tokens its vector was computed from (after any truncation)
 * @param truncated per text, whether it was cut to fit the context (only with truncate on)
 * @param model the model's general.name (or file name)
 * @param pooling the pooling actually applied
 * @param dimensions the length of every vector
 * @param promptTokens the tokens over all texts
 */
public record Embeddings(
    List<float[]> vectors,
    List<Integer> tokens,
    List<Boolean> truncated,
    String model,
    Pooling pooling,
    int dimensions,
    int promptTokens) {

  static Embeddings from(EmbedResponse response) {
    List<float[]> vectors = new ArrayList<>();
    List<Integer> tokens = new ArrayList<>();
    List<Boolean> truncated = new ArrayList<>();
    for (Embedding e : response.getEmbeddingsList()) {
      float[] values = new float[e.getValuesCount()];
      for (int i = 0; i < values.length; i++) {
        values[i] = e.getValues(i);
      }
      vectors.add(values);
      tokens.add(e.getTokens());
      truncated.add(e.getTruncated());
    }
    return new Embeddings(
        List.copyOf(vectors),
        List.copyOf(tokens),
        List.copyOf(truncated),
        response.getModel(),
        response.getPooling(),
        response.getDimensions(),
        response.getPromptTokens());
  }
}
